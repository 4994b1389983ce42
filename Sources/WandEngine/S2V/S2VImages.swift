import WandModels
import WandTensor

// The official S2V image preparation (WanS2V.generate, load_pose_cond): torchvision
// Resize(min(H, W)) -- the shorter side to min(H, W), the other by the aspect, truncated -- then
// CenterCrop((H, W)), which pads with zeros where the resized picture is smaller. Our resize is
// area averaging when shrinking and bilinear when growing: close to, not bit-exact with, PIL's
// antialiased bilinear (the parity fixtures feed images already at the target size).

enum S2VImages {
    /// Frames as `[3, T, H, W]` in [−1, 1] at exactly `width`x`height`. `padValue` fills what
    /// the crop finds outside the picture: the reference image is cropped as a PIL image (black,
    /// −1), the pose frames as [−1, 1] tensors (0).
    static func prepare(_ frames: [RGBImage], width: Int, height: Int, padValue: Float) throws -> Tensor {
        let plane = width * height, count = frames.count
        let out = Tensor(uninitialized: [3, count, height, width])
        for (t, image) in frames.enumerated() {
            let (rh, rw) = resizedSize(image.height, image.width, shorter: min(width, height))
            let resized = try resize(image, width: rw, height: rh)  // [3, rh, rw] in [-1, 1]
            // torchvision center_crop: pad (left, top, right, bottom) when smaller, then crop at round((size - crop) / 2).
            let padL = width > rw ? (width - rw) / 2 : 0, padT = height > rh ? (height - rh) / 2 : 0
            let padR = width > rw ? (width - rw + 1) / 2 : 0, padB = height > rh ? (height - rh + 1) / 2 : 0
            let ph = rh + padT + padB, pw = rw + padL + padR
            let top = Int((Double(ph - height) / 2).rounded(.toNearestOrEven)), left = Int((Double(pw - width) / 2).rounded(.toNearestOrEven))
            for ch in 0..<3 {
                let dst = out.data + (ch * count + t) * plane
                for y in 0..<height {
                    let sy = y + top - padT
                    for x in 0..<width {
                        let sx = x + left - padL
                        dst[y * width + x] = sy >= 0 && sy < rh && sx >= 0 && sx < rw ? resized.data[(ch * rh + sy) * rw + sx] : padValue
                    }
                }
            }
        }
        return out
    }

    /// torchvision's size for Resize(shorter): the short side becomes `shorter`, the long side int(shorter·long/short).
    static func resizedSize(_ h: Int, _ w: Int, shorter: Int) -> (Int, Int) {
        if w <= h { return (Int(Double(shorter) * Double(h) / Double(w)), shorter) }
        return (shorter, Int(Double(shorter) * Double(w) / Double(h)))
    }

    /// `[3, h, w]` in [−1, 1] (x/255·2 − 1, as ToTensor then ·2 − 1).
    static func resize(_ image: RGBImage, width: Int, height: Int) throws -> Tensor {
        let n = image.width * image.height
        let planes = Tensor(uninitialized: [1, 3, image.height, image.width])
        image.pixels.withUnsafeBufferPointer { px in
            for i in 0..<n { for ch in 0..<3 { planes.data[ch * n + i] = Float(px[i * 3 + ch]) / 255 * 2 - 1 } }
        }
        if image.width == width && image.height == height { return try planes.reshaped([3, height, width]) }
        let shrinking = width < image.width || height < image.height
        let scaled = try CPUBackend(threads: 1).interpolate(planes, height: height, width: width,
                                                            mode: shrinking ? .area : .bilinear(alignCorners: false))
        return try scaled.reshaped([3, height, width])
    }
}

/// The official S2V output size (`WanS2V.get_size_less_than_area`): the largest scale of the
/// reference image whose 64-padded size fits `area` (the job's size taken as an area, as the
/// official CLI's `--size` is), else an aspect-kept fallback. Returns (height, width), multiples
/// of 64. Python's double arithmetic, the same 100-step search.
public enum S2VSize {
    public static func official(imageHeight height: Int, imageWidth width: Int, area targetArea: Int,
                                divisor: Int = 64) -> (height: Int, width: Int) {
        let h = Double(height), w = Double(width), area = Double(targetArea)
        let minScale: Double, maxScale: Double
        if height * width <= targetArea {
            minScale = 0.1
            maxScale = 1.0
        } else {
            let d = Double(divisor - 1)
            let b = d * (h + w), a = h * w, c = d * d - area
            minScale = (-b + (b * b - 2 * a * c).squareRoot()) / (2 * a)
            maxScale = (area / (h * w)).squareRoot()
        }
        for i in 0..<100 {
            let scale = maxScale - (maxScale - minScale) * Double(i) / 100
            let nh = Int(h * scale), nw = Int(w * scale)
            // The official pads to multiples of 64 here, whatever `divisor` is.
            let ph = nh + (64 - nh % 64) % 64, pw = nw + (64 - nw % 64) % 64
            if ph * pw <= targetArea { return (ph, pw) }
        }
        let aspect = w / h
        var tw = Int(((area * aspect).squareRoot() / Double(divisor)).rounded(.down) * Double(divisor))
        var th = Int(((area / aspect).squareRoot() / Double(divisor)).rounded(.down) * Double(divisor))
        if tw >= width || th >= height {
            tw = width / divisor * divisor
            th = height / divisor * divisor
        }
        return (th, tw)
    }
}
