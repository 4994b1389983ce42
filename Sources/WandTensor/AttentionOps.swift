import CWandKernels

extension CPUBackend {
    /// Tile sizes: 512 queries × 2048 keys (L = 4096, 2 threads: 1.42 s against 1.48 s for
    /// 1024-key tiles with OpenBLAS's GEMMs); the query tile shrinks when there would be too few
    /// tiles to keep every thread busy.
    static let attentionQueryBlock = 512
    static let attentionKeyBlock = 2048
    /// At most this much memory for the packed K and V of a group of heads (one head always fits:
    /// 2·L·d floats, 77 MB at L = 75,600 and d = 128).
    static let attentionPackedBytes = 256 << 20

    /// Flash-attention style: for each (head, block of queries) walk the keys in blocks, keep the
    /// running row max `m`, row sum `l` and unnormalized output `O`, rescaling O when the max
    /// grows. Memory is O(L·d): one group of heads' packed K and V, plus one Bq×Bk score tile per
    /// thread; the L×L matrix never exists.
    ///
    /// The GEMMs are our own (`wand_gemm_packed`) on K and V packed once per head, shared by all
    /// threads; the score tile feeds the P·V product in place. cblas_sgemm would pack both
    /// operands again on every tile (L = 4096, 24 heads, d 128, 2 AVX-512 cores: 1.17 s with
    /// OpenBLAS's GEMMs, 1.02 s with these; PyTorch 1.18 s).
    public func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float?, bias: Tensor?) throws -> Tensor {
        let g = try AttentionGeometry(q: q, k: k, v: v, bias: bias)
        let (lq, heads, d, lk) = (g.lq, g.heads, g.d, g.lk)
        let q = q.contiguous(), k = k.contiguous(), v = v.contiguous(), bias = bias?.contiguous()
        let out = Tensor(uninitialized: q.shape)
        guard lq > 0, d > 0 else { return out }
        let s = scale ?? 1 / Float(d).squareRoot()
        let panel = Int(WAND_PANEL)
        func padded(_ n: Int) -> Int { (n + panel - 1) / panel * panel }
        let kPad = padded(lk), dPad = padded(d)
        var bq = Self.attentionQueryBlock
        while bq > 32 && heads * ((lq + bq - 1) / bq) < 4 * threads { bq /= 2 }
        let bk = Swift.min(Self.attentionKeyBlock, kPad)
        let qBlocks = (lq + bq - 1) / bq
        // One head's packed K and V serve all threads; several heads go together only when one
        // has too few query blocks to keep every thread busy (short sequences, where they are small).
        let kPanels = kPad / panel
        let headFloats = kPad * d + dPad * kPad
        let group = Swift.max(1, Swift.min(heads, (2 * threads + qBlocks - 1) / qBlocks,
                                           Self.attentionPackedBytes / (headFloats * MemoryLayout<Float>.size)))
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: group * headFloats)
        let scratchSets = Swift.max(1, Swift.min(threads, group * qBlocks))
        let scratchFloats = bq * d + bq * bk + bq * dPad + 2 * bq
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchSets * scratchFloats)
        defer { packed.deallocate(); scratch.deallocate() }
        let ld = heads * d
        let qp = q.data, kp = k.data, vp = v.data, op = out.data, bp = bias?.data
        for g0 in stride(from: 0, to: heads, by: group) {
            let groupHeads = Swift.min(group, heads - g0)
            parallelChunks(groupHeads * kPanels, threads: threads) { items in
                for item in items {
                    let hg = item / kPanels, j0 = (item % kPanels) * panel
                    let n = Swift.min(panel, lk - j0), src = (g0 + hg) * d + j0 * ld
                    let kPacked = packed + hg * headFloats
                    wand_pack_transposed_panels(kp + src, ld, Int32(n), Int32(d), kPacked + j0 * d)
                    // V rows past lk are never read: the P·V product stops at the real keys.
                    wand_pack_panels(vp + src, ld, Int32(n), Int32(d), kPacked + kPad * d + j0 * panel, kPad * panel)
                }
            }
            parallelChunks(groupHeads * qBlocks, threads: scratchSets) { chunk, items in
                let qs = scratch + chunk * scratchFloats
                let scores = qs + bq * d, acc = scores + bq * bk, rowMax = acc + bq * dPad, rowSum = rowMax + bq
                for item in items {
                    let hg = item / qBlocks, h = g0 + hg, q0 = (item % qBlocks) * bq
                    let rows = Swift.min(bq, lq - q0)
                    let kPacked = packed + hg * headFloats, vPacked = kPacked + kPad * d
                    for r in 0..<rows {
                        let src = qp + (q0 + r) * ld + h * d, dst = qs + r * d
                        for t in 0..<d { dst[t] = src[t] * s }
                    }
                    acc.update(repeating: 0, count: rows * dPad)
                    rowMax.update(repeating: -.infinity, count: rows)
                    rowSum.update(repeating: 0, count: rows)
                    var k0 = 0
                    while k0 < lk {
                        let cols = Swift.min(bk, lk - k0), ldS = padded(cols)
                        wand_gemm_packed(Int32(rows), Int32(ldS), Int32(d), qs, d, kPacked + k0 * d, panel * d,
                                         scores, ldS, 0)
                        if let bp {
                            for r in 0..<rows {
                                let row = scores + r * ldS, brow = bp + (h * lq + q0 + r) * lk + k0
                                for j in 0..<cols { row[j] += brow[j] }
                            }
                        }
                        wand_online_softmax_tile(scores, Int32(rows), Int32(cols), Int32(ldS), rowMax, rowSum, acc,
                                                 Int32(dPad))
                        wand_gemm_packed(Int32(rows), Int32(dPad), Int32(cols), scores, ldS, vPacked + k0 * panel,
                                         kPad * panel, acc, dPad, 1)
                        k0 += cols
                    }
                    for r in 0..<rows {
                        let inv = 1 / rowSum[r]
                        let dst = op + (q0 + r) * ld + h * d, a = acc + r * dPad
                        for t in 0..<d { dst[t] = a[t] * inv }
                    }
                }
            }
        }
        return out
    }
}
