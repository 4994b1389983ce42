import WandModels
import WandTensor

/// Speech-to-video, clip by clip, as `WanS2V.generate` (next-modes §A.5): the audio's wav2vec2
/// features decide how many clips (or the caller's cap); each clip denoises `framesPerClip / 4`
/// latent frames from fresh noise (seed + clip), conditioned on the reference image's latent,
/// the motion latents of the last `motionFrames` (73) generated frames (dropped in clip 0), the clip's audio and
/// optionally its pose frames; CFG runs the negative prompt with the audio features zeroed. Each
/// clip is decoded behind its context (reference latent in clip 0, motion latents after), and the
/// last `motionFrames` frames are re-encoded as the next clip's motion latents.
public struct S2VPipeline: Sendable {
    public let dit: WanS2VDiT
    public let vae: WanVAE
    public let audioEncoder: Wav2Vec2Encoder
    /// Frames per clip (the official `infer_frames`, 80; a multiple of 4).
    public let framesPerClip: Int
    /// Pixel frames of motion context carried between clips (the official 73).
    public let motionFrames: Int
    public static let fps = 16
    /// The official `drop_first_motion`: clip 0 has no motion tokens, its first 3 frames are dropped.
    static let droppedFirstFrames = 3

    public init(dit: WanS2VDiT, vae: WanVAE, audioEncoder: Wav2Vec2Encoder, framesPerClip: Int = 80,
                motionFrames: Int = WanS2VConfig.officialMotionFrames) {
        self.dit = dit
        self.vae = vae
        self.audioEncoder = audioEncoder
        self.framesPerClip = framesPerClip
        self.motionFrames = motionFrames
    }

    public struct Settings: Sendable {
        public var width: Int, height: Int, steps: Int
        public var sampler: SamplerKind
        public var shift: Double
        public var guidance: Float
        public var seed: UInt64
        /// At most this many clips (the official `--num_clip`); nil: as many as the audio asks for.
        public var clips: Int?
        public var vaeTiling: VAETiling?

        public init(width: Int, height: Int, steps: Int, sampler: SamplerKind = .unipc, shift: Double = 3,
                    guidance: Float = 4.5, seed: UInt64, clips: Int? = nil, vaeTiling: VAETiling? = nil) {
            self.width = width; self.height = height; self.steps = steps; self.sampler = sampler
            self.shift = shift; self.guidance = guidance; self.seed = seed; self.clips = clips; self.vaeTiling = vaeTiling
        }
    }

    public struct Output: Sendable {
        /// Each clip's final latents `[16, framesPerClip/4, h, w]` (normalized).
        public var latents: [Tensor]
        /// `[3, T, H, W]` in [−1, 1]: (framesPerClip − 3) + (clips − 1)·framesPerClip frames.
        public var video: Tensor
        /// Clips the audio asked for, before the cap.
        public var audioClips: Int
    }

    /// `text`/`negativeText`: umT5 rows of the prompt and the negative prompt. `reference`
    /// `[3, 1, H, W]` and `pose` `[3, n, H, W]` (n ≤ clips·framesPerClip; the rest is padded with
    /// −1 frames, as the official code does) in [−1, 1]; `audio` 16 kHz mono.
    public func run(text: Tensor, negativeText: Tensor, reference: Tensor, audio: [Float], pose: Tensor?,
                    settings s: Settings, progress: @escaping @Sendable (_ step: Int, _ total: Int) -> Void = { _, _ in },
                    isCancelled: @escaping @Sendable () -> Bool = { false }) async throws -> Output {
        let c = dit.config
        let stride = 8, fpc = framesPerClip
        guard s.width % (stride * 8) == 0, s.height % (stride * 8) == 0, s.width > 0, s.height > 0 else {
            throw EngineError(.badRequest, "s2v size \(s.width)x\(s.height) must be a multiple of 64 (VAE 8 x frame-pack 8)")
        }
        guard fpc % 4 == 0, fpc >= 4 else { throw EngineError(.badRequest, "frames per clip \(fpc) must be a multiple of 4") }
        guard s.steps >= 1 else { throw EngineError(.badRequest, "steps must be at least 1") }
        guard reference.shape == [3, 1, s.height, s.width] else {
            throw EngineError(.badRequest, "reference image tensor \(reference.shape), expected [3, 1, \(s.height), \(s.width)]")
        }
        let h = s.height / stride, w = s.width / stride
        let latMotion = WanS2VConfig.latentFrames(motion: motionFrames)
        guard motionFrames % 4 == 1 else { throw EngineError(.badRequest, "motion frames \(motionFrames) must be 4n+1 (VAE)") }
        let latFrames = (fpc + 3 + motionFrames) / 4 - latMotion

        // Audio: features for every clip the audio covers.
        let embedding = try S2VAudioFeatures.embed(samples: audio, encoder: audioEncoder, framesPerClip: fpc, fps: Self.fps)
        let clips = min(s.clips ?? embedding.clips, embedding.clips)
        guard clips >= 1 else { throw EngineError(.badRequest, "clips must be at least 1") }

        let refLatent = try vae.encode(reference)
        var lastFrames = Tensor(zeros: [3, motionFrames, s.height, s.width])
        var motionLatents = try vae.encode(lastFrames)
        let condText = try dit.prepareText(text)
        let useCFG = s.guidance > 1  // the official loop runs the unconditional pass only for guide_scale > 1
        let uncondText = useCFG ? try dit.prepareText(negativeText) : nil
        let plan = ExpertPlan.singleModel(guidance: useCFG ? s.guidance : 1)
        let zeroAudio = Tensor(zeros: [fpc, embedding.layers, embedding.dim])
        let uncondAudio = useCFG ? try dit.prepareAudio(zeroAudio, motionFrames: motionFrames) : nil
        let padded = try pose.map { try paddedPose($0, frames: clips * fpc) }

        var latentsOut: [Tensor] = [], pieces: [Tensor] = []
        for r in 0..<clips {
            let first = r == 0
            var generator = TorchCPUGenerator(seed: s.seed &+ UInt64(r))
            let shape = [c.dit.inDim, latFrames, h, w]
            let noise = flat(generator.randn(shape))
            let schedule = FlowSchedule.make(s.sampler, convention: .official, steps: s.steps, shift: s.shift)
            let condAudio = try dit.prepareAudio(try embedding.clip(r), motionFrames: motionFrames)
            var poseLatent: Tensor?
            if let padded {
                // The clip's pose frames with its first frame in front, encoded; the first latent dropped.
                let chunk = try padded.sliced(dim: 1, (r * fpc)..<((r + 1) * fpc)).contiguous()
                let withFirst = try Tensor.concat([try chunk.sliced(dim: 1, 0..<1).contiguous(), chunk], dim: 1)
                poseLatent = try vae.encode(withFirst).sliced(dim: 1, 1..<(latFrames + 1)).contiguous()
            }
            let clip = try dit.prepareClip(frames: latFrames, height: h, width: w, reference: refLatent,
                                           motion: first ? nil : motionLatents, pose: poseLatent)
            let loop = DenoiseLoop(kind: s.sampler, schedule: schedule, plan: plan)
            let model = dit, stepsDone = r * schedule.stepCount, totalSteps = clips * schedule.stepCount
            let final = try await loop.run(from: noise, velocity: { x, step, conditional in
                let v = try model.forward(latent: try Tensor(shape: shape, values: x), timestep: step.timestep,
                                          text: conditional ? condText : uncondText!, clip: clip,
                                          audio: conditional ? condAudio : uncondAudio!)
                return flat(v)
            }, isCancelled: isCancelled, progress: { step in progress(stepsDone + step.index + 1, totalSteps) })
            let latents = try Tensor(shape: shape, values: final)
            latentsOut.append(latents)

            // Decode behind the clip's context, keep its last framesPerClip frames (minus 3 in clip 0).
            let context = first ? refLatent : motionLatents
            let decoded = try decode(try Tensor.concat([context, latents], dim: 1), tiling: s.vaeTiling)
            let t = decoded.shape[1]
            var image = try decoded.sliced(dim: 1, (t - fpc)..<t)
            if first { image = try image.sliced(dim: 1, Self.droppedFirstFrames..<fpc) }
            let image3 = image.contiguous()
            pieces.append(image3)
            if r + 1 < clips {
                // The last motion_frames frames of [previous window | this clip], re-encoded in float.
                let overlap = min(motionFrames, image3.shape[1])
                let keep = try lastFrames.sliced(dim: 1, overlap..<motionFrames).contiguous()
                let new = try image3.sliced(dim: 1, (image3.shape[1] - overlap)..<image3.shape[1]).contiguous()
                lastFrames = overlap == motionFrames ? new : try Tensor.concat([keep, new], dim: 1)
                motionLatents = try vae.encode(lastFrames)
            }
        }
        let video = pieces.count == 1 ? pieces[0] : try Tensor.concat(pieces, dim: 1)
        return Output(latents: latentsOut, video: video, audioClips: embedding.clips)
    }

    /// The pose frames followed by −1 frames up to `frames` (the first `frames` when longer).
    func paddedPose(_ pose: Tensor, frames: Int) throws -> Tensor {
        guard pose.rank == 4, pose.shape[0] == 3, pose.shape[1] >= 1 else {
            throw EngineError(.badRequest, "pose video tensor \(pose.shape), expected [3, n, H, W]")
        }
        let n = min(pose.shape[1], frames)
        let used = try pose.sliced(dim: 1, 0..<n).contiguous()
        guard n < frames else { return used }
        return try Tensor.concat([used, Tensor(filled: -1, shape: [3, frames - n, pose.shape[2], pose.shape[3]])], dim: 1)
    }

    func decode(_ latents: Tensor, tiling: VAETiling?) throws -> Tensor {
        if let tiling { return try vae.decodeTiled(latents, tiling: tiling) }
        return try vae.decode(latents)
    }
}
