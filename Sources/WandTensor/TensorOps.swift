// Small conveniences the model code needs around the backend ops.
extension CPUBackend {
    /// a − b with PyTorch broadcasting.
    public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try broadcastBinary("sub", a, b, vector: { $0 - $1 }, scalar: { $0 - $1 })
    }

    /// a / b with PyTorch broadcasting.
    public func div(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try broadcastBinary("div", a, b, vector: { $0 / $1 }, scalar: { $0 / $1 })
    }

    /// x · s + t elementwise (scalars).
    public func affine(_ x: Tensor, scale s: Float, shift t: Float = 0) -> Tensor {
        map(x, vector: { $0 * s + t }, scalar: { $0 * s + t })
    }

    /// Clamp into [lower, upper] (the VAE's final clamp to [−1, 1]).
    public func clamp(_ x: Tensor, lower: Float, upper: Float) -> Tensor {
        map(x, vector: { v in
            var r = v
            r.replace(with: F8(repeating: lower), where: r .< lower)
            r.replace(with: F8(repeating: upper), where: r .> upper)
            return r
        }, scalar: { Swift.min(Swift.max($0, lower), upper) })
    }
}

extension Tensor {
    /// Rows of a [rows, width] table by index (embedding lookup): -> [indices.count, width].
    public func gatherRows(_ indices: [Int]) throws -> Tensor {
        guard rank == 2 else { throw TensorError.invalidArgument(op: "gatherRows", detail: "table \(shape)") }
        let table = contiguous(), width = shape[1]
        let out = Tensor(uninitialized: [indices.count, width])
        for (r, i) in indices.enumerated() {
            guard i >= 0, i < shape[0] else {
                throw TensorError.invalidArgument(op: "gatherRows", detail: "index \(i) outside 0..<\(shape[0])")
            }
            (out.data + r * width).update(from: table.storage.readPointer + table.offset + i * width, count: width)
        }
        return out
    }
}
