extension WanAnimateConfig {
    /// Every tensor the Animate DiT reads, in official names (`wan/modules/animate/*`), with its
    /// shape in the given layout. The layouts differ beyond names in two places: the official face
    /// adapter fuses K and V (`linear1_kv`; diffusers' separate `to_k`/`to_v` get the canonical
    /// names `linear1_k`/`linear1_v`), and the official motion encoder stores its activation biases
    /// as `[1, C, 1, 1]` (diffusers: `[C]`). The official blur-kernel buffers are constants, not
    /// listed (the loader skips them).
    public func parameterShapes(official: Bool) -> [(name: String, shape: [Int])] {
        let d = base.dim, hd = base.headDim
        var table = base.parameterShapes
        // CLIP image branch of every cross-attention (Wan2.1 I2V, §7.3).
        for n in 0..<base.numLayers {
            let b = "blocks.\(n).cross_attn."
            table += [(b + "k_img.weight", [d, d]), (b + "k_img.bias", [d]), (b + "v_img.weight", [d, d]),
                      (b + "v_img.bias", [d]), (b + "norm_k_img.weight", [d])]
        }
        table += [("img_emb.proj.0.weight", [imageDim]), ("img_emb.proj.0.bias", [imageDim]),
                  ("img_emb.proj.1.weight", [imageDim, imageDim]), ("img_emb.proj.1.bias", [imageDim]),
                  ("img_emb.proj.3.weight", [d, imageDim]), ("img_emb.proj.3.bias", [d]),
                  ("img_emb.proj.4.weight", [d]), ("img_emb.proj.4.bias", [d]),
                  ("pose_patch_embedding.weight", [d, latentChannels, 1, 2, 2]), ("pose_patch_embedding.bias", [d])]
        // Motion encoder (LIA Generator: EncoderApp convs, 5 fc, direction).
        let m = "motion_encoder.enc.net_app.convs."
        func bias(_ c: Int) -> [Int] { official ? [1, c, 1, 1] : [c] }
        let c0 = motionChannels[motionEncoderSize]!
        table += [(m + "0.0.weight", [c0, 3, 1, 1]), (m + "0.1.bias", bias(c0))]
        for (i, res) in motionResolutions.enumerated() {
            let cin = motionChannels[res]!, cout = motionChannels[res / 2]!
            let b = m + "\(i + 1)."
            table += [(b + "conv1.0.weight", [cin, cin, 3, 3]), (b + "conv1.1.bias", bias(cin)),
                      (b + "conv2.1.weight", [cout, cin, 3, 3]), (b + "conv2.2.bias", bias(cout)),
                      (b + "skip.1.weight", [cout, cin, 1, 1])]
        }
        table.append((m + "\(motionResolutions.count + 1).weight", [motionStyleDim, motionChannels[4]!, 4, 4]))
        for i in 0..<5 {
            let out = i == 4 ? motionDim : motionStyleDim
            table += [("motion_encoder.enc.fc.\(i).weight", [out, motionStyleDim]), ("motion_encoder.enc.fc.\(i).bias", [out])]
        }
        table.append(("motion_encoder.dec.direction.weight", [motionEncoderDim, motionDim]))
        // Face encoder (causal Conv1d stack, 4 heads).
        let f = faceHiddenDim
        table += [("face_encoder.conv1_local.conv.weight", [f * faceHeads, motionEncoderDim, 3]),
                  ("face_encoder.conv1_local.conv.bias", [f * faceHeads]),
                  ("face_encoder.conv2.conv.weight", [f, f, 3]), ("face_encoder.conv2.conv.bias", [f]),
                  ("face_encoder.conv3.conv.weight", [f, f, 3]), ("face_encoder.conv3.conv.bias", [f]),
                  ("face_encoder.out_proj.weight", [d, f]), ("face_encoder.out_proj.bias", [d]),
                  ("face_encoder.padding_tokens", [1, 1, 1, d])]
        // Face adapter blocks.
        for i in 0..<faceBlocks {
            let b = "face_adapter.fuser_blocks.\(i)."
            table += [(b + "linear1_q.weight", [d, d]), (b + "linear1_q.bias", [d])]
            if official {
                table += [(b + "linear1_kv.weight", [2 * d, d]), (b + "linear1_kv.bias", [2 * d])]
            } else {
                table += [(b + "linear1_k.weight", [d, d]), (b + "linear1_k.bias", [d]),
                          (b + "linear1_v.weight", [d, d]), (b + "linear1_v.bias", [d])]
            }
            table += [(b + "linear2.weight", [d, d]), (b + "linear2.bias", [d]),
                      (b + "q_norm.weight", [hd]), (b + "k_norm.weight", [hd])]
        }
        return table
    }

    public func parameterCount(official: Bool) -> Int {
        parameterShapes(official: official).reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
}

extension KeyMapper {
    /// diffusers `WanAnimateTransformer3DModel` names to the official `WanAnimateModel` names (the
    /// inverse of diffusers' Animate converter); face-adapter `to_k`/`to_v` become `linear1_k`/`linear1_v`.
    /// `motionResidualBlocks` places `conv_out` in the official `convs` list (7 for 512² faces).
    public static func animateDiffusersToOfficial(_ name: String, motionResidualBlocks: Int) -> String? {
        let p = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = p.first else { return nil }
        switch first {
        case "pose_patch_embedding": return name
        case "face_encoder":
            guard p.count == 3 else { return name == "face_encoder.padding_tokens" ? name : nil }
            switch p[1] {
            case "conv1_local", "conv2", "conv3": return "face_encoder.\(p[1]).conv.\(p[2])"
            case "out_proj": return name
            default: return nil
            }
        case "face_adapter":
            guard p.count == 4, Int(p[1]) != nil else { return nil }
            let b = "face_adapter.fuser_blocks.\(p[1])."
            let part: String
            switch p[2] {
            case "to_q": part = "linear1_q"
            case "to_k": part = "linear1_k"
            case "to_v": part = "linear1_v"
            case "to_out": part = "linear2"
            case "norm_q": part = "q_norm"
            case "norm_k": part = "k_norm"
            default: return nil
            }
            return b + part + "." + p[3]
        case "motion_encoder": return motionEncoderDiffusersToOfficial(p, residualBlocks: motionResidualBlocks)
        default: return ditDiffusersToOfficial(name)
        }
    }

    /// `motion_encoder.{conv_in, res_blocks.i.{conv1,conv2,conv_skip}, conv_out, motion_network.i,
    /// motion_synthesis_weight}`.
    static func motionEncoderDiffusersToOfficial(_ p: [String], residualBlocks: Int) -> String? {
        let m = "motion_encoder.enc.net_app.convs."
        let name = p.joined(separator: ".")
        switch name {
        case "motion_encoder.conv_in.weight": return m + "0.0.weight"
        case "motion_encoder.conv_in.act_fn.bias": return m + "0.1.bias"
        case "motion_encoder.conv_out.weight": return m + "\(residualBlocks + 1).weight"
        case "motion_encoder.motion_synthesis_weight": return "motion_encoder.dec.direction.weight"
        default: break
        }
        if p.count == 4, p[1] == "motion_network", Int(p[2]) != nil { return "motion_encoder.enc.fc.\(p[2]).\(p[3])" }
        guard p.count >= 5, p[1] == "res_blocks", let i = Int(p[2]) else { return nil }
        let b = m + "\(i + 1)."
        switch (p[3], p[4...].joined(separator: ".")) {
        case ("conv1", "weight"): return b + "conv1.0.weight"
        case ("conv1", "act_fn.bias"): return b + "conv1.1.bias"
        case ("conv2", "weight"): return b + "conv2.1.weight"
        case ("conv2", "act_fn.bias"): return b + "conv2.2.bias"
        case ("conv_skip", "weight"): return b + "skip.1.weight"
        default: return nil
        }
    }
}
