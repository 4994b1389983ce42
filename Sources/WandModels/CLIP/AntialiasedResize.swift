import Glibc

/// Antialiased resampling of 8-bit images, bit-exact with the two libraries the references resize
/// with. Both use the same separable scheme (PIL's `ImagingResample`): per output pixel a window
/// of input pixels widened by the downscale factor, filter weights normalized to sum 1 and rounded
/// to integers, a horizontal pass into 8 bits, then a vertical pass.
///
/// * `.aten`: PyTorch's CPU kernel for uint8 tensors (`F.interpolate(antialias=True)`, used by
///   torchvision's `resize` and so by transformers' `CLIPImageProcessor`): int16 weights at a
///   precision chosen per axis from the largest weight.
/// * `.pillow`: `PIL.Image.resize` (diffusers' image and video processors): int32 weights with
///   22 fractional bits.
public enum AntialiasedResize {
    public enum Filter: Sendable { case bilinear, bicubic, lanczos }
    public enum Arithmetic: Sendable { case aten, pillow }

    /// `pixels`: `height·width·channels` bytes, row-major, channels last. Returns
    /// `outHeight·outWidth·channels`; the input itself when the size does not change.
    public static func resize(_ pixels: [UInt8], channels: Int = 3, width: Int, height: Int, outWidth: Int, outHeight: Int,
                              filter: Filter, arithmetic: Arithmetic) -> [UInt8] {
        precondition(pixels.count == width * height * channels && outWidth > 0 && outHeight > 0, "bad resize arguments")
        var image = pixels, w = width
        if outWidth != width {
            let taps = Taps(input: width, output: outWidth, filter: filter, arithmetic: arithmetic)
            var out = [UInt8](repeating: 0, count: height * outWidth * channels)
            for y in 0..<height {
                for x in 0..<outWidth {
                    for c in 0..<channels {
                        var acc = taps.initial
                        for j in 0..<taps.size[x] {
                            acc += Int64(image[(y * w + taps.start[x] + j) * channels + c]) * taps.weight(x, j)
                        }
                        out[(y * outWidth + x) * channels + c] = taps.clip(acc)
                    }
                }
            }
            image = out
            w = outWidth
        }
        if outHeight != height {
            let taps = Taps(input: height, output: outHeight, filter: filter, arithmetic: arithmetic)
            var out = [UInt8](repeating: 0, count: outHeight * w * channels)
            for y in 0..<outHeight {
                for x in 0..<w {
                    for c in 0..<channels {
                        var acc = taps.initial
                        for j in 0..<taps.size[y] {
                            acc += Int64(image[((taps.start[y] + j) * w + x) * channels + c]) * taps.weight(y, j)
                        }
                        out[(y * w + x) * channels + c] = taps.clip(acc)
                    }
                }
            }
            image = out
        }
        return image
    }

    /// torchvision / CLIPImageProcessor's bicubic on RGB.
    public static func bicubic(_ rgb: [UInt8], width: Int, height: Int, outWidth: Int, outHeight: Int) -> [UInt8] {
        resize(rgb, width: width, height: height, outWidth: outWidth, outHeight: outHeight, filter: .bicubic, arithmetic: .aten)
    }

    /// PIL's `convert("L")`: ITU-R 601-2 luma in 16-bit fixed point, rounded.
    public static func luma(_ rgb: [UInt8]) -> [UInt8] {
        (0..<(rgb.count / 3)).map { i in
            let r = UInt32(rgb[3 * i]), g = UInt32(rgb[3 * i + 1]), b = UInt32(rgb[3 * i + 2])
            return UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
    }

    /// One axis: per output index the first input index, the tap count and integer weights.
    struct Taps {
        var start: [Int] = []
        var size: [Int] = []
        var weights: [Int64] = []
        var stride = 0
        var precision = 0

        init(input: Int, output: Int, filter: Filter, arithmetic: Arithmetic) {
            let scale = Double(input) / Double(output)
            let filterScale = max(scale, 1)
            let support = Self.support(filter) * filterScale
            let invScale = 1 / filterScale
            stride = Int(support.rounded(.up)) * 2 + 1
            var real = [Double](repeating: 0, count: output * stride)
            var maxWeight = 0.0
            for i in 0..<output {
                let center = scale * (Double(i) + 0.5)
                // C casts to int: truncation toward zero.
                let lo = max(Int((center - support + 0.5).rounded(.towardZero)), 0)
                var n = min(Int((center + support + 0.5).rounded(.towardZero)), input) - lo
                n = min(max(n, 0), stride)
                var total = 0.0
                for j in 0..<n {
                    let w = Self.evaluate(filter, (Double(j + lo) - center + 0.5) * invScale, arithmetic)
                    real[i * stride + j] = w
                    total += w
                }
                if total != 0 {
                    for j in 0..<n {
                        real[i * stride + j] /= total
                        maxWeight = max(maxWeight, real[i * stride + j])
                    }
                }
                start.append(lo)
                size.append(n)
            }
            switch arithmetic {
            case .pillow:
                precision = 22
            case .aten:
                // The largest precision whose scaled maximum weight still fits in int16.
                precision = 0
                while precision < 22 && Int(0.5 + maxWeight * Double(1 << (precision + 1))) < 1 << 15 { precision += 1 }
            }
            let p = precision
            weights = real.map { w in
                let v = w * Double(1 << p)
                let rounded = Int64(v < 0 ? (v - 0.5).rounded(.towardZero) : (v + 0.5).rounded(.towardZero))
                return arithmetic == .aten ? Int64(Int16(truncatingIfNeeded: rounded)) : Int64(Int32(truncatingIfNeeded: rounded))
            }
        }

        func weight(_ i: Int, _ j: Int) -> Int64 { weights[i * stride + j] }
        var initial: Int64 { Int64(1) << Int64(precision - 1) }
        func clip(_ acc: Int64) -> UInt8 { UInt8(max(0, min(255, acc >> Int64(precision)))) }

        static func support(_ filter: Filter) -> Double {
            switch filter {
            case .bilinear: return 1
            case .bicubic: return 2
            case .lanczos: return 3
            }
        }

        /// The filters with each library's own expression (they differ in the last bits).
        static func evaluate(_ filter: Filter, _ x: Double, _ arithmetic: Arithmetic) -> Double {
            switch filter {
            case .bilinear:
                let x = abs(x)
                return x < 1 ? 1 - x : 0
            case .bicubic:
                // Keys' cubic convolution, a = −0.5.
                let a = -0.5, x = abs(x)
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 {
                    return arithmetic == .pillow ? (((x - 5) * x + 8) * x - 4) * a : ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
                }
                return 0
            case .lanczos:
                guard x >= -3, x < 3 else { return 0 }
                return sinc(x) * sinc(x / 3)
            }
        }

        static func sinc(_ x: Double) -> Double {
            if x == 0 { return 1 }
            let y = x * Double.pi
            return sin(y) / y
        }
    }
}
