import WandTensor

// Parameter-free rearrangements of the Wan2.2 VAE (§5.3), for any patch size and stage factors.
// Candidates for WandTensor once another model needs them. All but AvgDown3D (encoder only, a host
// loop) are strided views made contiguous, so a device backend runs them where the data is.
enum VAERearrange {
    /// RGB [3, T, H, W] -> [3p², T, H/p, W/p], channel c·p² + w-offset·p + h-offset (diffusers'
    /// `patchify`; p = 2 in the published Wan2.2 VAE).
    static func patchify(_ x: Tensor, patch p: Int = 2) throws -> Tensor {
        let c = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        guard h % p == 0, w % p == 0 else { throw VAEError.badInput(detail: "patch size \(p) needs a height and width divisible by \(p), got \(h)×\(w)") }
        // [c, t, i, q (h-offset), j, r (w-offset)] -> [c, r, q, t, i, j]
        return try x.reshaped([c, t, h / p, p, w / p, p]).permuted([0, 5, 3, 1, 2, 4]).contiguous()
            .reshaped([c * p * p, t, h / p, w / p])
    }

    /// The inverse of `patchify`: [3p², T, h, w] -> [3, T, p·h, p·w].
    static func unpatchify(_ x: Tensor, patch p: Int = 2) throws -> Tensor {
        let c = x.shape[0] / (p * p), t = x.shape[1], h = x.shape[2], w = x.shape[3]
        // [c, r, q, t, i, j] -> [c, t, i, q, j, r]
        return try x.reshaped([c, p, p, t, h, w]).permuted([0, 3, 4, 2, 5, 1]).contiguous().reshaped([c, t, p * h, p * w])
    }

    /// AvgDown3D: zero frames prepended to a multiple of ft, (c, dt, dh, dw) folded into channels
    /// (c slowest), then consecutive groups averaged down to `outChannels`.
    static func avgDown(_ x: Tensor, outChannels: Int, ft: Int, fs: Int) throws -> Tensor {
        let cin = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        let factor = ft * fs * fs
        guard (cin * factor) % outChannels == 0, h % fs == 0, w % fs == 0 else {
            throw VAEError.badInput(detail: "AvgDown3D \(x.shape) -> \(outChannels) channels, factors \(ft)×\(fs)")
        }
        let group = cin * factor / outChannels
        let padT = (ft - t % ft) % ft
        let to = (t + padT) / ft, ho = h / fs, wo = w / fs
        let x = x.contiguous(), src = x.data
        let out = Tensor(zeros: [outChannels, to, ho, wo])
        let dst = out.data
        let inv = 1 / Float(group)
        for k in 0..<(cin * factor) {
            let o = k / group
            let ch = k / factor, rem = k % factor
            let dt = rem / (fs * fs), dh = (rem / fs) % fs, dw = rem % fs
            for f in 0..<to {
                let tin = f * ft + dt - padT
                if tin < 0 { continue }   // a prepended zero frame
                for i in 0..<ho {
                    let s = src + ((ch * t + tin) * h + i * fs + dh) * w + dw
                    let d = dst + ((o * to + f) * ho + i) * wo
                    for j in 0..<wo { d[j] += s[j * fs] }
                }
            }
        }
        for i in 0..<out.count { dst[i] *= inv }
        return out
    }

    /// DupUp3D: each input channel repeated consecutively, the repeats read as (c, dt, dh, dw) and
    /// spread into time and space; on the first chunk the first ft−1 frames are dropped. Two
    /// strided copies: the repeat (a stride-0 view), then the spread (a permute).
    static func dupUp(_ x: Tensor, outChannels: Int, ft: Int, fs: Int, firstChunk: Bool) throws -> Tensor {
        let cin = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        let factor = ft * fs * fs
        guard (outChannels * factor) % cin == 0 else {
            throw VAEError.badInput(detail: "DupUp3D \(x.shape) -> \(outChannels) channels, factors \(ft)×\(fs)")
        }
        let repeats = outChannels * factor / cin
        let drop = firstChunk ? ft - 1 : 0
        let x = x.contiguous(), plane = t * h * w
        let repeated = Tensor(storage: x.storage, shape: [cin, repeats, t, h, w], strides: [plane, 0, h * w, w, 1],
                              offset: x.offset).contiguous()
        // [o, dt, dh, dw, f, i, j] -> [o, f, dt, i, dh, j, dw]
        let spread = try repeated.reshaped([outChannels, ft, fs, fs, t, h, w]).permuted([0, 4, 1, 5, 2, 6, 3]).contiguous()
            .reshaped([outChannels, t * ft, h * fs, w * fs])
        return drop == 0 ? spread : try spread.sliced(dim: 1, drop..<(t * ft)).contiguous()
    }
}
