import WandTensor

// Parameter-free rearrangements of the Wan2.2 VAE (§5.3), for any patch size and stage factors.
// Candidates for WandTensor once another model needs them; they are plain index shuffles over
// contiguous [C, T, H, W] buffers.
enum VAERearrange {
    /// RGB [3, T, H, W] -> [3p², T, H/p, W/p], channel c·p² + w-offset·p + h-offset (diffusers'
    /// `patchify`; p = 2 in the published Wan2.2 VAE).
    static func patchify(_ x: Tensor, patch p: Int = 2) throws -> Tensor {
        let c = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        guard h % p == 0, w % p == 0 else { throw VAEError.badInput(detail: "patch size \(p) needs a height and width divisible by \(p), got \(h)×\(w)") }
        let x = x.contiguous(), ho = h / p, wo = w / p
        let out = Tensor(uninitialized: [c * p * p, t, ho, wo])
        let src = x.data, dst = out.data
        for ch in 0..<c { for r in 0..<p { for q in 0..<p {
            let oc = (ch * p + r) * p + q
            for f in 0..<t { for i in 0..<ho {
                let s = src + ((ch * t + f) * h + p * i + q) * w + r
                let d = dst + ((oc * t + f) * ho + i) * wo
                for j in 0..<wo { d[j] = s[p * j] }
            } }
        } } }
        return out
    }

    /// The inverse of `patchify`: [3p², T, h, w] -> [3, T, p·h, p·w].
    static func unpatchify(_ x: Tensor, patch p: Int = 2) throws -> Tensor {
        let c = x.shape[0] / (p * p), t = x.shape[1], h = x.shape[2], w = x.shape[3]
        let x = x.contiguous(), ho = h * p, wo = w * p
        let out = Tensor(uninitialized: [c, t, ho, wo])
        let src = x.data, dst = out.data
        for ch in 0..<c { for r in 0..<p { for q in 0..<p {
            let ic = (ch * p + r) * p + q
            for f in 0..<t { for i in 0..<h {
                let s = src + ((ic * t + f) * h + i) * w
                let d = dst + ((ch * t + f) * ho + p * i + q) * wo + r
                for j in 0..<w { d[p * j] = s[j] }
            } }
        } } }
        return out
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
    /// spread into time and space; on the first chunk the first ft−1 frames are dropped.
    static func dupUp(_ x: Tensor, outChannels: Int, ft: Int, fs: Int, firstChunk: Bool) throws -> Tensor {
        let cin = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        let factor = ft * fs * fs
        guard (outChannels * factor) % cin == 0 else {
            throw VAEError.badInput(detail: "DupUp3D \(x.shape) -> \(outChannels) channels, factors \(ft)×\(fs)")
        }
        let repeats = outChannels * factor / cin
        let drop = firstChunk ? ft - 1 : 0
        let to = t * ft - drop, ho = h * fs, wo = w * fs
        let x = x.contiguous(), src = x.data
        let out = Tensor(uninitialized: [outChannels, to, ho, wo])
        let dst = out.data
        for k in 0..<(outChannels * factor) {
            let ic = k / repeats
            let o = k / factor, rem = k % factor
            let dt = rem / (fs * fs), dh = (rem / fs) % fs, dw = rem % fs
            for f in 0..<t {
                let tout = f * ft + dt - drop
                if tout < 0 { continue }
                for i in 0..<h {
                    let s = src + ((ic * t + f) * h + i) * w
                    let d = dst + ((o * to + tout) * ho + i * fs + dh) * wo + dw
                    for j in 0..<w { d[j * fs] = s[j] }
                }
            }
        }
        return out
    }
}
