import Foundation
import WandEngine
import WandMedia

/// The bounds of a speech-to-video job. The engine makes clips of 80 frames (5 s at 16 fps) for
/// as long as the audio lasts; without `clips:` a job stops at `defaultClips`, so an hours-long
/// file gives a bounded run (and a warning), and `clips:` may ask for up to `maxClips`.
public enum S2VLimits {
    public static let secondsPerClip = 5.0
    public static let defaultClips = 12
    public static let maxClips = 720
}

/// What the daemon (and `wand generate`) reads for an s2v job before and after the engine runs.
public enum S2VInputs {
    /// Decodes the audio (16 kHz mono, only as much as the clips can use) and the pose video into
    /// the request. Returns warnings for the sidecar.
    static func prepare(_ job: JobSpec, into request: inout GenerationRequest) throws -> [String] {
        guard let audioURL = job.audio else { throw EngineError(.badRequest, "mode s2v needs an audio file") }
        return try prepare(audio: audioURL, pose: job.poseVideo, clips: job.clips, size: job.size, into: &request)
    }

    /// The same from paths: `clips` nil is the default cap, `size` the area the output fits into.
    public static func prepare(audio audioURL: URL, pose: URL?, clips asked: Int?, size: VideoSize,
                               into request: inout GenerationRequest) throws -> [String] {
        let clips = asked ?? S2VLimits.defaultClips
        // One second more than the clips cover, so the engine still sees that the audio goes on.
        let audio = try AudioDecoder.decode(path: audioURL.path, sampleRate: 16_000, channels: 1,
                                            maxSeconds: Double(clips) * S2VLimits.secondsPerClip + 1)
        request.audio = audio.samples
        request.clips = clips
        var warnings: [String] = []
        if audio.truncated {
            let total = audio.containerSeconds.map { String(format: "%.1f s", $0) } ?? "longer"
            warnings.append("\(audioURL.lastPathComponent) is \(total); made at most \(clips) clips "
                            + "(\(Int(Double(clips) * S2VLimits.secondsPerClip)) s)\(asked == nil ? "; set clips: (up to \(S2VLimits.maxClips)) for more" : "")")
        }
        if let pose {
            // Scaled while decoding to the shorter side the engine will use (the output size
            // follows the reference image's aspect), so a long pose video stays small in memory.
            let image = request.image
            let fitted = S2VSize.official(imageHeight: image?.height ?? size.height, imageWidth: image?.width ?? size.width,
                                          area: size.width * size.height)
            let frames = try PoseVideoReader.read(path: pose.path, frames: clips * 80, shorterSide: min(fitted.width, fitted.height))
            request.poseVideo = frames.frames.map { RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels) }
        }
        return warnings
    }

    /// The input audio for the MP4 (48 kHz, its own channels up to stereo), decoded no further
    /// than the video lasts; MP4Writer cuts it at the last frame.
    static func muxTrack(_ job: JobSpec, frames: Int, fps: Int) throws -> AudioSamples? {
        guard job.mode == .s2v, let audio = job.audio else { return nil }
        return try muxTrack(audio: audio, frames: frames, fps: fps)
    }

    public static func muxTrack(audio: URL, frames: Int, fps: Int) throws -> AudioSamples {
        try AudioDecoder.decode(path: audio.path, sampleRate: 48_000, channels: nil,
                                maxSeconds: Double(frames) / Double(fps) + 0.5).asSamples
    }

    /// The sidecar's record of the audio: its file name and SHA-256.
    static func sidecarAudio(_ job: JobSpec) throws -> [String: String]? {
        guard job.mode == .s2v, let audio = job.audio else { return nil }
        return ["file": audio.lastPathComponent, "sha256": try SHA256.file(audio.path)]
    }
}
