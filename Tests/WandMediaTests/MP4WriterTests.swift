import Foundation
import XCTest
@testable import WandMedia

final class MP4WriterTests: XCTestCase {
    private let metadata = MP4Metadata(title: "A fox in snow", prompt: "a red fox <jumps> & \"lands\" in snow, 日本語",
                                       jobID: "job-123", model: "wan2.2-ti2v-5b", seed: 42, wandVersion: "0.1.0",
                                       creationTime: Date(timeIntervalSince1970: 1_764_000_000))

    func testH264FileHasCodecPixFmtColourFpsFramesAndTags() throws {
        let clip = ProceduralClip.make(seed: 1, width: 96, height: 64, frames: 17, fps: 16)
        let path = MediaTestSupport.tempPath("tags.mp4")
        try MP4Writer.write(clip, to: path, metadata: metadata)
        let probe = try MediaTestSupport.ffprobe(path)
        let stream = (probe["streams"] as! [[String: Any]])[0]
        XCTAssertEqual(stream["codec_name"] as? String, "h264")
        XCTAssertEqual(stream["pix_fmt"] as? String, "yuv420p")
        XCTAssertEqual(stream["color_space"] as? String, "bt709")
        XCTAssertEqual(stream["color_primaries"] as? String, "bt709")
        XCTAssertEqual(stream["color_transfer"] as? String, "bt709")
        XCTAssertEqual(stream["color_range"] as? String, "tv")
        XCTAssertEqual(stream["avg_frame_rate"] as? String, "16/1")
        XCTAssertEqual(stream["r_frame_rate"] as? String, "16/1")
        XCTAssertEqual(stream["nb_read_frames"] as? String, "17")
        let tags = (probe["format"] as! [String: Any])["tags"] as! [String: String]
        XCTAssertEqual(tags["title"], "A fox in snow")
        XCTAssertEqual(tags["description"], metadata.prompt)
        XCTAssertEqual(tags["ai_generated"], "true")
        XCTAssertEqual(tags["digital_source_type"], MP4Metadata.digitalSourceType)
        XCTAssertTrue(tags["creation_time"]?.hasPrefix("2025-11-24T") ?? false, "\(tags["creation_time"] ?? "nil")")
        let comment = try JSONSerialization.jsonObject(with: Data((tags["comment"] ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(comment?["job_id"] as? String, "job-123")
        XCTAssertEqual(comment?["seed"] as? Int, 42)
        XCTAssertEqual(comment?["model"] as? String, "wan2.2-ti2v-5b")
        XCTAssertEqual(comment?["ai_generated"] as? Bool, true)
        XCTAssertEqual(tags["software"], "Wand 0.1.0")
    }

    func testFaststartPutsMoovBeforeMdat() throws {
        let clip = ProceduralClip.make(seed: 2, width: 64, height: 64, frames: 4)
        let path = MediaTestSupport.tempPath("faststart.mp4")
        try MP4Writer.write(clip, to: path, metadata: metadata)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let moov = find(Array("moov".utf8), in: bytes), mdat = find(Array("mdat".utf8), in: bytes)
        XCTAssertNotNil(moov)
        XCTAssertNotNil(mdat)
        XCTAssertLessThan(moov ?? .max, mdat ?? 0)
    }

    func testHEVCWithAudioTrack() throws {
        let clip = ProceduralClip.make(seed: 3, width: 64, height: 64, frames: 8, fps: 8)
        let samples = (0..<16_000).map { Float(sin(Double($0) * 2 * .pi * 440 / 16_000)) * 0.5 }
        let path = MediaTestSupport.tempPath("hevc-audio.mp4")
        try MP4Writer.write(clip, to: path, settings: VideoEncoderSettings(codec: .hevc, crf: 24, preset: "fast"),
                            metadata: metadata, audio: AudioSamples(samples: samples, channels: 1, sampleRate: 16_000))
        let streams = try MediaTestSupport.ffprobe(path)["streams"] as! [[String: Any]]
        XCTAssertEqual(streams.first { $0["codec_type"] as? String == "video" }?["codec_name"] as? String, "hevc")
        XCTAssertEqual(streams.first { $0["codec_type"] as? String == "video" }?["codec_tag_string"] as? String, "hvc1")
        XCTAssertEqual(streams.first { $0["codec_type"] as? String == "audio" }?["codec_name"] as? String, "aac")
        // The audio we wrote decodes back to about one second.
        let back = try AudioDecoder.decodeMono(path: path, sampleRate: 16_000)
        XCTAssertEqual(Double(back.count), 16_000, accuracy: 2_100)
    }

    func testRoundTripPSNRAtDefaultCRF() throws {
        let clip = ProceduralClip.make(seed: 7, width: 128, height: 96, frames: 12, fps: 16)
        let path = MediaTestSupport.tempPath("psnr.mp4")
        try MP4Writer.write(clip, to: path, metadata: nil)
        let back = try VideoDecoder.decode(path: path)
        XCTAssertEqual(back.frames.count, 12)
        XCTAssertEqual(back.fps, 16)
        let psnr = MediaTestSupport.psnr(clip.frames, back.frames)
        print("round-trip PSNR at CRF 18, 128x96x12: \(psnr) dB")
        XCTAssertGreaterThanOrEqual(psnr, 38)
    }

    func testOddSizeIsATypedError() {
        XCTAssertThrowsError(try MP4Writer(path: MediaTestSupport.tempPath("odd.mp4"), width: 63, height: 64,
                                           metadata: nil)) { error in
            guard case MediaError.invalidInput = error else { return XCTFail("\(error)") }
        }
    }

    private func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where Array(hay[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}
