import XCTest
import WandTensor
@testable import WandModels

/// Loading paths other than the f32 parity fixtures: the weight-loader fixtures hold tiny VAEs
/// stored in f16 (official .pth and diffusers safetensors), written by Tools/reference/weights_fixtures.py.
final class VAEWeightsTests: XCTestCase {
    static let weightsFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/weights").path

    func testHalfPrecisionFilesLoadInBothLayouts() throws {
        for (file, version, z) in [("vae21_official.pth", WanVAEVersion.wan21, 16), ("vae21_diffusers.safetensors", .wan21, 16),
                                   ("vae22_official.pth", .wan22, 48), ("vae22_diffusers.safetensors", .wan22, 48)] {
            let path = "\(Self.weightsFixtures)/\(file)"
            guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(file) not present") }
            let weights = try WanVAEWeights.load(path: path)
            XCTAssertEqual(weights.version, version, file)
            let vae = try WanVAE(weights: weights, backend: CPUBackend(threads: 1))
            XCTAssertEqual(vae.config.zDim, z, file)
            let out = try vae.decode(Tensor(zeros: [z, 2, 1, 1]))
            XCTAssertEqual(out.shape, [3, 5, version.spatialFactor, version.spatialFactor], file)
        }
    }

    func testNonVAEFileIsRefused() throws {
        let path = "\(Self.weightsFixtures)/umt5_official.pth"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("umt5_official.pth not present") }
        XCTAssertThrowsError(try WanVAEWeights.load(path: path)) { error in
            guard case VAEError.unrecognizedLayout = error else { return XCTFail("\(error)") }
        }
    }
}
