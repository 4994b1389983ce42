import Glibc

extension CPUBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        guard let n = x.shape.last, n > 0 else {
            throw TensorError.invalidArgument(op: "layerNorm", detail: "empty last dim in \(x.shape)")
        }
        if let weight, weight.count != n { throw TensorError.shapeMismatch(op: "layerNorm", detail: "weight \(weight.shape) for \(n)") }
        if let bias, bias.count != n { throw TensorError.shapeMismatch(op: "layerNorm", detail: "bias \(bias.shape) for \(n)") }
        let x = x.contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let src = x.data, dst = out.data, wp = w?.data, bp = b?.data
        parallelChunks(x.count / n, threads: threads) { range in
            for r in range {
                let row = src + r * n, o = dst + r * n
                // Two passes (mean, then centered variance) in f32 SIMD with a double final sum.
                let mean = Float(sumRow(row, n) / Double(n))
                var acc = F8(), i = 0
                let mv = F8(repeating: mean)
                while i + 8 <= n { let d = load8(row + i) - mv; acc += d * d; i += 8 }
                var v = Double(acc.sum())
                while i < n { let d = row[i] - mean; v += Double(d * d); i += 1 }
                let inv = Float(1 / (v / Double(n) + Double(eps)).squareRoot())
                for j in 0..<n {
                    var y = (row[j] - mean) * inv
                    if let wp { y *= wp[j] }
                    if let bp { y += bp[j] }
                    o[j] = y
                }
            }
        }
        return out
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        guard let n = x.shape.last, n > 0 else {
            throw TensorError.invalidArgument(op: "rmsNorm", detail: "empty last dim in \(x.shape)")
        }
        if let weight, weight.count != n { throw TensorError.shapeMismatch(op: "rmsNorm", detail: "weight \(weight.shape) for \(n)") }
        let x = x.contiguous(), w = weight?.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let src = x.data, dst = out.data, wp = w?.data
        parallelChunks(x.count / n, threads: threads) { range in
            for r in range {
                let row = src + r * n, o = dst + r * n
                var acc = F8(), i = 0
                while i + 8 <= n { let v = load8(row + i); acc += v * v; i += 8 }
                var ss = Double(acc.sum())
                while i < n { ss += Double(row[i] * row[i]); i += 1 }
                let inv = Float(1 / (ss / Double(n) + Double(eps)).squareRoot())
                if let wp { for j in 0..<n { o[j] = row[j] * inv * wp[j] } } else { for j in 0..<n { o[j] = row[j] * inv } }
            }
        }
        return out
    }

    public func channelRMSNorm(_ x: Tensor, gamma: Tensor, bias: Tensor?) throws -> Tensor {
        let c = try checkedChannelRMSNormChannels(x, gamma: gamma, bias: bias)
        let x = x.contiguous(), g = gamma.contiguous(), b = bias?.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let plane = x.count / Swift.max(c, 1)
        let src = x.data, dst = out.data, gp = g.data, bp = b?.data
        let scale = Float(Double(c).squareRoot())
        // Work on runs of voxels so each thread streams channel planes; one scratch row per thread.
        let run = 1024
        parallelChunks((plane + run - 1) / run, threads: threads) { range in
            let norms = UnsafeMutablePointer<Float>.allocate(capacity: run)
            defer { norms.deallocate() }
            for blk in range {
                let lo = blk * run, len = Swift.min(run, plane - lo)
                norms.update(repeating: 0, count: len)
                for ch in 0..<c {
                    let p = src + ch * plane + lo
                    for i in 0..<len { norms[i] += p[i] * p[i] }
                }
                for i in 0..<len { norms[i] = scale / Swift.max(norms[i].squareRoot(), 1e-12) }
                for ch in 0..<c {
                    let p = src + ch * plane + lo, o = dst + ch * plane + lo
                    let gch = gp[ch], bch = bp?[ch] ?? 0
                    for i in 0..<len { o[i] = p[i] * norms[i] * gch + bch }
                }
            }
        }
        return out
    }

    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        let c = try checkedGroupNormChannels(x, groups: groups, weight: weight, bias: bias)
        let x = x.contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let plane = x.count / c, perGroup = c / groups
        let src = x.data, dst = out.data, wp = w?.data, bp = b?.data
        parallelChunks(groups, threads: threads) { range in
            for g in range {
                let base = g * perGroup * plane, n = perGroup * plane
                let mean = sumRow(src + base, n) / Double(n)
                var v = 0.0
                for i in 0..<n { let d = Double(src[base + i]) - mean; v += d * d }
                let inv = Float(1 / (v / Double(n) + Double(eps)).squareRoot())
                let m = Float(mean)
                for cc in 0..<perGroup {
                    let ch = g * perGroup + cc
                    let s = wp.map { $0[ch] } ?? 1, t = bp.map { $0[ch] } ?? 0
                    let p = src + ch * plane, o = dst + ch * plane
                    for i in 0..<plane { o[i] = (p[i] - m) * inv * s + t }
                }
            }
        }
        return out
    }
}

/// Sum of a row with SIMD partial sums, returned in double for the caller's mean.
@inline(__always)
func sumRow(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var acc = F8(), i = 0
    var total = 0.0
    while i + 8 <= n {
        acc += load8(p + i)
        i += 8
        if i & 4095 == 0 { total += Double(acc.sum()); acc = F8() }
    }
    total += Double(acc.sum())
    while i < n { total += Double(p[i]); i += 1 }
    return total
}
