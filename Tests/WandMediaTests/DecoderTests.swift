import Foundation
import XCTest
@testable import WandMedia

final class DecoderTests: XCTestCase {
    func testImagesDecodeToRGB() throws {
        for name in ["redblue.png", "redblue.webp"] {
            let image = try ImageDecoder.decode(path: MediaTestSupport.fixture(name))
            XCTAssertEqual(image.width, 40, name)
            XCTAssertEqual(image.height, 20, name)
            let left = pixel(image, 5, 10), right = pixel(image, 35, 10)
            XCTAssertGreaterThan(left.0, 200, name); XCTAssertLessThan(left.2, 50, name)
            XCTAssertGreaterThan(right.2, 200, name); XCTAssertLessThan(right.0, 50, name)
        }
    }

    func testJPEGExifOrientationIsApplied() throws {
        // Stored 40x20 red|blue with Orientation 6: shown rotated 90 degrees clockwise, so red on top.
        let image = try ImageDecoder.decode(path: MediaTestSupport.fixture("redblue-exif6.jpg"))
        XCTAssertEqual(image.width, 20)
        XCTAssertEqual(image.height, 40)
        let top = pixel(image, 10, 5), bottom = pixel(image, 10, 35)
        XCTAssertGreaterThan(top.0, 180); XCTAssertLessThan(top.2, 80)
        XCTAssertGreaterThan(bottom.2, 180); XCTAssertLessThan(bottom.0, 80)
    }

    func testAudioDecodesToMonoAtRequestedRate() throws {
        for name in ["tone440.wav", "tone440.mp3", "tone440.flac", "tone440.m4a"] {
            let samples = try AudioDecoder.decodeMono(path: MediaTestSupport.fixture(name), sampleRate: 16_000)
            XCTAssertEqual(Double(samples.count), 8_000, accuracy: 1_300, name)
            // A 440 Hz tone: count zero crossings in the middle part, about 2*440 per second.
            let mid = Array(samples[2_000..<6_000])
            var crossings = 0
            for i in 1..<mid.count where (mid[i - 1] < 0) != (mid[i] < 0) { crossings += 1 }
            XCTAssertEqual(Double(crossings), 220, accuracy: 10, name)
            XCTAssertGreaterThan(mid.map { abs($0) }.max() ?? 0, 0.05, name)
        }
    }

    func testVideoDecodesAndResamplesFPSAndSize() throws {
        for name in ["clip10fps.webm", "clip10fps.mov"] {
            let same = try VideoDecoder.decode(path: MediaTestSupport.fixture(name))
            XCTAssertEqual(same.frames.count, 10, name)
            XCTAssertEqual(same.frames[0].width, 64, name)
            let resampled = try VideoDecoder.decode(path: MediaTestSupport.fixture(name), fps: 16, width: 32, height: 24)
            XCTAssertEqual(resampled.fps, 16)
            XCTAssertEqual(resampled.frames.count, 16, name)
            XCTAssertEqual(resampled.frames[0].width, 32, name)
            XCTAssertEqual(resampled.frames[0].height, 24, name)
        }
    }

    func testOwnMP4DecodesWithFPSResampling() throws {
        let clip = ProceduralClip.make(seed: 5, width: 64, height: 48, frames: 16, fps: 16)
        let path = MediaTestSupport.tempPath("resample.mp4")
        try MP4Writer.write(clip, to: path, metadata: nil)
        XCTAssertEqual(try VideoDecoder.decode(path: path, fps: 8).frames.count, 8)
        XCTAssertEqual(try VideoDecoder.decode(path: path, fps: 24).frames.count, 24)
    }

    func testMissingTruncatedAndRandomFilesGiveTypedErrorsWithPath() throws {
        let missing = "/nonexistent/wand/nothing.png"
        assertMediaError(path: missing) { try ImageDecoder.decode(path: missing) }
        let ownMP4 = MediaTestSupport.tempPath("valid-for-damage.mp4")
        try MP4Writer.write(ProceduralClip.make(seed: 9, width: 64, height: 48, frames: 6), to: ownMP4, metadata: nil)
        let cases: [(String, (String) throws -> Void)] = [
            (MediaTestSupport.fixture("redblue.png"), { _ = try ImageDecoder.decode(path: $0) }),
            (MediaTestSupport.fixture("redblue-exif6.jpg"), { _ = try ImageDecoder.decode(path: $0) }),
            (MediaTestSupport.fixture("redblue.webp"), { _ = try ImageDecoder.decode(path: $0) }),
            (MediaTestSupport.fixture("tone440.wav"), { _ = try AudioDecoder.decodeMono(path: $0) }),
            (MediaTestSupport.fixture("tone440.mp3"), { _ = try AudioDecoder.decodeMono(path: $0) }),
            (MediaTestSupport.fixture("tone440.flac"), { _ = try AudioDecoder.decodeMono(path: $0) }),
            (MediaTestSupport.fixture("tone440.m4a"), { _ = try AudioDecoder.decodeMono(path: $0) }),
            (MediaTestSupport.fixture("clip10fps.webm"), { _ = try VideoDecoder.decode(path: $0) }),
            (MediaTestSupport.fixture("clip10fps.mov"), { _ = try VideoDecoder.decode(path: $0) }),
            (ownMP4, { _ = try VideoDecoder.decode(path: $0) }),
        ]
        for (valid, decode) in cases {
            let damaged = try MediaTestSupport.damagedCopies(of: valid)
            // Random bytes never decode.
            assertMediaError(path: damaged.random) { try decode(damaged.random) }
            // A truncated file either fails with a typed error or decodes a prefix; it must not crash.
            do { try decode(damaged.truncated) } catch let error as MediaError {
                XCTAssertTrue(error.description.contains(damaged.truncated), "\(error)")
            }
        }
    }

    private func assertMediaError(path: String, _ body: () throws -> Void, line: UInt = #line) {
        do {
            try body()
            XCTFail("\(path) decoded but should not", line: line)
        } catch let error as MediaError {
            XCTAssertTrue(error.description.contains(path), "\(error)", line: line)
        } catch {
            XCTFail("untyped error \(error)", line: line)
        }
    }

    private func pixel(_ f: RGBFrame, _ x: Int, _ y: Int) -> (Int, Int, Int) {
        let i = (y * f.width + x) * 3
        return (Int(f.pixels[i]), Int(f.pixels[i + 1]), Int(f.pixels[i + 2]))
    }
}
