import Glibc

extension CPUBackend {
    /// Wan 3-D RoPE (spec §2.5): adjacent pairs (x[2p], x[2p+1]) rotate by position·ω; the first
    /// D/2 − 2·(D/2/3) pairs take the frame index, the next D/2/3 the row, the last D/2/3 the
    /// column (22/21/21 for D = 128), ω_j = θ^(−2j/D_axis). Angles and rotation in double, as the
    /// reference does.
    public func rope3D(_ x: Tensor, frames: Int, height: Int, width: Int, theta: Double) throws -> Tensor {
        guard x.rank == 3, x.shape[0] == frames * height * width, x.shape[2] % 2 == 0 else {
            throw TensorError.shapeMismatch(op: "rope3D", detail: "x \(x.shape) for grid \(frames)x\(height)x\(width)")
        }
        let heads = x.shape[1], d = x.shape[2], pairs = d / 2
        let hwPairs = pairs / 3, fPairs = pairs - 2 * hwPairs
        // Per axis: cos/sin tables [position][pair] for that axis's pairs.
        func table(_ count: Int, _ axisPairs: Int) -> [(Double, Double)] {
            let dim = Double(2 * axisPairs)
            var t = [(Double, Double)]()
            t.reserveCapacity(count * axisPairs)
            for pos in 0..<count {
                for j in 0..<axisPairs {
                    let omega = 1.0 / pow(theta, Double(2 * j) / dim)
                    let angle = Double(pos) * omega
                    t.append((cos(angle), sin(angle)))
                }
            }
            return t
        }
        let tf = table(frames, fPairs), th = table(height, hwPairs), tw = table(width, hwPairs)
        let x = x.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let src = x.data, dst = out.data
        parallelChunks(x.shape[0], threads: threads) { tokens in
            for token in tokens {
                let t = token / (height * width), i = (token / width) % height, j = token % width
                for p in 0..<pairs {
                    let (c, s): (Double, Double)
                    if p < fPairs { (c, s) = tf[t * fPairs + p] }
                    else if p < fPairs + hwPairs { (c, s) = th[i * hwPairs + p - fPairs] }
                    else { (c, s) = tw[j * hwPairs + p - fPairs - hwPairs] }
                    for h in 0..<heads {
                        let o = (token * heads + h) * d + 2 * p
                        let re = Double(src[o]), im = Double(src[o + 1])
                        dst[o] = Float(re * c - im * s)
                        dst[o + 1] = Float(re * s + im * c)
                    }
                }
            }
        }
        return out
    }
}
