import WandTensor

/// Why a weight file was refused. Every error names the file and, where there is one, the tensor.
public struct WeightError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case cannotOpen(errno: Int32)
        case cannotMap(errno: Int32)
        case fileTooSmall(size: Int)
        case headerLengthOutOfRange(length: UInt64, fileSize: Int)
        case malformedHeader(JSONError)
        case invalidHeader(String)
        case unknownDType(String)
        case invalidShape([Int64])
        case sizeMismatch(expectedBytes: Int, actualBytes: Int)
        case offsetsOutOfRange(begin: Int64, end: Int64, dataSize: Int)
        case overlappingTensors(other: String)
        case gapBetweenTensors(at: Int)
        case trailingBytes(dataEnd: Int, dataSize: Int)
        case missingShard(String)
        case tensorNotInShard(shard: String)
        case tensorNotFound
        case invalidIndex(String)
        case zip(String)
        case unsupportedCompression(method: UInt16, entry: String)
        case pickle(offset: Int, message: String)
        case forbiddenGlobal(module: String, name: String, offset: Int)
        case forbiddenOpcode(opcode: UInt8, offset: Int)
        case nonContiguous(shape: [Int], strides: [Int])
        case storageOutOfRange(storage: String)
        case unsupported(String)
    }

    public let path: String
    public let tensor: String?
    public let kind: Kind

    public init(path: String, tensor: String? = nil, _ kind: Kind) {
        self.path = path
        self.tensor = tensor
        self.kind = kind
    }

    public var description: String {
        var where_ = path
        if let tensor { where_ += ", tensor \"\(tensor)\"" }
        let what: String
        switch kind {
        case let .cannotOpen(e): what = "cannot open (errno \(e))"
        case let .cannotMap(e): what = "cannot mmap (errno \(e))"
        case let .fileTooSmall(size): what = "file of \(size) bytes is too small"
        case let .headerLengthOutOfRange(length, fileSize): what = "header length \(length) does not fit in a file of \(fileSize) bytes"
        case let .malformedHeader(e): what = "malformed header: \(e)"
        case let .invalidHeader(m): what = "invalid header: \(m)"
        case let .unknownDType(d): what = "unknown dtype \"\(d)\""
        case let .invalidShape(s): what = "invalid shape \(s)"
        case let .sizeMismatch(e, a): what = "byte range holds \(a) bytes, dtype x shape needs \(e)"
        case let .offsetsOutOfRange(b, e, size): what = "data_offsets [\(b), \(e)] outside the data area of \(size) bytes"
        case let .overlappingTensors(other): what = "data overlaps tensor \"\(other)\""
        case let .gapBetweenTensors(at): what = "unused bytes in the data area before offset \(at)"
        case let .trailingBytes(end, size): what = "tensors end at \(end) but the data area has \(size) bytes"
        case let .missingShard(s): what = "shard \"\(s)\" named by the index does not exist"
        case let .tensorNotInShard(s): what = "the index says this tensor is in \"\(s)\" but it is not there"
        case .tensorNotFound: what = "no such tensor"
        case let .invalidIndex(m): what = "invalid index: \(m)"
        case let .zip(m): what = "zip archive: \(m)"
        case let .unsupportedCompression(method, entry): what = "zip entry \"\(entry)\" uses compression method \(method); only stored (0) entries are supported (PyTorch writes stored entries)"
        case let .pickle(offset, m): what = "pickle byte \(offset): \(m)"
        case let .forbiddenGlobal(module, name, offset): what = "pickle byte \(offset): refused global \(module).\(name) (only tensor rebuilds and plain containers are allowed)"
        case let .forbiddenOpcode(op, offset): what = "pickle byte \(offset): refused opcode 0x\(String(op, radix: 16))"
        case let .nonContiguous(shape, strides): what = "non-contiguous tensor (shape \(shape), strides \(strides)) is not supported"
        case let .storageOutOfRange(s): what = "tensor reaches past the end of storage \"\(s)\""
        case let .unsupported(m): what = "unsupported: \(m)"
        }
        return "\(where_): \(what)"
    }
}
