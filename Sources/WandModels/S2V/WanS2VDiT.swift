import WandTensor

/// The Wan2.2 S2V diffusion transformer (`WanModel_S2V`, spec §8.1, next-modes §A.4): the Wan
/// DiT blocks over `[noisy | reference | motion]` tokens, with two modulation rows per block
/// (timestep t for the noisy tokens, 0 for the rest), explicit RoPE positions, the audio
/// injector after the listed blocks and the head on the noisy tokens only. f32 compute; weights
/// in their stored dtype (the published model ships bf16) from the mapped shards.
public final class WanS2VDiT: Sendable {
    public let config: WanS2VConfig
    public let weights: ModelWeights
    let backend: any ComputeBackend
    /// Block index -> injector index.
    let injectorOf: [Int: Int]

    public init(config: WanS2VConfig, weights: WeightSet, path: String, backend: any ComputeBackend) throws(ModelError) {
        self.weights = try ModelWeights(weights, path: path, expected: config.parameterShapes, rename: { $0 })
        self.config = config
        self.backend = backend
        var map: [Int: Int] = [:]
        // AudioInjector_WAN numbers its injectors in block order, whatever the config list's order.
        for (i, block) in Set(config.injectLayers).sorted().enumerated() { map[block] = i }
        injectorOf = map
    }

    // MARK: text (as WanDiT: zero-padded to text_len, text MLP, every block's cross-attention K/V)

    public func prepareText(_ context: Tensor) throws -> DiTTextContext {
        let c = config.dit
        guard context.rank == 2, context.shape[1] == c.textDim, context.shape[0] <= c.textLen else {
            throw ModelError.badInput(argument: "context", detail: "shape \(context.shape), expected [<= \(c.textLen), \(c.textDim)]")
        }
        let padded = try context.padded([(0, c.textLen - context.shape[0]), (0, 0)])
        let ctx = try linear(backend.gelu(try linear(padded, "text_embedding.0"), approximation: .tanh), "text_embedding.2")
        var keys = [Tensor](), values = [Tensor]()
        for n in 0..<c.numLayers {
            let b = "blocks.\(n).cross_attn."
            let k = try backend.rmsNorm(try linear(ctx, b + "k"), weight: try weights.widened(b + "norm_k.weight"), eps: c.eps)
            keys.append(try k.reshaped([c.textLen, c.numHeads, c.headDim]))
            values.append(try linear(ctx, b + "v").reshaped([c.textLen, c.numHeads, c.headDim]))
        }
        return DiTTextContext(rows: c.textLen, keys: keys, values: values, modelID: ObjectIdentifier(self))
    }

    // MARK: forward

    /// One forward pass on the noisy latent `[16, F, H, W]` at `timestep` (0...1000). Returns the
    /// velocity `[16, F, H, W]`.
    public func forward(latent: Tensor, timestep: Double, text: DiTTextContext, clip: S2VClipContext,
                        audio: S2VAudioTokens) throws -> Tensor {
        let c = config.dit, d = c.dim
        guard text.modelID == ObjectIdentifier(self) else {
            throw ModelError.badInput(argument: "text", detail: "prepared by another model")
        }
        let (f, gh, gw) = clip.grid
        guard latent.shape == [c.inDim, f, 2 * gh, 2 * gw] else {
            throw ModelError.badInput(argument: "latent", detail: "shape \(latent.shape), the clip is [\(c.inDim), \(f), \(2 * gh), \(2 * gw)]")
        }
        guard audio.frames == f else {
            throw ModelError.badInput(argument: "audio", detail: "\(audio.frames) latent frames of audio for \(f) latent frames")
        }
        let nNoisy = clip.noisyTokenCount, tokens = clip.tokenCount

        // Timesteps t and 0: e for the head, e0 rows for the blocks.
        let distinct = config.zeroTimestep ? [timestep, 0] : [timestep]
        let sinusoid = DiTKernels.timestepSinusoid(distinct, dim: c.freqDim)
        let e = try linear(backend.silu(try linear(sinusoid, "time_embedding.0")), "time_embedding.2")
        let e0 = try linear(backend.silu(e), "time_projection.1")
        let index = (0..<tokens).map { config.zeroTimestep && $0 >= nNoisy ? 1 : 0 }

        // Tokens: patch(x) + pose, tagged 0; then the clip's reference and motion tokens.
        let noisy = try weights.linear(backend, DiTKernels.patchify(latent, patch: [1, 2, 2]), weight: "patch_embedding.weight",
                                       bias: "patch_embedding.bias", weightShape: [d, c.inDim * 4])
        DiTKernels.addInPlace(noisy, clip.poseEmbedding)
        Self.addRow(noisy, try weights.widened("trainable_cond_mask.weight"), row: 0)
        var x = try Tensor.concat([noisy, clip.extraTokens], dim: 0)

        for n in 0..<c.numLayers {
            x = try block(n, x, e0: e0, index: index, text: text, positions: clip.positions)
            if let i = injectorOf[n] { try injectAudio(i, into: x, noisy: nNoisy, audio: audio) }
        }

        // Head on the noisy tokens with e(t).
        let y = try backend.layerNorm(try x.sliced(dim: 0, 0..<nNoisy).contiguous(), weight: nil, bias: nil, eps: c.eps)
        let table = DiTKernels.modulationTable(try weights.widened("head.modulation"), try e.sliced(dim: 0, 0..<1).contiguous(), chunks: 2)
        DiTKernels.modulate(y, table: table, chunks: 2, shift: 0, scale: 1, index: [Int](repeating: 0, count: nNoisy))
        let out = try linear(y, "head.head")
        return try DiTKernels.unpatchify(out, channels: c.outDim, patch: [1, 2, 2], frames: f, gridH: gh, gridW: gw)
    }

    /// A Wan block (WanDiT.block) with per-token RoPE positions and the two-row modulation.
    func block(_ n: Int, _ x: Tensor, e0: Tensor, index: [Int], text: DiTTextContext,
               positions: [RoPEPosition]) throws -> Tensor {
        let c = config.dit, b = "blocks.\(n)."
        let tokens = x.shape[0]
        let table = DiTKernels.modulationTable(try weights.widened(b + "modulation"), e0, chunks: 6)

        var y = try backend.layerNorm(x, weight: nil, bias: nil, eps: c.eps)
        DiTKernels.modulate(y, table: table, chunks: 6, shift: 0, scale: 1, index: index)
        let q = try backend.rmsNorm(try linear(y, b + "self_attn.q"), weight: try weights.widened(b + "self_attn.norm_q.weight"), eps: c.eps)
        let k = try backend.rmsNorm(try linear(y, b + "self_attn.k"), weight: try weights.widened(b + "self_attn.norm_k.weight"), eps: c.eps)
        let v = try linear(y, b + "self_attn.v")
        let heads = [tokens, c.numHeads, c.headDim]
        let qr = try backend.rope3D(try q.reshaped(heads), positions: positions, theta: WanDiTConfig.ropeTheta)
        let kr = try backend.rope3D(try k.reshaped(heads), positions: positions, theta: WanDiTConfig.ropeTheta)
        let attn = try backend.attention(q: qr, k: kr, v: try v.reshaped(heads), scale: nil, bias: nil)
        DiTKernels.addGated(x, try linear(try attn.reshaped([tokens, c.dim]), b + "self_attn.o"), table: table, chunks: 6, gate: 2, index: index)

        y = try backend.layerNorm(x, weight: try weights.widened(b + "norm3.weight"), bias: try weights.widened(b + "norm3.bias"), eps: c.eps)
        let cq = try backend.rmsNorm(try linear(y, b + "cross_attn.q"), weight: try weights.widened(b + "cross_attn.norm_q.weight"), eps: c.eps)
        let cross = try backend.attention(q: try cq.reshaped(heads), k: text.keys[n], v: text.values[n], scale: nil, bias: nil)
        DiTKernels.addInPlace(x, try linear(try cross.reshaped([tokens, c.dim]), b + "cross_attn.o"))

        y = try backend.layerNorm(x, weight: nil, bias: nil, eps: c.eps)
        DiTKernels.modulate(y, table: table, chunks: 6, shift: 3, scale: 4, index: index)
        let hidden = backend.gelu(try linear(y, b + "ffn.0"), approximation: .tanh)
        DiTKernels.addGated(x, try linear(hidden, b + "ffn.2"), table: table, chunks: 6, gate: 5, index: index)
        return x
    }

    /// `after_transformer_block`: each latent frame's noisy tokens, AdaIN-normed by the frame's
    /// global audio vector, cross-attend to that frame's audio tokens; the result is added back.
    func injectAudio(_ i: Int, into x: Tensor, noisy nNoisy: Int, audio: S2VAudioTokens) throws {
        let c = config.dit, d = c.dim, f = audio.frames, hw = nNoisy / f, per = audio.tokensPerFrame
        let p = "audio_injector.injector.\(i)."
        let rows = try x.sliced(dim: 0, 0..<nNoisy).contiguous()
        var y: Tensor
        if let global = audio.global {
            y = try backend.layerNorm(rows, weight: nil, bias: nil, eps: 1e-5)
            let ada = try linear(backend.silu(global), "audio_injector.injector_adain_layers.\(i).linear")  // [F, 2d]: shift, scale
            DiTKernels.modulate(y, table: ada, chunks: 2, shift: 0, scale: 1, index: (0..<nNoisy).map { $0 / hw })
        } else {
            y = try backend.layerNorm(rows, weight: nil, bias: nil, eps: 1e-6)
        }
        let q = try backend.rmsNorm(try linear(y, p + "q"), weight: try weights.widened(p + "norm_q.weight"), eps: c.eps)
        let k = try backend.rmsNorm(try linear(audio.local, p + "k"), weight: try weights.widened(p + "norm_k.weight"), eps: c.eps)
        let v = try linear(audio.local, p + "v")
        let out = Tensor(uninitialized: [nNoisy, d])
        for t in 0..<f {
            let qt = try q.sliced(dim: 0, (t * hw)..<((t + 1) * hw)).reshaped([hw, c.numHeads, c.headDim])
            let kt = try k.sliced(dim: 0, (t * per)..<((t + 1) * per)).reshaped([per, c.numHeads, c.headDim])
            let vt = try v.sliced(dim: 0, (t * per)..<((t + 1) * per)).reshaped([per, c.numHeads, c.headDim])
            let a = try backend.attention(q: qt, k: kt, v: vt, scale: nil, bias: nil)
            (out.data + t * hw * d).update(from: a.contiguous().data, count: hw * d)
        }
        // The noisy tokens are x's first rows: add the injector's output there.
        let delta = try linear(out, p + "o"), xp = x.data, dp = delta.data
        for k in 0..<(nNoisy * d) { xp[k] += dp[k] }
    }

    func linear(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try weights.linear(backend, x, weight: prefix + ".weight", bias: prefix + ".bias")
    }
}
