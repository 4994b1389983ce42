import CAV
import Foundation

/// Reads an S2V pose video as the official `WanS2V.read_last_n_frames(..., reverse=True)` does:
/// from the first frame, every `round(fps / 16)`-th frame (half to even, as Python rounds), at
/// most `frames` of them, so a 30 fps video gives 15 poses a second, not a 16 fps resampling.
/// Frames are scaled while decoding so that the shorter side is `shorterSide` (torchvision's
/// Resize size rule), which bounds memory by the output size, not the source.
public enum PoseVideoReader {
    public static func read(path: String, frames: Int, targetFPS: Int = 16, shorterSide: Int) throws -> VideoFrames {
        guard frames >= 1, targetFPS >= 1, shorterSide >= 1 else {
            throw MediaError.invalidInput(path: path, reason: "asked for \(frames) pose frames at \(targetFPS) fps")
        }
        let decoder = try StreamDecoder(path: path, type: AVMEDIA_TYPE_VIDEO)
        let rate = decoder.stream.pointee.avg_frame_rate
        let fps = rate.den > 0 && rate.num > 0 ? Double(rate.num) / Double(rate.den) : 25
        let interval = max(1, Int((fps / Double(targetFPS)).rounded(.toNearestOrEven)))
        var out: [RGBFrame] = []
        var index = 0
        try decoder.forEachFrame { frame in
            defer { index += 1 }
            guard index % interval == 0 else { return true }
            let w = Int(frame.pointee.width), h = Int(frame.pointee.height)
            guard w > 0, h > 0 else { throw MediaError.corrupt(path: path, reason: "a frame has no size") }
            let (rw, rh) = w <= h ? (shorterSide, Int(Double(shorterSide) * Double(h) / Double(w)))
                                  : (Int(Double(shorterSide) * Double(w) / Double(h)), shorterSide)
            out.append(try PictureConverter.rgb(from: frame, width: max(1, rw), height: max(1, rh), path: path))
            return out.count < frames
        }
        return VideoFrames(frames: out, fps: max(1, Int((fps / Double(interval)).rounded())))
    }
}
