import WandTensor

/// A `torch.save` file (zip archive holding `<name>/data.pkl` and raw storages `<name>/data/<key>`),
/// memory-mapped. Tensors are views into the stored storages; nothing is copied or executed.
public final class PyTorchCheckpoint: Sendable {
    public let path: String
    public let file: MappedFile
    public let entries: [ZipEntry]
    /// The contiguous tensors, in pickle order; nested dicts are flattened with "." joins.
    public let weights: WeightSet
    /// Tensors that were found but cannot be viewed in place (non-contiguous strides).
    public let unsupported: [WeightError]

    public init(path: String) throws(WeightError) {
        self.path = path
        file = try MappedFile(path: path)
        if file.size > 2, file.all[0] == 0x80, file.all[1] >= 2 {
            throw WeightError(path: path, .unsupported("legacy (pre-1.6, non-zip) torch.save format; convert it to safetensors"))
        }
        entries = try ZipArchive.entries(of: file.all, path: path)
        let pickles = entries.filter { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
        guard pickles.count == 1, let pickle = pickles.first else {
            throw WeightError(path: path, .zip("expected exactly one data.pkl entry, found \(pickles.count)"))
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        var byName: [String: ZipEntry] = [:]
        for e in entries { byName[e.name] = e }
        if let order = byName[prefix + "byteorder"] {
            let text = String(decoding: try PyTorchCheckpoint.stored(order, in: file, path: path), as: UTF8.self)
            guard text == "little" else { throw WeightError(path: path, .unsupported("byte order \"\(text)\"")) }
        }
        let root = try RestrictedUnpickler.load(try PyTorchCheckpoint.stored(pickle, in: file, path: path), path: path)
        var found: [(String, PickleTensor)] = []
        try PyTorchCheckpoint.collect(root, prefix: "", depth: 0, into: &found, path: path)
        var tensors: [WeightTensor] = []
        var refused: [WeightError] = []
        for (name, t) in found {
            let entryName = prefix + "data/" + t.storage.key
            guard let entry = byName[entryName] else {
                throw WeightError(path: path, tensor: name, .zip("storage entry \"\(entryName)\" is missing"))
            }
            let storage = try PyTorchCheckpoint.stored(entry, in: file, path: path)
            let size = t.storage.dtype.size
            let (storageBytes, o1) = t.storage.elementCount.multipliedReportingOverflow(by: size)
            guard !o1, storageBytes <= storage.count else {
                throw WeightError(path: path, tensor: name, .storageOutOfRange(storage: entryName))
            }
            var count = 1
            for d in t.shape {
                let (c, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw WeightError(path: path, tensor: name, .storageOutOfRange(storage: entryName)) }
                count = c
            }
            if !PyTorchCheckpoint.isContiguous(shape: t.shape, strides: t.strides) {
                refused.append(WeightError(path: path, tensor: name, .nonContiguous(shape: t.shape, strides: t.strides)))
                continue
            }
            guard t.storageOffset <= t.storage.elementCount, count <= t.storage.elementCount - t.storageOffset else {
                throw WeightError(path: path, tensor: name, .storageOutOfRange(storage: entryName))
            }
            let start = t.storageOffset * size
            let view = UnsafeRawBufferPointer(rebasing: storage[start..<(start + count * size)])
            tensors.append(WeightTensor(name: name, dtype: t.storage.dtype, shape: t.shape, bytes: view, file: file))
        }
        weights = try WeightSet(tensors)
        unsupported = refused
    }

    public func tensor(_ name: String) throws(WeightError) -> WeightTensor {
        if let t = weights[name] { return t }
        if let e = unsupported.first(where: { $0.tensor == name }) { throw e }
        throw WeightError(path: path, tensor: name, .tensorNotFound)
    }

    static func stored(_ entry: ZipEntry, in file: MappedFile, path: String) throws(WeightError) -> UnsafeRawBufferPointer {
        guard entry.method == 0 else { throw WeightError(path: path, .unsupportedCompression(method: entry.method, entry: entry.name)) }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw WeightError(path: path, .zip("stored entry \"\(entry.name)\" has differing sizes"))
        }
        return file.bytes(offset: entry.dataOffset, count: entry.compressedSize)
    }

    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[i] != 1 && strides[i] != expected { return shape.contains(0) }
            expected = expected &* shape[i]
        }
        return true
    }

    private static func collect(_ value: PickleValue, prefix: String, depth: Int,
                                into out: inout [(String, PickleTensor)], path: String) throws(WeightError) {
        guard depth < 8 else { throw WeightError(path: path, .pickle(offset: 0, message: "containers nested deeper than 8 levels")) }
        guard case let .dict(d) = value else {
            if case let .tensor(t) = value, depth == 0 { out.append(("", t)); return }
            throw WeightError(path: path, .unsupported("the pickle's top level is not a dict of tensors"))
        }
        for (k, v) in d.items {
            let key: String
            switch k {
            case let .string(s): key = s
            case let .int(i): key = String(i)
            default: continue
            }
            let name = prefix.isEmpty ? key : prefix + "." + key
            switch v {
            case let .tensor(t): out.append((name, t))
            case .dict: try collect(v, prefix: name, depth: depth + 1, into: &out, path: path)
            default: continue // scalars and metadata (epoch numbers, config strings) are not weights
            }
        }
    }
}
