import WandModels
import WandTensor

/// Character animation and replacement with Wan2.2-Animate-14B (next-modes.md B.4; diffusers
/// WanAnimatePipeline, official wan/animate.py). The driving videos are cut into overlapping
/// segments of `request.frames` frames; per segment the latents are `[16, F + 1, h, w]` whose
/// frame 0 is the reference image's slot, conditioned on
///
/// * `y_ref`: mask ones and the reference image's latent (frame 0);
/// * `y_reft`: a mask and the latent of a conditioning video: the previous segment's last
///   `refert` output frames, then zeros (animate) or the background (replace); the mask is 1 on
///   the frames given (none in the first animate segment) and, for replace, 1 − the character mask;
/// * the pose video's latents, the face crops (motion and face encoders) and the CLIP image tokens.
///
/// With guidance > 1 the unconditional pass takes the negative prompt and a blank face.
public struct WanAnimatePipeline: Sendable {
    public let models: WanAnimateModelSet

    public init(models: WanAnimateModelSet) { self.models = models }

    public struct Output: Sendable {
        /// The final normalized latents of every segment, `[16, F + 1, h, w]` each.
        public var segmentLatents: [Tensor]
        /// `[3, frames, H, W]` in [−1, 1], one frame per driving-video frame.
        public var video: Tensor
    }

    public func run(_ request: GenerationRequest, timings: inout StageTimings,
                    progress: @escaping @Sendable (GenerationProgress) -> Void,
                    isCancelled: @escaping @Sendable () -> Bool) async throws -> Output {
        let inputs = try validate(request)
        let m = models, official = m.folder.layout == .official
        let width = request.width, height = request.height, segmentFrames = request.frames
        let h = height / 8, w = width / 8, latentFrames = (segmentFrames - 1) / 4 + 1
        let plan = AnimateSegmentPlan(realFrames: inputs.pose.count, segmentFrames: segmentFrames, refert: inputs.refertNum)
        let needsUncond = request.guidance > 1
        let backend = CPUBackend()

        // Text, CLIP image tokens and the reference latent: the same for every segment.
        progress(GenerationProgress(stage: .encodingText))
        var clock = Stopwatch()
        let negative = request.negativePrompt ?? (official ? officialNegativePrompt : "")
        let reference = request.image!
        let letterboxed = try AnimatePreprocessing.letterboxed(reference, width: width, height: height, official: official,
                                                               backend: backend)
        let clipPixels = official
            ? try CLIPImagePreprocessing.officialPixels(letterboxed.pixels, width: width, height: height,
                                                        size: m.imageEncoder.config.imageSize, backend: backend)
            : CLIPImagePreprocessing.transformersPixels(reference.pixels, width: reference.width, height: reference.height,
                                                        shortestEdge: m.clipResize.shortestEdge, crop: m.clipResize.crop)
        let imageTokens = try m.imageEncoder.penultimateHiddenState(clipPixels)
        let cond = try m.dit.prepareContext(text: try encodeText(request.prompt), image: imageTokens)
        let uncond = needsUncond ? try m.dit.prepareContext(text: try encodeText(negative), image: imageTokens) : nil
        timings.textEncode = clock.lap()

        progress(GenerationProgress(stage: .encodingInput))
        let refLatent = try m.vae.encode(AnimatePreprocessing.pixels([letterboxed], [0], width: width, height: height))
        let yRef = try Tensor.concat([Tensor(filled: 1, shape: [4, 1, h, w]), refLatent], dim: 0)
        let frameIndex = AnimateSegmentPlan.pingPong(plan.realFrames, to: plan.targetFrames)
        timings.inputEncode = clock.lap()

        var generator = TorchCPUGenerator(seed: request.seed)
        let shift = request.shift ?? m.folder.schedulerShift ?? 5
        let faceSize = m.dit.config.motionEncoderSize
        var latents: [Tensor] = [], kept: [Tensor] = []
        var previous: Tensor?  // the last decoded segment, [3, T, H, W]
        let total = plan.count * request.steps
        for segment in 0..<plan.count {
            let start = plan.start(segment)
            let indices = Array(frameIndex[start..<(start + segmentFrames)])
            let noise = generator.randn([16, latentFrames + 1, h, w])

            // Conditioning of this segment.
            let stageStart = Stopwatch.now()
            let pose = try m.vae.encode(AnimatePreprocessing.pixels(inputs.pose, indices, width: width, height: height))
            let face = try m.dit.prepareFace(AnimatePreprocessing.pixels(inputs.face, indices, width: faceSize, height: faceSize))
            let blankFace = needsUncond ? try m.dit.prepareFace(Tensor(filled: -1, shape: [3, segmentFrames, faceSize, faceSize])) : nil
            let y = try Tensor.concat([yRef, try referenceConditioning(inputs, indices, previous: previous, segment: segment,
                                                                       width: width, height: height)], dim: 1)
            timings.inputEncode += Stopwatch.now() - stageStart

            // Denoise.
            let loopStart = Stopwatch.now()
            let schedule = request.sigmaSchedule == .lightning
                ? FlowSchedule.lightning(steps: request.steps, shift: shift)
                : FlowSchedule.make(request.sampler, convention: m.folder.convention, steps: request.steps, shift: shift)
            let loop = DenoiseLoop(kind: request.sampler, schedule: schedule, plan: .singleModel(guidance: request.guidance))
            let shape = [16, latentFrames + 1, h, w], dit = m.dit
            let done = segment * request.steps
            let final = try await loop.run(from: flat(noise), velocity: { x, step, conditional in
                let v = try dit.forward(latent: try Tensor(shape: shape, values: x), timestep: step.timestep,
                                        context: conditional ? cond : uncond!, conditioning: y, pose: pose,
                                        face: conditional ? face : blankFace!)
                return flat(v)
            }, isCancelled: isCancelled, progress: { step in
                progress(GenerationProgress(stage: .denoising, step: done + step.index + 1, totalSteps: total))
            })
            timings.denoise += Stopwatch.now() - loopStart

            // Decode the segment's frames (latent frames 1...); later segments drop the frames
            // they were given.
            progress(GenerationProgress(stage: .decoding))
            let decodeStart = Stopwatch.now()
            let z = try Tensor(shape: shape, values: final)
            latents.append(z)
            let frames = try m.vae.decode(try z.sliced(dim: 1, 1..<(latentFrames + 1)).contiguous())
            previous = frames
            kept.append(segment == 0 ? frames : try frames.sliced(dim: 1, plan.refert..<segmentFrames).contiguous())
            timings.decode += Stopwatch.now() - decodeStart
        }
        let video = try Tensor.concat(kept, dim: 1).sliced(dim: 1, 0..<plan.realFrames).contiguous()
        return Output(segmentLatents: latents, video: video)
    }

    /// `[20, F, h, w]`: the mask channels and the latent of the segment's conditioning video.
    func referenceConditioning(_ inputs: AnimateInputs, _ indices: [Int], previous: Tensor?, segment: Int,
                               width: Int, height: Int) throws -> Tensor {
        let m = models, t = indices.count, refert = inputs.refertNum, plane = width * height
        let h = height / 8, w = width / 8
        let replace = inputs.mode == .replace
        // Pixels: the previous segment's last `refert` frames (first segment: background or zeros),
        // then background or zeros.
        let video = replace ? AnimatePreprocessing.pixels(inputs.background!, indices, width: width, height: height)
            : Tensor(zeros: [3, t, height, width])
        if let previous {
            let tail = try previous.sliced(dim: 1, (previous.shape[1] - refert)..<previous.shape[1]).contiguous()
            for c in 0..<3 {
                (video.data + c * t * plane).update(from: tail.data + c * refert * plane, count: refert * plane)
            }
        }
        let latent = try m.vae.encode(video)
        // Mask per pixel frame: 1 where the frame is given; replace adds 1 − mask (the scene to keep).
        var values = [Float](repeating: 0, count: t * h * w)
        if replace {
            for (k, i) in indices.enumerated() {
                let plane = AnimatePreprocessing.maskPlane(inputs.mask![i], width: width, height: height,
                                                           official: m.folder.layout == .official)
                let small = AnimatePreprocessing.nearest(plane.map { 1 - $0 }, width: width, height: height, toWidth: w, toHeight: h)
                for j in 0..<(h * w) { values[k * h * w + j] = small[j] }
            }
        }
        if segment > 0 { for j in 0..<(refert * h * w) { values[j] = 1 } }
        let mask = AnimatePreprocessing.latentMask(values, pixelFrames: t, height: h, width: w)
        return try Tensor.concat([mask, latent], dim: 0)
    }

    func validate(_ r: GenerationRequest) throws -> AnimateInputs {
        guard r.mode == .animate else { throw EngineError(.badRequest, "the Animate pipeline runs mode animate, not \(r.mode.rawValue)") }
        guard r.sampler != .dmd, r.sigmaSchedule != .dmd else {
            throw EngineError(.badRequest, "the DMD sampler (recipe fastwan-3step) is for FastWan t2v/ti2v/i2v/edit models, not animate")
        }
        guard let inputs = r.animate else {
            throw EngineError(.badRequest, "mode animate needs the preprocessed driving videos (pose and face, plus background "
                              + "and mask for replace)")
        }
        guard let image = r.image else { throw EngineError(.badRequest, "mode animate needs the reference character image") }
        _ = image
        guard r.width > 0, r.height > 0, r.width % 16 == 0, r.height % 16 == 0 else {
            throw EngineError(.badRequest, "size \(r.width)x\(r.height) must be a multiple of 16 for Animate")
        }
        guard [1, 5].contains(inputs.refertNum) else {
            throw EngineError(.badRequest, "refert_num must be 1 or 5 (got \(inputs.refertNum))")
        }
        guard r.frames % 4 == 1, r.frames >= 2 * inputs.refertNum + 1 else {
            throw EngineError(.badRequest, "the segment length (frames) must be 4n+1 and at least \(2 * inputs.refertNum + 1) "
                              + "for refert_num \(inputs.refertNum) (got \(r.frames))")
        }
        guard r.steps >= 1 else { throw EngineError(.badRequest, "steps must be at least 1") }
        guard inputs.pose.count > inputs.refertNum, inputs.pose.count >= 2 else {
            throw EngineError(.badRequest, "the pose video has \(inputs.pose.count) frames; it needs more than refert_num (\(inputs.refertNum))")
        }
        guard inputs.face.count == inputs.pose.count else {
            throw EngineError(.badRequest, "the face video has \(inputs.face.count) frames and the pose video \(inputs.pose.count); "
                              + "the preprocessing writes one face crop per pose frame")
        }
        if inputs.mode == .replace {
            guard let bg = inputs.background, let mask = inputs.mask else {
                throw EngineError(.badRequest, "animate_mode replace needs the background and mask videos (src_bg.mp4, src_mask.mp4 "
                                  + "from the preprocessing with --replace_flag)")
            }
            guard bg.count == inputs.pose.count, mask.count == inputs.pose.count else {
                throw EngineError(.badRequest, "the background (\(bg.count)) and mask (\(mask.count)) videos must have as many frames "
                                  + "as the pose video (\(inputs.pose.count))")
            }
        }
        return inputs
    }

    func encodeText(_ text: String) throws -> Tensor {
        let cleaned = WanPromptCleaner.clean(text)
        let (ids, count) = models.tokenizer.encodeForUMT5(cleaned, maxLength: models.dit.config.base.textLen)
        return try models.textEncoder.encode(Array(ids.prefix(count)))
    }
}
