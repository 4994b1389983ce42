/// Renames published key layouts to the official Wan names (wan-architecture.md §2.10, §5, §6.4,
/// tables of §9.2). Each function returns nil for a key that has no official counterpart.
public enum KeyMapper {
    public static let comfyPrefix = "model.diffusion_model."

    /// ComfyUI fp8-scaled files add per-weight scales and a `scaled_fp8` marker; these are not weights.
    public static func isScaleTensor(_ name: String) -> Bool {
        name == "scaled_fp8" || name.hasSuffix(".scale_weight") || name.hasSuffix(".scale_input")
            || name.hasSuffix(".weight_scale") || name.hasSuffix(".input_scale")
    }

    /// Names under which ComfyUI-style fp8-scaled files store the scale of `weightName`
    /// (`x.weight` -> `x.scale_weight`, or `x.weight_scale` in newer files); the stored fp8 value
    /// times this scale is the weight.
    public static func scaleNames(forWeight weightName: String) -> [String] {
        guard weightName.hasSuffix(".weight") else { return [] }
        let stem = String(weightName.dropLast("weight".count))
        return [stem + "scale_weight", stem + "weight_scale"]
    }

    /// ComfyUI single files use the official names, sometimes under `model.diffusion_model.`.
    public static func ditComfyToOfficial(_ name: String) -> String? {
        let stripped = name.hasPrefix(comfyPrefix) ? String(name.dropFirst(comfyPrefix.count)) : name
        return isScaleTensor(stripped) ? nil : stripped
    }

    public static func ditDiffusersToOfficial(_ name: String) -> String? {
        var p = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = p.first else { return nil }
        func rest(_ from: Int) -> [String] { Array(p[from...]) }
        switch first {
        case "patch_embedding": return name
        case "proj_out": p = ["head", "head"] + rest(1)
        case "scale_shift_table": p = ["head", "modulation"] + rest(1)
        case "condition_embedder":
            guard p.count >= 3 else { return nil }
            switch (p[1], p[2]) {
            case ("text_embedder", "linear_1"): p = ["text_embedding", "0"] + rest(3)
            case ("text_embedder", "linear_2"): p = ["text_embedding", "2"] + rest(3)
            case ("time_embedder", "linear_1"): p = ["time_embedding", "0"] + rest(3)
            case ("time_embedder", "linear_2"): p = ["time_embedding", "2"] + rest(3)
            case ("time_proj", _): p = ["time_projection", "1"] + rest(2)
            case ("image_embedder", "norm1"): p = ["img_emb", "proj", "0"] + rest(3)
            case ("image_embedder", "norm2"): p = ["img_emb", "proj", "4"] + rest(3)
            case ("image_embedder", "ff"):
                guard p.count >= 5 else { return nil }
                if p[3] == "net", p[4] == "0", p.count >= 6, p[5] == "proj" { p = ["img_emb", "proj", "1"] + rest(6) }
                else if p[3] == "net", p[4] == "2" { p = ["img_emb", "proj", "3"] + rest(5) }
                else { return nil }
            default: return nil
            }
        case "blocks":
            guard p.count >= 3 else { return nil }
            let head = ["blocks", p[1]]
            switch p[2] {
            case "scale_shift_table": p = head + ["modulation"] + rest(3)
            case "norm2": p = head + ["norm3"] + rest(3)
            case "attn1", "attn2":
                guard p.count >= 4 else { return nil }
                let attn = p[2] == "attn1" ? "self_attn" : "cross_attn"
                switch p[3] {
                case "to_q": p = head + [attn, "q"] + rest(4)
                case "to_k": p = head + [attn, "k"] + rest(4)
                case "to_v": p = head + [attn, "v"] + rest(4)
                case "to_out":
                    guard p.count >= 5, p[4] == "0" else { return nil }
                    p = head + [attn, "o"] + rest(5)
                case "norm_q", "norm_k": p = head + [attn, p[3]] + rest(4)
                case "add_k_proj": p = head + [attn, "k_img"] + rest(4)
                case "add_v_proj": p = head + [attn, "v_img"] + rest(4)
                case "norm_added_k": p = head + [attn, "norm_k_img"] + rest(4)
                default: return nil
                }
            case "ffn":
                guard p.count >= 5, p[3] == "net" else { return nil }
                if p[4] == "0", p.count >= 6, p[5] == "proj" { p = head + ["ffn", "0"] + rest(6) }
                else if p[4] == "2" { p = head + ["ffn", "2"] + rest(5) }
                else { return nil }
            default: return nil
            }
        default: return nil
        }
        return p.joined(separator: ".")
    }

    public enum VAEVersion: String, Sendable { case wan21 = "2.1", wan22 = "2.2" }

    /// Diffusers `AutoencoderKLWan` names to the official `WanVAE_` names, for the published
    /// structure (dim_mult [1, 2, 4, 4], num_res_blocks 2, no attn_scales). The loader maps any
    /// config through `WanVAEStructure`, whose table this agrees with on the published ones.
    public static func vaeDiffusersToOfficial(_ name: String, version: VAEVersion) -> String? {
        let p = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = p.first else { return nil }
        switch first {
        case "quant_conv": return (["conv1"] + p.dropFirst()).joined(separator: ".")
        case "post_quant_conv": return (["conv2"] + p.dropFirst()).joined(separator: ".")
        case "encoder", "decoder": break
        default: return nil
        }
        guard p.count >= 3 else { return nil }
        let side = first
        let tail1 = Array(p[2...])
        switch p[1] {
        case "conv_in": return ([side, "conv1"] + tail1).joined(separator: ".")
        case "conv_out": return ([side, "head", "2"] + tail1).joined(separator: ".")
        case "norm_out": return ([side, "head", "0"] + tail1).joined(separator: ".")
        case "mid_block":
            guard p.count >= 5 else { return nil }
            let tail = Array(p[4...])
            switch (p[2], p[3]) {
            case ("resnets", "0"): return resnet([side, "middle", "0"], tail)
            case ("resnets", "1"): return resnet([side, "middle", "2"], tail)
            case ("attentions", "0"): return ([side, "middle", "1"] + tail).joined(separator: ".")
            default: return nil
            }
        case "down_blocks" where side == "encoder":
            guard let i = Int(p[2]) else { return nil }
            if version == .wan21 { return resnetOrResample(["encoder", "downsamples", String(i)], Array(p[3...])) }
            guard p.count >= 4 else { return nil }
            let stage = ["encoder", "downsamples", String(i), "downsamples"]
            if p[3] == "resnets", p.count >= 5, let j = Int(p[4]) { return resnet(stage + [String(j)], Array(p[5...])) }
            if p[3] == "downsampler" { return (stage + ["2"] + p[4...]).joined(separator: ".") }
            return nil
        case "up_blocks" where side == "decoder":
            guard let i = Int(p[2]), p.count >= 5 else { return nil }
            if version == .wan21 {
                if p[3] == "resnets", let j = Int(p[4]) { return resnet(["decoder", "upsamples", String(4 * i + j)], Array(p[5...])) }
                if p[3] == "upsamplers", p[4] == "0" { return (["decoder", "upsamples", String(4 * i + 3)] + p[5...]).joined(separator: ".") }
                return nil
            }
            let stage = ["decoder", "upsamples", String(i), "upsamples"]
            if p[3] == "resnets", let j = Int(p[4]) { return resnet(stage + [String(j)], Array(p[5...])) }
            if p[3] == "upsampler" { return (stage + ["3"] + p[4...]).joined(separator: ".") }
            return nil
        default: return nil
        }
    }

    private static func resnet(_ prefix: [String], _ tail: [String]) -> String? {
        guard let part = tail.first else { return nil }
        let renamed: [String]
        switch part {
        case "norm1": renamed = ["residual", "0"]
        case "conv1": renamed = ["residual", "2"]
        case "norm2": renamed = ["residual", "3"]
        case "conv2": renamed = ["residual", "6"]
        case "conv_shortcut": renamed = ["shortcut"]
        default: return nil
        }
        return (prefix + renamed + tail.dropFirst()).joined(separator: ".")
    }

    private static func resnetOrResample(_ prefix: [String], _ tail: [String]) -> String? {
        if tail.first == "resample" || tail.first == "time_conv" { return (prefix + tail).joined(separator: ".") }
        return resnet(prefix, tail)
    }

    /// HF `UMT5EncoderModel` (diffusers `text_encoder/`, ComfyUI `text_encoders/`) to the official T5 names.
    /// `shared.weight` and `encoder.embed_tokens.weight` are the same tied table; both map to `token_embedding.weight`.
    public static func umt5TransformersToOfficial(_ name: String) -> String? {
        if name == "shared.weight" || name == "encoder.embed_tokens.weight" { return "token_embedding.weight" }
        if name == "encoder.final_layer_norm.weight" { return "norm.weight" }
        let p = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard p.count >= 7, p[0] == "encoder", p[1] == "block", let n = Int(p[2]), p[3] == "layer" else { return nil }
        let b = "blocks.\(n)."
        switch (p[4], p[5]) {
        case ("0", "layer_norm"): return b + "norm1." + p[6...].joined(separator: ".")
        case ("1", "layer_norm"): return b + "norm2." + p[6...].joined(separator: ".")
        case ("0", "SelfAttention"):
            if p[6] == "relative_attention_bias" { return b + "pos_embedding.embedding." + p[7...].joined(separator: ".") }
            guard ["q", "k", "v", "o"].contains(p[6]) else { return nil }
            return b + "attn." + p[6...].joined(separator: ".")
        case ("1", "DenseReluDense"):
            let rest = p[7...].joined(separator: ".")
            switch p[6] {
            case "wi_0": return b + "ffn.gate.0." + rest
            case "wi_1": return b + "ffn.fc1." + rest
            case "wo": return b + "ffn.fc2." + rest
            default: return nil
            }
        default: return nil
        }
    }
}
