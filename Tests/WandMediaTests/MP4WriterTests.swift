import Foundation
import XCTest
@testable import WandMedia

final class MP4WriterTests: XCTestCase {
    /// A textured, moving test clip (gradients and sinusoids, not flat colour).
    static func clip(frames: Int, width: Int, height: Int) -> [[UInt8]] {
        (0..<frames).map { f in
            var px = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                for x in 0..<width {
                    let u = Double(x) / Double(width), v = Double(y) / Double(height), t = Double(f) * 0.15
                    let r = 0.5 + 0.35 * sin(7 * u + t) + 0.1 * sin(31 * v)
                    let g = 0.5 + 0.35 * cos(5 * v - t) * sin(3 * u)
                    let b = 0.3 + 0.6 * u * v
                    let i = (y * width + x) * 3
                    px[i] = UInt8(max(0, min(255, r * 255)))
                    px[i + 1] = UInt8(max(0, min(255, g * 255)))
                    px[i + 2] = UInt8(max(0, min(255, b * 255)))
                }
            }
            return px
        }
    }

    static func run(_ args: [String]) throws -> (status: Int32, out: Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }

    func tool(_ name: String) throws {
        if try Self.run(["which", name]).status != 0 { throw XCTSkip("\(name) is not installed (apt-get install ffmpeg)") }
    }

    func testFFprobeSeesCodecColourFpsFramesAndTags() throws {
        try tool("ffprobe")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wand-mp4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("clip.mp4").path
        let tags = MP4Tags(title: "beach-cat", description: "A cat plays on a sunny beach",
                           comment: #"{"job":"j1","model":"ti2v-5b","seed":42}"#, creationTime: "2026-11-25T03:00:00Z",
                           extra: ["ai_generated": "true"])
        try MP4Writer.write(frames: Self.clip(frames: 17, width: 64, height: 48), width: 64, height: 48, fps: 16,
                            to: path, tags: tags)

        let probe = try Self.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path])
        XCTAssertEqual(probe.status, 0)
        let json = try JSONSerialization.jsonObject(with: probe.out) as! [String: Any]
        let stream = (json["streams"] as! [[String: Any]])[0]
        XCTAssertEqual(stream["codec_name"] as? String, "h264")
        XCTAssertEqual(stream["pix_fmt"] as? String, "yuv420p")
        XCTAssertEqual(stream["color_space"] as? String, "bt709")
        XCTAssertEqual(stream["color_primaries"] as? String, "bt709")
        XCTAssertEqual(stream["color_transfer"] as? String, "bt709")
        XCTAssertEqual(stream["color_range"] as? String, "tv")
        XCTAssertEqual(stream["r_frame_rate"] as? String, "16/1")
        XCTAssertEqual(stream["nb_read_frames"] as? String, "17")
        let format = json["format"] as! [String: Any]
        let t = format["tags"] as! [String: String]
        XCTAssertEqual(t["title"], "beach-cat")
        XCTAssertEqual(t["description"], "A cat plays on a sunny beach")
        XCTAssertEqual(t["comment"], #"{"job":"j1","model":"ti2v-5b","seed":42}"#)
        XCTAssertEqual(t["ai_generated"], "true")
        XCTAssertTrue(t["creation_time"]?.hasPrefix("2026-11-25T03:00:00") ?? false)

        // faststart: the index (moov) comes before the media data (mdat).
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let moov = bytes.range(of: Data("moov".utf8))!.lowerBound
        let mdat = bytes.range(of: Data("mdat".utf8))!.lowerBound
        XCTAssertLessThan(moov, mdat)
    }

    func testRoundTripPSNRAtDefaultCRF() throws {
        try tool("ffmpeg")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wand-mp4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("clip.mp4").path
        let (w, h) = (96, 64)
        let frames = Self.clip(frames: 9, width: w, height: h)
        try MP4Writer.write(frames: frames, width: w, height: h, fps: 16, to: path,
                            tags: MP4Tags(title: "t", description: "d", comment: "{}", creationTime: "2026-11-25T00:00:00Z"))
        let decoded = try Self.run(["ffmpeg", "-v", "error", "-i", path, "-vf", "scale=in_color_matrix=bt709:in_range=tv:out_range=pc:flags=bicubic+accurate_rnd+full_chroma_int", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        XCTAssertEqual(decoded.status, 0)
        XCTAssertEqual(decoded.out.count, frames.count * w * h * 3)
        let original = frames.flatMap { $0 }
        var mse = 0.0
        for (i, b) in decoded.out.enumerated() { let d = Double(b) - Double(original[i]); mse += d * d }
        mse /= Double(original.count)
        let psnr = 10 * log10(255 * 255 / mse)
        print("MP4 round trip PSNR at CRF 18: \(psnr) dB")
        XCTAssertGreaterThanOrEqual(psnr, 38, "round trip PSNR at CRF 18")
    }

    func testBadInputIsAClearError() {
        XCTAssertThrowsError(try MP4Writer.write(frames: [], width: 64, height: 48, fps: 16, to: "/tmp/x.mp4",
                                                 tags: MP4Tags(title: "", description: "", comment: "", creationTime: ""))) {
            XCTAssertTrue("\($0)".contains("no frames"))
        }
        XCTAssertThrowsError(try MP4Writer.write(frames: [[0, 0, 0]], width: 1, height: 1, fps: 16, to: "/tmp/x.mp4",
                                                 tags: MP4Tags(title: "", description: "", comment: "", creationTime: ""))) {
            XCTAssertTrue("\($0)".contains("even"))
        }
        XCTAssertThrowsError(try MP4Writer.write(frames: Self.clip(frames: 1, width: 8, height: 8), width: 8, height: 8, fps: 16,
                                                 to: "/nonexistent-dir/x.mp4",
                                                 tags: MP4Tags(title: "", description: "", comment: "", creationTime: ""))) {
            XCTAssertTrue("\($0)".contains("/nonexistent-dir/x.mp4"))
        }
    }
}
