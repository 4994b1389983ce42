import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// A LoRA on Animate through the Engine, as LightX2V runs Animate (a Wan2.1-I2V-style 4-step LoRA,
/// 4 Euler steps on the Lightning grid, no CFG) against diffusers' WanAnimatePipeline with
/// `load_lora_weights` (Tools/reference/animate_lora_fixture.py): a random ComfyUI-layout LoRA
/// over self/cross attention (k_img and v_img included) and the FFN, two overlapping segments.
final class AnimateLoRAParityTests: XCTestCase {
    struct Case: Decodable {
        let prompt: String, negative_prompt: String, lora: String, strength: Double
        let steps: Int, shift: Double, guidance: Double, seed: UInt64, frames: Int, segment_frames: Int
        let refert_num: Int, height: Int, width: Int, segments: Int, timesteps: [Double]
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testLightningLoRAOnAnimateMatchesDiffusers() async throws {
        let lora = Self.fixtures.appendingPathComponent("lora")
        let c = try JSONDecoder().decode(Case.self, from: Data(contentsOf: lora.appendingPathComponent("animate.json")))
        let expected = try SafetensorsFile(path: lora.appendingPathComponent("animate.safetensors").path)
        let videos = try SafetensorsFile(path: Self.fixtures.appendingPathComponent("animate/pipeline.safetensors").path)
        let model = Self.fixtures.appendingPathComponent("animate/models/tiny-animate").path
        XCTAssertEqual(FlowSchedule.lightning(steps: c.steps, shift: c.shift).timesteps.map { Float($0) }, c.timesteps.map { Float($0) })

        let reference = try expected.tensor("reference")
        let (h, w) = (reference.shape[0], reference.shape[1])
        var r = GenerationRequest(mode: .animate, modelName: "tiny-animate", modelPath: model, prompt: c.prompt,
                                  negativePrompt: c.negative_prompt, seed: c.seed, width: c.width, height: c.height,
                                  frames: c.segment_frames, fps: 30, steps: c.steps, sampler: .euler, shift: c.shift,
                                  guidance: Float(c.guidance))
        r.sigmaSchedule = .lightning
        r.image = RGBImage(width: w, height: h, pixels: Array(reference.bytes))
        r.animate = AnimateInputs(mode: .animate, pose: AnimatePipelineParityTests.frames(try videos.tensor("pose"), count: c.frames),
                                  face: AnimatePipelineParityTests.frames(try videos.tensor("face"), count: c.frames),
                                  refertNum: c.refert_num)
        r.loras = [LoRARequest(path: lora.appendingPathComponent(c.lora).path, strength: c.strength, expert: .both)]

        let engine = Engine(memoryBudgetBytes: 1 << 30, threads: 2)
        let video = try await engine.generate(r, progress: { _ in }, isCancelled: { false })
        let applied = try XCTUnwrap(video.loras.first)
        XCTAssertEqual(applied.mergedTensors, 4 * (8 + 2 + 2), "every block's q, k, v, o (self and cross), k_img, v_img, ffn.0, ffn.2")
        XCTAssertEqual(applied.skippedKeys, 0, "Animate has the image branch: k_img and v_img merge")

        let vae = try WanAnimateModelSet(folder: try WanModelFolder.open(model), backend: CPUBackend(threads: 1)).vae
        let all = try Tensor(shape: video.latentShape, values: video.latents)
        let perSegment = video.latentShape[1] / c.segments
        for s in 0..<c.segments {
            // Each segment's latents are [reference slot, frames...]; diffusers decodes the frames.
            let z = try all.sliced(dim: 1, (s * perSegment + 1)..<((s + 1) * perSegment)).contiguous()
            let ref = try expected.tensor("segment\(s).decoder_input")
            XCTAssertEqual(z.shape, ref.shape, "segment \(s)")
            let theirs = flat(try StoredTensor(dtype: ref.dtype, shape: ref.shape, bytes: ref.bytes.baseAddress!, owner: ref.file).toTensor())
            let err = relativeError(LoRAParityTests.denormalized(flat(z), vae), theirs)
            print("Animate LoRA segment \(s): latent rel. error \(err)")
            XCTAssertLessThan(err, 1e-3, "segment \(s): final latents")
        }

        // The same run without the LoRA lands elsewhere: the merge is what matches.
        r.loras = []
        let plain = try await engine.generate(r, progress: { _ in }, isCancelled: { false })
        XCTAssertGreaterThan(relativeError(plain.latents, video.latents), 1e-2)
    }
}
