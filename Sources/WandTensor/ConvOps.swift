extension CPUBackend {
    /// 3-D convolution. The input's real frames are zero-padded in space once, into a time-major
    /// buffer [T, Cin, Hp, Wp]; temporal padding is never materialised. With spatial stride 1 every
    /// spatial tap (dh, dw) is one GEMM on a *shifted* window of that buffer: computing outputs on
    /// the padded width Wp makes the input of one tap for all output pixels a contiguous run, so no
    /// im2col copy is needed (the Wp − W' extra columns are thrown away), and because frames are
    /// outermost, a window's real frames are adjacent rows of B, so its temporal taps fold into K
    /// (K = frames·Cin). Frames of the window that are zero padding (the causal front of a first
    /// chunk) are left out of K instead of multiplied. Other strides use im2col on blocks of rows.
    public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int, Int),
                       padding: Conv3DPadding) throws -> Tensor {
        let p = padding
        let g = try Conv3DGeometry(x, weight: weight, bias: bias, stride: stride, padding: padding)
        let (cin, t, cout, kt, kh, kw) = (g.cin, g.t, g.cout, g.kt, g.kh, g.kw)
        let (hp, wp, to, ho, wo) = (g.hp, g.wp, g.to, g.ho, g.wo)
        let x = x.contiguous(), weight = weight.contiguous(), bias = bias?.contiguous()
        let out = Tensor(uninitialized: [cout, to, ho, wo])

        if Self.useWinograd(cin: cin, kh: kh, kw: kw, stride: stride) {
            return conv3dWinograd(x, weight: weight, bias: bias, padding: p)
        }
        // Spatially padded real frames, with kw + wp floats of slack so the last shifted window
        // may run past the end (into columns that are thrown away).
        let frame = hp * wp, plane = cin * frame
        let paddedBuffer = padFrames(x, top: p.top, bottom: p.bottom, left: p.left, right: p.right, slack: kw + wp)
        defer { ScratchPool.shared.give(paddedBuffer) }
        let padded = paddedBuffer.pointer
        let taps = kt * kh * kw
        let dst = out.data, bp = bias?.data
        if stride.1 == 1 && stride.2 == 1 {
            // Weights regrouped per spatial tap: [kh·kw][Cout][kt·Cin], so the A of a tap over
            // frames dt0..<dt1 is one block with lda = kt·Cin.
            let ktc = kt * cin
            let wtBuffer = ScratchPool.shared.take(kh * kw * cout * ktc)
            defer { ScratchPool.shared.give(wtBuffer) }
            let wt = wtBuffer.pointer
            let wsrc = weight.data
            parallelChunks(cout, threads: threads) { outs in
                // Sequential writes; the strided reads stay inside one output channel's
                // cin×taps block, which fits in L2.
                for o in outs { for s2 in 0..<(kh * kw) { for dt in 0..<kt {
                    let d = wt + (s2 * cout + o) * ktc + dt * cin, s = wsrc + o * cin * taps + dt * kh * kw + s2
                    for c in 0..<cin { d[c] = s[c * taps] }
                } } }
            }
            // Output rows in blocks so the C tile of the accumulating GEMMs stays cache-sized.
            let rowsPerBlock = Swift.max(1, Swift.min(ho, 8192 / wp))
            let wideBuffer = ScratchPool.shared.take(cout * rowsPerBlock * wp)
            defer { ScratchPool.shared.give(wideBuffer) }
            let wide = wideBuffer.pointer
            for ot in 0..<to {
                let (dt0, frames, firstFrame) = Self.realFrames(output: ot, stride: stride.0, kt: kt, t: t, padding: p)
                var r0 = 0
                while r0 < ho {
                    let rows = Swift.min(rowsPerBlock, ho - r0), n = rows * wp
                    if frames <= 0 {
                        // All padding: the output is the bias.
                        for o in 0..<cout {
                            for r in 0..<rows {
                                (dst + ((o * to + ot) * ho + r0 + r) * wo).update(repeating: bp?[o] ?? 0, count: wo)
                            }
                        }
                        r0 += rows
                        continue
                    }
                    // Threads take disjoint column ranges and run all taps on them, so each
                    // keeps its own slice of the accumulator hot.
                    let pieces = Swift.min(threads, Swift.max(1, n / 64))
                    parallelChunks(pieces, threads: threads) { range in
                        for piece in range {
                            let lo = n * piece / pieces, hi = n * (piece + 1) / pieces
                            for dh in 0..<kh { for dw in 0..<kw {
                                let s2 = dh * kw + dw
                                let b = padded + firstFrame * plane + (r0 + dh) * wp + dw + lo
                                CPUBackend.sgemm(m: cout, n: hi - lo, k: frames * cin,
                                                 a: wt + s2 * cout * ktc + dt0 * cin, lda: ktc,
                                                 b: b, ldb: frame, beta: s2 == 0 ? 0 : 1, c: wide + lo, ldc: n)
                            } }
                        }
                    }
                    parallelChunks(cout, threads: threads) { outs in
                        for o in outs {
                            let add = bp?[o] ?? 0
                            for r in 0..<rows {
                                let s = wide + o * n + r * wp
                                let d = dst + ((o * to + ot) * ho + r0 + r) * wo
                                for c in 0..<wo { d[c] = s[c] + add }
                            }
                        }
                    }
                    r0 += rows
                }
            }
        } else {
            let kdim = cin * taps
            let rowsPerBlock = Swift.max(1, Swift.min(ho, 4096 / Swift.max(wo, 1)))
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: kdim * rowsPerBlock * wo)
            let res = UnsafeMutablePointer<Float>.allocate(capacity: cout * rowsPerBlock * wo)
            defer { cols.deallocate(); res.deallocate() }
            for ot in 0..<to {
                var r0 = 0
                while r0 < ho {
                    let rows = Swift.min(rowsPerBlock, ho - r0), n = rows * wo
                    for c in 0..<cin { for dt in 0..<kt {
                        let ti = ot * stride.0 + dt - p.timeFront
                        for dh in 0..<kh { for dw in 0..<kw {
                            let krow = ((c * kt + dt) * kh + dh) * kw + dw
                            let dstRow = cols + krow * n
                            guard ti >= 0 && ti < t else { dstRow.update(repeating: 0, count: n); continue }
                            for r in 0..<rows {
                                let s = padded + ti * plane + c * frame + ((r0 + r) * stride.1 + dh) * wp + dw
                                for oc in 0..<wo { dstRow[r * wo + oc] = s[oc * stride.2] }
                            }
                        } }
                    } }
                    gemm(m: cout, n: n, k: kdim, a: weight.data, lda: kdim, b: cols, ldb: n, c: res, ldc: n)
                    for o in 0..<cout {
                        let add = bp?[o] ?? 0
                        let d = dst + ((o * to + ot) * ho + r0) * wo, s = res + o * n
                        for i in 0..<n { d[i] = s[i] + add }
                    }
                    r0 += rows
                }
            }
        }
        return out
    }

    /// The input frames under output frame `ot`'s temporal window (padded frames ot·s … ot·s+kt−1):
    /// the first kernel tap that sees one (`dt0`), how many do (`frames`, ≤ 0 for a window of pure
    /// padding) and the first one's index in x (`firstFrame`).
    static func realFrames(output ot: Int, stride: Int, kt: Int, t: Int, padding p: Conv3DPadding)
        -> (dt0: Int, frames: Int, firstFrame: Int) {
        let dt0 = Swift.max(0, p.timeFront - ot * stride), dt1 = Swift.min(kt, t + p.timeFront - ot * stride)
        return (dt0, dt1 - dt0, ot * stride + dt0 - p.timeFront)
    }

    /// x's frames, zero-padded in space, time-major: [T, Cin, H+top+bottom, W+left+right], then
    /// `slack` zeros. One pass: each padded row is written once, its zero borders with it.
    /// The buffer comes from the scratch pool; give it back.
    func padFrames(_ x: Tensor, top: Int, bottom: Int, left: Int, right: Int, slack: Int) -> ScratchPool.Buffer {
        let cin = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        let hp = h + top + bottom, wp = w + left + right, frame = hp * wp
        let buffer = ScratchPool.shared.take(t * cin * frame + slack)
        let padded = buffer.pointer
        (padded + t * cin * frame).update(repeating: 0, count: slack)
        let src = x.data
        parallelChunks(t * cin, threads: threads) { planes in
            for q in planes {
                let ti = q / cin, c = q % cin
                let dstFrame = padded + q * frame
                dstFrame.update(repeating: 0, count: top * wp)
                for hi in 0..<h {
                    let d = dstFrame + (hi + top) * wp
                    d.update(repeating: 0, count: left)
                    (d + left).update(from: src + ((c * t + ti) * h + hi) * w, count: w)
                    (d + left + w).update(repeating: 0, count: right)
                }
                (dstFrame + (h + top) * wp).update(repeating: 0, count: bottom * wp)
            }
        }
        return buffer
    }
}
