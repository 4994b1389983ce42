import XCTest
@testable import WandEngine

final class ConditioningTests: XCTestCase {
    func testI2VMaskMarksOnlyTheFirstLatentFrame() {
        let m = Conditioning.i2vMask(latentFrames: 3, height: 2, width: 2)
        XCTAssertEqual(m.count, 4 * 3 * 4)
        for c in 0..<4 {
            let channel = Array(m[(c * 12)..<((c + 1) * 12)])
            XCTAssertEqual(channel, [1, 1, 1, 1] + [Float](repeating: 0, count: 8))
        }
    }

    func testPerTokenTimestepsZeroTheImageFrame() {
        let t = Conditioning.perTokenTimesteps(latentFrames: 3, latentHeight: 4, latentWidth: 6,
                                               timestep: 937, firstFrameIsImage: true)
        XCTAssertEqual(t.count, 3 * 2 * 3)
        XCTAssertEqual(Array(t.prefix(6)), [Double](repeating: 0, count: 6))
        XCTAssertTrue(t.dropFirst(6).allSatisfy { $0 == 937 })
        let t2v = Conditioning.perTokenTimesteps(latentFrames: 3, latentHeight: 4, latentWidth: 6,
                                                 timestep: 937, firstFrameIsImage: false)
        XCTAssertTrue(t2v.allSatisfy { $0 == 937 })
    }

    func testRenoisingInterpolatesTowardsNoise() {
        let out = Conditioning.renoised(latent: [1, 2], noise: [-1, 0], sigma: 0.25)
        XCTAssertEqual(out, [0.75 * 1 + 0.25 * -1, 0.75 * 2])
    }
}
