import Foundation
import WandEngine

/// What a job asks the engine to do.
public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
    case t2v, i2v, ti2v, s2v, animate, edit
}

/// The model families whose defaults and sizes we know (wan-architecture.md §3.2, §8).
public enum ModelKind: String, Sendable, Hashable, Codable, CaseIterable {
    case t2vA14B = "t2v-a14b"
    case i2vA14B = "i2v-a14b"
    case ti2v5B = "ti2v-5b"
    case s2v14B = "s2v-14b"
    case animate14B = "animate-14b"
}

public enum Sampler: String, Sendable, Hashable, Codable, CaseIterable {
    case unipc
    case dpmpp = "dpm++"
    case euler
    /// FastWan's DMD sampler (x0, then fresh noise); `recipe: fastwan-3step` sets it with its grid.
    case dmd
}

public enum VideoCodec: String, Sendable, Hashable, Codable, CaseIterable {
    case h264, hevc
}

/// Frame size in pixels, written `WIDTHxHEIGHT` in files.
public struct VideoSize: Sendable, Hashable, Codable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public var description: String { "\(width)x\(height)" }
}

/// Classifier-free guidance: one scale, or one per expert for the two-expert A14B models.
public enum Guidance: Sendable, Hashable, Codable {
    case single(Double)
    case split(high: Double, low: Double)

    public var high: Double { switch self { case .single(let g): g; case .split(let h, _): h } }
    public var low: Double { switch self { case .single(let g): g; case .split(_, let l): l } }
}

public struct OutputSpec: Sendable, Hashable, Codable {
    /// Base file name without extension (default: the job file's stem, `-seedN` added for `seeds:`).
    public var name: String
    public var codec: VideoCodec
    public var crf: Int
    public init(name: String, codec: VideoCodec, crf: Int) {
        self.name = name; self.codec = codec; self.crf = crf
    }
}

/// A LoRA a job (or its model's config entry) merges in: an absolute, confined path, a strength
/// and the expert(s) of a two-expert model it goes into.
public struct LoRASpec: Sendable, Hashable, Codable {
    public var path: URL
    public var strength: Double
    public var expert: LoRAExpert
    public init(path: URL, strength: Double = 1, expert: LoRAExpert = .both) {
        self.path = path; self.strength = strength; self.expert = expert
    }
}

/// One job, fully resolved: every default filled in except `seed` (nil: drawn at run time and
/// recorded in the sidecar). Input URLs are absolute, symlink-resolved and confined to the job's
/// folder or the configured input roots.
public struct JobSpec: Sendable, Hashable, Codable {
    public var mode: Mode
    /// The model's name as in the config's `models:` (or a built-in kind name).
    public var model: String
    public var modelKind: ModelKind
    public var prompt: String
    /// nil: the model's built-in default negative prompt (the engine owns that exact string).
    public var negativePrompt: String?
    public var seed: UInt64?
    public var size: VideoSize
    public var frames: Int
    public var fps: Int
    public var steps: Int
    public var sampler: Sampler
    public var shift: Double
    public var guidance: Guidance
    /// i2v, ti2v (optional), s2v, animate: the reference image.
    public var image: URL?
    /// s2v: the speech/audio track.
    public var audio: URL?
    /// edit: the video to edit; animate: the driving (pose) video.
    public var video: URL?
    /// s2v (optional): a pose video (e.g. DWPose-rendered) the motion follows.
    public var poseVideo: URL? = nil
    /// s2v: at most this many clips of 80 frames (5 s); nil: S2VLimits.defaultClips.
    public var clips: Int? = nil
    /// edit: fraction of the schedule re-generated (0...1); nil for other modes.
    public var strength: Double?
    public var priority: Int
    public var output: OutputSpec
    public var tags: [String]
    /// The job file (or the bare drop's main file) and the YAML document this job came from.
    public var source: SourceLocation
    /// animate (`video` is the pose video): the face crops, and for replace the background and
    /// the character mask; animate or replace; the frames a segment takes from the previous one.
    public var faceVideo: URL?
    public var backgroundVideo: URL?
    public var maskVideo: URL?
    public var animateMode: AnimateMode?
    public var refertNum: Int?
    /// LoRAs merged into the model for this job: the model entry's first, then the job's. nil
    /// (none) also for jobs spooled by a Wand without LoRAs.
    public var loras: [LoRASpec]?
    /// The few-step recipe in effect (FewStepRecipe name), nil for none.
    public var recipe: String?

    public init(mode: Mode, model: String, modelKind: ModelKind, prompt: String, negativePrompt: String?,
                seed: UInt64?, size: VideoSize, frames: Int, fps: Int, steps: Int, sampler: Sampler,
                shift: Double, guidance: Guidance, image: URL?, audio: URL?, video: URL?,
                strength: Double?, priority: Int, output: OutputSpec, tags: [String],
                source: SourceLocation) {
        self.mode = mode; self.model = model; self.modelKind = modelKind; self.prompt = prompt
        self.negativePrompt = negativePrompt; self.seed = seed; self.size = size; self.frames = frames
        self.fps = fps; self.steps = steps; self.sampler = sampler; self.shift = shift
        self.guidance = guidance; self.image = image; self.audio = audio; self.video = video
        self.strength = strength; self.priority = priority; self.output = output; self.tags = tags
        self.source = source
    }

    /// Every input file the job reads (for hashing, moving to failed/, confinement).
    public var inputFiles: [URL] { [image, audio, video, poseVideo, faceVideo, backgroundVideo, maskVideo].compactMap { $0 } }
}
