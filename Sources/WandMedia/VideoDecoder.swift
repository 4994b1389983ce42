import CAV
import Foundation

/// Decodes MP4, MOV, WebM (anything libavformat reads) to RGB frames at a target size and frame rate.
public enum VideoDecoder {
    /// - fps: target rate; frames are picked by timestamp (nearest earlier source frame), nil keeps every frame.
    /// - width/height: target size; nil keeps the source size.
    /// - maxFrames: stop after this many output frames.
    public static func decode(path: String, fps: Int? = nil, width: Int? = nil, height: Int? = nil,
                              maxFrames: Int? = nil) throws -> VideoFrames {
        let decoder = try StreamDecoder(path: path, type: AVMEDIA_TYPE_VIDEO)
        let tb = decoder.stream.pointee.time_base
        let rate = decoder.stream.pointee.avg_frame_rate
        let sourceFPS = rate.den > 0 && rate.num > 0 ? Double(rate.num) / Double(rate.den) : 25
        var frames: [RGBFrame] = []
        var index = 0
        var firstTime: Double?
        var nextOutputTime = 0.0
        try decoder.forEachFrame { frame in
            let ts = frame.pointee.best_effort_timestamp
            let seconds: Double
            if ts != Int64.min, tb.den > 0 {
                seconds = Double(ts) * Double(tb.num) / Double(tb.den)
            } else {
                seconds = Double(index) / sourceFPS
            }
            index += 1
            let t0 = firstTime ?? seconds
            firstTime = t0
            let t = seconds - t0
            if let fps {
                // A source frame covers [t, t + 1/sourceFPS); emit every output instant it covers.
                let end = t + 1 / sourceFPS
                var picture: RGBFrame?
                while nextOutputTime < end - 1e-9 {
                    if picture == nil { picture = try PictureConverter.rgb(from: frame, width: width, height: height, path: path) }
                    frames.append(picture!)
                    nextOutputTime = Double(frames.count) / Double(fps)
                    if let maxFrames, frames.count >= maxFrames { return false }
                }
            } else {
                frames.append(try PictureConverter.rgb(from: frame, width: width, height: height, path: path))
                if let maxFrames, frames.count >= maxFrames { return false }
            }
            return true
        }
        return VideoFrames(frames: frames, fps: fps ?? Int(sourceFPS.rounded()))
    }
}
