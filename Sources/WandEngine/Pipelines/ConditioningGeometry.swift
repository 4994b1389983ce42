#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Where an input image lands in the latent grid, exactly as the official scripts decide it
// (shared/reference/wan-architecture.md 7.1-7.2). Python's float `//` and round-half-even are
// reproduced, because a one-pixel difference changes the latent grid and so the whole video.

public enum ConditioningGeometry {
    public struct ResizeCrop: Sendable, Equatable {
        /// The size the image is resized to before cropping.
        public var scaledWidth: Int, scaledHeight: Int
        /// Top-left corner of the centred crop in the resized image.
        public var cropX: Int, cropY: Int
        /// The output (video) size.
        public var width: Int, height: Int
    }

    /// TI2V-5B image-to-video: the output size under `maxArea` in multiples of 32 whose aspect is
    /// closest to the image's (best_output_size), then resize to cover and centre-crop.
    public static func ti2v(imageWidth iw: Int, imageHeight ih: Int, maxArea: Int, multiple: Int = 32) -> ResizeCrop {
        let (ow, oh) = bestOutputSize(width: iw, height: ih, dw: multiple, dh: multiple, area: maxArea)
        let scale = max(Double(ow) / Double(iw), Double(oh) / Double(ih))
        let sw = Int((Double(iw) * scale).rounded(.toNearestOrEven))
        let sh = Int((Double(ih) * scale).rounded(.toNearestOrEven))
        return ResizeCrop(scaledWidth: sw, scaledHeight: sh, cropX: (sw - ow) / 2, cropY: (sh - oh) / 2,
                          width: ow, height: oh)
    }

    /// I2V-A14B: latent height and width from the maximum area and the image's aspect ratio
    /// (the image is then stretched, not cropped, to 8x these).
    public static func i2vLatentSize(imageWidth iw: Int, imageHeight ih: Int, maxArea: Int,
                                     vaeStride: Int = 8, patch: Int = 2) -> (height: Int, width: Int) {
        let aspect = Double(ih) / Double(iw)
        func side(_ x: Double) -> Int {
            Int(floorDivide(floorDivide(x.squareRoot(), Double(vaeStride)), Double(patch)) * Double(patch))
        }
        return (side(Double(maxArea) * aspect), side(Double(maxArea) / aspect))
    }

    static func bestOutputSize(width w: Int, height h: Int, dw: Int, dh: Int, area: Int) -> (Int, Int) {
        let ratio = Double(w) / Double(h)
        let expected = Double(area)
        let ow = (expected * ratio).squareRoot()
        let oh = expected / ow

        let ow1 = Int(floorDivide(ow, Double(dw)) * Double(dw))
        let oh1 = Int(floorDivide(expected / Double(ow1), Double(dh)) * Double(dh))
        let ratio1 = Double(ow1) / Double(oh1)

        let oh2 = Int(floorDivide(oh, Double(dh)) * Double(dh))
        let ow2 = Int(floorDivide(expected / Double(oh2), Double(dw)) * Double(dw))
        let ratio2 = Double(ow2) / Double(oh2)

        if max(ratio / ratio1, ratio1 / ratio) < max(ratio / ratio2, ratio2 / ratio) {
            return (ow1, oh1)
        }
        return (ow2, oh2)
    }
}

/// Python's float floor division (CPython float_floor_div), which differs from floor(a / b)
/// when the quotient rounds up to an integer.
func floorDivide(_ a: Double, _ b: Double) -> Double {
    let mod = fmod(a, b)
    var div = (a - mod) / b
    if mod != 0, (b < 0) != (mod < 0) { div -= 1 }
    guard div != 0 else { return copysign(0, a / b) }
    var floored = div.rounded(.down)
    if div - floored > 0.5 { floored += 1 }
    return floored
}
