// torch.manual_seed(s); torch.randn(shape) on the CPU, float32, bit for bit (spec §4.9).
//
// PyTorch has two paths:
// * numel >= 16 (contiguous float32): fill the buffer with uniforms (24-bit), then Box-Muller on
//   blocks of 16 pairing j with j+8; when numel % 16 != 0 the last 16 positions are refilled with
//   fresh uniforms and transformed again. On AVX2 machines (what the reference runs on) the
//   transform uses the cephes-style log/sincos polynomials of ATen's avx_mathfun.h, and GCC fuses
//   their multiply-adds into FMAs; `CephesAVX2` below reproduces that arithmetic step by step.
// * numel < 16: one double-precision normal per element from 53-bit uniforms (two 32-bit draws
//   each), Box-Muller with log1p, the sine half cached in the generator for the next element.
import Glibc

public struct TorchCPUGenerator: Sendable {
    private var engine: MT19937
    private var cachedNormal: Double?

    /// Same as torch.manual_seed(seed): only the low 32 bits seed the engine.
    public init(seed: UInt64) {
        engine = MT19937(seed: UInt32(truncatingIfNeeded: seed))
    }

    public mutating func nextUInt32() -> UInt32 { engine.next() }

    @inline(__always)
    private mutating func uniformFloat() -> Float {
        Float(Double(engine.next() & 0xFF_FFFF) * 0x1p-24)
    }

    private mutating func uniformDouble() -> Double {
        let hi = UInt64(engine.next()), lo = UInt64(engine.next())
        return Double(((hi << 32) | lo) & ((1 << 53) - 1)) * 0x1p-53
    }

    private mutating func normalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = uniformDouble(), u2 = uniformDouble()
        let r = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * sin(theta)
        return r * cos(theta)
    }

    /// torch.randn(shape) in float32.
    public mutating func randn(_ shape: [Int]) -> Tensor {
        let out = Tensor(uninitialized: shape)
        fillNormal(out.data, count: out.count)
        return out
    }

    public mutating func fillNormal(_ data: UnsafeMutablePointer<Float>, count n: Int) {
        if n < 16 {
            for i in 0..<n { data[i] = Float(normalDouble()) }
            return
        }
        for i in 0..<n { data[i] = uniformFloat() }
        var i = 0
        while i + 16 <= n {
            CephesAVX2.boxMuller16(data + i)
            i += 16
        }
        if n % 16 != 0 {
            let tail = data + (n - 16)
            for j in 0..<16 { tail[j] = uniformFloat() }
            CephesAVX2.boxMuller16(tail)
        }
    }
}

/// The float32 arithmetic of ATen's AVX2 normal_fill_16 (log256_ps, sincos256_ps), lane by lane.
/// Constants are given as bit patterns so no literal rounding can differ from the C build.
enum CephesAVX2 {
    @inline(__always) static func c(_ bits: UInt32) -> Float { Float(bitPattern: bits) }
    @inline(__always) static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

    static func boxMuller16(_ d: UnsafeMutablePointer<Float>) {
        let twoPi = c(0x40C9_0FDB)
        for j in 0..<8 {
            let u1 = 1 - d[j]
            let u2 = d[j + 8]
            let radius = (-2 * log(u1)).squareRoot()
            let (s, co) = sincos(twoPi * u2)
            d[j] = radius * co
            d[j + 8] = radius * s
        }
    }

    static func log(_ input: Float) -> Float {
        // Inputs are in (0, 1]; the invalid (<= 0) branch of the vector code never triggers.
        var x = Swift.max(input, Float(bitPattern: 0x0080_0000))
        let bits = x.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 127) + 1
        x = Float(bitPattern: (bits & ~UInt32(0x7F80_0000)) | 0x3F00_0000)
        let below = x < c(0x3F35_04F3)
        let tmp: Float = below ? x : 0
        x = x - 1
        e = e - (below ? 1 : 0)
        x = x + tmp
        let z = x * x
        var y = c(0x3D90_21BB)
        y = fma(y, x, c(0xBDEB_D1B8))
        y = fma(y, x, c(0x3DEF_251A))
        y = fma(y, x, c(0xBDFE_5D4F))
        y = fma(y, x, c(0x3E11_E9BF))
        y = fma(y, x, c(0xBE2A_AE50))
        y = fma(y, x, c(0x3E4C_CEAC))
        y = fma(y, x, c(0xBE7F_FFFC))
        y = fma(y, x, c(0x3EAA_AAAA))
        y = y * x
        y = fma(y, z, e * c(0xB95E_8083))
        y = fma(-z, 0.5, y)
        x = x + y
        return fma(e, c(0x3F31_8000), x)
    }

    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        let sinNegative = input.sign == .minus
        var x = Swift.abs(input)
        var j = Int32(x * c(0x3FA2_F983))
        j = (j &+ 1) & ~1
        let y = Float(j)
        let swapSin = j & 4 != 0
        let firstPolyForSin = j & 2 == 0
        x = fma(y, c(0xBF49_0000), x)
        x = fma(y, c(0xB97D_A000), x)
        x = fma(y, c(0xB322_2169), x)
        let cosNegative = (~(j &- 2)) & 4 != 0
        let z = x * x
        var yc = c(0x37CC_F5CE)
        yc = fma(yc, z, c(0xBAB6_061A))
        yc = fma(yc, z, c(0x3D2A_AAA5))
        yc = yc * z
        yc = fma(yc, z, -(z * 0.5))
        yc = yc + 1
        var ys = c(0xB94C_A1F9)
        ys = fma(ys, z, c(0x3C08_839E))
        ys = fma(ys, z, c(0xBE2A_AAA3))
        ys = ys * z
        ys = fma(ys, x, x)
        var s = firstPolyForSin ? ys : yc
        var co = firstPolyForSin ? yc : ys
        if sinNegative != swapSin { s = -s }
        if cosNegative { co = -co }
        return (s, co)
    }
}
