/// Antialiased bicubic resize of 8-bit RGB images as PyTorch computes it on the CPU for uint8
/// tensors (`F.interpolate(mode="bicubic", antialias=True)`, the PIL-SIMD algorithm that
/// torchvision's `resize` and so transformers' `CLIPImageProcessor` use): Keys' cubic with
/// a = −0.5, support widened by the downscale factor, weights normalized, rounded to int16 at a
/// precision chosen per axis, a horizontal pass into 8 bits, then a vertical pass.
public enum AntialiasedResize {
    /// `rgb`: `height·width·3` bytes, row-major, channels last. Returns `outHeight·outWidth·3`.
    public static func bicubic(_ rgb: [UInt8], width: Int, height: Int, outWidth: Int, outHeight: Int) -> [UInt8] {
        precondition(rgb.count == width * height * 3 && outWidth > 0 && outHeight > 0, "bad resize arguments")
        if width == outWidth && height == outHeight { return rgb }
        var image = rgb, w = width
        if outWidth != width {
            let taps = Taps(input: width, output: outWidth)
            var out = [UInt8](repeating: 0, count: height * outWidth * 3)
            for y in 0..<height {
                for x in 0..<outWidth {
                    for c in 0..<3 {
                        var acc = taps.initial
                        for j in 0..<taps.size[x] {
                            acc += Int32(image[(y * w + taps.start[x] + j) * 3 + c]) * Int32(taps.weight(x, j))
                        }
                        out[(y * outWidth + x) * 3 + c] = taps.clip(acc)
                    }
                }
            }
            image = out
            w = outWidth
        }
        if outHeight != height {
            let taps = Taps(input: height, output: outHeight)
            var out = [UInt8](repeating: 0, count: outHeight * w * 3)
            for y in 0..<outHeight {
                for x in 0..<w {
                    for c in 0..<3 {
                        var acc = taps.initial
                        for j in 0..<taps.size[y] {
                            acc += Int32(image[((taps.start[y] + j) * w + x) * 3 + c]) * Int32(taps.weight(y, j))
                        }
                        out[(y * w + x) * 3 + c] = taps.clip(acc)
                    }
                }
            }
            image = out
        }
        return image
    }

    /// One axis: per output index the first input index, the tap count and int16 weights.
    struct Taps {
        var start: [Int] = []
        var size: [Int] = []
        var weights: [Int16] = []
        var stride = 0
        var precision = 0

        init(input: Int, output: Int) {
            let scale = Double(input) / Double(output)
            let support = scale >= 1 ? 2 * scale : 2.0
            let invScale = scale >= 1 ? 1 / scale : 1.0
            stride = Int(support.rounded(.up)) * 2 + 1
            var real = [Double](repeating: 0, count: output * stride)
            var maxWeight = 0.0
            for i in 0..<output {
                let center = scale * (Double(i) + 0.5)
                // C++ static_cast<int64_t>: truncation toward zero.
                let lo = max(Int((center - support + 0.5).rounded(.towardZero)), 0)
                var n = min(Int((center + support + 0.5).rounded(.towardZero)), input) - lo
                n = min(max(n, 0), stride)
                var total = 0.0
                for j in 0..<n {
                    let w = Self.cubic((Double(j + lo) - center + 0.5) * invScale)
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
            // The largest precision whose scaled maximum weight still fits in int16.
            precision = 0
            while precision < 22 && Int(0.5 + maxWeight * Double(1 << (precision + 1))) < 1 << 15 { precision += 1 }
            weights = real.map { w in
                let v = w * Double(1 << precision)
                return Int16(truncatingIfNeeded: v < 0 ? Int(-0.5 + v) : Int(0.5 + v))
            }
        }

        func weight(_ i: Int, _ j: Int) -> Int16 { weights[i * stride + j] }
        var initial: Int32 { Int32(1) << Int32(precision - 1) }
        func clip(_ acc: Int32) -> UInt8 { UInt8(max(0, min(255, acc >> Int32(precision)))) }

        /// Keys' cubic convolution kernel with a = −0.5 (PIL's and ATen's antialias filter).
        static func cubic(_ x: Double) -> Double {
            let a = -0.5, x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
            return 0
        }
    }
}
