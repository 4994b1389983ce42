import Glibc
import WandTensor

// Small DiT-specific loops that WandTensor does not have (yet): patch gathering, unpatchify,
// the timestep sinusoid and per-token adaLN modulation. Candidates to move into WandTensor.

enum DiTKernels {
    /// `[C, F, H, W]` -> `[F/pt·H/ph·W/pw, C·pt·ph·pw]`, feature order (c, dt, dh, dw) with c
    /// slowest, matching the Conv3d weight `[d, C, pt, ph, pw]` flattened to `[d, C·pt·ph·pw]`
    /// (spec §2.1; the published patch is (1, 2, 2)).
    static func patchify(_ x: Tensor, patch: [Int]) -> Tensor {
        let x = x.contiguous()
        let c = x.shape[0], f = x.shape[1], h = x.shape[2], w = x.shape[3]
        let pt = patch[0], ph = patch[1], pw = patch[2], volume = pt * ph * pw
        let gf = f / pt, gh = h / ph, gw = w / pw
        let out = Tensor(uninitialized: [gf * gh * gw, c * volume])
        let src = x.data, dst = out.data
        for t in 0..<gf {
            for i in 0..<gh {
                for j in 0..<gw {
                    var row = dst + ((t * gh + i) * gw + j) * c * volume
                    for ch in 0..<c {
                        for a in 0..<pt {
                            for b in 0..<ph {
                                let s = src + ((ch * f + t * pt + a) * h + i * ph + b) * w + j * pw
                                for k in 0..<pw { row[k] = s[k] }
                                row += pw
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `[L, pt·ph·pw·C]` with feature `((dt·ph + dh)·pw + dw)·C + c` -> `[C, gf·pt, gh·ph, gw·pw]`
    /// (spec §2.6).
    static func unpatchify(_ y: Tensor, channels c: Int, patch: [Int], frames gf: Int, gridH gh: Int, gridW gw: Int) -> Tensor {
        let y = y.contiguous()
        let pt = patch[0], ph = patch[1], pw = patch[2]
        let f = gf * pt, h = gh * ph, w = gw * pw
        let out = Tensor(uninitialized: [c, f, h, w])
        let src = y.data, dst = out.data
        for t in 0..<gf {
            for i in 0..<gh {
                for j in 0..<gw {
                    let row = src + ((t * gh + i) * gw + j) * pt * ph * pw * c
                    for a in 0..<pt {
                        for b in 0..<ph {
                            for k in 0..<pw {
                                let feature = row + ((a * ph + b) * pw + k) * c
                                for ch in 0..<c {
                                    dst[((ch * f + t * pt + a) * h + i * ph + b) * w + j * pw + k] = feature[ch]
                                }
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
