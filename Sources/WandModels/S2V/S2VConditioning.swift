import Glibc
import WandTensor

/// The audio tokens of one clip (`CausalAudioEncoder` output with the motion frames dropped):
/// per latent frame `audioTokens + 1` tokens for the injector's cross-attention, and one global
/// vector driving its AdaIN. Made once per clip (and once more for the zeroed CFG pass).
public struct S2VAudioTokens: Sendable {
    /// `[F, audioTokens + 1, dim]`, flattened `[F·(audioTokens+1), dim]`.
    let local: Tensor
    /// `[F, dim]`, when the model has AdaIN.
    let global: Tensor?
    public let frames: Int
    public let tokensPerFrame: Int
}

/// What a clip adds to the noisy tokens and holds fixed for all its steps: the reference and
/// motion tokens (already tagged by `trainable_cond_mask`), the pose embedding of the noisy
/// tokens, and every token's RoPE position.
public struct S2VClipContext: Sendable {
    /// `[nRef + nMotion, dim]`: reference tokens, then the frame-pack motion tokens.
    let extraTokens: Tensor
    /// `cond_encoder(pose)` on the noisy grid `[nNoisy, dim]`, or its bias alone (no pose).
    let poseEmbedding: Tensor
    let positions: [RoPEPosition]
    public let grid: (frames: Int, height: Int, width: Int)
    public let motionTokenCount: Int
    public var noisyTokenCount: Int { grid.frames * grid.height * grid.width }
    public var tokenCount: Int { positions.count }
}

extension WanS2VDiT {
    /// `CausalAudioEncoder` on one clip's features `[A, layers, audioDim]` (video-frame major, as
    /// S2VAudioEmbedding.clip returns them). The clip's first frame is repeated `motionFrames`
    /// times in front, as the official forward does, and those latent frames are dropped after.
    public func prepareAudio(_ features: Tensor, motionFrames: Int = WanS2VConfig.officialMotionFrames) throws -> S2VAudioTokens {
        let c = config, d = c.dit.dim, q = d / 4
        guard features.rank == 3, features.shape[0] >= 1, features.shape[1] == c.audioLayers,
              features.shape[2] == c.audioDim else {
            throw ModelError.badInput(argument: "audio", detail: "shape \(features.shape), expected [frames, \(c.audioLayers), \(c.audioDim)]")
        }
        let f = features.contiguous()
        let a = f.shape[0], t = a + motionFrames, da = c.audioDim, l = c.audioLayers
        // SiLU-weighted average over the wav2vec2 layers, (x·w)/Σw summed in layer order.
        let w = try weights.widened("casual_audio_encoder.weights").array.map { $0 / (1 + expf(-$0)) }
        let wsum = w.reduce(0, +)
        let x = Tensor(uninitialized: [da, t])
        for time in 0..<t {
            let frame = f.data + (max(0, time - motionFrames) * l) * da
            for k in 0..<da {
                var acc: Float = 0
                for j in 0..<l { acc += frame[j * da + k] * w[j] / wsum }
                x.data[k * t + time] = acc
            }
        }
        let e = "casual_audio_encoder.encoder."
        // conv2 -> LN -> SiLU -> conv3 -> LN -> SiLU on [channels, T] -> [T3, d].
        func tail(_ h: Tensor) throws -> Tensor {
            var y = try normSiLU(h)
            y = try S2VKernels.causalConv(backend, y, weight: try weights.widened(e + "conv2.conv.weight"),
                                          bias: try weights.widened(e + "conv2.conv.bias"), stride: 2)
            y = try normSiLU(y)
            y = try S2VKernels.causalConv(backend, y, weight: try weights.widened(e + "conv3.conv.weight"),
                                          bias: try weights.widened(e + "conv3.conv.bias"), stride: 2)
            return try transposed(normSiLU(y))
        }
        let localAll = try S2VKernels.causalConv(backend, x, weight: try weights.widened(e + "conv1_local.conv.weight"),
                                                 bias: try weights.widened(e + "conv1_local.conv.bias"), stride: 1)
        var heads: [Tensor] = []
        for n in 0..<c.audioTokens {
            heads.append(try tail(try localAll.sliced(dim: 0, (n * q)..<((n + 1) * q)).contiguous()))
        }
        let t3 = heads[0].shape[0], drop = WanS2VConfig.latentFrames(motion: motionFrames)
        guard t3 > drop else {
            throw ModelError.badInput(argument: "audio", detail: "\(a) frames give \(t3) latent frames, fewer than the \(drop) motion frames dropped")
        }
        let frames = t3 - drop, per = c.audioTokens + 1
        let padding = try weights.widened(e + "padding_tokens")
        let local = Tensor(uninitialized: [frames * per, d])
        for fr in 0..<frames {
            for n in 0..<c.audioTokens {
                (local.data + (fr * per + n) * d).update(from: heads[n].data + (fr + drop) * d, count: d)
            }
            (local.data + (fr * per + c.audioTokens) * d).update(from: padding.data, count: d)
        }
        var global: Tensor?
        if c.enableAdain {
            let g = try S2VKernels.causalConv(backend, x, weight: try weights.widened(e + "conv1_global.conv.weight"),
                                              bias: try weights.widened(e + "conv1_global.conv.bias"), stride: 1)
            let out = try linear(try tail(g), e + "final_linear")
            global = try out.sliced(dim: 0, drop..<t3).contiguous()
        }
        return S2VAudioTokens(local: local, global: global, frames: frames, tokensPerFrame: per)
    }

    /// LayerNorm over channels (no affine, eps 1e-6) then SiLU, on `[C, T]` -> `[C, T]`.
    private func normSiLU(_ x: Tensor) throws -> Tensor {
        let y = backend.silu(try backend.layerNorm(try x.permuted([1, 0]), weight: nil, bias: nil, eps: 1e-6))
        return try y.permuted([1, 0]).contiguous()
    }

    /// The clip's fixed tokens. `reference` `[16, 1, H, W]`; `motion` `[16, Tm, H, W]` (the last
    /// 19 are used, zero-padded in front when fewer), or nil to drop the motion
    /// tokens (clip 0 with `drop_first_motion`); `pose` `[condDim, F, H, W]` or nil (zeros).
    public func prepareClip(frames: Int, height: Int, width: Int, reference: Tensor, motion: Tensor?,
                            pose: Tensor?) throws -> S2VClipContext {
        let c = config, d = c.dit.dim
        guard frames >= 1, height % 8 == 0, width % 8 == 0, height > 0, width > 0 else {
            throw ModelError.badInput(argument: "latent", detail: "\(frames)x\(height)x\(width); S2V needs latent height and width that are multiples of 8 (frame-pack 4x)")
        }
        guard reference.shape == [c.dit.inDim, 1, height, width] else {
            throw ModelError.badInput(argument: "reference", detail: "shape \(reference.shape), expected [\(c.dit.inDim), 1, \(height), \(width)]")
        }
        let gh = height / 2, gw = width / 2, nNoisy = frames * gh * gw
        var positions: [RoPEPosition] = []
        positions.reserveCapacity(nNoisy * 2)
        for t in 0..<frames { for i in 0..<gh { for j in 0..<gw { positions.append(RoPEPosition(f: t, h: i, w: j)) } } }

        // Pose: cond_encoder over the noisy grid (zero latents leave only its bias).
        let pe: Tensor
        if c.condDim > 0, let pose {
            guard pose.shape == [c.condDim, frames, height, width] else {
                throw ModelError.badInput(argument: "pose", detail: "shape \(pose.shape), expected [\(c.condDim), \(frames), \(height), \(width)]")
            }
            pe = try weights.linear(backend, DiTKernels.patchify(pose, patch: [1, 2, 2]), weight: "cond_encoder.weight", bias: "cond_encoder.bias",
                                    weightShape: [d, c.condDim * 4])
        } else {
            pe = Tensor(zeros: [nNoisy, d])
            if c.condDim > 0 {
                let bias = try weights.widened("cond_encoder.bias")
                for r in 0..<nNoisy { (pe.data + r * d).update(from: bias.data, count: d) }
            }
        }
        let mask = try weights.widened("trainable_cond_mask.weight")  // [3, d]

        // Reference tokens at frame 30.
        var pieces: [Tensor] = []
        let ref = try weights.linear(backend, DiTKernels.patchify(reference, patch: [1, 2, 2]), weight: "patch_embedding.weight",
                                     bias: "patch_embedding.bias", weightShape: [d, c.dit.inDim * 4])
        Self.addRow(ref, mask, row: 1)
        pieces.append(ref)
        for i in 0..<gh { for j in 0..<gw { positions.append(RoPEPosition(f: 30, h: i, w: j)) } }

        var motionCount = 0
        if let motion {
            let (tokens, motionPositions) = try framePack(motion, height: height, width: width)
            Self.addRow(tokens, mask, row: 2)
            pieces.append(tokens)
            positions += motionPositions
            motionCount = tokens.shape[0]
        }
        let extra = pieces.count == 1 ? pieces[0] : try Tensor.concat(pieces, dim: 0)
        return S2VClipContext(extraTokens: extra, poseEmbedding: pe, positions: positions,
                              grid: (frames, gh, gw), motionTokenCount: motionCount)
    }

    /// `FramePackMotioner`: the newest latent at full patch resolution, the next 2 at half, the
    /// oldest 16 at quarter, with the official RoPE positions (f −1, −3 and −19/−14/−9/−4;
    /// compressed rows and columns at numpy-linspace integers).
    func framePack(_ motion: Tensor, height: Int, width: Int) throws -> (Tensor, [RoPEPosition]) {
        let c = config, d = c.dit.dim, total = WanS2VConfig.zipFrameBuckets.reduce(0, +)
        guard motion.rank == 4, motion.shape[0] == 16, motion.shape[2] == height, motion.shape[3] == width else {
            throw ModelError.badInput(argument: "motion", detail: "shape \(motion.shape), expected [16, T, \(height), \(width)]")
        }
        let m = motion.contiguous(), plane = height * width
        let padded = Tensor(zeros: [16, total, height, width])
        let overlap = min(total, m.shape[1])
        for ch in 0..<16 {
            (padded.data + (ch * total + total - overlap) * plane)
                .update(from: m.data + (ch * m.shape[1] + m.shape[1] - overlap) * plane, count: overlap * plane)
        }
        let level = c.addLastMotion ? 2 : 0
        if level < 2 && c.framePackDrop == .padd {
            let zeroEnd = WanS2VConfig.zipFrameBuckets.prefix(WanS2VConfig.zipFrameBuckets.count - level - 1).reduce(0, +)
            for ch in 0..<16 { (padded.data + (ch * total + total - zeroEnd) * plane).update(repeating: 0, count: zeroEnd * plane) }
        }
        let b4 = WanS2VConfig.zipFrameBuckets[2], b2 = WanS2VConfig.zipFrameBuckets[1]
        func project(_ range: Range<Int>, _ name: String, _ kt: Int, _ kh: Int, _ kw: Int) throws -> Tensor {
            let part = try padded.sliced(dim: 1, range).contiguous()
            return try weights.linear(backend, S2VKernels.patchify(part, kt: kt, kh: kh, kw: kw),
                                      weight: "frame_packer.\(name).weight", bias: "frame_packer.\(name).bias",
                                      weightShape: [d, 16 * kt * kh * kw])
        }
        let gh = height / 2, gw = width / 2
        var pieces: [Tensor] = [], positions: [RoPEPosition] = []
        let keepPost = !(level < 2 && c.framePackDrop == .drop), keep2x = !(level < 1 && c.framePackDrop == .drop)
        if keepPost {
            pieces.append(try project((b4 + b2)..<total, "proj", 1, 2, 2))
            for i in 0..<gh { for j in 0..<gw { positions.append(RoPEPosition(f: -1, h: i, w: j)) } }
        }
        if keep2x {
            pieces.append(try project(b4..<(b4 + b2), "proj_2x", 2, 4, 4))
            let hs = S2VKernels.linspaceInt(0, Double(gh - 1), height / 4), ws = S2VKernels.linspaceInt(0, Double(gw - 1), width / 4)
            for i in hs { for j in ws { positions.append(RoPEPosition(f: -3, h: i, w: j)) } }
        }
        pieces.append(try project(0..<b4, "proj_4x", 4, 8, 8))
        let hs = S2VKernels.linspaceInt(0, Double(gh - 1), height / 8), ws = S2VKernels.linspaceInt(0, Double(gw - 1), width / 8)
        // Frames linspace(19, 4, 4) = 19, 14, 9, 4, negated (the reference conjugates its table).
        for f in S2VKernels.linspaceInt(Double(total), Double(total - b4 + 1), b4 / 4) {
            for i in hs { for j in ws { positions.append(RoPEPosition(f: -f, h: i, w: j)) } }
        }
        return (pieces.count == 1 ? pieces[0] : try Tensor.concat(pieces, dim: 0), positions)
    }

    static func addRow(_ x: Tensor, _ table: Tensor, row: Int) {
        let d = x.shape[1]
        let r = table.data + row * d
        for i in 0..<x.shape[0] { let p = x.data + i * d; for k in 0..<d { p[k] += r[k] } }
    }
}

/// `[C, T]` -> contiguous `[T, C]`.
private func transposed(_ x: Tensor) throws -> Tensor { try x.permuted([1, 0]).contiguous() }
