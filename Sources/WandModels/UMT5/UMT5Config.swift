/// Hyper-parameters of a umT5 encoder (spec §6.1). The official `.pth` carries no config (the
/// published ones are umT5-XXL), so its sizes are read off the tensor shapes; transformers'
/// `config.json` (UMT5Config / T5Config) is read when present.
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

    /// transformers' `UMT5Config` (model_type "umt5"), with its defaults for absent fields. The
    /// fields that shape the encoder are honoured (sizes, buckets, max distance, epsilon) or
    /// refused by name and value (another feed_forward_proj, a T5/mT5 config: those share one
    /// position bias across layers). Decoder, dropout, generation and tokenizer fields do not
    /// change the encoder's output and are not read.
    public init(json: JSONValue, path: String) throws(ModelError) {
        guard json.objectValue != nil else { throw .badConfig(path: path, key: "", detail: "top level is not an object") }
        let r = DiTConfigFieldReader(json: json, path: path)
        if let type = json["model_type"], type.stringValue != "umt5" {
            throw r.refuse("model_type", "Wand's text encoder is umT5 (a relative position bias in every layer)")
        }
        if let proj = json["feed_forward_proj"], proj.stringValue != "gated-gelu" {
            throw r.refuse("feed_forward_proj", "only umT5's gated-gelu (gelu_new) feed-forward is implemented")
        }
        var eps: Float = 1e-6
        if let v = json["layer_norm_epsilon"], v != .null {
            guard let e = v.doubleValue, e > 0, e < 1 else {
                throw .badConfig(path: path, key: "layer_norm_epsilon", detail: "expected a small positive number")
            }
            eps = Float(e)
        }
        self.init(vocabSize: try r.int("vocab_size", default: 250_112), dim: try r.int("d_model", default: 512),
                  numHeads: try r.int("num_heads", default: 6), headDim: try r.int("d_kv", default: 64),
                  ffnDim: try r.int("d_ff", default: 1024), numLayers: try r.int("num_layers", default: 8),
                  numBuckets: try r.int("relative_attention_num_buckets", default: 32),
                  maxDistance: try r.int("relative_attention_max_distance", default: 128), eps: eps)
        // Bidirectional buckets: half for each sign, the first quarter exact, the rest log-spaced
        // up to max_distance. Fewer than 4 buckets divides by zero in the reference's log
        // spacing; a max_distance not above the exact range (num_buckets / 4) divides by zero or
        // gives negative buckets, which index outside the bias table (transformers raises).
        guard numBuckets >= 4 else { throw r.refuse("relative_attention_num_buckets", "at least 4 buckets are needed") }
        guard maxDistance > numBuckets / 4 else {
            throw r.refuse("relative_attention_max_distance", "must exceed num_buckets / 4 = \(numBuckets / 4), where the log-spaced buckets start")
        }
        for (key, value, limit) in [("vocab_size", vocabSize, 1 << 22), ("d_model", dim, 1 << 16), ("num_heads", numHeads, 1 << 10),
                                    ("d_kv", headDim, 1 << 12), ("d_ff", ffnDim, 1 << 18), ("num_layers", numLayers, 1024),
                                    ("relative_attention_num_buckets", numBuckets, 1 << 12),
                                    ("relative_attention_max_distance", maxDistance, 1 << 20)] where value > limit {
            throw r.refuse(key, "larger than Wand supports (\(value) > \(limit))")
        }
    }

    /// The sizes of official-layout encoder weights (`token_embedding`, `blocks.N.attn.q`,
    /// `ffn.fc1`, `pos_embedding.embedding` [buckets, heads]); what shapes cannot say (the
    /// bucket max distance 128, eps 1e-6) is the official umT5's. The published file reads as `.xxl`.
    public init(officialWeights weights: WeightSet, path: String) throws(ModelError) {
        func shape(_ name: String, rank: Int) throws(ModelError) -> [Int] {
            guard let t = weights[name] else { throw .missingWeight(path: path, tensor: name) }
            guard t.shape.count == rank, t.shape.allSatisfy({ $0 > 0 }) else {
                throw .unsupported(path: path, detail: "tensor \(name) has shape \(t.shape); an umT5 encoder's is \(rank)-D")
            }
            return t.shape
        }
        let embedding = try shape("token_embedding.weight", rank: 2)
        let q = try shape("blocks.0.attn.q.weight", rank: 2)
        let ffn = try shape("blocks.0.ffn.fc1.weight", rank: 2)
        let bias = try shape("blocks.0.pos_embedding.embedding.weight", rank: 2)
        var layers = 0
        while weights["blocks.\(layers).norm1.weight"] != nil { layers += 1 }
        let heads = bias[1]
        guard q[0] % heads == 0 else {
            throw .badConfig(path: path, key: "blocks.0.attn.q.weight",
                             detail: "\(q[0]) attention features do not split into the \(heads) heads of pos_embedding")
        }
        self.init(vocabSize: embedding[0], dim: embedding[1], numHeads: heads, headDim: q[0] / heads,
                  ffnDim: ffn[0], numLayers: layers, numBuckets: bias[0])
    }

    /// An official folder's encoder: sized from its official names, `.xxl` for a file in
    /// transformers names (which the encoder also reads).
    public static func official(_ weights: WeightSet, path: String) throws(ModelError) -> UMT5Config {
        weights["token_embedding.weight"] == nil ? .xxl : try UMT5Config(officialWeights: weights, path: path)
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
