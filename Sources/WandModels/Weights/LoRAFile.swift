import WandTensor

/// What one parameter of the model gets from one LoRA file: a low-rank product, a full delta, or
/// both, each with the scale the file's own convention gives it (strength comes at merge).
public struct LoRAContribution: Sendable {
    public enum Part: Sendable {
        /// `scale · up · down`, with up `[out, rank, 1...]` and down `[rank, in...]`.
        case lowRank(up: WeightTensor, down: WeightTensor)
        /// `scale · delta`, delta shaped like the parameter.
        case delta(WeightTensor)
    }

    /// Official parameter name (`blocks.0.self_attn.q.weight`).
    public let target: String
    public let part: Part
    public let scale: Float
    /// The stored keys behind it, for error messages.
    public let storedNames: [String]
}

/// A LoRA file (safetensors, or a PyTorch `.pt`/`.pth` opened by the restricted unpickler),
/// parsed into per-parameter contributions under official Wan names. Nothing is widened here;
/// the tensors stay in the mapped file until the merge reads them.
///
/// Scales follow diffusers (`WanLoraLoaderMixin` -> PEFT): an `.alpha` key gives alpha / rank
/// (rank = the down matrix's first dimension) for its module; without alpha, diffusers/PEFT
/// `lora_adapter_metadata` gives `lora_alpha / r` (its rank_pattern / alpha_pattern per module,
/// `/ sqrt(r)` with use_rslora); with neither, 1. PEFT `lora_B.bias` takes the product's scale;
/// `.diff`, `.diff_b`, `.diff_m` deltas are added as they are.
public struct LoRAFile: Sendable {
    public let path: String
    public let contributions: [LoRAContribution]
    /// Stored keys for Wan2.1 I2V's image branch (k_img, v_img, img_emb): the merge skips them
    /// on a model without that branch (every Wan2.2 DiT), and says so.
    public let imageBranchKeys: [String]
    public let tensorCount: Int
    public let byteCount: Int

    public init(path: String) throws(LoRAError) {
        let group: WeightGroup
        do {
            group = try WeightFolder.openFile(path)
        } catch {
            throw LoRAError(path: path, .file(error))
        }
        if let bad = group.unsupported.first { throw LoRAError(path: path, .file(bad)) }
        var metadata: PEFTMetadata?
        if path.hasSuffix(".safetensors"), let file = group.weights.tensors.first?.file ?? (try? MappedFile(path: path)) {
            metadata = try PEFTMetadata.read(file: file, path: path)
        }
        try self.init(weights: group.weights, path: path, metadata: metadata)
    }

    public init(weights: WeightSet, path: String, metadata: PEFTMetadata? = nil) throws(LoRAError) {
        self.path = path
        tensorCount = weights.tensors.count
        byteCount = weights.byteCount
        var unknown: [String] = []
        // module -> role -> tensor; duplicates refused.
        var parts: [String: [LoRARole: WeightTensor]] = [:]
        var storedModule: [String: String] = [:]
        var imageBranch: [String] = []
        for t in weights.tensors {
            switch LoRAKeyMapping.parse(t.name) {
            case .failure(.unknown):
                unknown.append(t.name)
            case let .failure(.unsupported(what)):
                throw LoRAError(path: path, tensor: t.name, .unsupported(what))
            case let .success(key):
                guard [.f32, .bf16, .f16, .f64, .fp8e4m3, .fp8e5m2].contains(t.dtype) else {
                    throw LoRAError(path: path, tensor: t.name, .unsupported("dtype \(t.dtype.rawValue)"))
                }
                if key.isImageBranch { imageBranch.append(t.name) }
                if let other = parts[key.module]?[key.role] {
                    throw LoRAError(path: path, tensor: t.name, .duplicate(other.name))
                }
                parts[key.module, default: [:]][key.role] = t
                storedModule[key.module] = key.storedModule
            }
        }
        if !unknown.isEmpty { throw LoRAError(path: path, tensors: unknown, .unknownKeys(unknown)) }
        guard !parts.isEmpty else { throw LoRAError(path: path, .noAdapters) }

        var out: [LoRAContribution] = []
        for module in parts.keys.sorted() {
            let p = parts[module]!
            let weight = module + ".weight", bias = module + ".bias"
            let peft = try metadata?.scale(forModule: storedModule[module] ?? module, path: path) ?? 1
            switch (p[.down], p[.up]) {
            case let (down?, up?):
                let rank = down.shape.first ?? 0
                guard rank >= 1, down.shape.count >= 2 else {
                    throw LoRAError(path: path, tensor: down.name, .badShape(expected: "[rank, in...]", actual: down.shape))
                }
                guard up.shape.count >= 2, up.shape[1] == rank, up.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                    throw LoRAError(path: path, tensor: up.name, .badShape(expected: "[out, \(rank), 1...]", actual: up.shape))
                }
                var scale = peft
                var names = [down.name, up.name]
                if let alpha = p[.alpha] {
                    let a = try Self.scalar(alpha, path: path)
                    scale = a / Float(rank)
                    names.append(alpha.name)
                }
                out.append(LoRAContribution(target: weight, part: .lowRank(up: up, down: down), scale: scale, storedNames: names))
                if let b = p[.upBias] {
                    out.append(LoRAContribution(target: bias, part: .delta(b), scale: scale, storedNames: [b.name]))
                }
            case let (down?, nil):
                throw LoRAError(path: path, tensor: down.name, .missingPair("a down (A) matrix without its up (B) matrix"))
            case let (nil, up?):
                throw LoRAError(path: path, tensor: up.name, .missingPair("an up (B) matrix without its down (A) matrix"))
            case (nil, nil):
                for role in [LoRARole.alpha, .upBias] {
                    if let t = p[role] {
                        throw LoRAError(path: path, tensor: t.name, .missingPair("\(role == .alpha ? "an alpha" : "a lora_B bias") without a down/up pair"))
                    }
                }
            }
            if let d = p[.diff] { out.append(LoRAContribution(target: weight, part: .delta(d), scale: 1, storedNames: [d.name])) }
            if let d = p[.diffBias] { out.append(LoRAContribution(target: bias, part: .delta(d), scale: 1, storedNames: [d.name])) }
            if let d = p[.diffModulation] {
                out.append(LoRAContribution(target: module + ".modulation", part: .delta(d), scale: 1, storedNames: [d.name]))
            }
        }
        contributions = out
        imageBranchKeys = imageBranch.sorted()
    }

    static func scalar(_ t: WeightTensor, path: String) throws(LoRAError) -> Float {
        guard t.elementCount == 1 else {
            throw LoRAError(path: path, tensor: t.name, .badAlpha("holds \(t.elementCount) values, expected one"))
        }
        var v: Float = 0
        do { try DTypeConversion.widen(t.dtype, from: t.bytes.baseAddress!, to: &v, count: 1) } catch {
            throw LoRAError(path: path, tensor: t.name, .unsupported("alpha dtype \(t.dtype.rawValue)"))
        }
        guard v.isFinite, v > 0, v < 1e6 else { throw LoRAError(path: path, tensor: t.name, .badAlpha("\(v) is not a positive number")) }
        return v
    }
}
