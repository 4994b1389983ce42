import Foundation
import WandEngine

/// One job, every default filled in. Input paths are absolute and confined (see JobFileParser).
public struct JobSpec: Sendable, Codable {
    public var mode: GenerationMode
    public var model: String
    public var prompt: String
    public var negativePrompt: String?
    public var seed: UInt64?
    public var width: Int
    public var height: Int
    public var frames: Int
    public var fps: Int
    public var steps: Int
    public var sampler: SamplerKind
    public var shift: Double?
    public var guidanceHigh: Double
    public var guidanceLow: Double
    public var image: String?
    public var audio: String?
    public var video: String?
    public var strength: Double
    public var priority: Int
    public var outputName: String
    public var codec: String
    public var crf: Int
    public var tags: [String]
    /// Where the job came from (the job file and the line of its document, or the bare drop).
    public var source: SourceLocation

    /// Every input file the job reads.
    public var inputs: [String] { [image, audio, video].compactMap { $0 } }
}

/// The official defaults per mode (shared/reference/wan-architecture.md 3.2).
public struct ModeDefaults: Sendable {
    public var steps: Int
    public var shift: Double
    public var guidanceHigh: Double
    public var guidanceLow: Double
    public var frames: Int
    public var fps: Int
    public var size: (Int, Int)

    public static func official(_ mode: GenerationMode) -> ModeDefaults {
        switch mode {
        case .t2v, .edit: return ModeDefaults(steps: 40, shift: 12, guidanceHigh: 4, guidanceLow: 3, frames: 81, fps: 16, size: (1280, 720))
        case .i2v: return ModeDefaults(steps: 40, shift: 5, guidanceHigh: 3.5, guidanceLow: 3.5, frames: 81, fps: 16, size: (1280, 720))
        case .ti2v: return ModeDefaults(steps: 50, shift: 5, guidanceHigh: 5, guidanceLow: 5, frames: 121, fps: 24, size: (1280, 704))
        case .s2v: return ModeDefaults(steps: 40, shift: 3, guidanceHigh: 4.5, guidanceLow: 4.5, frames: 81, fps: 16, size: (1280, 720))
        case .animate: return ModeDefaults(steps: 20, shift: 5, guidanceHigh: 1, guidanceLow: 1, frames: 77, fps: 30, size: (1280, 720))
        }
    }
}
