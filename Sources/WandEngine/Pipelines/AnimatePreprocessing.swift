import WandModels
import WandTensor

// How each reference turns the Animate inputs into pixels. The diffusers convention reproduces
// WanAnimatePipeline's processors bit for bit (Pillow resampling); the official one follows
// wan/animate.py where it differs (the reference's letterbox, the mask's channel).

enum AnimatePreprocessing {
    /// Frames `indices` of `video` as `[3, n, height, width]` in [−1, 1] (`x/127.5 − 1` like both
    /// references), resized with Pillow's Lanczos where the size differs (diffusers' VideoProcessor).
    static func pixels(_ video: [RGBImage], _ indices: [Int], width: Int, height: Int) -> Tensor {
        let n = indices.count, plane = width * height
        let out = Tensor(uninitialized: [3, n, height, width])
        for (t, i) in indices.enumerated() {
            let px = resized(video[i], width: width, height: height, filter: .lanczos)
            for k in 0..<plane {
                for c in 0..<3 { out.data[(c * n + t) * plane + k] = Float(px[k * 3 + c]) / 127.5 - 1 }
            }
        }
        return out
    }

    static func resized(_ image: RGBImage, width: Int, height: Int, filter: AntialiasedResize.Filter) -> [UInt8] {
        if image.width == width && image.height == height { return image.pixels }
        return AntialiasedResize.resize(image.pixels, width: image.width, height: image.height, outWidth: width,
                                        outHeight: height, filter: filter, arithmetic: .pillow)
    }

    /// The reference image fitted inside `width`×`height` keeping its aspect ratio, centred on
    /// black. diffusers (`WanAnimateImageProcessor` resize_mode "fill", fill 0): Pillow bilinear,
    /// the side that does not fill is `w·H // h`; official (`padding_resize`): cv2 INTER_LINEAR,
    /// the side is `int(H / h · w)`, computed here with torch-style bilinear (not bit-exact with cv2).
    static func letterboxed(_ image: RGBImage, width: Int, height: Int, official: Bool, backend: CPUBackend) throws -> RGBImage {
        let iw = image.width, ih = image.height
        var sw = width, sh = height
        if official {
            if Double(ih) / Double(iw) > Double(height) / Double(width) { sw = Int(Double(height) / Double(ih) * Double(iw)) }
            else { sh = Int(Double(width) / Double(iw) * Double(ih)) }
        } else {
            let ratio = Double(width) / Double(height), source = Double(iw) / Double(ih)
            sw = ratio < source ? width : iw * height / ih
            sh = ratio >= source ? height : ih * width / iw
        }
        let scaled: [UInt8]
        if sw == iw && sh == ih {
            scaled = image.pixels
        } else if official {
            scaled = try bilinear(image, width: sw, height: sh, backend: backend)
        } else {
            scaled = AntialiasedResize.resize(image.pixels, width: iw, height: ih, outWidth: sw, outHeight: sh, filter: .bilinear,
                                              arithmetic: .pillow)
        }
        let left = official ? (width - sw) / 2 : width / 2 - sw / 2, top = official ? (height - sh) / 2 : height / 2 - sh / 2
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<sh {
            for x in 0..<sw {
                for c in 0..<3 { out[((y + top) * width + x + left) * 3 + c] = scaled[(y * sw + x) * 3 + c] }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    static func bilinear(_ image: RGBImage, width: Int, height: Int, backend: CPUBackend) throws -> [UInt8] {
        let n = image.width * image.height
        let planes = Tensor(uninitialized: [3, image.height, image.width])
        for i in 0..<n { for c in 0..<3 { planes.data[c * n + i] = Float(image.pixels[i * 3 + c]) } }
        let s = try backend.interpolate(planes, height: height, width: width, mode: .bilinear(alignCorners: false))
        let m = width * height
        var out = [UInt8](repeating: 0, count: m * 3)
        for i in 0..<m { for c in 0..<3 { out[i * 3 + c] = UInt8(max(0, min(255, s.data[c * m + i].rounded()))) } }
        return out
    }

    /// The mask frame as values in [0, 1] (white = the character's region): diffusers converts to
    /// grayscale (Pillow "L") and resizes with Lanczos; the official code takes the red channel.
    static func maskPlane(_ frame: RGBImage, width: Int, height: Int, official: Bool) -> [Float] {
        var gray = official ? stride(from: 0, to: frame.pixels.count, by: 3).map { frame.pixels[$0] } : AntialiasedResize.luma(frame.pixels)
        if frame.width != width || frame.height != height {
            gray = AntialiasedResize.resize(gray, channels: 1, width: frame.width, height: frame.height, outWidth: width,
                                            outHeight: height, filter: .lanczos, arithmetic: .pillow)
        }
        return gray.map { Float($0) / 255 }
    }

    /// `get_i2v_mask` of a segment: per pixel frame a plane of `values` (`[T, h, w]`, T = 4F − 3);
    /// frame 0 is repeated four times and each group of four frames becomes one latent frame's
    /// four channels: `[4, F, h, w]`.
    static func latentMask(_ values: [Float], pixelFrames t: Int, height h: Int, width w: Int) -> Tensor {
        let plane = h * w, f = (t - 1) / 4 + 1
        let out = Tensor(uninitialized: [4, f, h, w])
        values.withUnsafeBufferPointer { src in
            for lf in 0..<f {
                for c in 0..<4 {
                    let pixelFrame = lf == 0 ? 0 : 4 * lf + c - 3
                    (out.data + (c * f + lf) * plane).update(from: src.baseAddress! + pixelFrame * plane, count: plane)
                }
            }
        }
        return out
    }

    /// F.interpolate(mode="nearest") of a `[H, W]` plane to `[h, w]`: source index ⌊i·H/h⌋.
    static func nearest(_ plane: [Float], width: Int, height: Int, toWidth w: Int, toHeight h: Int) -> [Float] {
        let sy = Float(height) / Float(h), sx = Float(width) / Float(w)
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            let iy = min(Int((Float(y) * sy).rounded(.down)), height - 1)
            for x in 0..<w { out[y * w + x] = plane[iy * width + min(Int((Float(x) * sx).rounded(.down)), width - 1)] }
        }
        return out
    }
}
