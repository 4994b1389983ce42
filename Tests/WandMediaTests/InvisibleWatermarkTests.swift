import Foundation
import XCTest
@testable import WandMedia

final class InvisibleWatermarkTests: XCTestCase {
    private func expected() throws -> [String: [String: String]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: MediaTestSupport.fixture("watermark/expected.json")))
        return try JSONSerialization.jsonObject(with: data) as! [String: [String: String]]
    }

    private func agreement(_ a: UInt64, _ b: UInt64) -> Double { Double(64 - (a ^ b).nonzeroBitCount) / 64 }

    func testPayloadIsSHA256PrefixOfJobID() throws {
        // Values from Python hashlib (Tools/watermark/make_fixtures.py wrote them).
        for (_, entry) in try expected() {
            guard let job = entry["job_id"], let hex = entry["payload_hex"] else { continue }
            XCTAssertEqual(InvisibleWatermark.hex(InvisibleWatermark.payload(jobID: job)), hex)
        }
    }

    func testOurReaderAgreesWithPythonReaderOnPythonMarkedPNGs() throws {
        for (name, entry) in try expected() {
            let image = try ImageDecoder.decode(path: MediaTestSupport.fixture("watermark/\(name)"))
            let detection = InvisibleWatermark.detect(image)
                        // Same rule and same arithmetic (OpenCV fixed-point YUV, pywt float64 Haar): the same bits.
            XCTAssertEqual(detection.payloadHex, entry["python_decoder_hex"], name)
            if let truth = entry["payload_hex"].flatMap({ UInt64($0, radix: 16) }) {
                print("\(name): ours vs true payload \(agreement(detection.payload, truth)), confidence \(detection.confidence)")
            } else {
                XCTAssertLessThan(detection.confidence, 0.4, "unmarked picture read with high confidence")
                print("\(name) (unmarked): confidence \(detection.confidence)")
            }
        }
    }

    func testEmbedThenDetectOnRawFrames() {
        let payload = InvisibleWatermark.payload(jobID: "job-raw")
        let clip = ProceduralClip.make(seed: 11, width: 256, height: 256, frames: 1)
        let marked = InvisibleWatermark.embed(clip.frames[0], payload: payload)
        let detection = InvisibleWatermark.detect(marked)
        XCTAssertGreaterThanOrEqual(agreement(detection.payload, payload), 0.98, detection.payloadHex)
        XCTAssertGreaterThan(detection.confidence, 0.8)
        let unmarked = InvisibleWatermark.detect(clip.frames[0])
        XCTAssertLessThan(unmarked.confidence, 0.6)
        // The mark is invisible-ish: PSNR of the marked frame against the original.
        let psnr = MediaTestSupport.psnr([clip.frames[0]], [marked])
        print("watermark embedding PSNR: \(psnr) dB")
        XCTAssertGreaterThan(psnr, 30)
    }

    /// Bit accuracy after our H.264 encode at CRF 18 and 23 on 20 procedural clips of 2 frames, votes pooled over frames.
    func testBitAccuracyAfterH264AtCRF18And23() throws {
        for crf in [18, 23] {
            var accuracies: [Double] = []
            for seed in 0..<20 {
                let payload = InvisibleWatermark.payload(jobID: "clip-\(seed)")
                let clip = ProceduralClip.make(seed: UInt64(100 + seed), width: 256, height: 256, frames: 2, fps: 16)
                let marked = InvisibleWatermark.embed(clip, payload: payload)
                let path = MediaTestSupport.tempPath("wm-\(crf)-\(seed).mp4")
                try MP4Writer.write(marked, to: path, settings: VideoEncoderSettings(crf: crf, preset: "veryfast"), metadata: nil)
                let detection = try WatermarkDetector.detect(path: path)
                accuracies.append(agreement(detection.payload, payload))
            }
            let mean = accuracies.reduce(0, +) / Double(accuracies.count)
            print("CRF \(crf): mean bit accuracy \(mean), min \(accuracies.min()!) over \(accuracies.count) clips")
            XCTAssertGreaterThanOrEqual(mean, 0.95, "CRF \(crf)")
        }
    }
}
