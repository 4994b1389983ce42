#if canImport(Glibc)
import Glibc
#endif
import WandModels
import WandTensor

/// One generation on a loaded model set: text encoding, noise, the mode's conditioning, the
/// denoising loop and the VAE decode. The diffusers convention (a diffusers folder) reproduces
/// WanPipeline / WanImageToVideoPipeline / WanVideoToVideoPipeline; the official convention
/// (an official folder) reproduces the wan22 scripts' schedules and first-frame handling.
public struct WanVideoPipeline: Sendable {
    public let models: WanModelSet

    public init(models: WanModelSet) { self.models = models }

    /// Returns the final normalized latents `[C, F, h, w]` and the decoded video `[3, T, H, W]` in [-1, 1].
    public func run(_ request: GenerationRequest, timings: inout StageTimings,
                    progress: @escaping @Sendable (GenerationProgress) -> Void,
                    isCancelled: @escaping @Sendable () -> Bool) async throws -> (latents: Tensor, video: Tensor) {
        let folder = models.folder
        try validate(request)
        let stride = models.vae.config.spatialFactor, timeFactor = models.vae.config.temporalFactor
        let c = models.latentChannels
        let f = (request.frames - 1) / timeFactor + 1, h = request.height / stride, w = request.width / stride
        let shape = [c, f, h, w]

        // Text: the prompt and the negative prompt, encoded once for the whole run.
        progress(GenerationProgress(stage: .encodingText))
        var clock = Stopwatch()
        let negative = request.negativePrompt ?? (folder.layout == .official ? officialNegativePrompt : "")
        let plan = expertPlan(request)
        let needsUncond = plan.guidanceHigh != 1 || plan.guidanceLow != 1
        let condRows = try encodeText(request.prompt)
        let uncondRows = needsUncond ? try encodeText(negative) : nil
        var contexts: [(cond: DiTTextContext, uncond: DiTTextContext?)] = []
        for expert in models.experts {
            contexts.append((try expert.prepareText(condRows), try uncondRows.map { try expert.prepareText($0) }))
        }
        // A device backend queues its work: wait for it, so each stage's time is its own.
        try models.vae.backend.synchronize()
        timings.textEncode = clock.lap()

        // Schedule and noise (torch.randn on a CPU generator: the same seed gives diffusers' noise).
        let shift = request.shift ?? folder.schedulerShift ?? defaultShift(request.mode)
        var schedule: FlowSchedule
        switch request.sigmaSchedule {
        case .lightning: schedule = .lightning(steps: request.steps, shift: shift)
        case .model: schedule = .make(request.sampler, convention: folder.convention, steps: request.steps, shift: shift)
        case .dmd:
            guard let timesteps = FlowSchedule.dmdTimesteps[request.steps] else {
                throw EngineError(.badRequest, "the DMD schedule (fastwan-3step) has timesteps for "
                    + FlowSchedule.dmdTimesteps.keys.sorted().map { "\($0) steps (\(FlowSchedule.dmdTimesteps[$0]!.map(String.init).joined(separator: ", ")))" }.joined(separator: ", ")
                    + ", not for \(request.steps)")
            }
            schedule = .dmd(timesteps: timesteps, shift: shift)
        }
        var generator = TorchCPUGenerator(seed: request.seed)
        // FastVideo's DMD pipeline draws its latents as [T, C, H, W]; the others as [C, T, H, W].
        let frameMajor = request.sigmaSchedule == .dmd
        func noise(_ g: inout TorchCPUGenerator) -> [Float] { RenoiseSource.noise(&g, shape: shape, frameMajor: frameMajor) }

        var initial: [Float]
        var pin: LatentPin?
        var perTokenFrameZero = false
        var conditioning: Tensor?
        progress(GenerationProgress(stage: .encodingInput))
        switch request.mode {
        case .t2v:
            initial = noise(&generator)
        case .ti2v:
            initial = noise(&generator)
            if let image = request.image {
                let z = try models.vae.encode(try pixels([image], width: request.width, height: request.height))
                pin = LatentPin.leadingFrames(channels: c, frames: f, height: h, width: w, pinnedFrames: flat(z))
                perTokenFrameZero = true
            }
        case .i2v:
            initial = noise(&generator)
            guard let image = request.image else { throw EngineError(.badRequest, "i2v needs an image") }
            // Frame 0 is the image, frames 1... are zeros (mid-gray), encoded as one video.
            var video = try pixels([image], width: request.width, height: request.height)
            video = try video.padded([(0, 0), (0, request.frames - 1), (0, 0), (0, 0)])
            let latent = try models.vae.encode(video)
            let mask = try Tensor(shape: [timeFactor, f, h, w],
                                  values: Conditioning.i2vMask(latentFrames: f, height: h, width: w, channels: timeFactor))
            conditioning = try Tensor.concat([mask, latent], dim: 0)
        case .edit:
            guard let source = request.video, source.count == request.frames else {
                throw EngineError(.badRequest, "edit needs the source video with \(request.frames) frames (got \(request.video?.count ?? 0))")
            }
            let z = flat(try models.vae.encode(try pixels(source, width: request.width, height: request.height)))
            schedule = schedule.keepingLast(strength: request.strength)
            guard schedule.stepCount > 0 else {
                throw EngineError(.badRequest, "strength \(request.strength) with \(request.steps) steps leaves no step to run")
            }
            let noise = noise(&generator)
            initial = Conditioning.renoised(latent: z, noise: noise, sigma: schedule.sigmas[0])
        case .animate:
            throw EngineError(.badRequest, "mode animate runs in WanAnimatePipeline (Engine routes it there), not WanVideoPipeline")
        case .s2v:
            throw EngineError(.unsupportedMode, "mode s2v runs on an S2V model folder through Engine (S2VPipeline), not on this pipeline")
        }
        try models.vae.backend.synchronize()
        timings.inputEncode = clock.lap()

        // Denoise.
        let experts = models.experts
        let textContexts = contexts
        let pinMode: PinMode = folder.convention == .diffusers ? .modelInputOnly : .stateAfterEachStep
        let renoise = request.sampler == .dmd ? RenoiseSource(generator: generator, shape: shape, frameMajor: frameMajor) : nil
        let loop = DenoiseLoop(kind: request.sampler, schedule: schedule, plan: plan, pin: pin, pinMode: pinMode,
                               renoise: renoise)
        let frameZero = perTokenFrameZero
        let y = conditioning
        let final = try await loop.run(from: initial, velocity: { x, step, cond in
            let index = step.expert == .highNoise ? 0 : 1
            let expert = experts[min(index, experts.count - 1)]
            let context = textContexts[min(index, textContexts.count - 1)]
            let text = cond ? context.cond : context.uncond!
            let timesteps: DiTTimesteps = frameZero
                ? .perToken(Conditioning.perTokenTimesteps(latentFrames: f, latentHeight: h, latentWidth: w,
                                                           timestep: step.timestep, firstFrameIsImage: true))
                : .scalar(step.timestep)
            let v = try expert.forward(latent: try Tensor(shape: shape, values: x), timesteps: timesteps,
                                       text: text, conditioning: y)
            return flat(v)
        }, isCancelled: isCancelled, progress: { step in
            progress(GenerationProgress(stage: .denoising, step: step.index + 1, totalSteps: step.count))
        })
        timings.denoise = clock.lap()

        progress(GenerationProgress(stage: .decoding))
        let latents = try Tensor(shape: shape, values: final)
        let video: Tensor
        if let tiling = vaeTiling(request) {
            video = try models.vae.decodeTiled(latents, tiling: tiling)
        } else {
            video = try models.vae.decode(latents)
        }
        try models.vae.backend.synchronize()
        timings.decode = clock.lap()
        return (latents, video)
    }

    /// `vaeTilePixels` in latent pixels: a quarter of the tile overlaps its neighbour, as diffusers'
    /// default for this VAE (256-pixel tiles at a 192-pixel stride); nil when one tile would cover
    /// the frame anyway.
    func vaeTiling(_ r: GenerationRequest) -> VAETiling? {
        guard let pixels = r.vaeTilePixels else { return nil }
        let s = models.vae.config.spatialFactor
        let tile = Swift.max(2, pixels / s), overlap = Swift.max(1, tile / 4)
        guard r.width / s > tile || r.height / s > tile else { return nil }
        return VAETiling(tileHeight: tile, tileWidth: tile, overlap: overlap)
    }

    func validate(_ r: GenerationRequest) throws {
        let vae = models.vae.config, patch = models.experts[0].config.patchSize
        // VAE stride times the DiT patch, per axis (16x16 pixels per token in the published models).
        let strideH = vae.spatialFactor * patch[1], strideW = vae.spatialFactor * patch[2]
        guard r.width > 0, r.height > 0, r.width % strideW == 0, r.height % strideH == 0 else {
            let stride = strideH == strideW ? "\(strideH)" : "\(strideW) (width) and \(strideH) (height)"
            throw EngineError(.badRequest, "size \(r.width)x\(r.height) must be a multiple of \(stride) for this model")
        }
        guard r.frames >= 1, r.frames % 4 == 1 else {
            throw EngineError(.badRequest, "frames must be 4n+1 (got \(r.frames))")
        }
        let latentFrames = (r.frames - 1) / vae.temporalFactor + 1
        guard (r.frames - 1) % vae.temporalFactor == 0, latentFrames % patch[0] == 0 else {
            throw EngineError(.badRequest, "frames \(r.frames) do not fit this model: its VAE makes one latent frame of "
                              + "\(vae.temporalFactor) and its transformer groups \(patch[0]) latent frames per token",
                              path: models.folder.path)
        }
        guard models.latentChannels == vae.zDim else {
            throw EngineError(.badModelFolder, "the transformer's out_channels (\(models.latentChannels)) differ from the VAE's "
                              + "z_dim (\(vae.zDim))", path: models.folder.path)
        }
        if r.mode == .ti2v, patch != WanDiTConfig.publishedPatchSize {
            // The per-token timesteps of the reference are cut on a 2x2 latent grid (mask[:, ::2, ::2]).
            throw EngineError(.badRequest, "mode \(r.mode.rawValue) needs a transformer patch_size of [1, 2, 2] (this one has \(patch))",
                              path: models.folder.path)
        }
        guard r.steps >= 1 else { throw EngineError(.badRequest, "steps must be at least 1") }
        let m = models
        switch r.mode {
        case .t2v, .edit:
            // A TI2V model (expand_timesteps) is a text-to-video model too: with no image every
            // token shares the step's timestep, which is what t2v and edit feed it.
            if m.acceptsImageChannels {
                throw EngineError(.badRequest, "model \(r.modelName) is an image-to-video model", path: m.folder.path)
            }
        case .ti2v:
            guard m.folder.expandTimesteps else {
                throw EngineError(.badRequest, "model \(r.modelName) is not a TI2V model (mode ti2v needs e.g. Wan2.2-TI2V-5B)",
                                  path: m.folder.path)
            }
        case .i2v:
            guard m.acceptsImageChannels else {
                throw EngineError(.badRequest, "model \(r.modelName) has no image channels (mode i2v needs e.g. Wan2.2-I2V-A14B)",
                                  path: m.folder.path)
            }
        case .s2v, .animate:
            break
        }
    }

    func expertPlan(_ r: GenerationRequest) -> ExpertPlan {
        if models.isTwoExpert {
            return ExpertPlan(boundaryRatio: models.folder.boundaryRatio ?? 0.875,
                              guidanceHigh: r.guidance, guidanceLow: r.guidanceLow ?? r.guidance)
        }
        return .singleModel(guidance: r.guidance)
    }

    func defaultShift(_ mode: GenerationMode) -> Double {
        mode == .t2v && models.isTwoExpert ? 12.0 : 5.0
    }

    func encodeText(_ text: String) throws -> Tensor {
        let cleaned = WanPromptCleaner.clean(text)
        let (ids, count) = models.tokenizer.encodeForUMT5(cleaned, maxLength: models.experts[0].config.textLen)
        return try models.textEncoder.encode(Array(ids.prefix(count)))
    }

    /// RGB frames (resized to the target when needed) as a [3, T, H, W] tensor in [-1, 1].
    func pixels(_ frames: [RGBImage], width: Int, height: Int) throws -> Tensor {
        var out = [Float](repeating: 0, count: 3 * frames.count * width * height)
        let plane = width * height, perChannel = frames.count * plane
        for (t, image) in frames.enumerated() {
            let frame = try resized(image, width: width, height: height)
            frame.pixels.withUnsafeBufferPointer { px in
                for i in 0..<plane {
                    for ch in 0..<3 {
                        out[ch * perChannel + t * plane + i] = Float(px[i * 3 + ch]) / 255 * 2 - 1
                    }
                }
            }
        }
        return try Tensor(shape: [3, frames.count, height, width], values: out)
    }

    func resized(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        if image.width == width, image.height == height { return image }
        // Bicubic, as the official i2v path resizes (align_corners false), on [0, 255] floats.
        var planes = [Float](repeating: 0, count: 3 * image.width * image.height)
        let n = image.width * image.height
        for i in 0..<n { for ch in 0..<3 { planes[ch * n + i] = Float(image.pixels[i * 3 + ch]) } }
        let source = try Tensor(shape: [1, 3, image.height, image.width], values: planes)
        let scaled = try CPUBackend().interpolate(source, height: height, width: width, mode: .bicubic(alignCorners: false))
        let values = flat(scaled)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let m = width * height
        for i in 0..<m { for ch in 0..<3 { pixels[i * 3 + ch] = UInt8(max(0, min(255, values[ch * m + i].rounded()))) } }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

func flat(_ t: Tensor) -> [Float] {
    t.contiguous().withData { Array($0) }
}

/// Wall-clock lap timer on CLOCK_MONOTONIC.
struct Stopwatch {
    private var last = Stopwatch.now()
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
    mutating func lap() -> Double {
        let t = Stopwatch.now()
        defer { last = t }
        return t - last
    }
}
