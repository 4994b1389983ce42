import Foundation
import XCTest
@testable import WandMedia

/// The speech-to-video audio input: rates, channels, the duration cap, silence, and bad files
/// (empty, not audio, truncated, corrupted at random) that must give a located error, never a crash.
final class AudioDecoderTests: XCTestCase {
    static let sources = ["tone440.wav", "tone440.mp3", "tone440.flac", "tone440.m4a"]

    func testStereoAndSourceChannelsAndContainerDuration() throws {
        let path = MediaTestSupport.tempPath("stereo.wav")
        // Left: 440 Hz, right: silence, 0.5 s at 22.05 kHz.
        let n = 11_025
        var interleaved = [Float]()
        for i in 0..<n { interleaved += [Float(sin(Double(i) * 2 * .pi * 440 / 22_050)) * 0.5, 0] }
        try WAVFile.pcm16(interleaved, channels: 2, sampleRate: 22_050).write(to: URL(fileURLWithPath: path))
        let stereo = try AudioDecoder.decode(path: path, sampleRate: 48_000, channels: nil)
        XCTAssertEqual(stereo.channels, 2)
        XCTAssertEqual(Double(stereo.frameCount), 24_000, accuracy: 64)
        XCTAssertEqual(stereo.containerSeconds ?? 0, 0.5, accuracy: 0.01)
        let right = stride(from: 1, to: stereo.samples.count, by: 2).map { abs(stereo.samples[$0]) }.max() ?? 1
        let left = stride(from: 0, to: stereo.samples.count, by: 2).map { abs(stereo.samples[$0]) }.max() ?? 0
        XCTAssertLessThan(right, 1e-3)
        XCTAssertGreaterThan(left, 0.4)
        // Downmixed to mono the tone is still there, at lower level.
        let mono = try AudioDecoder.decode(path: path, sampleRate: 16_000)
        XCTAssertEqual(mono.channels, 1)
        XCTAssertEqual(Double(mono.frameCount), 8_000, accuracy: 64)
        XCTAssertGreaterThan(mono.samples.map { abs($0) }.max() ?? 0, 0.1)
    }

    func testDurationCapStopsDecodingAndSaysSo() throws {
        let path = MediaTestSupport.tempPath("long.wav")
        let samples = (0..<(16_000 * 20)).map { Float(sin(Double($0) * 0.05)) * 0.3 }
        try WAVFile.pcm16(samples, channels: 1, sampleRate: 16_000).write(to: URL(fileURLWithPath: path))
        let capped = try AudioDecoder.decode(path: path, sampleRate: 16_000, maxSeconds: 3)
        XCTAssertTrue(capped.truncated)
        XCTAssertEqual(capped.frameCount, 48_000)
        XCTAssertEqual(capped.containerSeconds ?? 0, 20, accuracy: 0.01)
        let whole = try AudioDecoder.decode(path: path, sampleRate: 16_000, maxSeconds: 60)
        XCTAssertFalse(whole.truncated)
        XCTAssertEqual(Double(whole.frameCount), 320_000, accuracy: 32)
    }

    func testSilenceDecodesToZeros() throws {
        let path = MediaTestSupport.tempPath("silence.wav")
        try WAVFile.pcm16([Float](repeating: 0, count: 16_000), channels: 1, sampleRate: 16_000)
            .write(to: URL(fileURLWithPath: path))
        let silent = try AudioDecoder.decode(path: path, sampleRate: 16_000)
        XCTAssertEqual(silent.frameCount, 16_000)
        XCTAssertEqual(silent.samples.map { abs($0) }.max(), 0)
    }

    func testNonFiniteFloatSamplesBecomeZero() throws {
        let path = MediaTestSupport.tempPath("nan.wav")
        var samples = [Float](repeating: 0.25, count: 4_000)
        samples[100] = .nan; samples[200] = .infinity; samples[300] = -.infinity
        try WAVFile.float32(samples, sampleRate: 16_000).write(to: URL(fileURLWithPath: path))
        let decoded = try AudioDecoder.decode(path: path, sampleRate: 16_000)
        XCTAssertTrue(decoded.samples.allSatisfy(\.isFinite))
        XCTAssertEqual(decoded.samples[150], 0.25, accuracy: 1e-6)
    }

    func testEmptyNotAudioAndHeaderOnlyFilesGiveLocatedErrors() throws {
        let empty = MediaTestSupport.tempPath("empty.wav")
        FileManager.default.createFile(atPath: empty, contents: Data())
        assertLocatedError(empty, contains: "empty")
        // An image has no audio stream.
        assertLocatedError(MediaTestSupport.fixture("redblue.png"), contains: "no audio")
        let text = MediaTestSupport.tempPath("words.mp3")
        try Data("this is not an mp3, just words\n".utf8).write(to: URL(fileURLWithPath: text))
        assertLocatedError(text, contains: "corrupt")
        // A valid WAV header with no samples.
        let headerOnly = MediaTestSupport.tempPath("header-only.wav")
        try WAVFile.pcm16([], channels: 1, sampleRate: 16_000).write(to: URL(fileURLWithPath: headerOnly))
        assertLocatedError(headerOnly, contains: "no decodable frames")
        assertLocatedError("/nonexistent/wand/speech.wav", contains: "not readable")
    }

    /// Property: any corruption of a valid file (bytes flipped anywhere, runs zeroed, a cut at any
    /// point, duplicated regions) decodes to finite samples or throws a MediaError naming the file.
    func testCorruptedFilesNeverCrash() throws {
        var rng = SplitMix(20)
        var decoded = 0, refused = 0
        for name in Self.sources {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: MediaTestSupport.fixture(name))))
            let ext = (name as NSString).pathExtension
            for round in 0..<30 {
                var bytes = original
                switch round % 5 {
                case 0:  // random byte flips, header included
                    for _ in 0..<(1 + Int(rng.next() % 24)) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
                case 1:  // cut at a random point
                    bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
                case 2:  // a run of zeros
                    let at = Int(rng.next() % UInt64(bytes.count)), len = min(bytes.count - at, 1 + Int(rng.next() % 512))
                    for i in at..<(at + len) { bytes[i] = 0 }
                case 3:  // a run of 0xFF in the first 256 bytes (headers, sizes)
                    let at = Int(rng.next() % 256), len = min(bytes.count - at, 1 + Int(rng.next() % 16))
                    for i in at..<(at + len) { bytes[i] = 0xFF }
                default:  // a region duplicated into another place
                    let a = Int(rng.next() % UInt64(bytes.count)), b = Int(rng.next() % UInt64(bytes.count))
                    let len = min(bytes.count - max(a, b), 1 + Int(rng.next() % 2048))
                    if len > 0 { for i in 0..<len { bytes[b + i] = bytes[a + i] } }
                }
                let path = MediaTestSupport.tempPath("fuzz-\(round)-\(name).\(ext)")
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                do {
                    let audio = try AudioDecoder.decode(path: path, sampleRate: 16_000, maxSeconds: 30)
                    XCTAssertTrue(audio.samples.allSatisfy(\.isFinite), path)
                    XCTAssertLessThanOrEqual(audio.frameCount, 16_000 * 30, path)
                    decoded += 1
                } catch let error as MediaError {
                    XCTAssertTrue(error.description.contains(path), "\(error)")
                    refused += 1
                } catch {
                    XCTFail("untyped error for \(path): \(error)")
                }
            }
        }
        XCTAssertEqual(decoded + refused, 120)
        print("corrupted audio: \(decoded) decoded (in part), \(refused) refused with a located error")
    }

    private func assertLocatedError(_ path: String, contains text: String, line: UInt = #line) {
        do {
            _ = try AudioDecoder.decode(path: path, sampleRate: 16_000)
            XCTFail("\(path) decoded but should not", line: line)
        } catch let error as MediaError {
            XCTAssertTrue(error.description.contains(path), "\(error)", line: line)
            XCTAssertTrue(error.description.contains(text), "\(error)", line: line)
        } catch {
            XCTFail("untyped error \(error)", line: line)
        }
    }
}

/// Minimal RIFF/WAVE writer for test inputs.
enum WAVFile {
    static func pcm16(_ samples: [Float], channels: Int, sampleRate: Int) -> Data {
        var body = Data(capacity: samples.count * 2)
        for s in samples {
            let v = Int16(max(-32_768, min(32_767, (s * 32_767).rounded())))
            withUnsafeBytes(of: v.littleEndian) { body.append(contentsOf: $0) }
        }
        return wrap(body, format: 1, channels: channels, sampleRate: sampleRate, bits: 16)
    }

    static func float32(_ samples: [Float], sampleRate: Int) -> Data {
        var body = Data(capacity: samples.count * 4)
        for s in samples { withUnsafeBytes(of: s.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        return wrap(body, format: 3, channels: 1, sampleRate: sampleRate, bits: 32)
    }

    private static func wrap(_ body: Data, format: UInt16, channels: Int, sampleRate: Int, bits: Int) -> Data {
        var d = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + body.count); d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(Int(format)); u16(channels); u32(sampleRate)
        u32(sampleRate * channels * bits / 8); u16(channels * bits / 8); u16(bits)
        d.append(contentsOf: Array("data".utf8)); u32(body.count); d.append(body)
        return d
    }
}
