extension CPUBackend {
    /// torch.nn.functional.conv1d: x [Cin, T], weight [Cout, Cin/groups, k], zero padding
    /// (left, right), any stride and group count -> [Cout, T'], T' = (T + pl + pr − k) / stride + 1.
    ///
    /// Per group, blocks of output columns are gathered (im2col, [Cin/groups · k, n]) and multiplied
    /// by the group's weight rows in one GEMM; the block size keeps the gathered panel near 32 MB,
    /// so a minute of 16 kHz audio through wav2vec2's first convolutions never materialises whole.
    public func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1,
                       padding: (left: Int, right: Int) = (0, 0), groups: Int = 1) throws -> Tensor {
        guard x.rank == 2, weight.rank == 3, groups >= 1, x.shape[0] % groups == 0, weight.shape[0] % groups == 0,
              weight.shape[1] * groups == x.shape[0] else {
            throw TensorError.shapeMismatch(op: "conv1d", detail: "x \(x.shape), weight \(weight.shape), groups \(groups)")
        }
        guard stride >= 1, padding.left >= 0, padding.right >= 0 else {
            throw TensorError.invalidArgument(op: "conv1d", detail: "stride \(stride), padding \(padding)")
        }
        let cin = x.shape[0], t = x.shape[1], cout = weight.shape[0], k = weight.shape[2]
        if let bias, bias.count != cout { throw TensorError.shapeMismatch(op: "conv1d", detail: "bias \(bias.shape)") }
        let padded = t + padding.left + padding.right
        guard padded >= k else {
            throw TensorError.shapeMismatch(op: "conv1d", detail: "padded input \(padded) shorter than kernel \(k)")
        }
        let to = (padded - k) / stride + 1
        let cinG = cin / groups, coutG = cout / groups, kdim = cinG * k
        let x = x.contiguous(), w = weight.contiguous(), b = bias?.contiguous()
        let out = Tensor(uninitialized: [cout, to])
        let block = Swift.max(1, Swift.min(to, (8 << 20) / Swift.max(kdim, 1)))
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: kdim * block)
        defer { cols.deallocate() }
        let src = x.data, dst = out.data
        for g in 0..<groups {
            var c0 = 0
            while c0 < to {
                let n = Swift.min(block, to - c0)
                parallelChunks(kdim, threads: threads) { rows in
                    for row in rows {
                        let c = g * cinG + row / k, tap = row % k
                        let s = src + c * t, d = cols + row * n
                        for j in 0..<n {
                            let i = (c0 + j) * stride + tap - padding.left
                            d[j] = i >= 0 && i < t ? s[i] : 0
                        }
                    }
                }
                // Output rows of this group are strided by `to`: C = W_g · cols into out[g·coutG..., c0...].
                gemm(m: coutG, n: n, k: kdim, a: w.data + g * coutG * kdim, lda: kdim, b: cols, ldb: n,
                     c: dst + g * coutG * to + c0, ldc: to)
                c0 += n
            }
        }
        if let b {
            for o in 0..<cout {
                let v = b.data[o], row = dst + o * to
                for j in 0..<to { row[j] += v }
            }
        }
        return out
    }
}
