import WandTensor

/// Which published network a set of tensors holds, told from names and shapes alone.
public enum WanModelKind: String, Sendable, Equatable {
    case ti2v5B = "Wan2.2 TI2V-5B DiT"
    /// Same tensors, different training: only config/folder names tell them apart.
    case t2vA14BExpertOrWan21T2V14B = "Wan2.2 T2V-A14B expert (or Wan2.1 T2V-14B: same shapes)"
    case i2vA14BExpert = "Wan2.2 I2V-A14B expert"
    case wan21I2V14B = "Wan2.1 I2V-14B DiT"
    case wan21T2V1_3B = "Wan2.1 T2V-1.3B DiT"
    case animate14B = "Wan2.2 Animate-14B DiT"
    case customDiT = "Wan DiT (unpublished size)"
    case s2v14B = "Wan2.2 S2V-14B DiT"
    case customS2V = "Wan S2V DiT (unpublished size)"
    case wav2vec2 = "wav2vec2 audio encoder"
    case vae21 = "Wan2.1 VAE (z 16)"
    case vae22 = "Wan2.2 VAE (z 48)"
    case customVAE = "Wan VAE (unpublished size)"
    case umt5Encoder = "umT5 encoder"
    /// open-clip (`visual.*`, with its text tower) or transformers' CLIP vision model.
    case clipVision = "CLIP ViT image encoder"
    case unknown = "unknown"
}

public enum KeyLayout: String, Sendable, Equatable {
    case official
    case diffusers
    /// ComfyUI repackaged single files: official names, possibly prefixed and fp8-scaled.
    case comfyUI = "ComfyUI"
    /// Hugging Face transformers naming (umT5 in diffusers and ComfyUI).
    case transformers
    case unknown
}

public struct DiTShape: Sendable, Equatable {
    public var dim: Int, ffnDim: Int, inDim: Int, outDim: Int, numLayers: Int, textDim: Int, freqDim: Int
    public var hasImageEmbedding: Bool
}

public struct ModelVerdict: Sendable, Equatable {
    public var model: WanModelKind
    public var layout: KeyLayout
    /// Prefix found on every key and stripped before matching (ComfyUI's `model.diffusion_model.`).
    public var prefix: String
    public var fp8Scaled: Bool
    public var scaleTensorCount: Int
    public var dit: DiTShape?
    /// Parameters of the network itself (scale tensors excluded).
    public var parameterCount: Int

    public var summary: String {
        var s = "\(model.rawValue), \(layout.rawValue) layout"
        if !prefix.isEmpty { s += " (prefix \"\(prefix)\")" }
        if fp8Scaled { s += ", fp8-scaled with \(scaleTensorCount) scale tensors" }
        if let d = dit {
            s += "; dim \(d.dim), ffn \(d.ffnDim), in \(d.inDim), out \(d.outDim), \(d.numLayers) layers"
        }
        return s
    }
}

public enum ModelDetector {
    public static func detect(_ weights: WeightSet) -> ModelVerdict {
        detect(weights.tensors.map { ($0.name, $0.shape, $0.dtype) })
    }

    public static func detect(_ tensors: [(name: String, shape: [Int], dtype: DType)]) -> ModelVerdict {
        let prefix = KeyMapper.comfyPrefix
        let prefixed = !tensors.isEmpty && tensors.allSatisfy { $0.name.hasPrefix(prefix) || KeyMapper.isScaleTensor($0.name) }
        var shapes: [String: [Int]] = [:]
        var scaleCount = 0
        var parameters = 0
        var hasFP8 = false
        // HF umT5 files store the tied embedding twice (`shared` and `encoder.embed_tokens`); count it once.
        let tiedEmbedding = tensors.contains { $0.name == "shared.weight" }
        for t in tensors {
            let name = prefixed && t.name.hasPrefix(prefix) ? String(t.name.dropFirst(prefix.count)) : t.name
            if KeyMapper.isScaleTensor(name) { scaleCount += 1; continue }
            if tiedEmbedding && name == "encoder.embed_tokens.weight" { shapes[name] = t.shape; continue }
            shapes[name] = t.shape
            parameters += t.shape.reduce(1, *)
            if t.dtype == .fp8e4m3 || t.dtype == .fp8e5m2 { hasFP8 = true }
        }
        var verdict = ModelVerdict(model: .unknown, layout: .unknown, prefix: prefixed ? prefix : "",
                                   fp8Scaled: hasFP8 && scaleCount > 0, scaleTensorCount: scaleCount,
                                   dit: nil, parameterCount: parameters)
        func layers(_ head: String) -> Int {
            var ids = Set<Int>()
            for name in shapes.keys where name.hasPrefix(head) {
                if let n = Int(name.dropFirst(head.count).prefix { $0 != "." }) { ids.insert(n) }
            }
            return ids.count
        }

        if let patch = shapes["patch_embedding.weight"], patch.count == 5 {
            let official = shapes["head.head.weight"] != nil
            let diffusers = shapes["proj_out.weight"] != nil
            guard official || diffusers else { return verdict }
            let ffn = shapes[official ? "blocks.0.ffn.0.weight" : "blocks.0.ffn.net.0.proj.weight"]?.first ?? 0
            let head = shapes[official ? "head.head.weight" : "proj_out.weight"]?.first ?? 0
            let text = shapes[official ? "text_embedding.0.weight" : "condition_embedder.text_embedder.linear_1.weight"]?.last ?? 0
            let freq = shapes[official ? "time_embedding.0.weight" : "condition_embedder.time_embedder.linear_1.weight"]?.last ?? 0
            let image = shapes[official ? "img_emb.proj.0.weight" : "condition_embedder.image_embedder.norm1.weight"] != nil
            let volume = max(1, patch[2] * patch[3] * patch[4])  // head rows = out channels x patch volume
            let d = DiTShape(dim: patch[0], ffnDim: ffn, inDim: patch[1], outDim: head / volume, numLayers: layers("blocks."),
                             textDim: text, freqDim: freq, hasImageEmbedding: image)
            verdict.dit = d
            verdict.layout = diffusers ? .diffusers : (prefixed || verdict.fp8Scaled ? .comfyUI : .official)
            // S2V: the backbone of T2V-14B plus the audio encoder and injector (next-modes §A.6).
            if shapes["casual_audio_encoder.weights"] != nil {
                verdict.model = (d.dim, d.ffnDim, d.numLayers) == (5120, 13824, 40) ? .s2v14B : .customS2V
                return verdict
            }
            switch (d.dim, d.ffnDim, d.inDim, d.outDim, d.numLayers, d.textDim, d.freqDim, d.hasImageEmbedding) {
            case (3072, 14336, 48, 48, 30, 4096, 256, false): verdict.model = .ti2v5B
            case (5120, 13824, 16, 16, 40, 4096, 256, false): verdict.model = .t2vA14BExpertOrWan21T2V14B
            case (5120, 13824, 36, 16, 40, 4096, 256, false): verdict.model = .i2vA14BExpert
            case (5120, 13824, 36, 16, 40, 4096, 256, true) where shapes["pose_patch_embedding.weight"] != nil:
                verdict.model = .animate14B
            case (5120, 13824, 36, 16, 40, 4096, 256, true): verdict.model = .wan21I2V14B
            case (1536, 8960, 16, 16, 30, 4096, 256, false): verdict.model = .wan21T2V1_3B
            default: verdict.model = .customDiT
            }
            return verdict
        }

        if let conv = shapes["conv1.weight"], shapes["encoder.conv1.weight"] != nil, shapes["decoder.conv1.weight"] != nil {
            verdict.layout = prefixed || verdict.fp8Scaled ? .comfyUI : .official
            verdict.model = vaeKind(zTimesTwo: conv[0])
            return verdict
        }
        if let conv = shapes["quant_conv.weight"], shapes["encoder.conv_in.weight"] != nil {
            verdict.layout = .diffusers
            verdict.model = vaeKind(zTimesTwo: conv[0])
            return verdict
        }
        if shapes["token_embedding.weight"] != nil, shapes["blocks.0.attn.q.weight"] != nil {
            verdict.layout = .official
            verdict.model = .umt5Encoder
            return verdict
        }
        if shapes["visual.transformer.0.attn.to_qkv.weight"] != nil {
            verdict.layout = .official
            verdict.model = .clipVision
            return verdict
        }
        if shapes["vision_model.encoder.layers.0.self_attn.q_proj.weight"] != nil
            || shapes["encoder.layers.0.self_attn.q_proj.weight"] != nil {
            verdict.layout = .transformers
            verdict.model = .clipVision
            return verdict
        }
        if shapes["wav2vec2.feature_extractor.conv_layers.0.conv.weight"] != nil
            || shapes["feature_extractor.conv_layers.0.conv.weight"] != nil {
            verdict.layout = .transformers
            verdict.model = .wav2vec2
            return verdict
        }
        if shapes["encoder.block.0.layer.0.SelfAttention.q.weight"] != nil {
            verdict.layout = .transformers
            verdict.model = .umt5Encoder
            return verdict
        }
        return verdict
    }

    private static func vaeKind(zTimesTwo: Int) -> WanModelKind {
        switch zTimesTwo {
        case 32: return .vae21
        case 96: return .vae22
        default: return .customVAE
        }
    }

    /// Version of a VAE verdict, for `KeyMapper.vaeDiffusersToOfficial`.
    public static func vaeVersion(_ verdict: ModelVerdict) -> KeyMapper.VAEVersion? {
        switch verdict.model {
        case .vae21: return .wan21
        case .vae22: return .wan22
        default: return nil
        }
    }
}
