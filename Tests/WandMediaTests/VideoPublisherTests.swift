import Foundation
import XCTest
@testable import WandMedia

final class VideoPublisherTests: XCTestCase {
    func testPublishWritesLabelledMarkedVideoAndSidecars() throws {
        let clip = ProceduralClip.make(seed: 41, width: 256, height: 256, frames: 3)
        let metadata = MP4Metadata(title: "t", prompt: "p", jobID: "publish-job", model: "m", seed: 1, wandVersion: "0.1.0")
        let path = MediaTestSupport.tempPath("published.mp4")
        let written = try VideoPublisher.publish(clip, to: path, metadata: metadata)
        XCTAssertTrue(FileManager.default.fileExists(atPath: written.nfo!))
        XCTAssertTrue(FileManager.default.fileExists(atPath: written.poster!))
        let detection = try WatermarkDetector.detect(path: path)
        XCTAssertEqual(detection.payloadHex, written.payloadHex)
        XCTAssertEqual(detection.payload, InvisibleWatermark.payload(jobID: "publish-job"))
    }
}
