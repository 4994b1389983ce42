// Stored LoRA key names -> (official Wan module, which part of an adapter). One function covers
// the layouts published for Wan (shared/reference/next-modes.md C.1-C.3):
//
//   diffusion_model.blocks.0.self_attn.q.lora_down.weight   ComfyUI / Kohya "native" (+ .alpha)
//   blocks.0.self_attn.q.lora_A.weight                      the same without prefix (Wan2.2-Lightning)
//   lora_unet_blocks_0_self_attn_q.lora_up.weight           Kohya / musubi-tuner underscores
//   transformer.blocks.0.attn1.to_q.lora_B.weight           diffusers / PEFT module names
//   diffusion_model.blocks.0.self_attn.q.diff_b             full-tensor deltas (lightx2v): .diff,
//   diffusion_model.blocks.0.diff_m                         .diff_b (bias), .diff_m (modulation)
//
// Module names may be official (`self_attn.q`) or diffusers (`attn1.to_q`) under any prefix;
// diffusers' own converters (`_convert_non_diffusers_wan_lora_to_diffusers`,
// `_convert_musubi_wan_lora_to_diffusers`) map the same names to the same modules.

/// What one stored LoRA tensor is.
public enum LoRARole: String, Sendable, Equatable {
    /// A (down) `[rank, in...]`.
    case down
    /// B (up) `[out, rank, 1...]`.
    case up
    /// The scalar alpha; the product is scaled by alpha / rank.
    case alpha
    /// PEFT `lora_B.bias`: a bias delta, scaled like the product.
    case upBias
    /// `.diff`: a full delta of the module's weight.
    case diff
    /// `.diff_b`: a full delta of the module's bias.
    case diffBias
    /// `blocks.N.diff_m`: a full delta of the block's modulation table.
    case diffModulation
}

/// A stored key, understood.
public struct LoRAKey: Sendable, Equatable {
    /// The official module name (`blocks.0.self_attn.q`), or the block (`blocks.0`, `head`) for
    /// `diff_m`.
    public let module: String
    /// The module as the file names it after its prefix (diffusers names stay diffusers names):
    /// what PEFT's rank_pattern / alpha_pattern match against.
    public let storedModule: String
    public let role: LoRARole

    /// The official parameter this part changes.
    public var target: String {
        switch role {
        case .down, .up, .alpha, .diff: return module + ".weight"
        case .upBias, .diffBias: return module + ".bias"
        case .diffModulation: return module + ".modulation"
        }
    }

    /// Wan2.1 I2V's CLIP image branch, which no Wan2.2 DiT has (next-modes.md C.1).
    public var isImageBranch: Bool {
        module.hasPrefix("img_emb.") || module.hasSuffix(".k_img") || module.hasSuffix(".v_img")
            || module.hasSuffix(".norm_k_img")
    }
}

public enum LoRAKeyMapping {
    /// Why a key is not understood: nil (not a Wan DiT LoRA key at all) or an adapter type Wand
    /// does not merge.
    public enum Refusal: Error, Sendable, Equatable {
        case unknown
        case unsupported(String)
    }

    static let prefixes = ["model.diffusion_model.", "diffusion_model.", "base_model.model.", "transformer."]
    static let kohyaPrefix = "lora_unet_"

    /// Longest first where one suffix ends another (`.diff_b` before `.diff`).
    static let suffixes: [(String, LoRARole)] = [
        (".lora_down.weight", .down), (".lora_up.weight", .up),
        (".lora_A.default.weight", .down), (".lora_B.default.weight", .up),
        (".lora_A.weight", .down), (".lora_B.weight", .up), (".lora_B.bias", .upBias),
        (".lora.down.weight", .down), (".lora.up.weight", .up),
        (".lora_linear_layer.down.weight", .down), (".lora_linear_layer.up.weight", .up),
        (".alpha", .alpha), (".diff_b", .diffBias), (".diff_m", .diffModulation), (".diff", .diff),
    ]

    /// Adapter types that look like LoRA keys but are other math (refused, not ignored).
    static let unsupportedMarkers: [(String, String)] = [
        ("dora_scale", "DoRA (weight-decomposed LoRA)"), ("lora_magnitude_vector", "DoRA (weight-decomposed LoRA)"),
        ("lora_mid", "LoCon/Tucker LoRA (lora_mid)"), ("hada_", "LoHa"), ("lokr_", "LoKr"),
        (".set_weight", "set_weight patches"), ("w_norm", "norm-weight patches"), ("b_norm", "norm-bias patches"),
    ]

    static let blockParts = ["self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "self_attn.norm_q",
                             "self_attn.norm_k", "cross_attn.q", "cross_attn.k", "cross_attn.v", "cross_attn.o",
                             "cross_attn.norm_q", "cross_attn.norm_k", "cross_attn.k_img", "cross_attn.v_img",
                             "cross_attn.norm_k_img", "norm3", "ffn.0", "ffn.2"]
    static let globalModules = ["patch_embedding", "text_embedding.0", "text_embedding.2", "time_embedding.0",
                                "time_embedding.2", "time_projection.1", "head.head", "img_emb.proj.0",
                                "img_emb.proj.1", "img_emb.proj.3", "img_emb.proj.4"]
    static let underscoreBlockParts: [String: String] = Dictionary(
        uniqueKeysWithValues: blockParts.map { ($0.replacingDots(), $0) })
    static let underscoreGlobals: [String: String] = Dictionary(
        uniqueKeysWithValues: globalModules.map { ($0.replacingDots(), $0) })

    public static func parse(_ stored: String) -> Result<LoRAKey, Refusal> {
        for (marker, what) in unsupportedMarkers where stored.contains(marker) {
            return .failure(.unsupported(what))
        }
        var rest = Substring(stored)
        var underscored = false
        if rest.hasPrefix(kohyaPrefix) {
            rest = rest.dropFirst(kohyaPrefix.count)
            underscored = true
        } else if let p = prefixes.first(where: { rest.hasPrefix($0) }) {
            rest = rest.dropFirst(p.count)
        }
        guard let (suffix, role) = suffixes.first(where: { rest.hasSuffix($0.0) }) else { return .failure(.unknown) }
        let storedModule = String(rest.dropLast(suffix.count))
        // `proj_out`, `patch_embedding` have no dots in either spelling: dotted names first.
        let module = underscored ? fromUnderscores(storedModule)
            : fromDotted(storedModule) ?? (storedModule.contains(".") ? nil : fromUnderscores(storedModule))
        guard let module else { return .failure(.unknown) }
        let isBlock = module.hasPrefix("blocks.") && module.split(separator: ".").count == 2
        // diff_m belongs to a block (or the head); every other part to a module inside one.
        if role == .diffModulation ? !(isBlock || module == "head") : (isBlock || module == "head") {
            return .failure(.unknown)
        }
        return .success(LoRAKey(module: module, storedModule: storedModule, role: role))
    }

    /// An official module (`blocks.3.ffn.0`, `head.head`, or `blocks.3` / `head` for diff_m),
    /// or a diffusers module (`blocks.3.ffn.net.0.proj`, `proj_out`) mapped to one.
    static func fromDotted(_ name: String) -> String? {
        if isOfficial(name) { return name }
        if name == "scale_shift_table" { return nil }
        guard let param = KeyMapper.ditDiffusersToOfficial(name + ".weight"), param.hasSuffix(".weight") else { return nil }
        let official = String(param.dropLast(".weight".count))
        return isOfficial(official) ? official : nil
    }

    static func isOfficial(_ name: String) -> Bool {
        if globalModules.contains(name) || name == "head" { return true }
        let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "blocks", let n = Int(parts[1]), n >= 0, String(n) == parts[1] else { return false }
        return parts.count == 2 || blockParts.contains(String(parts[2]))
    }

    /// Kohya names: `blocks_0_cross_attn_k_img` -> `blocks.0.cross_attn.k_img`, `head_head` -> `head.head`.
    static func fromUnderscores(_ name: String) -> String? {
        if let g = underscoreGlobals[name] { return g }
        if name == "head" { return "head" }
        guard name.hasPrefix("blocks_") else { return nil }
        let afterBlocks = name.dropFirst("blocks_".count)
        let digits = afterBlocks.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 6, let n = Int(digits), String(n) == digits else { return nil }
        let tail = afterBlocks.dropFirst(digits.count)
        if tail.isEmpty { return "blocks.\(n)" }
        guard tail.hasPrefix("_"), let part = underscoreBlockParts[String(tail.dropFirst())] else { return nil }
        return "blocks.\(n).\(part)"
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}
