extension KeyMapper {
    /// transformers `CLIPVisionModel` / `CLIPVisionModelWithProjection` names (with the
    /// `vision_model.` prefix that 4.x checkpoints carry, or without it as 5.x saves them) to the
    /// encoder's canonical open-clip names. The separate q/k/v projections keep their own names
    /// (`attn.to_q`...); open-clip fuses them as `attn.to_qkv`. nil: not a tower weight.
    public static func clipTransformersToOpenCLIP(_ name: String) -> String? {
        let stripped = name.hasPrefix("vision_model.") ? String(name.dropFirst("vision_model.".count)) : name
        let p = stripped.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch stripped {
        case "embeddings.class_embedding": return "visual.cls_embedding"
        case "embeddings.patch_embedding.weight": return "visual.patch_embedding.weight"
        case "embeddings.position_embedding.weight": return "visual.pos_embedding"
        case "pre_layrnorm.weight": return "visual.pre_norm.weight"
        case "pre_layrnorm.bias": return "visual.pre_norm.bias"
        default: break
        }
        guard p.count == 6 || p.count == 5, p[0] == "encoder", p[1] == "layers", let n = Int(p[2]) else { return nil }
        let b = "visual.transformer.\(n)."
        let leaf = p[p.count - 1]
        guard leaf == "weight" || leaf == "bias" else { return nil }
        switch (p[3], p.count == 6 ? p[4] : "") {
        case ("self_attn", "q_proj"): return b + "attn.to_q." + leaf
        case ("self_attn", "k_proj"): return b + "attn.to_k." + leaf
        case ("self_attn", "v_proj"): return b + "attn.to_v." + leaf
        case ("self_attn", "out_proj"): return b + "attn.proj." + leaf
        case ("mlp", "fc1"): return b + "mlp.0." + leaf
        case ("mlp", "fc2"): return b + "mlp.2." + leaf
        case ("layer_norm1", ""): return b + "norm1." + leaf
        case ("layer_norm2", ""): return b + "norm2." + leaf
        default: return nil
        }
    }

    /// Tensors of a CLIP file that the image features never use: the text tower and logit scale of
    /// the open-clip checkpoint, the pooled head and post-norm (the features are the penultimate
    /// block's output), transformers' projection and position-id buffer.
    public static func isUnusedCLIPTensor(_ name: String) -> Bool {
        let stripped = name.hasPrefix("vision_model.") ? String(name.dropFirst("vision_model.".count)) : name
        return name.hasPrefix("textual.") || name == "log_scale" || name == "visual.head"
            || name.hasPrefix("visual.post_norm.") || stripped.hasPrefix("post_layernorm.")
            || name.hasPrefix("visual_projection.") || stripped == "embeddings.position_ids"
            || name.hasPrefix("text_model.") || name.hasPrefix("text_projection.") || name == "logit_scale"
    }
}
