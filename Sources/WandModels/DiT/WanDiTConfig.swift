/// Hyper-parameters of one Wan DiT (`WanModel` / diffusers `WanTransformer3DModel`), spec §1.
/// Fields that the published official config.json leaves out (patch size, qk/cross-attn norms,
/// text_dim, window) take the defaults every Wan2.x DiT uses; the engine supports only those.
public struct WanDiTConfig: Sendable, Equatable {
    public enum ModelType: String, Sendable { case t2v, i2v, ti2v }

    public var modelType: ModelType
    public var dim: Int
    public var ffnDim: Int
    public var numHeads: Int
    public var numLayers: Int
    public var inDim: Int
    public var outDim: Int
    public var textDim: Int
    public var freqDim: Int
    /// Rows the text context is zero-padded to (512 in every pipeline). Diffusers keeps it out of
    /// the transformer config (it is the pipeline's max_sequence_length), so it stays settable.
    public var textLen: Int
    public var eps: Float

    public static let patchSize = (t: 1, h: 2, w: 2)
    public static let ropeTheta = 10_000.0
    public static let ropeMaxPositions = 1024

    public init(modelType: ModelType, dim: Int, ffnDim: Int, numHeads: Int, numLayers: Int,
                inDim: Int, outDim: Int, textDim: Int = 4096, freqDim: Int = 256,
                textLen: Int = 512, eps: Float = 1e-6) {
        self.modelType = modelType
        self.dim = dim
        self.ffnDim = ffnDim
        self.numHeads = numHeads
        self.numLayers = numLayers
        self.inDim = inDim
        self.outDim = outDim
        self.textDim = textDim
        self.freqDim = freqDim
        self.textLen = textLen
        self.eps = eps
    }

    public var headDim: Int { dim / numHeads }

    // Published sizes (spec §1).
    public static let ti2v5B = WanDiTConfig(modelType: .ti2v, dim: 3072, ffnDim: 14336, numHeads: 24,
                                            numLayers: 30, inDim: 48, outDim: 48)
    public static let t2vA14BExpert = WanDiTConfig(modelType: .t2v, dim: 5120, ffnDim: 13824, numHeads: 40,
                                                   numLayers: 40, inDim: 16, outDim: 16)
    public static let i2vA14BExpert = WanDiTConfig(modelType: .i2v, dim: 5120, ffnDim: 13824, numHeads: 40,
                                                   numLayers: 40, inDim: 36, outDim: 16)
    public static let wan21T2V1_3B = WanDiTConfig(modelType: .t2v, dim: 1536, ffnDim: 8960, numHeads: 12,
                                                  numLayers: 30, inDim: 16, outDim: 16)

    /// Reads config.json in the official (`_class_name: WanModel`) or diffusers
    /// (`WanTransformer3DModel`) form. `path` only labels errors.
    public init(json: JSONValue, path: String) throws(ModelError) {
        guard json.objectValue != nil else {
            throw .badConfig(path: path, key: "", detail: "top level is not an object")
        }
        func int(_ key: String, default value: Int? = nil) throws(ModelError) -> Int {
            guard let v = json[key], v != .null else {
                if let value { return value }
                throw .badConfig(path: path, key: key, detail: "missing")
            }
            guard let i = v.intValue, i > 0, i < 1 << 31 else {
                throw .badConfig(path: path, key: key, detail: "expected a positive integer")
            }
            return Int(i)
        }
        func float(_ key: String, default value: Float) throws(ModelError) -> Float {
            guard let v = json[key], v != .null else { return value }
            guard let d = v.doubleValue, d > 0, d < 1 else {
                throw .badConfig(path: path, key: key, detail: "expected a small positive number")
            }
            return Float(d)
        }
        if let patch = json["patch_size"], patch != .null {
            guard patch.arrayValue?.compactMap(\.intValue) == [1, 2, 2] else {
                throw .unsupported(path: path, detail: "patch_size other than [1, 2, 2]")
            }
        }
        if let window = json["window_size"], window != .null {
            guard window.arrayValue?.compactMap(\.intValue) == [-1, -1] else {
                throw .unsupported(path: path, detail: "windowed attention (window_size \(window))")
            }
        }
        let isDiffusers = json["num_attention_heads"] != nil || json["_class_name"]?.stringValue == "WanTransformer3DModel"
        if isDiffusers {
            let heads = try int("num_attention_heads")
            let headDim = try int("attention_head_dim")
            if let qk = json["qk_norm"], qk != .null, qk.stringValue != "rms_norm_across_heads" {
                throw .unsupported(path: path, detail: "qk_norm \(qk)")
            }
            if json["cross_attn_norm"]?.boolValue == false {
                throw .unsupported(path: path, detail: "cross_attn_norm false")
            }
            for key in ["image_dim", "added_kv_proj_dim", "pos_embed_seq_len"] {
                if let v = json[key], v != .null {
                    throw .unsupported(path: path, detail: "\(key) (Wan2.1 I2V CLIP image tokens)")
                }
            }
            let inDim = try int("in_channels", default: 16)
            self.init(modelType: inDim == 36 ? .i2v : (inDim == 48 ? .ti2v : .t2v),
                      dim: heads * headDim, ffnDim: try int("ffn_dim"), numHeads: heads,
                      numLayers: try int("num_layers"), inDim: inDim,
                      outDim: try int("out_channels", default: 16), textDim: try int("text_dim", default: 4096),
                      freqDim: try int("freq_dim", default: 256), textLen: 512,
                      eps: try float("eps", default: 1e-6))
        } else {
            let typeName = json["model_type"]?.stringValue ?? "t2v"
            guard let type = ModelType(rawValue: typeName) else {
                throw .unsupported(path: path, detail: "model_type \"\(typeName)\"")
            }
            if json["qk_norm"]?.boolValue == false || json["cross_attn_norm"]?.boolValue == false {
                throw .unsupported(path: path, detail: "qk_norm/cross_attn_norm false")
            }
            self.init(modelType: type, dim: try int("dim"), ffnDim: try int("ffn_dim"),
                      numHeads: try int("num_heads"), numLayers: try int("num_layers"),
                      inDim: try int("in_dim", default: 16), outDim: try int("out_dim", default: 16),
                      textDim: try int("text_dim", default: 4096), freqDim: try int("freq_dim", default: 256),
                      textLen: try int("text_len", default: 512), eps: try float("eps", default: 1e-6))
        }
        guard dim % numHeads == 0, headDim % 2 == 0 else {
            throw .badConfig(path: path, key: "num_heads", detail: "dim \(dim) is not heads x an even head size")
        }
        guard freqDim % 2 == 0 else { throw .badConfig(path: path, key: "freq_dim", detail: "must be even") }
    }

    public init(configFile path: String) throws(ModelError) {
        try self.init(json: try readConfigJSON(path), path: path)
    }

    /// Every parameter tensor in official names with its shape (spec §2.10), in checkpoint order.
    public var parameterShapes: [(name: String, shape: [Int])] {
        let d = dim
        var table: [(String, [Int])] = [
            ("patch_embedding.weight", [d, inDim, 1, 2, 2]), ("patch_embedding.bias", [d]),
            ("text_embedding.0.weight", [d, textDim]), ("text_embedding.0.bias", [d]),
            ("text_embedding.2.weight", [d, d]), ("text_embedding.2.bias", [d]),
            ("time_embedding.0.weight", [d, freqDim]), ("time_embedding.0.bias", [d]),
            ("time_embedding.2.weight", [d, d]), ("time_embedding.2.bias", [d]),
            ("time_projection.1.weight", [6 * d, d]), ("time_projection.1.bias", [6 * d]),
        ]
        for n in 0..<numLayers {
            let b = "blocks.\(n)."
            table.append((b + "modulation", [1, 6, d]))
            for attn in ["self_attn", "cross_attn"] {
                for p in ["q", "k", "v", "o"] {
                    table.append((b + "\(attn).\(p).weight", [d, d]))
                    table.append((b + "\(attn).\(p).bias", [d]))
                }
                table.append((b + "\(attn).norm_q.weight", [d]))
                table.append((b + "\(attn).norm_k.weight", [d]))
            }
            table += [(b + "norm3.weight", [d]), (b + "norm3.bias", [d]),
                      (b + "ffn.0.weight", [ffnDim, d]), (b + "ffn.0.bias", [ffnDim]),
                      (b + "ffn.2.weight", [d, ffnDim]), (b + "ffn.2.bias", [d])]
        }
        table += [("head.modulation", [1, 2, d]), ("head.head.weight", [4 * outDim, d]),
                  ("head.head.bias", [4 * outDim])]
        return table
    }

    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
