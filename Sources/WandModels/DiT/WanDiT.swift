import WandTensor

/// Timesteps of one forward pass on the 0...1000 scale: one value for every token, or one per
/// token in token order (TI2V image-to-video: 0 on latent frame 0, spec §2.8).
public enum DiTTimesteps: Sendable, Equatable {
    case scalar(Double)
    case perToken([Double])
}

/// The text side of cross-attention for one (model, prompt): the context rows after the text
/// MLP, projected to keys (RMS-normed) and values for every block. Built once per job and reused
/// at every step (spec §12.16); only valid with the model that prepared it.
public struct DiTTextContext: Sendable {
    public let rows: Int
    let keys: [Tensor]    // per block, [rows, heads, headDim]
    let values: [Tensor]  // per block, [rows, heads, headDim]
    let modelID: ObjectIdentifier
}

/// The Wan diffusion transformer (spec §2), f32 compute, weights used in their stored dtype
/// straight from the mapped file (or resident on the device of a device backend).
public final class WanDiT: Sendable {
    public let config: WanDiTConfig
    public let weights: ModelWeights
    let backend: any ComputeBackend

    /// `weights` in the official, diffusers or ComfyUI key layout (spec §9). ComfyUI fp8-scaled
    /// files are refused (their per-tensor scales are not applied yet).
    public init(config: WanDiTConfig, weights: WeightSet, path: String, backend: any ComputeBackend) throws(ModelError) {
        let names = weights.names
        let isDiffusers = names.contains { $0.hasPrefix("condition_embedder.") || $0 == "proj_out.weight" }
        // ComfyUI fp8-scaled files: `X.scale_weight` multiplies `X.weight`; `scaled_fp8` and
        // `X.scale_input` (activation scales for fp8 matmuls) are not needed for an f32 forward.
        self.weights = try ModelWeights(weights, path: path, expected: config.parameterShapes, rename: { name in
            isDiffusers ? KeyMapper.ditDiffusersToOfficial(name) : KeyMapper.ditComfyToOfficial(name)
        }, ignore: { name in
            KeyMapper.isScaleTensor(name.hasPrefix(KeyMapper.comfyPrefix) ? String(name.dropFirst(KeyMapper.comfyPrefix.count)) : name)
        })
        self.config = config
        self.backend = backend
    }

    // MARK: text

    /// `context`: umT5 output rows `[n, textDim]` with `n <= textLen` (already trimmed to the real
    /// token count). Zero-pads to `textLen` rows and runs the text MLP over all of them, padding
    /// included, then every block's cross-attention K/V (spec §2.2: no mask).
    public func prepareText(_ context: Tensor) throws -> DiTTextContext {
        let c = config
        guard context.rank == 2, context.shape[1] == c.textDim, context.shape[0] <= c.textLen else {
            throw ModelError.badInput(argument: "context",
                                      detail: "shape \(context.shape), expected [<= \(c.textLen), \(c.textDim)]")
        }
        let padded = try context.padded([(0, c.textLen - context.shape[0]), (0, 0)])
        var h = try linear(padded, "text_embedding.0")
        h = backend.gelu(h, approximation: .tanh)
        let ctx = try linear(h, "text_embedding.2")
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

    /// One forward pass. `latent` `[C, F, H, W]` (H, W even); `conditioning` `[C_y, F, H, W]` is
    /// concatenated after it on channels (I2V-A14B: 20 channels of mask + image latent).
    /// Returns the velocity `[outDim, F, H, W]`.
    public func forward(latent: Tensor, timesteps: DiTTimesteps, text: DiTTextContext,
                        conditioning: Tensor? = nil) throws -> Tensor {
        let c = config
        guard text.modelID == ObjectIdentifier(self) else {
            throw ModelError.badInput(argument: "text", detail: "prepared by another model")
        }
        var x5 = latent
        if let conditioning {
            guard conditioning.rank == 4, latent.rank == 4, Array(conditioning.shape[1...]) == Array(latent.shape[1...]) else {
                throw ModelError.badInput(argument: "conditioning", detail: "shape \(conditioning.shape) vs latent \(latent.shape)")
            }
            x5 = try Tensor.concat([latent, conditioning], dim: 0)
        }
        guard x5.rank == 4, x5.shape[0] == c.inDim, x5.shape[2] % 2 == 0, x5.shape[3] % 2 == 0,
              x5.shape[1] <= WanDiTConfig.ropeMaxPositions, x5.shape[2] / 2 <= WanDiTConfig.ropeMaxPositions,
              x5.shape[3] / 2 <= WanDiTConfig.ropeMaxPositions else {
            throw ModelError.badInput(argument: "latent", detail: "shape \(x5.shape) (with conditioning); "
                                      + "expected [\(c.inDim), F, even H, even W]")
        }
        let frames = x5.shape[1], gh = x5.shape[2] / 2, gw = x5.shape[3] / 2
        let tokens = frames * gh * gw

        // Time MLP once per distinct timestep value (spec §2.8).
        let (distinct, index) = try Self.distinctTimesteps(timesteps, tokens: tokens)
        let sinusoid = DiTKernels.timestepSinusoid(distinct, dim: c.freqDim)
        let e = try linear(backend.silu(try linear(sinusoid, "time_embedding.0")), "time_embedding.2")
        let e0 = try linear(backend.silu(e), "time_projection.1")  // [U, 6d]
        let u = distinct.count
        // Which time-embedding row each token uses (nil: all use row 0).
        let rows = u == 1 ? nil : try Tensor(shape: [tokens], values: index.map { Float($0) })

        // Patch embedding as a GEMM over gathered 2x2 patches.
        var x = try weights.linear(backend, DiTKernels.patchify(x5, patch: [1, 2, 2]), weight: "patch_embedding.weight",
                                   bias: "patch_embedding.bias", weightShape: [c.dim, c.inDim * 4])

        for n in 0..<c.numLayers {
            x = try block(n, x, e0: try e0.reshaped([u, 6, c.dim]), rows: rows, text: text, grid: (frames, gh, gw))
        }

        // Head: modulation by e (not e0, added to both chunks), shift then scale.
        let table = try backend.add(try weights.widened("head.modulation"), try e.reshaped([u, 1, c.dim]))
        let y = try backend.modulatedLayerNorm(x, table: table, shift: 0, scale: 1, rows: rows, eps: c.eps)
        let out = try linear(y, "head.head")
        return DiTKernels.unpatchify(out, channels: c.outDim, patch: [1, 2, 2], frames: frames, gridH: gh, gridW: gw)
    }

    /// `e0` is [U, 6, d]: one modulation table row per distinct timestep.
    func block(_ n: Int, _ x: Tensor, e0: Tensor, rows: Tensor?, text: DiTTextContext,
               grid: (f: Int, h: Int, w: Int)) throws -> Tensor {
        let c = config, b = "blocks.\(n)."
        let tokens = x.shape[0]
        let table = try backend.add(try weights.widened(b + "modulation"), e0)   // [1, 6, d] + [U, 6, d]

        // 1-2. self-attention on the modulated LayerNorm, gated residual.
        var x = x
        var y = try backend.modulatedLayerNorm(x, table: table, shift: 0, scale: 1, rows: rows, eps: c.eps)
        let q = try backend.rmsNorm(try linear(y, b + "self_attn.q"),
                                    weight: try weights.widened(b + "self_attn.norm_q.weight"), eps: c.eps)
        let k = try backend.rmsNorm(try linear(y, b + "self_attn.k"),
                                    weight: try weights.widened(b + "self_attn.norm_k.weight"), eps: c.eps)
        let v = try linear(y, b + "self_attn.v")
        let heads = [tokens, c.numHeads, c.headDim]
        let qr = try backend.rope3D(try q.reshaped(heads), frames: grid.f, height: grid.h, width: grid.w,
                                    theta: WanDiTConfig.ropeTheta)
        let kr = try backend.rope3D(try k.reshaped(heads), frames: grid.f, height: grid.h, width: grid.w,
                                    theta: WanDiTConfig.ropeTheta)
        let attn = try backend.attention(q: qr, k: kr, v: try v.reshaped(heads), scale: nil, bias: nil)
        let selfOut = try linear(try attn.reshaped([tokens, c.dim]), b + "self_attn.o")
        x = try backend.gatedAdd(x, selfOut, table: table, gate: 2, rows: rows)

        // 3. cross-attention on the affine LayerNorm (norm3), no modulation, no gate.
        y = try backend.layerNorm(x, weight: try weights.widened(b + "norm3.weight"),
                                  bias: try weights.widened(b + "norm3.bias"), eps: c.eps)
        let cq = try backend.rmsNorm(try linear(y, b + "cross_attn.q"),
                                     weight: try weights.widened(b + "cross_attn.norm_q.weight"), eps: c.eps)
        let cross = try backend.attention(q: try cq.reshaped(heads), k: text.keys[n], v: text.values[n],
                                          scale: nil, bias: nil)
        x = try backend.add(x, try linear(try cross.reshaped([tokens, c.dim]), b + "cross_attn.o"))

        // 4-5. FFN on the modulated LayerNorm, gated residual.
        y = try backend.modulatedLayerNorm(x, table: table, shift: 3, scale: 4, rows: rows, eps: c.eps)
        let hidden = backend.gelu(try linear(y, b + "ffn.0"), approximation: .tanh)
        return try backend.gatedAdd(x, try linear(hidden, b + "ffn.2"), table: table, gate: 5, rows: rows)
    }

    /// Distinct values (first-seen order) and, per token, the row of its value.
    static func distinctTimesteps(_ t: DiTTimesteps, tokens: Int) throws -> ([Double], [Int]) {
        switch t {
        case let .scalar(v):
            return ([v], [Int](repeating: 0, count: tokens))
        case let .perToken(values):
            guard values.count == tokens else {
                throw ModelError.badInput(argument: "timesteps", detail: "\(values.count) values for \(tokens) tokens")
            }
            var distinct = [Double](), rowOf = [Double: Int](), index = [Int]()
            index.reserveCapacity(tokens)
            for v in values {
                if let r = rowOf[v] { index.append(r); continue }
                rowOf[v] = distinct.count
                index.append(distinct.count)
                distinct.append(v)
            }
            return (distinct, index)
        }
    }

    /// `x · Wᵀ + b` for the official Linear named `prefix` (weight used in its stored dtype).
    func linear(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try weights.linear(backend, x, weight: prefix + ".weight", bias: prefix + ".bias")
    }
}
