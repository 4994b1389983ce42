import Glibc
import WandTensor

// The DiT's data movement and its host-side helpers. Patchify and unpatchify are strided views
// made contiguous, so a device backend does them where the data is; the timestep sinusoid is a
// [U, 256] table (U <= 2) computed on the host in double like the reference. WanDiT runs its
// modulation through the backend (modulatedLayerNorm, gatedAdd); the in-place host versions below
// remain for networks that do not yet (they need host tensors).

enum DiTKernels {
    /// `[C, F, H, W]` -> `[F/pt·H/ph·W/pw, C·pt·ph·pw]`, feature order (c, dt, dh, dw) with c
    /// slowest, matching the Conv3d weight `[d, C, pt, ph, pw]` flattened to `[d, C·pt·ph·pw]`
    /// (spec §2.1; the published patch is (1, 2, 2)).
    static func patchify(_ x: Tensor, patch: [Int]) -> Tensor {
        let x = x.contiguous()
        let c = x.shape[0], f = x.shape[1], h = x.shape[2], w = x.shape[3]
        let pt = patch[0], ph = patch[1], pw = patch[2]
        let gf = f / pt, gh = h / ph, gw = w / pw
        // [c, gf, pt, gh, ph, gw, pw] viewed as [gf, gh, gw, c, pt, ph, pw].
        let view = Tensor(storage: x.storage, shape: [gf, gh, gw, c, pt, ph, pw],
                          strides: [pt * h * w, ph * w, pw, f * h * w, h * w, w, 1], offset: x.offset)
        let tokens = view.contiguous()
        return Tensor(storage: tokens.storage, shape: [gf * gh * gw, c * pt * ph * pw], offset: tokens.offset)
    }

    /// `[L, pt·ph·pw·C]` with feature `((dt·ph + dh)·pw + dw)·C + c` -> `[C, gf·pt, gh·ph, gw·pw]`
    /// (spec §2.6).
    static func unpatchify(_ y: Tensor, channels c: Int, patch: [Int], frames gf: Int, gridH gh: Int, gridW gw: Int) -> Tensor {
        let y = y.contiguous()
        let pt = patch[0], ph = patch[1], pw = patch[2], volume = pt * ph * pw
        // [gf, gh, gw, pt, ph, pw, c] viewed as [c, gf, pt, gh, ph, gw, pw].
        let view = Tensor(storage: y.storage, shape: [c, gf, pt, gh, ph, gw, pw],
                          strides: [1, gh * gw * volume * c, ph * pw * c, gw * volume * c, pw * c, volume * c, c],
                          offset: y.offset)
        let video = view.contiguous()
        return Tensor(storage: video.storage, shape: [c, gf * pt, gh * ph, gw * pw], offset: video.offset)
    }

    /// `[cos(t·ω) | sin(t·ω)]`, ω_k = 10000^(−k/half), in double then rounded to f32 (spec §2.3).
    static func timestepSinusoid(_ timesteps: [Double], dim: Int) -> Tensor {
        let half = dim / 2
        let out = Tensor(uninitialized: [timesteps.count, dim])
        let p = out.data
        for (r, t) in timesteps.enumerated() {
            let row = p + r * dim
            for k in 0..<half {
                let arg = t * pow(10_000.0, -Double(k) / Double(half))
                row[k] = Float(cos(arg))
                row[half + k] = Float(sin(arg))
            }
        }
        return out
    }

    /// In place: `y[r] = y[r]·(1 + scale[u]) + shift[u]` with `u = index[r]`; `table` is
    /// `[U, chunks, d]` and `shift`/`scale` pick the chunk. (Host tensors; see the file comment.)
    static func modulate(_ y: Tensor, table: Tensor, chunks: Int, shift: Int, scale: Int, index: [Int]) {
        let d = y.shape[y.rank - 1], t = table.contiguous()
        let p = y.data, m = t.storage.readPointer + t.offset
        for r in 0..<index.count {
            let row = p + r * d
            let sh = m + (index[r] * chunks + shift) * d, sc = m + (index[r] * chunks + scale) * d
            for k in 0..<d { row[k] = row[k] * (1 + sc[k]) + sh[k] }
        }
        withExtendedLifetime(t) {}
    }

    /// In place: `x[r] += delta[r] · gate[u]`.
    static func addGated(_ x: Tensor, _ delta: Tensor, table: Tensor, chunks: Int, gate: Int, index: [Int]) {
        let d = x.shape[x.rank - 1], dc = delta.contiguous(), t = table.contiguous()
        let xp = x.data, dp = dc.storage.readPointer + dc.offset, m = t.storage.readPointer + t.offset
        for r in 0..<index.count {
            let row = xp + r * d, drow = dp + r * d, g = m + (index[r] * chunks + gate) * d
            for k in 0..<d { row[k] += drow[k] * g[k] }
        }
        withExtendedLifetime((dc, t)) {}
    }

    /// In place: `x += delta` (same shape, both contiguous).
    static func addInPlace(_ x: Tensor, _ delta: Tensor) {
        let dc = delta.contiguous()
        let xp = x.data, dp = dc.storage.readPointer + dc.offset
        for k in 0..<x.count { xp[k] += dp[k] }
        withExtendedLifetime(dc) {}
    }

    /// `modulation [1, chunks, d]` + each row of `emb` -> `[U, chunks, d]`. `emb` is `[U, chunks·d]`
    /// (blocks: e0) or `[U, d]`, added to every chunk (head: e, spec §2.6).
    static func modulationTable(_ modulation: Tensor, _ emb: Tensor, chunks: Int) -> Tensor {
        let u = emb.shape[0], n = modulation.count, d = n / chunks
        let width = emb.count / u
        precondition(width == n || width == d, "modulation \(modulation.shape) vs embedding \(emb.shape)")
        let out = Tensor(uninitialized: [u, chunks, d])
        let m = modulation.contiguous(), e = emb.contiguous()
        let o = out.data, mp = m.storage.readPointer + m.offset, ep = e.storage.readPointer + e.offset
        for r in 0..<u {
            for k in 0..<n { o[r * n + k] = mp[k] + ep[r * width + (width == n ? k : k % d)] }
        }
        withExtendedLifetime((m, e)) {}
        return out
    }
}
