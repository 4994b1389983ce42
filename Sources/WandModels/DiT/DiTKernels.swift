import Glibc
import WandTensor

// Small DiT-specific loops that WandTensor does not have (yet): patch gathering, unpatchify,
// the timestep sinusoid and per-token adaLN modulation. Candidates to move into WandTensor.

enum DiTKernels {
    /// `[C, F, H, W]` -> `[F·H/2·W/2, C·4]`, feature order (c, a, b) with c slowest, matching the
    /// Conv3d weight `[d, C, 1, 2, 2]` flattened to `[d, C·4]` (spec §2.1).
    static func patchify(_ x: Tensor) -> Tensor {
        let x = x.contiguous()
        let c = x.shape[0], f = x.shape[1], h = x.shape[2], w = x.shape[3]
        let gh = h / 2, gw = w / 2
        let out = Tensor(uninitialized: [f * gh * gw, c * 4])
        let src = x.data, dst = out.data
        for t in 0..<f {
            for i in 0..<gh {
                for j in 0..<gw {
                    let row = dst + ((t * gh + i) * gw + j) * c * 4
                    for ch in 0..<c {
                        for a in 0..<2 {
                            let s = src + ((ch * f + t) * h + 2 * i + a) * w + 2 * j
                            row[ch * 4 + a * 2] = s[0]
                            row[ch * 4 + a * 2 + 1] = s[1]
                        }
                    }
                }
            }
        }
        return out
    }

    /// `[L, 4·C]` with feature `(a·2 + b)·C + c` -> `[C, F, 2·gh, 2·gw]` (spec §2.6).
    static func unpatchify(_ y: Tensor, channels c: Int, frames f: Int, gridH gh: Int, gridW gw: Int) -> Tensor {
        let y = y.contiguous()
        let h = 2 * gh, w = 2 * gw
        let out = Tensor(uninitialized: [c, f, h, w])
        let src = y.data, dst = out.data
        for t in 0..<f {
            for i in 0..<gh {
                for j in 0..<gw {
                    let row = src + ((t * gh + i) * gw + j) * 4 * c
                    for a in 0..<2 {
                        for b in 0..<2 {
                            for ch in 0..<c {
                                dst[((ch * f + t) * h + 2 * i + a) * w + 2 * j + b] = row[(a * 2 + b) * c + ch]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `[cos(t·ω) | sin(t·ω)]`, ω_k = 10000^(−k/half), in double then rounded to f32 (spec §2.3).
    static func timestepSinusoid(_ timesteps: [Double], dim: Int) -> Tensor {
        let half = dim / 2
        let out = Tensor(uninitialized: [timesteps.count, dim])
        for (r, t) in timesteps.enumerated() {
            let row = out.data + r * dim
            for k in 0..<half {
                let arg = t * pow(10_000.0, -Double(k) / Double(half))
                row[k] = Float(cos(arg))
                row[half + k] = Float(sin(arg))
            }
        }
        return out
    }

    /// In place: `y[r] = y[r]·(1 + scale[u]) + shift[u]` with `u = index[r]`; `table` is
    /// `[U, chunks, d]` and `shift`/`scale` pick the chunk.
    static func modulate(_ y: Tensor, table: Tensor, chunks: Int, shift: Int, scale: Int, index: [Int]) {
        let d = y.shape[y.rank - 1]
        let p = y.data, m = table.data
        for r in 0..<index.count {
            let row = p + r * d
            let sh = m + (index[r] * chunks + shift) * d, sc = m + (index[r] * chunks + scale) * d
            for k in 0..<d { row[k] = row[k] * (1 + sc[k]) + sh[k] }
        }
    }

    /// In place: `x[r] += delta[r] · gate[u]`.
    static func addGated(_ x: Tensor, _ delta: Tensor, table: Tensor, chunks: Int, gate: Int, index: [Int]) {
        let d = x.shape[x.rank - 1]
        let xp = x.data, dp = delta.data, m = table.data
        for r in 0..<index.count {
            let row = xp + r * d, drow = dp + r * d, g = m + (index[r] * chunks + gate) * d
            for k in 0..<d { row[k] += drow[k] * g[k] }
        }
    }

    /// In place: `x += delta` (same shape, both contiguous).
    static func addInPlace(_ x: Tensor, _ delta: Tensor) {
        let xp = x.data, dp = delta.data
        for k in 0..<x.count { xp[k] += dp[k] }
    }

    /// `modulation [1, chunks, d]` + each row of `emb` -> `[U, chunks, d]`. `emb` is `[U, chunks·d]`
    /// (blocks: e0) or `[U, d]`, added to every chunk (head: e, spec §2.6).
    static func modulationTable(_ modulation: Tensor, _ emb: Tensor, chunks: Int) -> Tensor {
        let u = emb.shape[0], n = modulation.count, d = n / chunks
        let width = emb.count / u
        precondition(width == n || width == d, "modulation \(modulation.shape) vs embedding \(emb.shape)")
        let out = Tensor(uninitialized: [u, chunks, d])
        let m = modulation.contiguous(), e = emb.contiguous()
        for r in 0..<u {
            for k in 0..<n { out.data[r * n + k] = m.data[k] + e.data[r * width + (width == n ? k : k % d)] }
        }
        return out
    }
}
