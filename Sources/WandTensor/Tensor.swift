// The f32 compute tensor: a shape, element strides and an offset into a shared storage.
// Freshly made tensors are contiguous (row-major); permute/slice make strided views without
// copying, and `contiguous()` materializes them. Kernels require contiguous inputs and call
// `contiguous()` themselves, so views are always safe to pass.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int
    public let storage: TensorStorage

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }

    public init(storage: TensorStorage, shape: [Int], strides: [Int]? = nil, offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(shape)
        self.offset = offset
    }

    /// Zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.init(storage: TensorStorage(count: shape.reduce(1, *)), shape: shape)
    }

    /// Uninitialized tensor; the caller must write every element.
    public init(uninitialized shape: [Int]) {
        self.init(storage: TensorStorage(uninitializedCount: shape.reduce(1, *)), shape: shape)
    }

    public init(shape: [Int], values: [Float]) throws {
        guard shape.reduce(1, *) == values.count else {
            throw TensorError.shapeMismatch(op: "Tensor(shape:values:)",
                                            detail: "shape \(shape) holds \(shape.reduce(1, *)) elements, got \(values.count)")
        }
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { src in
            storage.pointer.update(from: src.baseAddress!, count: values.count)
        }
    }

    public init(filled value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        storage.pointer.update(repeating: value, count: count)
    }

    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }

    /// Pointer to element 0. Only meaningful as a dense buffer when `isContiguous`.
    public var data: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// Read access (a device result is copied back, and stays valid on the device).
    public func withData<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguous()
        return try body(UnsafeBufferPointer(start: c.storage.readPointer + c.offset, count: c.count))
    }

    /// Write access; see TensorStorage for when this is allowed.
    public func withMutableData<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(isContiguous, "withMutableData needs a contiguous tensor")
        return try body(UnsafeMutableBufferPointer(start: data, count: count))
    }

    public var array: [Float] { withData { Array($0) } }

    public subscript(_ index: Int...) -> Float {
        var o = offset
        for (i, ix) in index.enumerated() { o += ix * strides[i] }
        return storage.readPointer[o]
    }

    /// A contiguous copy, or self when already contiguous.
    /// Data on a device is copied there (by the device's strided copy), host data on the host.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        if storage.isDeviceOnly, let device = storage.deviceMemory, let copy = try? device.gather(self) { return copy }
        let out = Tensor(uninitialized: shape)
        let dst = out.data
        let n = rank
        if n == 0 { dst[0] = storage.readPointer[offset]; return out }
        // Walk the index space with the innermost dimension as a strided copy loop.
        var index = [Int](repeating: 0, count: n)
        let inner = shape[n - 1], innerStride = strides[n - 1]
        let src = storage.readPointer
        var written = 0
        let total = count
        while written < total {
            var o = offset
            for d in 0..<(n - 1) { o += index[d] * strides[d] }
            for i in 0..<inner { dst[written + i] = src[o + i * innerStride] }
            written += inner
            var d = n - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var newShape = newShape
        if let infer = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != infer }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(op: "reshape", detail: "\(shape) -> \(newShape)")
            }
            newShape[infer] = count / known
        }
        guard newShape.reduce(1, *) == count else {
            throw TensorError.shapeMismatch(op: "reshape", detail: "\(shape) -> \(newShape)")
        }
        let c = contiguous()
        return Tensor(storage: c.storage, shape: newShape, offset: c.offset)
    }

    /// A view with dimensions reordered like torch.permute.
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.count == rank, Set(order) == Set(0..<rank) else {
            throw TensorError.invalidArgument(op: "permute", detail: "order \(order) for rank \(rank)")
        }
        return Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] },
                      offset: offset)
    }

    /// A view of `range` along `dim`, with an optional step (torch `x[a:b:step]`).
    public func sliced(dim: Int, _ range: Range<Int>, step: Int = 1) throws -> Tensor {
        guard dim >= 0, dim < rank, range.lowerBound >= 0, range.upperBound <= shape[dim], step >= 1 else {
            throw TensorError.invalidArgument(op: "slice", detail: "dim \(dim) range \(range) step \(step) of \(shape)")
        }
        var s = shape, st = strides
        s[dim] = (range.count + step - 1) / step
        st[dim] = strides[dim] * step
        return Tensor(storage: storage, shape: s, strides: st, offset: offset + range.lowerBound * strides[dim])
    }
}
