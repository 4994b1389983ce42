/// Hyper-parameters of a CLIP ViT vision tower: the open-clip XLM-RoBERTa ViT-H/14 that Wan's
/// image-conditioned models use (`wan/modules/animate/clip.py` VisionTransformer, the `visual`
/// part of `models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth`), or transformers'
/// `CLIPVisionModel` (diffusers' `image_encoder/`). Both are pre-norm ViTs with a class token,
/// learned positions, a pre-LayerNorm and exact GELU.
public struct CLIPVisionConfig: Sendable, Equatable {
    public enum Activation: String, Sendable { case gelu, quickGELU = "quick_gelu" }

    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var imageSize: Int
    public var patchSize: Int
    public var eps: Float
    public var activation: Activation

    public init(hiddenSize: Int, intermediateSize: Int, numLayers: Int, numHeads: Int, imageSize: Int,
                patchSize: Int, eps: Float = 1e-5, activation: Activation = .gelu) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.eps = eps
        self.activation = activation
    }

    /// `clip_xlm_roberta_vit_h_14`: 224², patch 14, width 1280, 32 blocks, 16 heads, mlp ratio 4.
    public static let vitH14 = CLIPVisionConfig(hiddenSize: 1280, intermediateSize: 5120, numLayers: 32,
                                                numHeads: 16, imageSize: 224, patchSize: 14)

    public var headDim: Int { hiddenSize / numHeads }
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Class token plus one token per patch (257 for ViT-H/14).
    public var tokens: Int { 1 + patchesPerSide * patchesPerSide }

    /// transformers' `config.json`: a `CLIPVisionConfig` (model_type clip_vision_model), or a full
    /// `CLIPConfig` whose `vision_config` is read.
    public init(json: JSONValue, path: String) throws(ModelError) {
        let c = json["vision_config"].flatMap { $0.objectValue == nil ? nil : $0 } ?? json
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = c[key]?.intValue, v > 0, v < 1 << 24 else {
                throw .badConfig(path: path, key: key, detail: "missing or not a positive integer")
            }
            return Int(v)
        }
        let act = c["hidden_act"]?.stringValue ?? "quick_gelu"
        guard let activation = Activation(rawValue: act) else {
            throw .unsupported(path: path, detail: "hidden_act \"\(act)\" (CLIP uses gelu or quick_gelu)")
        }
        var eps: Float = 1e-5
        if let e = c["layer_norm_eps"]?.doubleValue {
            guard e > 0, e < 1 else { throw .badConfig(path: path, key: "layer_norm_eps", detail: "expected a small positive number") }
            eps = Float(e)
        }
        self.init(hiddenSize: try int("hidden_size"), intermediateSize: try int("intermediate_size"),
                  numLayers: try int("num_hidden_layers"), numHeads: try int("num_attention_heads"),
                  imageSize: try int("image_size"), patchSize: try int("patch_size"), eps: eps, activation: activation)
        if let ch = c["num_channels"]?.intValue, ch != 3 {
            throw .unsupported(path: path, detail: "num_channels \(ch) (RGB only)")
        }
        guard hiddenSize % numHeads == 0 else {
            throw .badConfig(path: path, key: "num_attention_heads", detail: "hidden_size \(hiddenSize) is not heads x head size")
        }
        guard imageSize % patchSize == 0, numLayers >= 2 else {
            throw .badConfig(path: path, key: "image_size", detail: "image_size \(imageSize) must be a multiple of patch_size "
                             + "\(patchSize), and the tower needs 2 or more layers (its penultimate layer is used)")
        }
    }

    public init(configFile path: String) throws(ModelError) {
        try self.init(json: try readConfigJSON(path), path: path)
    }

    /// The tensors the encoder reads, in its canonical (open-clip `visual.*`) names. The attention
    /// projections differ by layout: open-clip fuses them (`to_qkv`), transformers keeps three.
    public func parameterShapes(fusedQKV: Bool) -> [(name: String, shape: [Int])] {
        let d = hiddenSize, p = patchSize
        var table: [(String, [Int])] = [
            ("visual.patch_embedding.weight", [d, 3, p, p]),
            ("visual.cls_embedding", fusedQKV ? [1, 1, d] : [d]),
            ("visual.pos_embedding", fusedQKV ? [1, tokens, d] : [tokens, d]),
            ("visual.pre_norm.weight", [d]), ("visual.pre_norm.bias", [d]),
        ]
        for n in 0..<numLayers {
            let b = "visual.transformer.\(n)."
            if fusedQKV {
                table += [(b + "attn.to_qkv.weight", [3 * d, d]), (b + "attn.to_qkv.bias", [3 * d])]
            } else {
                for x in ["to_q", "to_k", "to_v"] { table += [(b + "attn.\(x).weight", [d, d]), (b + "attn.\(x).bias", [d])] }
            }
            table += [(b + "attn.proj.weight", [d, d]), (b + "attn.proj.bias", [d]),
                      (b + "norm1.weight", [d]), (b + "norm1.bias", [d]), (b + "norm2.weight", [d]), (b + "norm2.bias", [d]),
                      (b + "mlp.0.weight", [intermediateSize, d]), (b + "mlp.0.bias", [intermediateSize]),
                      (b + "mlp.2.weight", [d, intermediateSize]), (b + "mlp.2.bias", [d])]
        }
        return table
    }
}
