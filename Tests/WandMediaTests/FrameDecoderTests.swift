import Foundation
import XCTest
@testable import WandMedia

final class FrameDecoderTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("wand-dec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func ffmpeg(_ args: [String]) throws {
        let (status, _) = try MP4WriterTests.run(["ffmpeg", "-v", "error", "-y"] + args)
        if status != 0 { throw XCTSkip("ffmpeg could not make the test input") }
    }

    func testDecodesOurOwnMP4() throws {
        let path = dir.appendingPathComponent("v.mp4").path
        let clip = MP4WriterTests.clip(frames: 9, width: 64, height: 48)
        try MP4Writer.write(frames: clip, width: 64, height: 48, fps: 16, to: path,
                            tags: MP4Tags(title: "", description: "", comment: "", creationTime: "2026-11-25T00:00:00Z"))
        let decoded = try FrameDecoder.decodeVideo(path)
        XCTAssertEqual(decoded.frames.count, 9)
        XCTAssertEqual([decoded.width, decoded.height], [64, 48])
        XCTAssertEqual(decoded.fps, 16, accuracy: 0.01)
        var mse = 0.0
        for (a, b) in zip(decoded.frames.flatMap { $0 }, clip.flatMap { $0 }) { let d = Double(a) - Double(b); mse += d * d }
        let psnr = 10 * log10(255 * 255 / (mse / Double(clip.count * 64 * 48 * 3)))
        XCTAssertGreaterThan(psnr, 38)
        XCTAssertEqual(try FrameDecoder.decodeVideo(path, maxFrames: 3).frames.count, 3)
    }

    func testDecodesPNGJPEGAndWebPImages() throws {
        for ext in ["png", "jpg", "webp"] {
            let path = dir.appendingPathComponent("i.\(ext)").path
            try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=40x30:rate=1", "-frames:v", "1", path])
            let image = try FrameDecoder.decodeImage(path)
            XCTAssertEqual([image.width, image.height], [40, 30], ext)
            XCTAssertEqual(image.frames.count, 1)
            XCTAssertGreaterThan(Set(image.frames[0]).count, 10, "\(ext): a real picture, not a flat colour")
        }
    }

    func testTruncatedAndRandomFilesAreClearErrors() throws {
        let good = dir.appendingPathComponent("good.png").path
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=40x30:rate=1", "-frames:v", "1", good])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        var rng = SystemRandomNumberGenerator()
        var inputs: [(String, Data)] = [("empty", Data()), ("half", bytes.prefix(bytes.count / 2)),
                                        ("header", bytes.prefix(16))]
        for i in 0..<20 { inputs.append(("random\(i)", Data((0..<Int.random(in: 1...4096, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }))) }
        for i in 0..<20 {
            var flipped = bytes
            for _ in 0..<8 { let k = Int.random(in: 0..<flipped.count, using: &rng); flipped[k] ^= UInt8.random(in: 1...255, using: &rng) }
            inputs.append(("flipped\(i)", flipped))
        }
        for (name, data) in inputs {
            let path = dir.appendingPathComponent("\(name).png").path
            try data.write(to: URL(fileURLWithPath: path))
            do {
                let decoded = try FrameDecoder.decodeImage(path)
                XCTAssertEqual(decoded.frames[0].count, decoded.width * decoded.height * 3, name)  // decodable damage is fine
            } catch let e as MediaError {
                XCTAssertEqual(e.path, path, name)
            }
        }
        XCTAssertThrowsError(try FrameDecoder.decodeImage(dir.appendingPathComponent("missing.png").path))
    }
}
