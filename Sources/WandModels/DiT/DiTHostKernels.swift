import WandTensor

// Host loops of the adaLN modulation that the S2V and Animate DiTs still use. The Wan DiT runs the
// same arithmetic as backend ops (ComputeBackend.modulatedLayerNorm / gatedAdd), so it stays on a
// device; these two models do not yet, and on a device backend their tensors come back to the host
// here (TensorStorage copies lazily).
extension DiTKernels {
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
