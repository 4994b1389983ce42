import CWandKernels

extension CPUBackend {
    /// Tile sizes: 512 queries × 2048 keys keeps both GEMMs of a tile (512×2048×128 and
    /// 512×128×2048) in OpenBLAS's efficient range and halves the rescaling passes of 1024-key
    /// tiles (L = 4096, 2 threads: 1.42 s against 1.48 s); the query tile shrinks when there would
    /// be too few tiles to keep every thread busy.
    static let attentionQueryBlock = 512
    static let attentionKeyBlock = 2048

    /// Flash-attention style: for each (head, block of queries) walk the keys in blocks, keep the
    /// running row max `m`, row sum `l` and unnormalized output `O`, rescaling O when the max
    /// grows. Memory is O(L·d) plus one Bq×Bk score tile per thread; the L×L matrix never exists.
    public func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float?, bias: Tensor?) throws -> Tensor {
        guard q.rank == 3, k.rank == 3, v.rank == 3, k.shape == v.shape, q.shape[1] == k.shape[1],
              q.shape[2] == k.shape[2] else {
            throw TensorError.shapeMismatch(op: "attention", detail: "q \(q.shape), k \(k.shape), v \(v.shape)")
        }
        let lq = q.shape[0], heads = q.shape[1], d = q.shape[2], lk = k.shape[0]
        if let bias, bias.shape != [heads, lq, lk] {
            throw TensorError.shapeMismatch(op: "attention", detail: "bias \(bias.shape), expected [\(heads), \(lq), \(lk)]")
        }
        guard lk > 0 else { throw TensorError.invalidArgument(op: "attention", detail: "no keys") }
        let q = q.contiguous(), k = k.contiguous(), v = v.contiguous(), bias = bias?.contiguous()
        let out = Tensor(uninitialized: q.shape)
        let s = scale ?? 1 / Float(d).squareRoot()
        var bq = Self.attentionQueryBlock
        while bq > 32 && heads * ((lq + bq - 1) / bq) < 4 * threads { bq /= 2 }
        let bk = Swift.min(Self.attentionKeyBlock, lk)
        let qBlocks = (lq + bq - 1) / bq
        let ld = heads * d
        let qp = q.data, kp = k.data, vp = v.data, op = out.data, bp = bias?.data
        do {
            parallelChunks(heads * qBlocks, threads: threads) { items in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: bq * bk)
                let acc = UnsafeMutablePointer<Float>.allocate(capacity: bq * d)
                let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: bq)
                let rowSum = UnsafeMutablePointer<Float>.allocate(capacity: bq)
                defer { scores.deallocate(); acc.deallocate(); rowMax.deallocate(); rowSum.deallocate() }
                for item in items {
                    let h = item / qBlocks, q0 = (item % qBlocks) * bq
                    let rows = Swift.min(bq, lq - q0)
                    acc.update(repeating: 0, count: rows * d)
                    rowMax.update(repeating: -.infinity, count: rows)
                    rowSum.update(repeating: 0, count: rows)
                    var k0 = 0
                    while k0 < lk {
                        let cols = Swift.min(bk, lk - k0)
                        CPUBackend.sgemm(transB: true, m: rows, n: cols, k: d, alpha: s,
                                         a: qp + q0 * ld + h * d, lda: ld, b: kp + k0 * ld + h * d, ldb: ld,
                                         c: scores, ldc: cols)
                        if let bp {
                            for r in 0..<rows {
                                let row = scores + r * cols, brow = bp + (h * lq + q0 + r) * lk + k0
                                for j in 0..<cols { row[j] += brow[j] }
                            }
                        }
                        wand_online_softmax_tile(scores, Int32(rows), Int32(cols), rowMax, rowSum, acc, Int32(d))
                        CPUBackend.sgemm(m: rows, n: d, k: cols, a: scores, lda: cols, b: vp + k0 * ld + h * d,
                                         ldb: ld, beta: 1, c: acc, ldc: d)
                        k0 += cols
                    }
                    for r in 0..<rows {
                        let inv = 1 / rowSum[r]
                        let dst = op + (q0 + r) * ld + h * d, a = acc + r * d
                        for t in 0..<d { dst[t] = a[t] * inv }
                    }
                }
            }
        }
        return out
    }
}
