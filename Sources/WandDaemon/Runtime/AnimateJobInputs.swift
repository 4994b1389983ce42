import Foundation
import WandEngine
import WandMedia

extension Daemon {
    /// The longest driving video an animate job may bring (frames; 53 s at 30 fps).
    static let animateMaxFrames = 1601

    /// Decodes an animate job's driving videos (every frame, at their own size: the engine resizes
    /// them to the job's size as diffusers does).
    static func animateInputs(_ job: JobSpec) throws -> AnimateInputs {
        func frames(_ url: URL?, _ what: String) throws -> [RGBImage] {
            guard let url else { throw EngineError(.badRequest, "mode animate needs the \(what)") }
            let clip = try VideoDecoder.decode(path: url.path, maxFrames: animateMaxFrames + 1)
            guard clip.frames.count <= animateMaxFrames else {
                throw EngineError(.badRequest, "\(url.lastPathComponent) has more than \(animateMaxFrames) frames; split the driving video")
            }
            return clip.frames.map { RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels) }
        }
        let replace = job.animateMode == .replace
        return AnimateInputs(mode: job.animateMode ?? .animate, pose: try frames(job.video, "pose video"),
                             face: try frames(job.faceVideo, "face video"),
                             background: replace ? try frames(job.backgroundVideo, "background video") : nil,
                             mask: replace ? try frames(job.maskVideo, "mask video") : nil, refertNum: job.refertNum ?? 1)
    }
}
