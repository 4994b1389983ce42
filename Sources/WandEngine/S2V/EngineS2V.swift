import WandModels
import WandTensor

/// The official S2V negative prompt (wan/configs/wan_s2v_14B.py `sample_neg_prompt`, wan22
/// 2.2.11); it differs from the shared one (no colour/exposure terms, adds motion ones).
public let officialS2VNegativePrompt = "画面模糊，最差质量，画面模糊，细节模糊不清，情绪激动剧烈，手快速抖动，字幕，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"

extension Engine {
    /// Mode s2v on an official Wan2.2-S2V-14B folder: `request.image` (the reference), `request.audio`
    /// (16 kHz mono, already bounded by the caller), optional `request.poseVideo` and `request.clips`.
    /// The video is cut to the audio's length, as the official `ffmpeg -shortest` mux does.
    func generateS2V(_ request: GenerationRequest,
                     progress: @escaping @Sendable (GenerationProgress) -> Void,
                     isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        guard let image = request.image else { throw EngineError(.badRequest, "s2v needs a reference image") }
        guard let audio = request.audio, !audio.isEmpty else { throw EngineError(.badRequest, "s2v needs an audio track") }
        guard audio.count >= 400 else {
            throw EngineError(.badRequest, "the audio is \(audio.count) samples at 16 kHz; wav2vec2 needs at least 400 (25 ms)")
        }
        guard request.sampler != .dmd, request.sigmaSchedule == .model else {
            throw EngineError(.badRequest, "few-step recipes and the DMD sampler are not made for S2V (no distilled S2V model is published); "
                              + "leave out recipe: for s2v jobs")
        }
        guard request.loras.isEmpty else {
            throw EngineError(.badRequest, "LoRAs are not merged into the S2V DiT yet; leave out loras: for s2v jobs",
                              path: request.loras[0].path)
        }
        if let clips = request.clips, clips < 1 { throw EngineError(.badRequest, "clips must be at least 1 (got \(clips))") }
        var timings = StageTimings()
        var clock = Stopwatch()
        progress(GenerationProgress(stage: .loading))
        let backend = self.backend
        let (models, warm) = try await cache.value(for: S2VModelSet.cacheKey(request.modelPath), as: S2VModelSet.self) {
            let set = try S2VModelSet(folder: try S2VModelFolder.open(request.modelPath), backend: backend)
            return (set, set.residentBytes)
        }
        timings.load = warm ? 0 : clock.lap()
        timings.modelWasWarm = warm

        progress(GenerationProgress(stage: .encodingText))
        let pipeline = models.pipeline
        func encode(_ text: String) throws -> Tensor {
            let (ids, count) = models.tokenizer.encodeForUMT5(WanPromptCleaner.clean(text), maxLength: pipeline.dit.config.dit.textLen)
            return try models.textEncoder.encode(Array(ids.prefix(count)))
        }
        let negative = request.negativePrompt ?? officialS2VNegativePrompt
        let text = try encode(request.prompt), negativeText = try encode(negative)
        timings.textEncode = clock.lap()

        progress(GenerationProgress(stage: .encodingInput))
        // The job's size is an area; the official code fits the reference image's aspect into it.
        let size = S2VSize.official(imageHeight: image.height, imageWidth: image.width, area: request.width * request.height)
        let (w, h) = (size.width, size.height)
        guard w >= 64, h >= 64 else {
            throw EngineError(.badRequest, "the reference image (\(image.width)x\(image.height)) gives an output of \(w)x\(h); s2v needs at least 64x64")
        }
        let reference = try S2VImages.prepare([image], width: w, height: h, padValue: -1)
        let pose = try request.poseVideo.map { try S2VImages.prepare($0, width: w, height: h, padValue: 0) }
        timings.inputEncode = clock.lap()

        let settings = S2VPipeline.Settings(
            width: w, height: h, steps: request.steps, sampler: request.sampler,
            shift: request.shift ?? 3, guidance: request.guidance, seed: request.seed, clips: request.clips,
            vaeTiling: request.vaeTilePixels.map { px in
                let tile = max(2, px / 8)
                return VAETiling(tileHeight: tile, tileWidth: tile, overlap: max(1, tile / 4))
            })
        let out = try await pipeline.run(text: text, negativeText: negativeText, reference: reference, audio: audio,
                                         pose: pose, settings: settings, progress: { step, total in
            progress(GenerationProgress(stage: .denoising, step: step, totalSteps: total))
        }, isCancelled: isCancelled)
        timings.denoise = clock.lap()

        progress(GenerationProgress(stage: .decoding))
        var frames = Self.frames(out.video)
        let audioFrames = Int((Double(audio.count) / 16_000 * Double(S2VPipeline.fps)).rounded(.up))
        var notes = ["official layout, official sampler grid",
                     "\(w)x\(h): the reference image's aspect fitted into the \(request.width)x\(request.height) area, as the official code does",
                     request.negativePrompt == nil ? "official S2V default negative prompt" : "negative prompt as given",
                     "\(out.latents.count) clip(s) of \(pipeline.framesPerClip) frames (the audio asks for \(out.audioClips))"]
        if frames.count > audioFrames {
            notes.append("video cut from \(frames.count) to \(audioFrames) frames at the end of the audio")
            frames = Array(frames.prefix(audioFrames))
        }
        timings.decode = clock.lap()
        let last = out.latents.last!
        return GeneratedVideo(width: w, height: h, fps: S2VPipeline.fps, frames: frames, latents: flat(last),
                              latentShape: last.shape, timings: timings, device: deviceDescription, notes: notes)
    }
}
