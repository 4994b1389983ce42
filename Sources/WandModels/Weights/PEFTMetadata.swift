/// The adapter config diffusers writes into a LoRA safetensors header (`__metadata__` key
/// `lora_adapter_metadata`, a JSON LoraConfig with keys prefixed `transformer.`), which
/// `load_lora_weights` uses instead of guessing: scale = lora_alpha / r per module, with
/// `rank_pattern` / `alpha_pattern` overrides and `/ sqrt(r)` under `use_rslora`.
public struct PEFTMetadata: Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var rankPattern: [(String, Int)]
    public var alphaPattern: [(String, Double)]
    public var useRSLoRA: Bool

    public static func == (a: PEFTMetadata, b: PEFTMetadata) -> Bool {
        a.rank == b.rank && a.alpha == b.alpha && a.useRSLoRA == b.useRSLoRA
            && a.rankPattern.map(\.0) == b.rankPattern.map(\.0) && a.rankPattern.map(\.1) == b.rankPattern.map(\.1)
            && a.alphaPattern.map(\.0) == b.alphaPattern.map(\.0) && a.alphaPattern.map(\.1) == b.alphaPattern.map(\.1)
    }

    public init(rank: Int, alpha: Double, rankPattern: [(String, Int)] = [], alphaPattern: [(String, Double)] = [],
                useRSLoRA: Bool = false) {
        self.rank = rank
        self.alpha = alpha
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
        self.useRSLoRA = useRSLoRA
    }

    /// The metadata of a safetensors file, or nil when it has none.
    static func read(file: MappedFile, path: String) throws(LoRAError) -> PEFTMetadata? {
        let header: SafetensorsHeader
        do { header = try SafetensorsHeader.parse(file: file.all, path: path) } catch { throw LoRAError(path: path, .file(error)) }
        guard let raw = header.metadata.first(where: { $0.0 == "lora_adapter_metadata" })?.1 else { return nil }
        let json: JSONValue
        do { json = try JSONParser.parse(raw) } catch { throw LoRAError(path: path, .badMetadata("\(error)")) }
        return try parse(json, path: path)
    }

    public static func parse(_ json: JSONValue, path: String) throws(LoRAError) -> PEFTMetadata? {
        guard let members = json.objectValue else { throw LoRAError(path: path, .badMetadata("not a JSON object")) }
        var fields: [String: JSONValue] = [:]
        for (k, v) in members {
            // Keys are `transformer.r` in diffusers files; accept them bare too.
            let key = k.hasPrefix("transformer.") ? String(k.dropFirst("transformer.".count)) : k
            if k.contains(".") && !k.hasPrefix("transformer.") { continue }  // another component's adapter
            fields[key] = v
        }
        guard !fields.isEmpty else { return nil }
        if fields["use_dora"]?.boolValue == true { throw LoRAError(path: path, .unsupported("DoRA (use_dora true)")) }
        func positive(_ v: JSONValue?, _ name: String) throws(LoRAError) -> Double {
            guard let d = v?.doubleValue, d.isFinite, d > 0, d < 1e6 else {
                throw LoRAError(path: path, .badMetadata("\(name) must be a positive number"))
            }
            return d
        }
        // Absent fields take LoraConfig's defaults (r 8, lora_alpha 8), as LoraConfig(**metadata) does.
        func present(_ key: String) -> JSONValue? { fields[key].flatMap { $0 == .null ? nil : $0 } }
        let r = present("r") == nil ? 8 : try positive(present("r"), "r")
        guard r == r.rounded() else { throw LoRAError(path: path, .badMetadata("r must be an integer")) }
        let alpha = present("lora_alpha") == nil ? 8 : try positive(present("lora_alpha"), "lora_alpha")
        var rankPattern: [(String, Int)] = [], alphaPattern: [(String, Double)] = []
        for (k, v) in fields["rank_pattern"]?.objectValue ?? [] {
            let n = try positive(v, "rank_pattern[\(k)]")
            guard n == n.rounded() else { throw LoRAError(path: path, .badMetadata("rank_pattern[\(k)] must be an integer")) }
            rankPattern.append((k, Int(n)))
        }
        for (k, v) in fields["alpha_pattern"]?.objectValue ?? [] {
            alphaPattern.append((k, try positive(v, "alpha_pattern[\(k)]")))
        }
        return PEFTMetadata(rank: Int(r), alpha: alpha, rankPattern: rankPattern, alphaPattern: alphaPattern,
                            useRSLoRA: fields["use_rslora"]?.boolValue ?? false)
    }

    /// The scale of `module` (as the file names it, e.g. `blocks.0.attn1.to_q`).
    public func scale(forModule module: String, path: String) throws(LoRAError) -> Float {
        let r = Double(rankPattern.first { Self.matches($0.0, module) }?.1 ?? rank)
        let a = alphaPattern.first { Self.matches($0.0, module) }?.1 ?? alpha
        return Float(useRSLoRA ? a / r.squareRoot() : a / r)
    }

    /// PEFT's `get_pattern_key`: the pattern equals the module name or a dotted suffix of it
    /// (regex `(.*\.)?(pattern)$`); a leading `^` (diffusers writes `^blocks.0.attn1.to_q`)
    /// anchors it at the start. Patterns are compared literally otherwise.
    static func matches(_ pattern: String, _ module: String) -> Bool {
        if pattern.hasPrefix("^") { return module == pattern.dropFirst() }
        return module == pattern || module.hasSuffix("." + pattern)
    }
}
