import WandModels
import WandTensor

/// The resident engine: owns the loaded models, keeps them warm between jobs (evicting the least
/// recently used by the memory budget), and runs one generation at a time. Everything the daemon
/// and `wand generate` produce goes through here.
public actor Engine: VideoGenerator {
    public let backend: any ComputeBackend
    public let cache: ResidentModelCache
    /// The dtype LoRA-merged weights are kept in.
    public let loraPrecision: LoRAMergePrecision
    /// The device, for logs and the sidecar (`ComputeDevice.description`).
    public nonisolated let deviceDescription: String

    /// `memoryBudgetBytes`: how much the loaded models may occupy (on the device for a device
    /// backend); `keepWarm`: model folder paths (or LoRA cache keys) that are never evicted;
    /// `device`: nil is the CPU.
    public init(memoryBudgetBytes: Int, keepWarm: Set<String> = [], threads: Int? = nil, device: ComputeDevice? = nil,
                loraPrecision: LoRAMergePrecision = .stored) {
        let device = device ?? ComputeDevice.cpu(threads: threads)
        backend = device.backend
        deviceDescription = device.description
        // S2V and Animate models are cached under their own keys, pinned alike.
        cache = ResidentModelCache(budgetBytes: memoryBudgetBytes,
                                   pinned: keepWarm.union(keepWarm.map(S2VModelSet.cacheKey)).union(keepWarm.map { "animate:" + $0 }))
        self.loraPrecision = loraPrecision
    }

    /// The warm cache's key for a model folder with LoRAs (the folder alone without): what
    /// `keepWarm` must hold to pin such a model.
    public static func cacheKey(modelPath: String, loras: [LoRARequest]) throws -> String {
        try LoRAModelLoader.cacheKey(modelPath: modelPath, loras: loras)
    }

    public func generate(_ request: GenerationRequest,
                         progress: @escaping @Sendable (GenerationProgress) -> Void,
                         isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        if request.mode == .s2v { return try await generateS2V(request, progress: progress, isCancelled: isCancelled) }
        var timings = StageTimings()
        var clock = Stopwatch()
        progress(GenerationProgress(stage: .loading))
        let backend = self.backend
        let path = request.modelPath
        if request.mode == .animate { return try await animate(request, progress: progress, isCancelled: isCancelled) }
        let models: WanModelSet, warm: Bool
        var applied: [AppliedLoRA] = [], loraNotes: [String] = []
        if request.loras.isEmpty {
            (models, warm) = try await cache.value(for: path, as: WanModelSet.self) {
                let set = try WanModelSet(folder: try WanModelFolder.open(path), backend: backend)
                return (set, set.residentBytes)
            }
        } else {
            // Keyed by the LoRA set too: another set never reuses these merged weights.
            let loras = request.loras, precision = loraPrecision
            let key = try LoRAModelLoader.cacheKey(modelPath: path, loras: loras)
            let (loaded, wasWarm) = try await cache.value(for: key, as: LoRAModelSet.self) {
                let base = try WanModelSet(folder: try WanModelFolder.open(path), backend: backend)
                return try LoRAModelLoader.load(base: base, loras: loras, precision: precision)
            }
            (models, warm, applied) = (loaded.models, wasWarm, loaded.applied)
            loraNotes = loaded.notes + (wasWarm ? [] : [loaded.loadNote])
        }
        timings.load = warm ? 0 : clock.lap()
        timings.modelWasWarm = warm

        let (latents, video) = try await WanVideoPipeline(models: models).run(
            request, timings: &timings, progress: progress, isCancelled: isCancelled)
        let negative = request.negativePrompt == nil
            ? (models.folder.layout == .official ? "official default negative prompt" : "empty negative prompt (diffusers default)")
            : "negative prompt as given"
        var result = GeneratedVideo(width: request.width, height: request.height, fps: request.fps,
                                    frames: Self.frames(video), latents: flat(latents), latentShape: latents.shape,
                                    timings: timings, device: deviceDescription,
                                    notes: ["\(models.folder.layout.rawValue) layout, \(models.folder.convention.rawValue) sampler grid",
                                            negative] + loraNotes)
        result.loras = applied
        return result
    }

    func animate(_ request: GenerationRequest, progress: @escaping @Sendable (GenerationProgress) -> Void,
                 isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        var timings = StageTimings()
        var clock = Stopwatch()
        let backend = self.backend, path = request.modelPath
        // A folder's Animate networks are cached under their own key: WanModelSet cannot load them.
        let models: WanAnimateModelSet, warm: Bool
        var applied: [AppliedLoRA] = [], loraNotes: [String] = []
        if request.loras.isEmpty {
            (models, warm) = try await cache.value(for: "animate:" + path, as: WanAnimateModelSet.self) {
                let set = try WanAnimateModelSet(folder: try WanModelFolder.open(path), backend: backend)
                return (set, set.residentBytes)
            }
        } else {
            let loras = request.loras, precision = loraPrecision
            let key = "animate:" + (try LoRAModelLoader.cacheKey(modelPath: path, loras: loras))
            let (loaded, wasWarm) = try await cache.value(for: key, as: LoRAMerged<WanAnimateModelSet>.self) {
                let base = try WanAnimateModelSet(folder: try WanModelFolder.open(path), backend: backend)
                return try LoRAModelLoader.load(base: base, loras: loras, precision: precision)
            }
            (models, warm, applied) = (loaded.models, wasWarm, loaded.applied)
            loraNotes = loaded.notes + (wasWarm ? [] : [loaded.loadNote])
        }
        timings.load = warm ? 0 : clock.lap()
        timings.modelWasWarm = warm
        let out = try await WanAnimatePipeline(models: models).run(request, timings: &timings, progress: progress,
                                                                    isCancelled: isCancelled)
        let latents = try Tensor.concat(out.segmentLatents, dim: 1)
        let inputs = request.animate!
        var result = GeneratedVideo(width: request.width, height: request.height, fps: request.fps, frames: Self.frames(out.video),
                                    latents: flat(latents), latentShape: latents.shape, timings: timings, device: deviceDescription,
                                    notes: ["\(models.folder.layout.rawValue) layout, \(models.folder.convention.rawValue) sampler grid",
                                            "animate_mode \(inputs.mode.rawValue), \(out.segmentLatents.count) segment(s) of \(request.frames) "
                                              + "frames, refert_num \(inputs.refertNum); latents: the segments' final latents in order"] + loraNotes)
        result.loras = applied
        return result
    }

    /// [3, T, H, W] in [-1, 1] -> uint8 RGB frames, truncating as both references do
    /// (uint8 of (x + 1) / 2 * 255).
    static func frames(_ video: Tensor) -> [RGBImage] {
        let (t, h, w) = (video.shape[1], video.shape[2], video.shape[3])
        let v = flat(video)
        let plane = h * w
        return (0..<t).map { f in
            var px = [UInt8](repeating: 0, count: plane * 3)
            for i in 0..<plane {
                for ch in 0..<3 {
                    let x = v[ch * t * plane + f * plane + i]
                    px[i * 3 + ch] = UInt8(max(0, min(255, (x + 1) / 2 * 255)))
                }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
    }
}
