import Glibc

/// One token's (frame, row, column) position for Wan's 3-D RoPE. Positions may be negative
/// (S2V's motion tokens sit before frame 0); a negative position rotates by the negative angle,
/// which is the conjugate the reference takes of its table entry at |position|.
public struct RoPEPosition: Sendable, Hashable {
    public var f: Int, h: Int, w: Int
    public init(f: Int, h: Int, w: Int) { self.f = f; self.h = h; self.w = w }
}

extension CPUBackend {
    /// Wan 3-D RoPE (spec §2.5) with an explicit position per token instead of a grid: the same
    /// 22/21/21-style pair split, ω_j = θ^(−2j/D_axis), angles and rotation in double.
    public func rope3D(_ x: Tensor, positions: [RoPEPosition], theta: Double) throws -> Tensor {
        guard x.rank == 3, x.shape[0] == positions.count, x.shape[2] % 2 == 0 else {
            throw TensorError.shapeMismatch(op: "rope3D", detail: "x \(x.shape) for \(positions.count) positions")
        }
        let heads = x.shape[1], d = x.shape[2], pairs = d / 2
        let hwPairs = pairs / 3, fPairs = pairs - 2 * hwPairs
        // Per axis, a cos/sin table over the positions that occur, indexed from the smallest.
        func table(_ values: [Int], _ axisPairs: Int) -> (lo: Int, t: [(Double, Double)]) {
            let lo = values.min() ?? 0, hi = values.max() ?? 0
            let dim = Double(2 * axisPairs)
            var t = [(Double, Double)]()
            t.reserveCapacity((hi - lo + 1) * axisPairs)
            for pos in lo...hi {
                for j in 0..<axisPairs {
                    let angle = Double(pos) * (1.0 / pow(theta, Double(2 * j) / dim))
                    t.append((cos(angle), sin(angle)))
                }
            }
            return (lo, t)
        }
        let tf = table(positions.map(\.f), fPairs), th = table(positions.map(\.h), hwPairs)
        let tw = table(positions.map(\.w), hwPairs)
        let x = x.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let src = x.data, dst = out.data
        positions.withUnsafeBufferPointer { pos in
            parallelChunks(x.shape[0], threads: threads) { tokens in
                for token in tokens {
                    let p0 = pos[token]
                    let fi = (p0.f - tf.lo) * fPairs, hi = (p0.h - th.lo) * hwPairs, wi = (p0.w - tw.lo) * hwPairs
                    for p in 0..<pairs {
                        let (c, s): (Double, Double)
                        if p < fPairs { (c, s) = tf.t[fi + p] }
                        else if p < fPairs + hwPairs { (c, s) = th.t[hi + p - fPairs] }
                        else { (c, s) = tw.t[wi + p - fPairs - hwPairs] }
                        for h in 0..<heads {
                            let o = (token * heads + h) * d + 2 * p
                            let re = Double(src[o]), im = Double(src[o + 1])
                            dst[o] = Float(re * c - im * s)
                            dst[o + 1] = Float(re * s + im * c)
                        }
                    }
                }
            }
        }
        return out
    }
}
