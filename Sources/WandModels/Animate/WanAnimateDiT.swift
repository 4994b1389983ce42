import WandTensor

/// The cross-attention side of one Animate job: the text context rows and the reference image's
/// CLIP tokens after their MLPs, projected to every block's keys and values. Both are fixed for
/// the whole job (every segment uses the same prompt and reference image).
public struct AnimateContext: Sendable {
    let textKeys: [Tensor], textValues: [Tensor]      // per block, [512, heads, headDim]
    let imageKeys: [Tensor], imageValues: [Tensor]    // per block, [257, heads, headDim]
    let modelID: ObjectIdentifier
}

/// The Wan2.2-Animate DiT (WanAnimateModel / diffusers WanAnimateTransformer3DModel), f32 compute
/// over weights used in their stored dtype. Input tokens are the reference latent frame followed by
/// the segment's latent frames; pose tokens are added to the latter, every cross-attention also
/// attends to the CLIP image tokens, and a face block follows every `faceBlockInterval`-th block.
public final class WanAnimateDiT: Sendable {
    public enum Layout: String, Sendable { case official, diffusers }

    public let config: WanAnimateConfig
    public let layout: Layout
    public let weights: ModelWeights
    let backend: any ComputeBackend

    /// `weights` in the official layout (also under ComfyUI's `model.diffusion_model.` prefix) or
    /// the diffusers layout. ComfyUI fp8-scaled files are accepted like the base DiT's.
    public init(config: WanAnimateConfig, weights: WeightSet, path: String, backend: any ComputeBackend) throws(ModelError) {
        let isDiffusers = weights.names.contains { $0.hasPrefix("condition_embedder.") || $0.hasPrefix("face_adapter.0.") }
        let blocks = config.motionResolutions.count
        self.weights = try ModelWeights(weights, path: path, expected: config.parameterShapes(official: !isDiffusers), rename: { name in
            if isDiffusers { return KeyMapper.animateDiffusersToOfficial(name, motionResidualBlocks: blocks) }
            let stripped = KeyMapper.ditComfyToOfficial(name)
            // The blur kernels of the official motion encoder are constant buffers.
            if let s = stripped, s.hasPrefix("motion_encoder."), s.hasSuffix(".kernel") { return nil }
            return stripped
        }, ignore: { name in
            let s = name.hasPrefix(KeyMapper.comfyPrefix) ? String(name.dropFirst(KeyMapper.comfyPrefix.count)) : name
            return KeyMapper.isScaleTensor(s) || (s.hasPrefix("motion_encoder.") && s.hasSuffix(".kernel"))
        })
        self.config = config
        self.layout = isDiffusers ? .diffusers : .official
        self.backend = backend
    }

    init(config: WanAnimateConfig, layout: Layout, checkedWeights: ModelWeights, backend: any ComputeBackend) {
        self.config = config
        self.layout = layout
        self.weights = checkedWeights
        self.backend = backend
    }

    /// A new DiT with `loras` merged into its weights (official names: the blocks are the
    /// Wan2.1-I2V layout, so Wan2.1-I2V LoRAs, `k_img`/`v_img` included, apply); this one is unchanged.
    public func merging(_ loras: [LoRAApplication], precision: LoRAMergePrecision) throws -> (WanAnimateDiT, LoRAMergeReport) {
        let (merged, report) = try LoRAMerge.merge(weights, loras, precision: precision, backend: backend)
        return (WanAnimateDiT(config: config, layout: layout, checkedWeights: merged, backend: backend), report)
    }

    // MARK: conditioning prepared once per job

    /// `text`: umT5 rows `[n <= 512, textDim]` (trimmed to the real tokens); `image`: the CLIP
    /// penultimate hidden state `[tokens, imageDim]` of the reference image.
    public func prepareContext(text: Tensor, image: Tensor) throws -> AnimateContext {
        let c = config.base
        guard text.rank == 2, text.shape[1] == c.textDim, text.shape[0] <= c.textLen else {
            throw ModelError.badInput(argument: "text", detail: "shape \(text.shape), expected [<= \(c.textLen), \(c.textDim)]")
        }
        guard image.rank == 2, image.shape[1] == config.imageDim, image.shape[0] >= 1 else {
            throw ModelError.badInput(argument: "image", detail: "shape \(image.shape), expected [tokens, \(config.imageDim)]")
        }
        // Text MLP over all 512 rows, the zero padding included (spec §2.2).
        let padded = try text.padded([(0, c.textLen - text.shape[0]), (0, 0)])
        let ctx = try linear(backend.gelu(try linear(padded, "text_embedding.0"), approximation: .tanh), "text_embedding.2")
        // Image MLP: LayerNorm(1e-5) -> Linear -> exact GELU -> Linear -> LayerNorm(1e-5).
        var img = try backend.layerNorm(image, weight: try weights.widened("img_emb.proj.0.weight"),
                                        bias: try weights.widened("img_emb.proj.0.bias"), eps: 1e-5)
        img = try linear(backend.gelu(try linear(img, "img_emb.proj.1"), approximation: .none), "img_emb.proj.3")
        img = try backend.layerNorm(img, weight: try weights.widened("img_emb.proj.4.weight"),
                                    bias: try weights.widened("img_emb.proj.4.bias"), eps: 1e-5)
        var tk = [Tensor](), tv = [Tensor](), ik = [Tensor](), iv = [Tensor]()
        let heads = { (rows: Int) in [rows, c.numHeads, c.headDim] }
        for n in 0..<c.numLayers {
            let b = "blocks.\(n).cross_attn."
            tk.append(try backend.rmsNorm(try linear(ctx, b + "k"), weight: try weights.widened(b + "norm_k.weight"), eps: c.eps)
                .reshaped(heads(c.textLen)))
            tv.append(try linear(ctx, b + "v").reshaped(heads(c.textLen)))
            ik.append(try backend.rmsNorm(try linear(img, b + "k_img"), weight: try weights.widened(b + "norm_k_img.weight"), eps: c.eps)
                .reshaped(heads(img.shape[0])))
            iv.append(try linear(img, b + "v_img").reshaped(heads(img.shape[0])))
        }
        return AnimateContext(textKeys: tk, textValues: tv, imageKeys: ik, imageValues: iv, modelID: ObjectIdentifier(self))
    }

    // MARK: forward

    /// One forward pass. `latent` `[16, F, h, w]` (frame 0 is the reference slot), `conditioning`
    /// `[20, F, h, w]` (mask and reference/previous-segment latents, concatenated after the noise),
    /// `pose` `[16, F − 1, h, w]` pose latents, `face` from prepareFace with F frames.
    /// Returns the velocity `[16, F, h, w]`.
    public func forward(latent: Tensor, timestep: Double, context: AnimateContext, conditioning: Tensor,
                        pose: Tensor, face: AnimateFaceContext) throws -> Tensor {
        let c = config.base
        guard context.modelID == ObjectIdentifier(self), face.modelID == ObjectIdentifier(self) else {
            throw ModelError.badInput(argument: "context", detail: "prepared by another model")
        }
        guard latent.rank == 4, conditioning.rank == 4, Array(conditioning.shape[1...]) == Array(latent.shape[1...]) else {
            throw ModelError.badInput(argument: "conditioning", detail: "shape \(conditioning.shape) vs latent \(latent.shape)")
        }
        let x5 = try Tensor.concat([latent, conditioning], dim: 0)
        let frames = x5.shape[1], h = x5.shape[2], w = x5.shape[3]
        guard x5.shape[0] == c.inDim, h % 2 == 0, w % 2 == 0, frames >= 2, frames <= WanDiTConfig.ropeMaxPositions,
              h / 2 <= WanDiTConfig.ropeMaxPositions, w / 2 <= WanDiTConfig.ropeMaxPositions else {
            throw ModelError.badInput(argument: "latent", detail: "shape \(x5.shape) (with conditioning); expected [\(c.inDim), F >= 2, even H, even W]")
        }
        guard pose.shape == [config.latentChannels, frames - 1, h, w] else {
            throw ModelError.badInput(argument: "pose", detail: "shape \(pose.shape), expected [\(config.latentChannels), \(frames - 1), \(h), \(w)]")
        }
        guard face.frames == frames else {
            throw ModelError.badInput(argument: "face", detail: "\(face.frames) face frames for \(frames) latent frames")
        }
        let gh = h / 2, gw = w / 2, perFrame = gh * gw, tokens = frames * perFrame

        // Scalar timestep (Wan2.1 time embedding): one modulation row for every token.
        let sinusoid = DiTKernels.timestepSinusoid([timestep], dim: c.freqDim)
        let e = try linear(backend.silu(try linear(sinusoid, "time_embedding.0")), "time_embedding.2")
        let e0 = try linear(backend.silu(e), "time_projection.1")
        let index = [Int](repeating: 0, count: tokens)

        var x = try weights.linear(backend, DiTKernels.patchify(x5, patch: [1, 2, 2]), weight: "patch_embedding.weight",
                                   bias: "patch_embedding.bias", weightShape: [c.dim, c.inDim * 4])
        let poseTokens = try weights.linear(backend, DiTKernels.patchify(pose, patch: [1, 2, 2]), weight: "pose_patch_embedding.weight",
                                            bias: "pose_patch_embedding.bias", weightShape: [c.dim, config.latentChannels * 4])
        let offset = x.data + perFrame * c.dim
        for i in 0..<poseTokens.count { offset[i] += poseTokens.data[i] }

        for n in 0..<c.numLayers {
            x = try block(n, x, e0: e0, index: index, context: context, grid: (frames, gh, gw))
            if n % config.faceBlockInterval == 0 {
                DiTKernels.addInPlace(x, try faceBlock(n / config.faceBlockInterval, x, face: face, tokensPerFrame: perFrame))
            }
        }

        let table = DiTKernels.modulationTable(try weights.widened("head.modulation"), e, chunks: 2)
        let y = try backend.layerNorm(x, weight: nil, bias: nil, eps: c.eps)
        DiTKernels.modulate(y, table: table, chunks: 2, shift: 0, scale: 1, index: index)
        return try DiTKernels.unpatchify(try linear(y, "head.head"), channels: c.outDim, patch: [1, 2, 2], frames: frames, gridH: gh, gridW: gw)
    }

    /// The Wan block (spec §2.4) whose cross-attention adds an attention over the image tokens
    /// (same query) to the text attention before the output projection.
    func block(_ n: Int, _ x: Tensor, e0: Tensor, index: [Int], context: AnimateContext,
               grid: (f: Int, h: Int, w: Int)) throws -> Tensor {
        let c = config.base, b = "blocks.\(n)."
        let tokens = x.shape[0], heads = [tokens, c.numHeads, c.headDim]
        let table = DiTKernels.modulationTable(try weights.widened(b + "modulation"), e0, chunks: 6)

        var y = try backend.layerNorm(x, weight: nil, bias: nil, eps: c.eps)
        DiTKernels.modulate(y, table: table, chunks: 6, shift: 0, scale: 1, index: index)
        let q = try backend.rmsNorm(try linear(y, b + "self_attn.q"), weight: try weights.widened(b + "self_attn.norm_q.weight"), eps: c.eps)
        let k = try backend.rmsNorm(try linear(y, b + "self_attn.k"), weight: try weights.widened(b + "self_attn.norm_k.weight"), eps: c.eps)
        let v = try linear(y, b + "self_attn.v")
        let qr = try backend.rope3D(try q.reshaped(heads), frames: grid.f, height: grid.h, width: grid.w, theta: WanDiTConfig.ropeTheta)
        let kr = try backend.rope3D(try k.reshaped(heads), frames: grid.f, height: grid.h, width: grid.w, theta: WanDiTConfig.ropeTheta)
        let attn = try backend.attention(q: qr, k: kr, v: try v.reshaped(heads), scale: nil, bias: nil)
        DiTKernels.addGated(x, try linear(try attn.reshaped([tokens, c.dim]), b + "self_attn.o"), table: table, chunks: 6,
                            gate: 2, index: index)

        y = try backend.layerNorm(x, weight: try weights.widened(b + "norm3.weight"), bias: try weights.widened(b + "norm3.bias"), eps: c.eps)
        let cq = try backend.rmsNorm(try linear(y, b + "cross_attn.q"), weight: try weights.widened(b + "cross_attn.norm_q.weight"),
                                     eps: c.eps).reshaped(heads)
        let text = try backend.attention(q: cq, k: context.textKeys[n], v: context.textValues[n], scale: nil, bias: nil)
        let image = try backend.attention(q: cq, k: context.imageKeys[n], v: context.imageValues[n], scale: nil, bias: nil)
        DiTKernels.addInPlace(text, image)
        DiTKernels.addInPlace(x, try linear(try text.reshaped([tokens, c.dim]), b + "cross_attn.o"))

        y = try backend.layerNorm(x, weight: nil, bias: nil, eps: c.eps)
        DiTKernels.modulate(y, table: table, chunks: 6, shift: 3, scale: 4, index: index)
        let hidden = backend.gelu(try linear(y, b + "ffn.0"), approximation: .tanh)
        DiTKernels.addGated(x, try linear(hidden, b + "ffn.2"), table: table, chunks: 6, gate: 5, index: index)
        return x
    }

    func linear(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try weights.linear(backend, x, weight: prefix + ".weight", bias: prefix + ".bias")
    }
}
