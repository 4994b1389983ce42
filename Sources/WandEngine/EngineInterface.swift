import WandMedia

// What the daemon and `wand generate` ask of the engine, and what they get back. The daemon
// talks to a `VideoGenerator`; the production one is `Engine` (the resident model cache and
// the Wan pipelines), tests use their own. Nothing here imports Foundation.

public enum GenerationMode: String, Sendable, CaseIterable, Codable {
    case t2v, i2v, ti2v, s2v, animate, edit
}

/// RGB pixels, row-major, 3 bytes per pixel: WandMedia's frame type, shared so that decoded inputs
/// and generated frames pass between the engine and media without conversion.
public typealias RGBImage = RGBFrame

public struct GenerationRequest: Sendable {
    public var mode: GenerationMode
    /// The model's name (for logs and the sidecar) and its folder (official or diffusers layout).
    public var modelName: String
    public var modelPath: String
    public var prompt: String
    /// nil: the model's default negative prompt (the official one for official folders,
    /// an empty one for diffusers folders, as each reference does).
    public var negativePrompt: String?
    public var seed: UInt64
    public var width: Int
    public var height: Int
    public var frames: Int
    public var fps: Int
    public var steps: Int
    public var sampler: SamplerKind
    /// nil: the model folder's default (diffusers scheduler_config.json, or the official default).
    public var shift: Double?
    /// Guidance of the high-noise expert (or the only model) and of the low-noise expert.
    public var guidance: Float
    public var guidanceLow: Float?
    /// edit: how much of the source is re-generated (0...1).
    public var strength: Double
    /// i2v, ti2v (optional): the reference image; edit: the source video's frames.
    public var image: RGBImage?
    public var video: [RGBImage]?
    /// Decode in spatial tiles of this many pixels (overlapping by a quarter tile, blended) instead
    /// of whole frames: the decoder's memory then follows the tile, not the frame, at the cost of
    /// recomputing the overlaps and small seams (measured by VAETrainedTilingTests). nil: whole frames.
    public var vaeTilePixels: Int?
    /// animate: the driving videos and the animate/replace choice (`image` is the reference
    /// character, `frames` the segment length, 77 for Animate-14B).
    public var animate: AnimateInputs?
    /// s2v: the speech track, 16 kHz mono (the caller decodes it and bounds its length).
    public var audio: [Float]?
    /// s2v (optional): the pose video's frames, taken at the official interval (S2VPose).
    public var poseVideo: [RGBImage]?
    /// s2v: at most this many clips; nil: as many as the audio asks for.
    public var clips: Int?
    /// LoRAs merged into the DiT weights at load, in order (the warm cache keys the model by them).
    public var loras: [LoRARequest] = []
    /// Where the sigmas come from: the sampler's grid, or a few-step recipe's (FewStepRecipe).
    public var sigmaSchedule: SigmaSchedule = .model

    public init(mode: GenerationMode, modelName: String, modelPath: String, prompt: String,
                negativePrompt: String? = nil, seed: UInt64, width: Int, height: Int, frames: Int,
                fps: Int, steps: Int, sampler: SamplerKind = .unipc, shift: Double? = nil,
                guidance: Float, guidanceLow: Float? = nil, strength: Double = 0.8,
                image: RGBImage? = nil, video: [RGBImage]? = nil) {
        self.mode = mode
        self.modelName = modelName
        self.modelPath = modelPath
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.width = width
        self.height = height
        self.frames = frames
        self.fps = fps
        self.steps = steps
        self.sampler = sampler
        self.shift = shift
        self.guidance = guidance
        self.guidanceLow = guidanceLow
        self.strength = strength
        self.image = image
        self.video = video
    }
}

public enum GenerationStage: String, Sendable {
    case loading, encodingText = "encoding_text", encodingInput = "encoding_input"
    case denoising, decoding
}

public struct GenerationProgress: Sendable, Equatable {
    public var stage: GenerationStage
    public var step: Int
    public var totalSteps: Int

    public init(stage: GenerationStage, step: Int = 0, totalSteps: Int = 0) {
        self.stage = stage
        self.step = step
        self.totalSteps = totalSteps
    }
}

/// Seconds spent per stage; `load` is 0 when the model was already warm.
public struct StageTimings: Sendable, Equatable {
    public var load = 0.0
    public var textEncode = 0.0
    public var inputEncode = 0.0
    public var denoise = 0.0
    public var decode = 0.0
    public var modelWasWarm = false
    public init() {}
}

public struct GeneratedVideo: Sendable {
    public var width: Int
    public var height: Int
    public var fps: Int
    public var frames: [RGBImage]
    /// The final latents, normalized, [C, F, h, w] flattened (for --latents-out and tests).
    public var latents: [Float]
    public var latentShape: [Int]
    public var timings: StageTimings
    /// What actually ran, for the sidecar: the device, the sampler grid, the negative prompt used.
    public var device: String
    public var notes: [String]
    /// The LoRAs merged into the model that ran, with their files' SHA-256.
    public var loras: [AppliedLoRA] = []

    public init(width: Int, height: Int, fps: Int, frames: [RGBImage], latents: [Float], latentShape: [Int],
                timings: StageTimings, device: String, notes: [String]) {
        self.width = width
        self.height = height
        self.fps = fps
        self.frames = frames
        self.latents = latents
        self.latentShape = latentShape
        self.timings = timings
        self.device = device
        self.notes = notes
    }
}

public protocol VideoGenerator: Sendable {
    func generate(_ request: GenerationRequest,
                  progress: @escaping @Sendable (GenerationProgress) -> Void,
                  isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo
}

public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case unsupportedMode = "unsupported_mode"
        case badModelFolder = "bad_model_folder"
        case badRequest = "bad_request"
        case modelFailure = "model_failure"
    }
    public var kind: Kind
    public var message: String
    /// The file the error is about, when there is one (a model folder, a weights file).
    public var path: String?

    public init(_ kind: Kind, _ message: String, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
    }

    public var description: String { path.map { "\($0): \(message)" } ?? message }
}

/// Fails every job with a clear error: used where no engine can run (and never writes a video).
public struct UnavailableEngine: VideoGenerator {
    public let reason: String
    public init(reason: String = "no engine is available") { self.reason = reason }

    public func generate(_ request: GenerationRequest,
                         progress: @escaping @Sendable (GenerationProgress) -> Void,
                         isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        throw EngineError(.unsupportedMode, "no engine for mode \(request.mode.rawValue): \(reason)")
    }
}
