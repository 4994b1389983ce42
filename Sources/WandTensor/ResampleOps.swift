import Glibc

extension CPUBackend {
    /// torch.nn.functional.interpolate(x, size=(height, width), mode) for x [..., H, W] with no
    /// scale_factor given: scales are in/out sizes computed in float like ATen does.
    public func interpolate(_ x: Tensor, height oh: Int, width ow: Int, mode: InterpolationMode) throws -> Tensor {
        guard x.rank >= 2, oh > 0, ow > 0 else {
            throw TensorError.invalidArgument(op: "interpolate", detail: "x \(x.shape) to \(oh)x\(ow)")
        }
        let ih = x.shape[x.rank - 2], iw = x.shape[x.rank - 1]
        let planes = x.count / (ih * iw)
        let x = x.contiguous()
        let out = Tensor(uninitialized: Array(x.shape.dropLast(2)) + [oh, ow])
        let src = x.data, dst = out.data
        // Per-axis taps: (indices, weights) per output position.
        let (hTaps, wTaps) = (Self.taps(ih, oh, mode), Self.taps(iw, ow, mode))
        parallelChunks(planes, threads: threads) { range in
            for pl in range {
                let s = src + pl * ih * iw, d = dst + pl * oh * ow
                for oy in 0..<oh {
                    let (ys, yw) = hTaps[oy]
                    for ox in 0..<ow {
                        let (xs, xw) = wTaps[ox]
                        var acc: Float = 0
                        for a in 0..<ys.count {
                            var rowAcc: Float = 0
                            let row = s + ys[a] * iw
                            for b in 0..<xs.count { rowAcc += xw[b] * row[xs[b]] }
                            acc += yw[a] * rowAcc
                        }
                        d[oy * ow + ox] = acc
                    }
                }
            }
        }
        return out
    }

    static func taps(_ input: Int, _ output: Int, _ mode: InterpolationMode) -> [([Int], [Float])] {
        let scale = Float(input) / Float(output)
        func alignedScale(_ align: Bool) -> Float {
            align ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0) : scale
        }
        func source(_ i: Int, _ align: Bool, cubic: Bool) -> Float {
            let sc = alignedScale(align)
            if align { return sc * Float(i) }
            let s = sc * (Float(i) + 0.5) - 0.5
            return (!cubic && s < 0) ? 0 : s
        }
        return (0..<output).map { i -> ([Int], [Float]) in
            switch mode {
            case .nearest:
                return ([Swift.min(Int(floorf(Float(i) * scale)), input - 1)], [1])
            case .nearestExact:
                return ([Swift.min(Int(floorf((Float(i) + 0.5) * scale)), input - 1)], [1])
            case .area:
                // adaptive_avg_pool2d's window, in integers like ATen.
                let start = (i * input) / output
                let end = ((i + 1) * input + output - 1) / output
                let n = end - start
                return (Array(start..<end), [Float](repeating: 1 / Float(n), count: n))
            case .bilinear(let align):
                let s = source(i, align, cubic: false)
                let i0 = Int(s)
                let i1 = i0 + (i0 < input - 1 ? 1 : 0)
                let l1 = s - Float(i0)
                return ([i0, i1], [1 - l1, l1])
            case .bicubic(let align):
                let s = source(i, align, cubic: true)
                let i0 = Int(floorf(s))
                let t = s - Float(i0)
                let a: Float = -0.75
                func cc1(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
                func cc2(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
                let w: [Float] = [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)]
                let idx = (-1...2).map { Swift.min(Swift.max(i0 + $0, 0), input - 1) }
                return (idx, w)
            }
        }
    }
}
