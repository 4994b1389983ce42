extension WanDiTConfig {
    /// The fields of diffusers' `WanTransformer3DModel.__init__` (0.42), plus `window_size` (in
    /// older converted configs; only global attention is accepted).
    public static let diffusersFields: Set<String> = [
        "patch_size", "num_attention_heads", "attention_head_dim", "in_channels", "out_channels", "text_dim",
        "freq_dim", "ffn_dim", "num_layers", "cross_attn_norm", "qk_norm", "eps", "image_dim",
        "added_kv_proj_dim", "rope_max_seq_len", "pos_embed_seq_len", "window_size",
    ]
    /// The fields of the official `WanModel.__init__`.
    public static let officialFields: Set<String> = [
        "model_type", "patch_size", "text_len", "in_dim", "dim", "ffn_dim", "freq_dim", "text_dim", "out_dim",
        "num_heads", "num_layers", "window_size", "qk_norm", "cross_attn_norm", "eps",
    ]

    /// Reads config.json in the official (`_class_name: WanModel`) or diffusers
    /// (`WanTransformer3DModel`) form, with the defaults of that class for absent fields. A value
    /// Wand cannot honour is refused naming the field and the value; so is a field the class
    /// does not have (keys starting with `_` are metadata). `path` labels errors.
    public init(json: JSONValue, path: String) throws(ModelError) {
        guard let members = json.objectValue else {
            throw .badConfig(path: path, key: "", detail: "top level is not an object")
        }
        let r = DiTConfigFieldReader(json: json, path: path)
        let className = json["_class_name"]?.stringValue
        if let className, className != "WanModel", className != "WanTransformer3DModel" {
            throw r.refuse("_class_name", "not a Wan DiT (WanModel or WanTransformer3DModel)")
        }
        let isDiffusers = json["num_attention_heads"] != nil || className == "WanTransformer3DModel"
        let known = isDiffusers ? Self.diffusersFields : Self.officialFields
        for (key, _) in members where !key.hasPrefix("_") && !known.contains(key) {
            throw r.refuse(key, "not a field of \(isDiffusers ? "diffusers' WanTransformer3DModel" : "the official WanModel"); "
                           + "Wand does not know what it changes")
        }
        if let window = json["window_size"], window != .null, window.arrayValue?.compactMap(\.intValue) != [-1, -1] {
            throw r.refuse("window_size", "windowed attention is not implemented")
        }
        if isDiffusers {
            for key in ["image_dim", "added_kv_proj_dim", "pos_embed_seq_len"] {
                if let v = json[key], v != .null {
                    throw r.refuse(key, "Wan2.1 I2V CLIP image tokens; Wand has no CLIP image encoder")
                }
            }
            let heads = try r.int("num_attention_heads", default: 40)
            let headDim = try r.int("attention_head_dim", default: 128)
            let inDim = try r.int("in_channels", default: 16)
            // diffusers 0.42 builds norm_q / norm_k (RMS over all heads) whatever qk_norm says.
            guard json["qk_norm"].map({ $0 == .null || $0.stringValue != nil }) ?? true else {
                throw .badConfig(path: path, key: "qk_norm", detail: "expected a string or null, found \(json["qk_norm"]!.compactText)")
            }
            self.init(modelType: inDim == 36 ? .i2v : (inDim == 48 ? .ti2v : .t2v),
                      dim: heads * headDim, ffnDim: try r.int("ffn_dim", default: 13824), numHeads: heads,
                      numLayers: try r.int("num_layers", default: 40), inDim: inDim,
                      outDim: try r.int("out_channels", default: 16, null: inDim), textDim: try r.int("text_dim", default: 4096),
                      freqDim: try r.int("freq_dim", default: 256), textLen: 512, eps: try r.eps(),
                      patchSize: try r.patch(), crossAttnNorm: try r.bool("cross_attn_norm", default: true), qkNorm: true,
                      ropeMaxSeqLen: try r.int("rope_max_seq_len", default: WanDiTConfig.ropeMaxPositions))
        } else {
            let typeName = json["model_type"]?.stringValue ?? "t2v"
            guard let type = ModelType(rawValue: typeName) else {
                throw .unsupported(path: path, detail: "model_type \"\(typeName)\"")
            }
            let patch = try r.patch()
            // Official folders are read with the published patch: the official TI2V code cuts
            // per-token timesteps on a 2×2 grid, and no official checkpoint uses another.
            guard patch == WanDiTConfig.publishedPatchSize else {
                throw r.refuse("patch_size", "official WanModel folders are read with the published patch [1, 2, 2] only")
            }
            self.init(modelType: type, dim: try r.int("dim"), ffnDim: try r.int("ffn_dim"),
                      numHeads: try r.int("num_heads"), numLayers: try r.int("num_layers"),
                      inDim: try r.int("in_dim", default: 16), outDim: try r.int("out_dim", default: 16),
                      textDim: try r.int("text_dim", default: 4096), freqDim: try r.int("freq_dim", default: 256),
                      textLen: try r.int("text_len", default: 512), eps: try r.eps(), patchSize: patch,
                      crossAttnNorm: try r.bool("cross_attn_norm", default: true), qkNorm: try r.bool("qk_norm", default: true))
        }
        guard dim % numHeads == 0, headDim % 2 == 0 else {
            throw .badConfig(path: path, key: isDiffusers ? "attention_head_dim" : "num_heads",
                             detail: "dim \(dim) is not heads x an even head size (RoPE rotates pairs)")
        }
        guard freqDim % 2 == 0 else { throw .badConfig(path: path, key: "freq_dim", detail: "must be even") }
        // Bounds far above any real model, so that no shape computation can overflow.
        for (key, value, limit) in [("dim", dim, 1 << 16), ("ffn_dim", ffnDim, 1 << 18), ("num_layers", numLayers, 1024),
                                    ("in_channels", inDim, 1 << 12), ("out_channels", outDim, 1 << 12),
                                    ("text_dim", textDim, 1 << 16), ("freq_dim", freqDim, 1 << 16),
                                    ("text_len", textLen, 1 << 16), ("rope_max_seq_len", ropeMaxSeqLen, 1 << 20)]
        where value > limit {
            throw r.refuse(key, "larger than Wand supports (\(value) > \(limit))")
        }
    }

    public init(configFile path: String) throws(ModelError) {
        try self.init(json: try readConfigJSON(path), path: path)
    }
}

/// Typed reads of DiT config fields; errors name the field and file.
struct DiTConfigFieldReader {
    let json: JSONValue
    let path: String

    func refuse(_ key: String, _ reason: String) -> ModelError {
        .unsupported(path: path, detail: "config field \"\(key)\" = \(json[key]?.compactText ?? "(default)"): \(reason)")
    }

    /// A positive integer; absent or null reads as `value` (null as `null` when given).
    func int(_ key: String, default value: Int? = nil, null: Int? = nil) throws(ModelError) -> Int {
        let v = json[key]
        if v == nil || v == .null {
            if v == .null, let null { return null }
            if let value { return value }
            throw .badConfig(path: path, key: key, detail: "missing")
        }
        guard let i = v?.intValue, i > 0, i < 1 << 31 else {
            throw .badConfig(path: path, key: key, detail: "expected a positive integer")
        }
        return Int(i)
    }

    func bool(_ key: String, default value: Bool) throws(ModelError) -> Bool {
        guard let v = json[key], v != .null else { return value }
        guard let b = v.boolValue else { throw .badConfig(path: path, key: key, detail: "expected true or false, found \(v.compactText)") }
        return b
    }

    func eps() throws(ModelError) -> Float {
        guard let v = json["eps"], v != .null else { return 1e-6 }
        guard let d = v.doubleValue, d > 0, d < 1 else {
            throw .badConfig(path: path, key: "eps", detail: "expected a small positive number")
        }
        return Float(d)
    }

    func patch() throws(ModelError) -> [Int] {
        guard let v = json["patch_size"], v != .null else { return WanDiTConfig.publishedPatchSize }
        guard let a = v.arrayValue, a.count == 3 else {
            throw .badConfig(path: path, key: "patch_size", detail: "expected [frames, height, width], found \(v.compactText)")
        }
        var out: [Int] = []
        for e in a {
            guard let i = e.intValue, i >= 1, i <= 16 else { throw refuse("patch_size", "expected three integers in 1...16") }
            out.append(Int(i))
        }
        return out
    }
}
