import WandTensor

/// A stored tensor seen in place: its bytes point into a memory-mapped file, in the stored dtype,
/// row-major and contiguous, little-endian. Nothing is copied; the view keeps its file mapped.
public struct WeightTensor: @unchecked Sendable {
    // @unchecked: `bytes` points into a read-only mapping owned by `file`, which outlives the view.
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let bytes: UnsafeRawBufferPointer
    public let file: MappedFile

    public init(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, file: MappedFile) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.file = file
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { bytes.count }
}

/// An ordered set of named tensors from one or more files.
public struct WeightSet: Sendable {
    public let tensors: [WeightTensor]
    private let indexByName: [String: Int]

    /// Fails with the name of the first duplicate.
    public init(_ tensors: [WeightTensor]) throws(WeightError) {
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() {
            if index[t.name] != nil {
                throw WeightError(path: t.file.path, tensor: t.name, .invalidHeader("tensor name appears twice"))
            }
            index[t.name] = i
        }
        self.tensors = tensors
        self.indexByName = index
    }

    public var names: [String] { tensors.map(\.name) }
    public subscript(name: String) -> WeightTensor? { indexByName[name].map { tensors[$0] } }
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
    public var byteCount: Int { tensors.reduce(0) { $0 + $1.byteCount } }
}
