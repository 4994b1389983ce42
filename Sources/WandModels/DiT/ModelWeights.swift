import Glibc
import WandTensor

/// The tensors of one network under their official names, checked against the network's shape
/// table, still in their stored dtype inside the mapped file(s). Nothing is copied at load;
/// `stored` hands a GEMM the mapped bytes (widened panel by panel), `widened` converts a small
/// tensor (bias, norm weight, modulation table) to f32 on first use and keeps it, so a device
/// backend uploads it once.
public struct ModelWeights: Sendable {
    public let path: String
    private let byName: [String: WeightTensor]
    private var widenedTensors = WidenedTensors()
    /// ComfyUI fp8-scaled files: official weight name -> the scalar its stored values are multiplied by.
    public let scales: [String: Float]
    /// Tensors replaced in memory (LoRA merges): these shadow the mapped ones of the same name.
    private var owned: [String: OwnedWeight] = [:]

    /// `rename` maps a stored key to its official name, or nil for keys that are not weights
    /// (which are then refused unless `ignore` says they may be skipped).
    public init(_ weights: WeightSet, path: String, expected: [(name: String, shape: [Int])],
                rename: (String) -> String?, ignore: (String) -> Bool = { _ in false }) throws(ModelError) {
        var byName = [String: WeightTensor]()
        var scaleTensors = [(String, WeightTensor)]()
        for tensor in weights.tensors {
            if tensor.name.hasSuffix(".scale_weight"), let official = rename(String(tensor.name.dropLast(".scale_weight".count)) + ".weight") {
                scaleTensors.append((official, tensor))
                continue
            }
            guard let official = rename(tensor.name) else {
                if ignore(tensor.name) { continue }
                throw .unexpectedWeight(path: path, tensor: tensor.name)
            }
            // Tied copies (umT5's shared/embed_tokens) map to one name; keep the first.
            if byName[official] == nil { byName[official] = tensor }
        }
        let expectedNames = Set(expected.map(\.name))
        for (name, shape) in expected {
            guard let t = byName[name] else { throw .missingWeight(path: path, tensor: name) }
            guard t.shape == shape else {
                throw .weightShape(path: path, tensor: t.name, expected: shape, actual: t.shape)
            }
            guard [.f32, .bf16, .f16, .fp8e4m3, .fp8e5m2].contains(t.dtype) else {
                throw .unsupported(path: path, detail: "tensor \"\(t.name)\" stored as \(t.dtype.rawValue)")
            }
        }
        var scales = [String: Float]()
        for (official, tensor) in scaleTensors {
            guard byName[official] != nil else { throw .unexpectedWeight(path: path, tensor: tensor.name) }
            guard tensor.elementCount == 1, [.f32, .bf16, .f16].contains(tensor.dtype) else {
                throw .weightShape(path: path, tensor: tensor.name, expected: [], actual: tensor.shape)
            }
            var value: Float = 0
            do {
                try DTypeConversion.widen(tensor.dtype, from: tensor.bytes.baseAddress!, to: &value, count: 1)
            } catch {
                throw .unsupported(path: path, detail: "scale \"\(tensor.name)\": \(error)")
            }
            scales[official] = value
        }
        self.scales = scales
        if let extra = byName.keys.sorted().first(where: { !expectedNames.contains($0) }) {
            throw .unexpectedWeight(path: path, tensor: byName[extra]!.name)
        }
        self.path = path
        self.byName = byName
    }

    /// The same weights with `replacements` shadowing mapped tensors (their fp8 scales dropped:
    /// a replacement holds the final values).
    func replacing(_ replacements: [String: OwnedWeight]) -> ModelWeights {
        var copy = self
        copy.widenedTensors = WidenedTensors()  // the base's widened (and uploaded) tensors are not these
        for (name, w) in replacements {
            precondition(byName[name] != nil, "\(path): no tensor \(name) to replace")
            copy.owned[name] = w
        }
        copy.scalesWithoutOwned = scales.filter { copy.owned[$0.key] == nil }
        return copy
    }

    public func contains(_ name: String) -> Bool { byName[name] != nil }
    /// Shape and dtype as used (a replacement's own dtype), nil for unknown names.
    public func shape(_ name: String) -> [Int]? { owned[name]?.shape ?? byName[name]?.shape }
    public func dtype(_ name: String) -> DType? { owned[name]?.dtype ?? byName[name]?.dtype }
    /// Bytes held in memory by replacements (not mapped from a file).
    public var ownedBytes: Int { owned.values.reduce(0) { $0 + $1.bytes.count } }
    public var ownedCount: Int { owned.count }

    func tensor(_ name: String) -> WeightTensor {
        // init checked every expected name; a miss here is a programming error in the model code.
        guard let t = byName[name] else { preconditionFailure("\(path): no tensor \(name)") }
        return t
    }

    /// The mapped bytes, optionally viewed with another shape of the same element count.
    public func stored(_ name: String, shape: [Int]? = nil) -> StoredTensor {
        if let o = owned[name] {
            return StoredTensor(dtype: o.dtype, shape: shape ?? o.shape, bytes: UnsafeRawPointer(o.bytes.baseAddress!), owner: o)
        }
        let t = tensor(name)
        return StoredTensor(dtype: t.dtype, shape: shape ?? t.shape, bytes: t.bytes.baseAddress!, owner: t.file)
    }

    /// The tensor in f32, its fp8 scale (if any) applied; made once, then shared (never write to it:
    /// `widenedCopy` is for callers that do).
    public func widened(_ name: String) throws -> Tensor {
        if let t = widenedTensors.get(name) { return t }
        let t = try widenedCopy(name)
        widenedTensors.set(name, t)
        return t
    }

    /// A fresh f32 copy, fp8 scale applied, that the caller owns and may write to (a LoRA merge, a
    /// folded scale).
    public func widenedCopy(_ name: String) throws -> Tensor {
        let t = try stored(name).toTensor()
        if let s = activeScales[name] { for i in 0..<t.count { t.data[i] *= s } }
        return t
    }

    /// `x · Wᵀ + b` with `W` used in its stored dtype (viewed as `weightShape` if given) and a
    /// fp8 scale applied to the product, which equals scaling the weight.
    public func linear(_ backend: any ComputeBackend, _ x: Tensor, weight: String, bias: String?,
                       weightShape: [Int]? = nil) throws -> Tensor {
        let b = try bias.map { try widened($0) }
        guard let s = activeScales[weight] else {
            return try backend.linear(x, weight: stored(weight, shape: weightShape), bias: b)
        }
        let out = backend.affine(try backend.linear(x, weight: stored(weight, shape: weightShape), bias: nil), scale: s, shift: 0)
        return try b.map { try backend.add(out, $0) } ?? out
    }

    public var dtypes: Set<DType> { Set(byName.keys.compactMap { dtype($0) }) }

    /// Scales of the tensors still read from the file (a replacement carries its scale folded in).
    private var scalesWithoutOwned: [String: Float]?
    var activeScales: [String: Float] { scalesWithoutOwned ?? scales }
}

/// The f32 copies `ModelWeights.widened` made, by name (filled lazily from any thread).
final class WidenedTensors: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var tensors: [String: Tensor] = [:]
    func get(_ name: String) -> Tensor? { lock.withLock { tensors[name] } }
    func set(_ name: String, _ t: Tensor) { lock.withLock { tensors[name] = t } }
}


/// Parses a config.json; errors name the file (and line/column for JSON syntax).
func readConfigJSON(_ path: String) throws(ModelError) -> JSONValue {
    do {
        let file = try MappedFile(path: path)
        // The mapping must outlive the parse; Swift may release `file` right after `.all`.
        return try withExtendedLifetime(file) { () throws(JSONError) -> JSONValue in try JSONParser.parse(file.all) }
    } catch let error as JSONError {
        throw .badConfig(path: path, key: "", detail: error.description)
    } catch {
        throw .badConfig(path: path, key: "", detail: "\(error)")
    }
}
