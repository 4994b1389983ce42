import WandTensor

// Small loops of the S2V model: strided patch gathering for the frame-pack convolutions, the
// causal (replicate-padded) 1-D convolution of the audio encoder, and numpy's integer linspace
// that places the compressed motion tokens.

enum S2VKernels {
    /// `[C, T, H, W]` -> `[T/kt · H/kh · W/kw, C·kt·kh·kw]`: the input of a Conv3d with kernel =
    /// stride = (kt, kh, kw) as one GEMM against its weight `[d, C, kt, kh, kw]` flattened.
    static func patchify(_ x: Tensor, kt: Int, kh: Int, kw: Int) -> Tensor {
        let x = x.contiguous()
        let c = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        let gt = t / kt, gh = h / kh, gw = w / kw, k = kt * kh * kw
        let out = Tensor(uninitialized: [gt * gh * gw, c * k])
        let src = x.data, dst = out.data
        for a in 0..<gt { for i in 0..<gh { for j in 0..<gw {
            let row = dst + ((a * gh + i) * gw + j) * c * k
            for ch in 0..<c { for dt in 0..<kt { for dh in 0..<kh {
                let s = src + ((ch * t + a * kt + dt) * h + i * kh + dh) * w + j * kw
                let d = row + ((ch * kt + dt) * kh + dh) * kw
                for dw in 0..<kw { d[dw] = s[dw] }
            } } }
        } } }
        return out
    }

    /// `CausalConv1d` (kernel k, replicate padding of k − 1 on the left) on `[C, T]`.
    static func causalConv(_ backend: any ComputeBackend, _ x: Tensor, weight: Tensor, bias: Tensor, stride: Int) throws -> Tensor {
        let x = x.contiguous()
        let c = x.shape[0], t = x.shape[1], pad = weight.shape[2] - 1
        let padded = Tensor(uninitialized: [c, t + pad])
        for ch in 0..<c {
            let s = x.data + ch * t, d = padded.data + ch * (t + pad)
            for i in 0..<pad { d[i] = s[0] }
            (d + pad).update(from: s, count: t)
        }
        return try backend.conv1d(padded, weight: weight, bias: bias, stride: stride, padding: (0, 0), groups: 1)
    }

    /// `np.linspace(start, stop, n).astype(int)`: arange·step + start in double (the last value
    /// set to `stop`), truncated toward zero.
    static func linspaceInt(_ start: Double, _ stop: Double, _ n: Int) -> [Int] {
        guard n > 1 else { return n == 1 ? [Int(start)] : [] }
        let step = (stop - start) / Double(n - 1)
        return (0..<n).map { i in Int(i == n - 1 ? stop : Double(i) * step + start) }
    }
}
