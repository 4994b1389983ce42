import Foundation

/// Reads the invisible watermark of a picture or a video file, pooling votes over all (or every k-th) frame.
public enum WatermarkDetector {
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "webp"]

    public static func detect(path: String, every: Int = 1, maxFrames: Int? = nil) throws -> InvisibleWatermark.Detection {
        let ext = (path as NSString).pathExtension.lowercased()
        if imageExtensions.contains(ext) {
            return InvisibleWatermark.detect(try ImageDecoder.decode(path: path))
        }
        let clip = try VideoDecoder.decode(path: path, maxFrames: maxFrames)
        var votes = InvisibleWatermark.Votes()
        for (i, frame) in clip.frames.enumerated() where i % max(1, every) == 0 {
            votes.add(InvisibleWatermark.votes(frame))
        }
        guard !votes.isEmpty else { throw MediaError.invalidInput(path: path, reason: "frames too small to carry a mark") }
        return votes.decide()
    }
}
