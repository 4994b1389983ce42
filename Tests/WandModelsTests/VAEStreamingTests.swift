import XCTest
import WandTensor
@testable import WandModels

/// The decoder's streaming state (the causal-conv caches) must not grow with the frame count, and
/// streaming must hand out 1 frame for latent 0 and 4 for every later latent.
final class VAEStreamingTests: XCTestCase {
    func streamingProfile(_ file: String, latentFrames: Int, h: Int, w: Int) throws -> (maxCache: Int, pieces: [Int]) {
        let weights = try WanVAEWeights.load(path: "\(VAEParityTests.fixtures)/\(file)")
        let vae = try WanVAE(weights: weights, backend: CPUBackend(threads: 2))
        var g = TorchCPUGenerator(seed: 3)
        let z = g.randn([vae.config.zDim, latentFrames, h, w])
        var maxCache = 0
        var pieces: [Int] = []
        try vae.decodeStreaming(z, cacheBytes: { maxCache = max(maxCache, $0) }) { pieces.append($0.shape[1]) }
        return (maxCache, pieces)
    }

    func testDecoderCacheIsFlatInFrameCount() throws {
        for (file, h, w) in [("vae21_official.pth", 2, 3), ("vae22_official.pth", 2, 3)] {
            var sizes: [Int] = []
            for frames in [5, 9, 17] {
                let profile = try streamingProfile(file, latentFrames: frames, h: h, w: w)
                XCTAssertEqual(profile.pieces, [1] + Array(repeating: 4, count: frames - 1), file)
                sizes.append(profile.maxCache)
            }
            print("VAE streaming \(file): max cache bytes for 5, 9, 17 latent frames: \(sizes)")
            XCTAssertGreaterThan(sizes[0], 0)
            XCTAssertEqual(Set(sizes).count, 1, "\(file): cache grows with frames: \(sizes)")
        }
    }

    func testDecodeRejectsWrongLatentChannels() throws {
        let weights = try WanVAEWeights.load(path: "\(VAEParityTests.fixtures)/vae21_official.pth")
        let vae = try WanVAE(weights: weights, backend: CPUBackend(threads: 1))
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [48, 1, 2, 3]))) { error in
            guard case VAEError.badInput = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [3, 4, 16, 24]))) { error in
            guard case VAEError.badInput = error else { return XCTFail("\(error)") }
        }
    }

    func testMissingWeightIsNamed() throws {
        let weights = try WanVAEWeights.load(path: "\(VAEParityTests.fixtures)/vae21_official.pth")
        var tensors = weights.tensors
        tensors["decoder.middle.1.proj.weight"] = nil
        let vae = try WanVAE(weights: WanVAEWeights(tensors: tensors, version: .wan21, source: "x.pth"),
                             backend: CPUBackend(threads: 1))
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [16, 1, 2, 3]))) { error in
            XCTAssertEqual(error as? VAEError, .missingWeight(name: "decoder.middle.1.proj.weight", file: "x.pth"))
        }
    }
}
