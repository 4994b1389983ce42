extension CPUBackend {
    /// Whether `conv3d` takes the Winograd path: 3×3 spatial kernels at stride 1 (every causal conv
    /// of the Wan VAEs) with enough input channels that the GEMMs, not the transforms, dominate.
    static func useWinograd(cin: Int, kh: Int, kw: Int, stride: (Int, Int, Int)) -> Bool {
        kh == 3 && kw == 3 && stride == (1, 1, 1) && cin >= 16
    }

    /// conv3d with Winograd F(2×2, 3×3) in space: each 2×2 block of outputs comes from a 4×4
    /// input tile with 16 multiplies per (input, output) channel pair instead of 36, so the GEMM
    /// work is 2.25× smaller than the direct conv's. The input tiles of all real frames are
    /// transformed once (V = Bᵀ d B) into 16 planes [16][T·Cin][tiles]; as in the direct path the
    /// frames are outermost, so a window's temporal taps fold into K and its padding frames are
    /// left out. Per plane ξ one GEMM M_ξ = U_ξ·V_ξ (U = G g Gᵀ, the transformed weights), then
    /// Y = Aᵀ M A. Tiles go in chunks so that V stays near 64 MiB whatever the frame size.
    /// `chunkTiles` overrides the chunk size (tests use it to cross chunk boundaries).
    func conv3dWinograd(_ x: Tensor, weight: Tensor, bias: Tensor?, padding p: Conv3DPadding,
                        chunkTiles: Int? = nil) -> Tensor {
        let cin = x.shape[0], t = x.shape[1], h = x.shape[2], w = x.shape[3]
        let cout = weight.shape[0], kt = weight.shape[2]
        let ho = h + p.top + p.bottom - 2, wo = w + p.left + p.right - 2
        let to = t + p.timeFront + p.timeBack - kt + 1
        let out = Tensor(uninitialized: [cout, to, ho, wo])
        let th = (ho + 1) / 2, tw = (wo + 1) / 2, tiles = th * tw
        // Bottom and right padded up to whole tiles.
        let hp = 2 * th + 2, wp = 2 * tw + 2
        let paddedBuffer = padFrames(x, top: p.top, bottom: hp - h - p.top, left: p.left, right: wp - w - p.left, slack: 0)
        defer { ScratchPool.shared.give(paddedBuffer) }
        let padded = paddedBuffer.pointer
        let frame = hp * wp, rowsK = t * cin, ktc = kt * cin

        let uBuffer = Self.winogradWeights(weight, threads: threads)
        defer { ScratchPool.shared.give(uBuffer) }
        let u = uBuffer.pointer

        let chunk = chunkTiles ?? Swift.max(32, Swift.min(tiles, (64 << 20) / (16 * Swift.max(1, rowsK) * MemoryLayout<Float>.size)))
        let vBuffer = ScratchPool.shared.take(16 * rowsK * chunk), mBuffer = ScratchPool.shared.take(16 * cout * chunk)
        defer { ScratchPool.shared.give(vBuffer); ScratchPool.shared.give(mBuffer) }
        let v = vBuffer.pointer, m = mBuffer.pointer
        let dst = out.data, bp = bias?.data

        var tile0 = 0
        while tile0 < tiles {
            let n = Swift.min(chunk, tiles - tile0)
            // V = Bᵀ d B, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
            parallelChunks(rowsK, threads: threads) { qs in
                for q in qs {
                    let plane = padded + q * frame, step = rowsK * n
                    var j = 0
                    while j < n {
                        let tile = tile0 + j, ty = tile / tw, tx = tile % tw
                        let d = plane + 2 * ty * wp + 2 * tx, base = v + q * n + j
                        if tx + 8 <= tw && j + 8 <= n {
                            // Eight tiles of one tile row at once, a tile per lane.
                            let d0 = TileColumns(d), d1 = TileColumns(d + wp)
                            let d2 = TileColumns(d + 2 * wp), d3 = TileColumns(d + 3 * wp)
                            (d0 - d2).storeTransformed(base, step)
                            (d1 + d2).storeTransformed(base + 4 * step, step)
                            (d2 - d1).storeTransformed(base + 8 * step, step)
                            (d1 - d3).storeTransformed(base + 12 * step, step)
                            j += 8
                            continue
                        }
                        let d0 = SIMD4(d[0], d[1], d[2], d[3]), d1 = SIMD4(d[wp], d[wp + 1], d[wp + 2], d[wp + 3])
                        let d2 = SIMD4(d[2 * wp], d[2 * wp + 1], d[2 * wp + 2], d[2 * wp + 3])
                        let d3 = SIMD4(d[3 * wp], d[3 * wp + 1], d[3 * wp + 2], d[3 * wp + 3])
                        Self.storeInputRow(d0 - d2, base, step)
                        Self.storeInputRow(d1 + d2, base + 4 * step, step)
                        Self.storeInputRow(d2 - d1, base + 8 * step, step)
                        Self.storeInputRow(d1 - d3, base + 12 * step, step)
                        j += 1
                    }
                }
            }
            for ot in 0..<to {
                let (dt0, frames, firstFrame) = Self.realFrames(output: ot, stride: 1, kt: kt, t: t, padding: p)
                if frames > 0 {
                    parallelChunks(16, threads: threads) { xis in
                        for xi in xis {
                            CPUBackend.sgemm(m: cout, n: n, k: frames * cin, a: u + xi * cout * ktc + dt0 * cin, lda: ktc,
                                             b: v + (xi * rowsK + firstFrame * cin) * n, ldb: n,
                                             c: m + xi * cout * n, ldc: n)
                        }
                    }
                }
                // Y = Aᵀ M A, Aᵀ = [1 1 1 0; 0 1 −1 −1], plus the bias.
                parallelChunks(cout, threads: threads) { outs in
                    for o in outs {
                        let add = bp?[o] ?? 0
                        let plane = dst + (o * to + ot) * ho * wo
                        for j in 0..<n {
                            let tile = tile0 + j, ty = tile / tw, tx = tile % tw
                            var y00 = add, y01 = add, y10 = add, y11 = add
                            if frames > 0 {
                                let step = cout * n, base = m + o * n + j
                                @inline(__always) func row(_ a: Int) -> SIMD4<Float> {
                                    SIMD4(base[(4 * a) * step], base[(4 * a + 1) * step],
                                          base[(4 * a + 2) * step], base[(4 * a + 3) * step])
                                }
                                let m0 = row(0), m1 = row(1), m2 = row(2), m3 = row(3)
                                let s0 = m0 + m1 + m2, s1 = m1 - m2 - m3
                                y00 += s0[0] + s0[1] + s0[2]; y01 += s0[1] - s0[2] - s0[3]
                                y10 += s1[0] + s1[1] + s1[2]; y11 += s1[1] - s1[2] - s1[3]
                            }
                            let oy = 2 * ty, ox = 2 * tx
                            let r0 = plane + oy * wo + ox
                            r0[0] = y00
                            if ox + 1 < wo { r0[1] = y01 }
                            if oy + 1 < ho {
                                r0[wo] = y10
                                if ox + 1 < wo { r0[wo + 1] = y11 }
                            }
                        }
                    }
                }
            }
            tile0 += n
        }
        return out
    }

    /// U = G g Gᵀ for every 3×3 filter, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], stored [16][Cout][kt·Cin]
    /// so that the A of plane ξ over frames dt0..<dt1 is one block with lda = kt·Cin.
    /// The buffer comes from the scratch pool; give it back.
    static func winogradWeights(_ weight: Tensor, threads: Int) -> ScratchPool.Buffer {
        let cout = weight.shape[0], cin = weight.shape[1], kt = weight.shape[2], ktc = kt * cin
        let buffer = ScratchPool.shared.take(16 * cout * ktc)
        let u = buffer.pointer
        let src = weight.data
        parallelChunks(cout, threads: threads) { outs in
            let step = cout * ktc, stride = kt * 9
            for o in outs { for dt in 0..<kt {
                var c = 0
                while c + 8 <= cin {
                    // Eight input channels at once, a filter per lane.
                    let g = src + ((o * cin + c) * kt + dt) * 9
                    @inline(__always) func tap(_ i: Int) -> SIMD8<Float> {
                        SIMD8(g[i], g[stride + i], g[2 * stride + i], g[3 * stride + i],
                              g[4 * stride + i], g[5 * stride + i], g[6 * stride + i], g[7 * stride + i])
                    }
                    let a0 = tap(0), a1 = tap(1), a2 = tap(2), b0 = tap(3), b1 = tap(4), b2 = tap(5)
                    let c0 = tap(6), c1 = tap(7), c2 = tap(8)
                    let base = u + o * ktc + dt * cin + c
                    storeWeightRow8(a0, a1, a2, base, step)
                    storeWeightRow8((a0 + b0 + c0) * 0.5, (a1 + b1 + c1) * 0.5, (a2 + b2 + c2) * 0.5, base + 4 * step, step)
                    storeWeightRow8((a0 - b0 + c0) * 0.5, (a1 - b1 + c1) * 0.5, (a2 - b2 + c2) * 0.5, base + 8 * step, step)
                    storeWeightRow8(c0, c1, c2, base + 12 * step, step)
                    c += 8
                }
                for c in c..<cin {
                    let g = src + ((o * cin + c) * kt + dt) * 9
                    // Gg: 4 rows of 3.
                    let r0 = SIMD3(g[0], g[1], g[2]), r3 = SIMD3(g[6], g[7], g[8]), mid = SIMD3(g[3], g[4], g[5])
                    let r1 = (r0 + mid + r3) * 0.5, r2 = (r0 - mid + r3) * 0.5
                    let base = u + o * ktc + dt * cin + c
                    storeWeightRow(r0, base, step)
                    storeWeightRow(r1, base + 4 * step, step)
                    storeWeightRow(r2, base + 8 * step, step)
                    storeWeightRow(r3, base + 12 * step, step)
                }
            } }
        }
        return buffer
    }

    /// One row of Bᵀ d, times B, into planes ξ = 4a … 4a+3 (`step` apart).
    @inline(__always)
    static func storeInputRow(_ s: SIMD4<Float>, _ base: UnsafeMutablePointer<Float>, _ step: Int) {
        base[0] = s[0] - s[2]
        base[step] = s[1] + s[2]
        base[2 * step] = s[2] - s[1]
        base[3 * step] = s[1] - s[3]
    }

    /// One row of G g, times Gᵀ, into planes ξ = 4a … 4a+3.
    @inline(__always)
    static func storeWeightRow(_ s: SIMD3<Float>, _ base: UnsafeMutablePointer<Float>, _ step: Int) {
        base[0] = s[0]
        base[step] = (s[0] + s[1] + s[2]) * 0.5
        base[2 * step] = (s[0] - s[1] + s[2]) * 0.5
        base[3 * step] = s[2]
    }

    /// `storeWeightRow` for eight filters: (x, y, z) is one row of G g, a filter per lane.
    @inline(__always)
    static func storeWeightRow8(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ z: SIMD8<Float>,
                                _ base: UnsafeMutablePointer<Float>, _ step: Int) {
        storeLanes(x, base)
        storeLanes((x + y + z) * 0.5, base + step)
        storeLanes((x - y + z) * 0.5, base + 2 * step)
        storeLanes(z, base + 3 * step)
    }

    @inline(__always)
    static func storeLanes(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD8<Float>.self)
    }
}

/// The four columns of one row of eight horizontally adjacent 4×4 tiles (tile i starts at column
/// 2i), a tile per lane: the even and odd lanes of two 16-wide loads.
struct TileColumns {
    var c0, c1, c2, c3: SIMD8<Float>

    @inline(__always)
    init(_ row: UnsafePointer<Float>) {
        let a = UnsafeRawPointer(row).loadUnaligned(as: SIMD16<Float>.self)
        let b = UnsafeRawPointer(row + 2).loadUnaligned(as: SIMD16<Float>.self)
        c0 = a.evenHalf; c1 = a.oddHalf; c2 = b.evenHalf; c3 = b.oddHalf
    }

    @inline(__always)
    init(_ c0: SIMD8<Float>, _ c1: SIMD8<Float>, _ c2: SIMD8<Float>, _ c3: SIMD8<Float>) {
        self.c0 = c0; self.c1 = c1; self.c2 = c2; self.c3 = c3
    }

    @inline(__always)
    static func - (l: TileColumns, r: TileColumns) -> TileColumns {
        TileColumns(l.c0 - r.c0, l.c1 - r.c1, l.c2 - r.c2, l.c3 - r.c3)
    }

    @inline(__always)
    static func + (l: TileColumns, r: TileColumns) -> TileColumns {
        TileColumns(l.c0 + r.c0, l.c1 + r.c1, l.c2 + r.c2, l.c3 + r.c3)
    }

    /// This row of Bᵀ d, times B, into planes ξ = 4a … 4a+3 (`step` apart), eight tiles each.
    @inline(__always)
    func storeTransformed(_ base: UnsafeMutablePointer<Float>, _ step: Int) {
        CPUBackend.storeLanes(c0 - c2, base)
        CPUBackend.storeLanes(c1 + c2, base + step)
        CPUBackend.storeLanes(c2 - c1, base + 2 * step)
        CPUBackend.storeLanes(c1 - c3, base + 3 * step)
    }
}
