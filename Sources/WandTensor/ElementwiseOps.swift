import CWandKernels
import Glibc

extension CPUBackend {
    /// Elementwise map over a contiguous copy, split across threads in 64 KB runs.
    func map(_ x: Tensor, vector: (F8) -> F8, scalar: (Float) -> Float) -> Tensor {
        let x = x.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let n = x.count, block = 16_384
        let src = x.data, dst = out.data
        parallelChunks((n + block - 1) / block, threads: threads) { range in
            for b in range {
                let lo = b * block, hi = Swift.min(n, lo + block)
                mapFloats(src + lo, dst + lo, hi - lo, vector: vector, scalar: scalar)
            }
        }
        return out
    }

    public func silu(_ x: Tensor) -> Tensor {
        map(x, vector: { v in v / (1 + exp8(-v)) }, scalar: { s in s / (1 + expf(-s)) })
    }

    public func gelu(_ x: Tensor, approximation: GELUApproximation) -> Tensor {
        switch approximation {
        case .tanh:
            // 0.5·x·(1 + tanh(u)) = x·sigmoid(2u) = x / (1 + exp(-2u)), u = √(2/π)(x + 0.044715x³)
            let k: Float = 0.7978845608028654
            return map(x, vector: { v in
                let u = k * (v + 0.044715 * v * v * v)
                return v / (1 + exp8(-2 * u))
            }, scalar: { s in 0.5 * s * (1 + tanhf(k * (s + 0.044715 * s * s * s))) })
        case .none:
            return map(x, vector: { v in
                var r = F8()
                for i in 0..<8 { r[i] = 0.5 * v[i] * (1 + erff(v[i] * 0.7071067811865476)) }
                return r
            }, scalar: { s in 0.5 * s * (1 + erff(s * 0.7071067811865476)) })
        }
    }

    public func softmax(_ x: Tensor) throws -> Tensor {
        guard let n = x.shape.last, n > 0 else {
            throw TensorError.invalidArgument(op: "softmax", detail: "empty last dim in \(x.shape)")
        }
        let x = x.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let rows = x.count / n
        let src = x.data, dst = out.data
        parallelChunks(rows, threads: threads) { range in
            for r in range { wand_softmax_row(src + r * n, dst + r * n, Int32(n)) }
        }
        return out
    }

    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try broadcastBinary("add", a, b, vector: { $0 + $1 }, scalar: { $0 + $1 })
    }

    public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try broadcastBinary("mul", a, b, vector: { $0 * $1 }, scalar: { $0 * $1 })
    }

    func broadcastBinary(_ op: String, _ a: Tensor, _ b: Tensor, vector: (F8, F8) -> F8,
                         scalar: (Float, Float) -> Float) throws -> Tensor {
        let shape = try broadcastShape(op, a.shape, b.shape)
        if a.shape == shape, isTrailingBlock(b.shape, of: shape) {
            // b repeats along the leading dims (a bias, a gamma, a [d] modulation row): walk it
            // cyclically instead of materializing the broadcast.
            let a = a.contiguous(), b = b.contiguous()
            let out = Tensor(uninitialized: shape)
            let period = b.count, rows = out.count / Swift.max(period, 1)
            let pa = a.data, pb = b.data, po = out.data
            parallelChunks(rows, threads: threads) { range in
                for r in range {
                    let ra = pa + r * period, ro = po + r * period
                    var i = 0
                    while i + 8 <= period { store8(vector(load8(ra + i), load8(pb + i)), ro + i); i += 8 }
                    while i < period { ro[i] = scalar(ra[i], pb[i]); i += 1 }
                }
            }
            return out
        }
        let a = try expand(a, to: shape).contiguous(), b = try expand(b, to: shape).contiguous()
        let out = Tensor(uninitialized: shape)
        let n = out.count, block = 16_384
        let pa = a.data, pb = b.data, po = out.data
        parallelChunks((n + block - 1) / block, threads: threads) { range in
            for blk in range {
                var i = blk * block
                let hi = Swift.min(n, i + block)
                while i + 8 <= hi { store8(vector(load8(pa + i), load8(pb + i)), po + i); i += 8 }
                while i < hi { po[i] = scalar(pa[i], pb[i]); i += 1 }
            }
        }
        return out
    }

    func broadcastShape(_ op: String, _ s1: [Int], _ s2: [Int]) throws -> [Int] {
        let n = Swift.max(s1.count, s2.count)
        let p1 = [Int](repeating: 1, count: n - s1.count) + s1
        let p2 = [Int](repeating: 1, count: n - s2.count) + s2
        return try zip(p1, p2).map { d1, d2 in
            if d1 == d2 || d2 == 1 { return d1 }
            if d1 == 1 { return d2 }
            throw TensorError.shapeMismatch(op: op, detail: "cannot broadcast \(s1) with \(s2)")
        }
    }

    /// True when `small`, left-padded with 1s, is all 1s followed by exactly the trailing dims of `shape`.
    func isTrailingBlock(_ small: [Int], of shape: [Int]) -> Bool {
        var dims = small
        while dims.first == 1 && dims.count > 1 { dims.removeFirst() }
        if dims == [1] { return true }
        guard dims.count <= shape.count else { return false }
        return Array(shape.suffix(dims.count)) == dims
    }

    /// A zero-stride view of `x` with `shape` (torch.expand).
    func expand(_ x: Tensor, to shape: [Int]) throws -> Tensor {
        if x.shape == shape { return x }
        let lead = shape.count - x.rank
        var strides = [Int](repeating: 0, count: shape.count)
        for d in 0..<x.rank where x.shape[d] != 1 { strides[lead + d] = x.strides[d] }
        return Tensor(storage: x.storage, shape: shape, strides: strides, offset: x.offset)
    }
}
