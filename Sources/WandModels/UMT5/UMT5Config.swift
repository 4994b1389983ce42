/// Hyper-parameters of a umT5 encoder (spec §6.1). The official `.pth` carries no config (it is
/// always umT5-XXL); transformers' `config.json` (UMT5Config / T5Config) is read when present.
public struct UMT5Config: Sendable, Equatable {
    public var vocabSize: Int
    public var dim: Int
    public var numHeads: Int
    public var headDim: Int
    public var ffnDim: Int
    public var numLayers: Int
    public var numBuckets: Int
    public var maxDistance: Int
    public var eps: Float

    public init(vocabSize: Int, dim: Int, numHeads: Int, headDim: Int, ffnDim: Int, numLayers: Int,
                numBuckets: Int = 32, maxDistance: Int = 128, eps: Float = 1e-6) {
        self.vocabSize = vocabSize
        self.dim = dim
        self.numHeads = numHeads
        self.headDim = headDim
        self.ffnDim = ffnDim
        self.numLayers = numLayers
        self.numBuckets = numBuckets
        self.maxDistance = maxDistance
        self.eps = eps
    }

    public static let xxl = UMT5Config(vocabSize: 256_384, dim: 4096, numHeads: 64, headDim: 64,
                                       ffnDim: 10240, numLayers: 24)

    public var attentionDim: Int { numHeads * headDim }

    public init(json: JSONValue, path: String) throws(ModelError) {
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = json[key]?.intValue, v > 0, v < 1 << 31 else {
                throw .badConfig(path: path, key: key, detail: "missing or not a positive integer")
            }
            return Int(v)
        }
        let proj = json["feed_forward_proj"]?.stringValue ?? "gated-gelu"
        guard proj == "gated-gelu" else {
            throw .unsupported(path: path, detail: "feed_forward_proj \"\(proj)\" (umT5 uses gated-gelu)")
        }
        var eps: Float = 1e-6
        if let e = json["layer_norm_epsilon"]?.doubleValue { eps = Float(e) }
        self.init(vocabSize: try int("vocab_size"), dim: try int("d_model"), numHeads: try int("num_heads"),
                  headDim: try int("d_kv"), ffnDim: try int("d_ff"), numLayers: try int("num_layers"),
                  numBuckets: try int("relative_attention_num_buckets"),
                  maxDistance: json["relative_attention_max_distance"] == nil ? 128 : try int("relative_attention_max_distance"),
                  eps: eps)
    }

    public init(configFile path: String) throws(ModelError) {
        try self.init(json: try readConfigJSON(path), path: path)
    }

    /// Every parameter in official names (spec §6.4) with its shape.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var table: [(String, [Int])] = [("token_embedding.weight", [vocabSize, dim])]
        for n in 0..<numLayers {
            let b = "blocks.\(n)."
            table += [(b + "norm1.weight", [dim]),
                      (b + "attn.q.weight", [attentionDim, dim]), (b + "attn.k.weight", [attentionDim, dim]),
                      (b + "attn.v.weight", [attentionDim, dim]), (b + "attn.o.weight", [dim, attentionDim]),
                      (b + "norm2.weight", [dim]),
                      (b + "ffn.gate.0.weight", [ffnDim, dim]), (b + "ffn.fc1.weight", [ffnDim, dim]),
                      (b + "ffn.fc2.weight", [dim, ffnDim]),
                      (b + "pos_embedding.embedding.weight", [numBuckets, numHeads])]
        }
        table.append(("norm.weight", [dim]))
        return table
    }

    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
