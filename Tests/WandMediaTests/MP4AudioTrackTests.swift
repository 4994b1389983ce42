import Foundation
import XCTest
@testable import WandMedia

/// The speech-to-video output: the input audio muxed as AAC and cut to the video's duration,
/// checked with ffprobe (stream present, durations within one video frame).
final class MP4AudioTrackTests: XCTestCase {
    private func durations(_ path: String) throws -> (video: Double, audio: Double, audioStream: [String: Any]) {
        let streams = try MediaTestSupport.ffprobe(path)["streams"] as! [[String: Any]]
        let video = try XCTUnwrap(streams.first { $0["codec_type"] as? String == "video" })
        let audio = try XCTUnwrap(streams.first { $0["codec_type"] as? String == "audio" }, "no audio stream in \(path)")
        let v = Double(video["duration"] as? String ?? "") ?? -1, a = Double(audio["duration"] as? String ?? "") ?? -1
        return (v, a, audio)
    }

    func testLongerAudioIsCutToTheVideoWithinOneFrame() throws {
        for (rate, channels) in [(48_000, 2), (44_100, 1), (16_000, 1)] {
            let clip = ProceduralClip.make(seed: 4, width: 64, height: 64, frames: 33, fps: 16)  // 2.0625 s
            let n = rate * 3
            var samples = [Float](repeating: 0, count: n * channels)
            for i in 0..<n { for c in 0..<channels { samples[i * channels + c] = Float(sin(Double(i) * 0.03 * Double(c + 1))) * 0.4 } }
            let path = MediaTestSupport.tempPath("cut-\(rate)-\(channels).mp4")
            try MP4Writer.write(clip, to: path, metadata: nil,
                                audio: AudioSamples(samples: samples, channels: channels, sampleRate: rate))
            let d = try durations(path)
            XCTAssertEqual(d.audioStream["codec_name"] as? String, "aac")
            XCTAssertEqual(d.audioStream["channels"] as? Int, channels)
            XCTAssertEqual(d.audioStream["sample_rate"] as? String, String(rate))
            XCTAssertEqual(d.video, 2.0625, accuracy: 1e-3)
            XCTAssertEqual(d.audio, d.video, accuracy: 1.0 / 16, "\(rate) Hz x\(channels): audio \(d.audio) s, video \(d.video) s")
            print("\(rate) Hz x\(channels): video \(d.video) s, audio \(d.audio) s")
        }
    }

    func testShorterAudioIsKeptWhole() throws {
        let clip = ProceduralClip.make(seed: 5, width: 64, height: 64, frames: 16, fps: 16)  // 1 s
        let tone = try AudioDecoder.decode(path: MediaTestSupport.fixture("tone440.m4a"), sampleRate: 48_000, channels: nil)
        let path = MediaTestSupport.tempPath("short-audio.mp4")
        try MP4Writer.write(clip, to: path, metadata: nil, audio: tone.asSamples)
        let d = try durations(path)
        XCTAssertEqual(d.audio, tone.seconds, accuracy: 0.03)
        XCTAssertLessThan(d.audio, d.video)
    }
}

/// The S2V pose video as the official reader takes it: every round(fps / 16)-th frame from the start.
final class PoseVideoReaderTests: XCTestCase {
    func testThirtyFPSKeepsEveryOtherFrameAtTheShorterSide() throws {
        let path = MediaTestSupport.packageRoot.appendingPathComponent("Samples/pose.mp4").path  // 64x64, 30 fps, 9 frames
        let all = try PoseVideoReader.read(path: path, frames: 100, shorterSide: 32)
        XCTAssertEqual(all.frames.count, 5)  // frames 0, 2, 4, 6, 8
        XCTAssertEqual(all.fps, 15)
        XCTAssertEqual(all.frames[0].width, 32)
        XCTAssertEqual(all.frames[0].height, 32)
        XCTAssertEqual(try PoseVideoReader.read(path: path, frames: 3, shorterSide: 32).frames.count, 3)
        let direct = try VideoDecoder.decode(path: path, width: 32, height: 32)
        XCTAssertEqual(all.frames[2].pixels, direct.frames[4].pixels)
        XCTAssertThrowsError(try PoseVideoReader.read(path: MediaTestSupport.fixture("tone440.wav"), frames: 4, shorterSide: 32))
    }
}
