import WandModels
import WandTensor

/// The resident engine: owns the loaded models, keeps them warm between jobs (evicting the least
/// recently used by the memory budget), and runs one generation at a time. Everything the daemon
/// and `wand generate` produce goes through here.
public actor Engine: VideoGenerator {
    public let backend: any ComputeBackend
    public let cache: ResidentModelCache
    /// The device, for logs and the sidecar (`ComputeDevice.description`).
    public nonisolated let deviceDescription: String

    /// `memoryBudgetBytes`: how much the loaded models may occupy (on the device for a device
    /// backend); `keepWarm`: model folder paths that are never evicted; `device`: nil is the CPU.
    public init(memoryBudgetBytes: Int, keepWarm: Set<String> = [], threads: Int? = nil, device: ComputeDevice? = nil) {
        let device = device ?? ComputeDevice.cpu(threads: threads)
        backend = device.backend
        deviceDescription = device.description
        cache = ResidentModelCache(budgetBytes: memoryBudgetBytes, pinned: keepWarm)
    }

    public func generate(_ request: GenerationRequest,
                         progress: @escaping @Sendable (GenerationProgress) -> Void,
                         isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        var timings = StageTimings()
        var clock = Stopwatch()
        progress(GenerationProgress(stage: .loading))
        let backend = self.backend
        let path = request.modelPath
        let (models, warm) = try await cache.value(for: path, as: WanModelSet.self) {
            let set = try WanModelSet(folder: try WanModelFolder.open(path), backend: backend)
            return (set, set.residentBytes)
        }
        timings.load = warm ? 0 : clock.lap()
        timings.modelWasWarm = warm

        let (latents, video) = try await WanVideoPipeline(models: models).run(
            request, timings: &timings, progress: progress, isCancelled: isCancelled)
        let negative = request.negativePrompt == nil
            ? (models.folder.layout == .official ? "official default negative prompt" : "empty negative prompt (diffusers default)")
            : "negative prompt as given"
        return GeneratedVideo(width: request.width, height: request.height, fps: request.fps,
                              frames: Self.frames(video), latents: flat(latents), latentShape: latents.shape,
                              timings: timings, device: deviceDescription,
                              notes: ["\(models.folder.layout.rawValue) layout, \(models.folder.convention.rawValue) sampler grid",
                                      negative])
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
