import WandTensor

/// The face signal of one segment, ready for every face-adapter block: per block and latent
/// frame the keys and values of that frame's face tokens. It depends only on the face crops, so
/// it is built once per segment (twice with CFG: the unconditional pass sees a blank face) and
/// reused at every step; diffusers recomputes it at each step to the same values.
public struct AnimateFaceContext: Sendable {
    /// Latent frames covered (the reference frame's zero tokens included).
    public let frames: Int
    /// Face tokens per frame: `faceHeads + 1` (the learned padding token).
    public let tokensPerFrame: Int
    let keys: [Tensor]    // per face block, [frames·tokensPerFrame, heads, headDim]
    let values: [Tensor]
    let modelID: ObjectIdentifier
}

extension WanAnimateDiT {
    /// `faces` `[3, T, S, S]` in [−1, 1] (S = the motion encoder's size; T = 4n + 1 frames of the
    /// segment). Runs the motion encoder per frame, the face encoder over time (T -> (T−1)/4 + 1
    /// tokens), prepends the zero frame that lines up with the reference latent, and projects the
    /// keys and values of every face-adapter block.
    public func prepareFace(_ faces: Tensor) throws -> AnimateFaceContext {
        let c = config, s = c.motionEncoderSize
        guard faces.rank == 4, faces.shape[0] == 3, faces.shape[2] == s, faces.shape[3] == s, faces.shape[1] >= 1 else {
            throw ModelError.badInput(argument: "faces", detail: "shape \(faces.shape), expected [3, T, \(s), \(s)]")
        }
        let t = faces.shape[1], frame = s * s
        let x = faces.contiguous()
        // Widened (and scaled) once per call, for all of its frames; not kept with the model.
        let motionEncoder = try AnimateMotionEncoder(config: c, weights: weights)
        var motion = [Float]()
        motion.reserveCapacity(t * c.motionEncoderDim)
        for f in 0..<t {
            let crop = Tensor(uninitialized: [3, s, s])
            for ch in 0..<3 { (crop.data + ch * frame).update(from: x.data + (ch * t + f) * frame, count: frame) }
            motion += try motionEncoder.motion(crop, backend: backend)
        }
        let tokens = try faceTokens(try Tensor(shape: [t, c.motionEncoderDim], values: motion))
        return try faceContext(tokens)
    }

    /// Face encoder (`FaceEncoder`): motion vectors `[T, motionEncoderDim]` -> `[T' + 1, heads + 1, dim]`
    /// with T' = ⌈T/4⌉ (two stride-2 causal convolutions), the zero frame first.
    func faceTokens(_ motion: Tensor) throws -> Tensor {
        let c = config, d = c.base.dim, hidden = c.faceHiddenDim, heads = c.faceHeads
        let h = try causalConv(motion, "face_encoder.conv1_local.conv", stride: 1)  // [T, heads·hidden]
        var perHead: [Tensor] = []
        for n in 0..<heads {
            var x = try h.sliced(dim: 1, (n * hidden)..<((n + 1) * hidden)).contiguous()
            x = backend.silu(try backend.layerNorm(x, weight: nil, bias: nil, eps: 1e-6))
            x = backend.silu(try backend.layerNorm(try causalConv(x, "face_encoder.conv2.conv", stride: 2), weight: nil, bias: nil, eps: 1e-6))
            x = backend.silu(try backend.layerNorm(try causalConv(x, "face_encoder.conv3.conv", stride: 2), weight: nil, bias: nil, eps: 1e-6))
            perHead.append(try weights.linear(backend, x, weight: "face_encoder.out_proj.weight", bias: "face_encoder.out_proj.bias"))
        }
        let frames = perHead[0].shape[0]
        let pad = try weights.widened("face_encoder.padding_tokens")
        let out = Tensor(zeros: [frames + 1, heads + 1, d])
        for f in 0..<frames {
            for n in 0..<heads { (out.data + ((f + 1) * (heads + 1) + n) * d).update(from: perHead[n].data + f * d, count: d) }
            (out.data + ((f + 1) * (heads + 1) + heads) * d).update(from: pad.data, count: d)
        }
        return out
    }

    /// CausalConv1d with kernel 3 over time-major rows `[T, C]`: replicate-pad two frames in
    /// front, then `out[t] = b + Σ_{c,k} W[o, c, k] · x[t·stride + k − 2]` as one GEMM.
    func causalConv(_ x: Tensor, _ prefix: String, stride: Int) throws -> Tensor {
        let x = x.contiguous()
        let t = x.shape[0], c = x.shape[1]
        let outFrames = (t - 1) / stride + 1
        let cols = Tensor(uninitialized: [outFrames, c * 3])
        for o in 0..<outFrames {
            let row = cols.data + o * c * 3
            for k in 0..<3 {
                let src = x.data + max(o * stride + k - 2, 0) * c
                for ch in 0..<c { row[ch * 3 + k] = src[ch] }
            }
        }
        let outChannels = weights.stored(prefix + ".weight").shape[0]
        return try weights.linear(backend, cols, weight: prefix + ".weight", bias: prefix + ".bias",
                                  weightShape: [outChannels, c * 3])
    }

    /// Keys (per-head RMS-normed) and values of every face block over `tokens` `[F, N, dim]`.
    func faceContext(_ tokens: Tensor) throws -> AnimateFaceContext {
        let c = config.base, frames = tokens.shape[0], n = tokens.shape[1]
        let rows = try tokens.reshaped([frames * n, c.dim])
        let normed = try backend.layerNorm(rows, weight: nil, bias: nil, eps: c.eps)
        var keys: [Tensor] = [], values: [Tensor] = []
        for i in 0..<config.faceBlocks {
            let b = "face_adapter.fuser_blocks.\(i)."
            let (k, v) = try faceKV(b, normed)
            let kh = try backend.rmsNorm(try k.reshaped([frames * n, c.numHeads, c.headDim]),
                                         weight: try weights.widened(b + "k_norm.weight"), eps: c.eps)
            keys.append(kh)
            values.append(try v.reshaped([frames * n, c.numHeads, c.headDim]))
        }
        return AnimateFaceContext(frames: frames, tokensPerFrame: n, keys: keys, values: values, modelID: ObjectIdentifier(self))
    }

    /// K and V of a face block: the halves of the official fused `linear1_kv`, or diffusers' two.
    func faceKV(_ b: String, _ x: Tensor) throws -> (Tensor, Tensor) {
        guard layout == .official else {
            return (try weights.linear(backend, x, weight: b + "linear1_k.weight", bias: b + "linear1_k.bias"),
                    try weights.linear(backend, x, weight: b + "linear1_v.weight", bias: b + "linear1_v.bias"))
        }
        let d = config.base.dim
        let kv = try weights.linear(backend, x, weight: b + "linear1_kv.weight", bias: b + "linear1_kv.bias")
        return (try kv.sliced(dim: 1, 0..<d).contiguous(), try kv.sliced(dim: 1, d..<(2 * d)).contiguous())
    }

    /// A face block (`FaceBlock` / WanAnimateFaceBlockCrossAttention) on the video tokens `x`
    /// `[F·P, dim]`: each latent frame's P tokens attend to that frame's face tokens only. Returns
    /// the residual to add.
    func faceBlock(_ i: Int, _ x: Tensor, face: AnimateFaceContext, tokensPerFrame p: Int) throws -> Tensor {
        let c = config.base, b = "face_adapter.fuser_blocks.\(i)."
        let frames = x.shape[0] / p
        let y = try backend.layerNorm(x, weight: nil, bias: nil, eps: c.eps)
        let q = try backend.rmsNorm(try weights.linear(backend, y, weight: b + "linear1_q.weight", bias: b + "linear1_q.bias")
                                        .reshaped([x.shape[0], c.numHeads, c.headDim]),
                                    weight: try weights.widened(b + "q_norm.weight"), eps: c.eps)
        let attn = Tensor(uninitialized: [x.shape[0], c.dim])
        let n = face.tokensPerFrame
        for f in 0..<frames {
            let out = try backend.attention(q: try q.sliced(dim: 0, (f * p)..<((f + 1) * p)),
                                            k: try face.keys[i].sliced(dim: 0, (f * n)..<((f + 1) * n)),
                                            v: try face.values[i].sliced(dim: 0, (f * n)..<((f + 1) * n)),
                                            scale: nil, bias: nil)
            (attn.data + f * p * c.dim).update(from: out.contiguous().data, count: p * c.dim)
        }
        return try weights.linear(backend, attn, weight: b + "linear2.weight", bias: b + "linear2.bias")
    }
}
