import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// Whole pipeline folders saved by diffusers (pipe.save_pretrained) with non-default VAE and
/// transformer configs (issue 24; Tools/reference/config_spread_fixtures.py): a WanPipeline on
/// the issue's VAE shape (dim_mult [1, 2, 2, 2], z_dim 4) with a (1, 1, 1)-patch transformer
/// without cross-attention norm, and a WanImageToVideoPipeline on a VAE that halves time once
/// (a 2-channel i2v mask). Final latents within 1e-3 of diffusers, same seed and CPU noise.
final class ConfigSpreadPipelineTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/config-spread/pipelines").path

    func run(_ name: String, mode: GenerationMode, guidance: Float, image: RGBImage? = nil) async throws -> (Double, WanModelSet) {
        let path = Self.root + "/" + name
        let models = try WanModelSet(folder: try WanModelFolder.open(path), backend: CPUBackend())
        var request = GenerationRequest(
            mode: mode, modelName: name, modelPath: path, prompt: "a red circle moves left on a blue background",
            negativePrompt: "blurry, static", seed: 42, width: 32, height: 16, frames: 9, fps: 16, steps: 5,
            sampler: .unipc, shift: 5.0, guidance: guidance, guidanceLow: nil, strength: 0.8)
        request.image = image
        var timings = StageTimings()
        let (latents, video) = try await WanVideoPipeline(models: models).run(request, timings: &timings, progress: { _ in },
                                                                              isCancelled: { false })
        XCTAssertEqual(video.shape, [3, 9, 16, 32], name)
        let expected = try SafetensorsFile(path: Self.root + "/\(name).safetensors").tensor("decoder_input")
        XCTAssertEqual(latents.shape, expected.shape, name)
        let theirs = try StoredTensor(dtype: expected.dtype, shape: expected.shape, bytes: expected.bytes.baseAddress!,
                                      owner: expected.file).toTensor()
        var ours = flat(latents)
        let c = latents.shape[0], per = ours.count / c
        for ch in 0..<c { for i in 0..<per { ours[ch * per + i] = ours[ch * per + i] * models.vae.latentStd[ch] + models.vae.latentMean[ch] } }
        return (Double(relativeError(ours, flat(theirs))), models)
    }

    func testTextToVideoOnTheIssueShapedVAE() async throws {
        let (err, models) = try await run("t2v-v21-repeat", mode: .t2v, guidance: 4)
        print("t2v-v21-repeat: latent rel. error \(err)")
        XCTAssertLessThan(err, 1e-3)
        XCTAssertEqual(models.vae.config.dimMult, [1, 2, 2, 2])
        XCTAssertEqual(models.experts[0].config.patchSize, [1, 1, 1])
        XCTAssertFalse(models.experts[0].config.crossAttnNorm)
    }

    func testImageToVideoWithATwoFramesPerLatentVAE() async throws {
        let inputs = try SafetensorsFile(path: Self.root + "/inputs.safetensors")
        let t = try inputs.tensor("image")
        let image = RGBImage(width: t.shape[1], height: t.shape[0], pixels: Array(t.bytes))
        let (err, models) = try await run("i2v-v21-res1", mode: .i2v, guidance: 3.5, image: image)
        print("i2v-v21-res1: latent rel. error \(err)")
        XCTAssertLessThan(err, 1e-3)
        XCTAssertEqual(models.vae.config.temporalFactor, 2)
        XCTAssertEqual(models.experts[0].config.inDim, 6 + 2 + 6)
    }

    func testRequestsTheModelCannotServeAreRefused() async throws {
        let path = Self.root + "/t2v-v21-repeat"
        let models = try WanModelSet(folder: try WanModelFolder.open(path), backend: CPUBackend())
        // 8-pixel latents and a (1, 1, 1) patch: 8-multiples are fine, 12 is not.
        for (width, height, frames) in [(12, 16, 9), (32, 16, 7)] {
            var timings = StageTimings()
            let request = GenerationRequest(
                mode: .t2v, modelName: "x", modelPath: path, prompt: "p", negativePrompt: nil, seed: 1, width: width,
                height: height, frames: frames, fps: 16, steps: 1, sampler: .euler, shift: 5, guidance: 1, guidanceLow: nil,
                strength: 0.8)
            do {
                _ = try await WanVideoPipeline(models: models).run(request, timings: &timings, progress: { _ in }, isCancelled: { false })
                XCTFail("\(width)x\(height)x\(frames) accepted")
            } catch let error as EngineError {
                XCTAssertEqual(error.kind, .badRequest, "\(error)")
            }
        }
    }
}
