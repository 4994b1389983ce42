// Official per-model defaults and accepted sizes: wan-architecture.md §3.2 (wan/configs,
// generate.py) and §8 (S2V, Animate). Edit (video-to-video) keeps the base model's defaults and
// adds strength 0.8 (diffusers WanVideoToVideoPipeline, §8.3).

public struct ModelDefaults: Sendable, Hashable {
    public var steps: Int
    public var shift: Double
    public var guidance: Guidance
    public var sampler: Sampler
    public var frames: Int
    public var fps: Int
    /// Sizes the official code accepts (W x H); the first is the default.
    public var sizes: [VideoSize]
    /// Modes this family can run.
    public var modes: Set<Mode>

    public static func of(_ kind: ModelKind) -> ModelDefaults {
        let wide720 = VideoSize(width: 1280, height: 720), tall720 = VideoSize(width: 720, height: 1280)
        let wide480 = VideoSize(width: 832, height: 480), tall480 = VideoSize(width: 480, height: 832)
        switch kind {
        case .t2vA14B:
            return ModelDefaults(steps: 40, shift: 12.0, guidance: .split(high: 4.0, low: 3.0), sampler: .unipc,
                                 frames: 81, fps: 16, sizes: [wide720, tall720, wide480, tall480], modes: [.t2v, .edit])
        case .i2vA14B:
            return ModelDefaults(steps: 40, shift: 5.0, guidance: .split(high: 3.5, low: 3.5), sampler: .unipc,
                                 frames: 81, fps: 16, sizes: [wide720, tall720, wide480, tall480], modes: [.i2v])
        case .ti2v5B:
            return ModelDefaults(steps: 50, shift: 5.0, guidance: .single(5.0), sampler: .unipc,
                                 frames: 121, fps: 24,
                                 sizes: [VideoSize(width: 1280, height: 704), VideoSize(width: 704, height: 1280)],
                                 modes: [.t2v, .i2v, .ti2v, .edit])
        case .s2v14B:
            return ModelDefaults(steps: 40, shift: 3.0, guidance: .single(4.5), sampler: .unipc,
                                 frames: 81, fps: 16,
                                 sizes: [wide720, tall720, wide480, tall480,
                                         VideoSize(width: 1024, height: 704), VideoSize(width: 704, height: 1024)],
                                 modes: [.s2v])
        case .animate14B:
            return ModelDefaults(steps: 20, shift: 5.0, guidance: .single(1.0), sampler: .unipc,
                                 frames: 77, fps: 30, sizes: [wide720, tall720], modes: [.animate])
        }
    }

    /// Edit's default strength (diffusers video-to-video).
    public static let editStrength = 0.8
}
