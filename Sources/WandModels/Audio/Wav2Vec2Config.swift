/// Hyper-parameters of a Hugging Face `Wav2Vec2ForCTC` / `Wav2Vec2Model` (the `config.json` of
/// e.g. `wav2vec2-large-xlsr-53-english/` in the S2V folder). Both published geometries are
/// supported: the base one (`feat_extract_norm: group`, post-LN layers) and the large/XLSR one
/// (`feat_extract_norm: layer`, `do_stable_layer_norm: true`, pre-LN layers and a final LayerNorm).
public struct Wav2Vec2Config: Sendable, Equatable {
    public enum FeatureNorm: String, Sendable { case group, layer }

    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var convDim: [Int]
    public var convKernel: [Int]
    public var convStride: [Int]
    public var convBias: Bool
    public var featureNorm: FeatureNorm
    public var stableLayerNorm: Bool
    public var posConvKernel: Int
    public var posConvGroups: Int
    public var layerNormEps: Float

    public init(hiddenSize: Int, numLayers: Int, numHeads: Int, intermediateSize: Int, convDim: [Int],
                convKernel: [Int], convStride: [Int], convBias: Bool, featureNorm: FeatureNorm,
                stableLayerNorm: Bool, posConvKernel: Int, posConvGroups: Int, layerNormEps: Float = 1e-5) {
        self.hiddenSize = hiddenSize; self.numLayers = numLayers; self.numHeads = numHeads
        self.intermediateSize = intermediateSize; self.convDim = convDim; self.convKernel = convKernel
        self.convStride = convStride; self.convBias = convBias; self.featureNorm = featureNorm
        self.stableLayerNorm = stableLayerNorm; self.posConvKernel = posConvKernel
        self.posConvGroups = posConvGroups; self.layerNormEps = layerNormEps
    }

    /// `jonatasgrosman/wav2vec2-large-xlsr-53-english`, the encoder S2V-14B ships with.
    public static let xlsr53Large = Wav2Vec2Config(
        hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096, convDim: [Int](repeating: 512, count: 7),
        convKernel: [10, 3, 3, 3, 3, 2, 2], convStride: [5, 2, 2, 2, 2, 2, 2], convBias: true, featureNorm: .layer,
        stableLayerNorm: true, posConvKernel: 128, posConvGroups: 16)

    public var headDim: Int { hiddenSize / numHeads }

    /// Feature frames for `samples` input samples: each convolution keeps floor((T − k) / s) + 1.
    public func frames(forSamples samples: Int) -> Int {
        var t = samples
        for (k, s) in zip(convKernel, convStride) { t = t >= k ? (t - k) / s + 1 : 0 }
        return t
    }

    /// The receptive field of one feature frame (400 samples, 25 ms, for the published models).
    public var minimumSamples: Int {
        var r = 1
        for (k, s) in zip(convKernel, convStride).reversed() { r = (r - 1) * s + k }
        return r
    }

    public init(json: JSONValue, path: String) throws(ModelError) {
        guard json.objectValue != nil else { throw .badConfig(path: path, key: "", detail: "top level is not an object") }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let i = json[key]?.intValue, i > 0, i < 1 << 24 else {
                throw .badConfig(path: path, key: key, detail: "expected a positive integer")
            }
            return Int(i)
        }
        func ints(_ key: String) throws(ModelError) -> [Int] {
            guard let a = json[key]?.arrayValue, !a.isEmpty, a.count <= 32 else {
                throw .badConfig(path: path, key: key, detail: "expected a list of positive integers")
            }
            var out: [Int] = []
            for v in a {
                guard let i = v.intValue, i > 0, i < 1 << 20 else {
                    throw .badConfig(path: path, key: key, detail: "expected a list of positive integers")
                }
                out.append(Int(i))
            }
            return out
        }
        for key in ["hidden_act", "feat_extract_activation"] {
            let act = json[key]?.stringValue ?? "gelu"
            guard act == "gelu" else { throw .unsupported(path: path, detail: "\(key) \"\(act)\" (only gelu)") }
        }
        let normName = json["feat_extract_norm"]?.stringValue ?? "group"
        guard let norm = FeatureNorm(rawValue: normName) else {
            throw .badConfig(path: path, key: "feat_extract_norm", detail: "expected group or layer, got \"\(normName)\"")
        }
        if let adapter = json["adapter_attn_dim"], adapter != .null {
            throw .unsupported(path: path, detail: "adapter_attn_dim (MMS attention adapters)")
        }
        let eps = json["layer_norm_eps"]?.doubleValue ?? 1e-5
        guard eps > 0, eps < 1 else { throw .badConfig(path: path, key: "layer_norm_eps", detail: "expected a small positive number") }
        self.init(hiddenSize: try int("hidden_size"), numLayers: try int("num_hidden_layers"),
                  numHeads: try int("num_attention_heads"), intermediateSize: try int("intermediate_size"),
                  convDim: try ints("conv_dim"), convKernel: try ints("conv_kernel"), convStride: try ints("conv_stride"),
                  convBias: json["conv_bias"]?.boolValue ?? false, featureNorm: norm,
                  stableLayerNorm: json["do_stable_layer_norm"]?.boolValue ?? false,
                  posConvKernel: try int("num_conv_pos_embeddings"), posConvGroups: try int("num_conv_pos_embedding_groups"),
                  layerNormEps: Float(eps))
        guard convDim.count == convKernel.count, convDim.count == convStride.count else {
            throw .badConfig(path: path, key: "conv_dim", detail: "conv_dim, conv_kernel and conv_stride differ in length")
        }
        guard hiddenSize % numHeads == 0 else {
            throw .badConfig(path: path, key: "num_attention_heads", detail: "does not divide hidden_size \(hiddenSize)")
        }
        guard hiddenSize % posConvGroups == 0 else {
            throw .badConfig(path: path, key: "num_conv_pos_embedding_groups", detail: "does not divide hidden_size \(hiddenSize)")
        }
    }

    public init(configFile path: String) throws(ModelError) {
        try self.init(json: try readConfigJSON(path), path: path)
    }

    /// Every tensor the encoder uses, in the Wav2Vec2Model names (no `wav2vec2.` prefix). The
    /// positional convolution appears as weight-norm factors (`weight_g` [1, 1, k], `weight_v`).
    public var parameterShapes: [(name: String, shape: [Int])] {
        var table: [(String, [Int])] = []
        var cin = 1
        for i in 0..<convDim.count {
            let p = "feature_extractor.conv_layers.\(i)."
            table.append((p + "conv.weight", [convDim[i], cin, convKernel[i]]))
            if convBias { table.append((p + "conv.bias", [convDim[i]])) }
            if featureNorm == .layer || i == 0 {
                table += [(p + "layer_norm.weight", [convDim[i]]), (p + "layer_norm.bias", [convDim[i]])]
            }
            cin = convDim[i]
        }
        let h = hiddenSize
        table += [("feature_projection.layer_norm.weight", [cin]), ("feature_projection.layer_norm.bias", [cin]),
                  ("feature_projection.projection.weight", [h, cin]), ("feature_projection.projection.bias", [h]),
                  ("encoder.pos_conv_embed.conv.weight_g", [1, 1, posConvKernel]),
                  ("encoder.pos_conv_embed.conv.weight_v", [h, h / posConvGroups, posConvKernel]),
                  ("encoder.pos_conv_embed.conv.bias", [h]),
                  ("encoder.layer_norm.weight", [h]), ("encoder.layer_norm.bias", [h])]
        for n in 0..<numLayers {
            let p = "encoder.layers.\(n)."
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                table += [(p + "attention.\(proj).weight", [h, h]), (p + "attention.\(proj).bias", [h])]
            }
            table += [(p + "layer_norm.weight", [h]), (p + "layer_norm.bias", [h]),
                      (p + "feed_forward.intermediate_dense.weight", [intermediateSize, h]),
                      (p + "feed_forward.intermediate_dense.bias", [intermediateSize]),
                      (p + "feed_forward.output_dense.weight", [h, intermediateSize]),
                      (p + "feed_forward.output_dense.bias", [h]),
                      (p + "final_layer_norm.weight", [h]), (p + "final_layer_norm.bias", [h])]
        }
        return table
    }

    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
