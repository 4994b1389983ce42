import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// Parity with diffusers' `load_lora_weights` + `set_adapters` (fixtures from
/// Tools/reference/lora_fixtures.py) on the tiny pipelines of Tests/Fixtures/pipelines: random
/// LoRAs in the PEFT, ComfyUI and Kohya layouts, one per expert and into both experts of a
/// two-expert model, and the Lightning 4-step guidance-1 recipe. Final latents within 1e-3.
final class LoRAParityTests: XCTestCase {
    struct LoRAEntry: Decodable { let file: String; let strength: Double; let expert: String }
    struct Case: Decodable {
        let name: String, model: String, steps: Int, shift: Double, guidance: Float, guidance_low: Float?
        let seed: UInt64, sampler: String, schedule: String, timesteps: [Double], loras: [LoRAEntry]
    }
    struct Cases: Decodable { let prompt: String; let negative_prompt: String; let cases: [Case] }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let lora = fixtures.appendingPathComponent("lora")

    static func cases() throws -> Cases {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: lora.appendingPathComponent("cases.json")))
    }

    static func request(_ c: Case, _ cases: Cases) -> GenerationRequest {
        var r = GenerationRequest(mode: .t2v, modelName: c.model, modelPath: fixtures.appendingPathComponent("pipelines/models/\(c.model)").path,
                                  prompt: cases.prompt, negativePrompt: cases.negative_prompt, seed: c.seed,
                                  width: 48, height: 32, frames: 9, fps: 16, steps: c.steps,
                                  sampler: SamplerKind(rawValue: c.sampler)!, shift: c.shift,
                                  guidance: c.guidance, guidanceLow: c.guidance_low)
        r.loras = c.loras.map { LoRARequest(path: lora.appendingPathComponent($0.file).path, strength: $0.strength,
                                            expert: LoRAExpert(rawValue: $0.expert)!) }
        r.sigmaSchedule = SigmaSchedule(rawValue: c.schedule)!
        return r
    }

    func testEveryLayoutAndExpertMatchesDiffusers() async throws {
        let cases = try Self.cases()
        XCTAssertEqual(cases.cases.map(\.name), ["peft-t2v", "comfy-t2v", "kohya-t2v", "a14b-experts", "a14b-lightning"])
        let expected = try SafetensorsFile(path: Self.lora.appendingPathComponent("latents.safetensors").path)
        // f32 merges: the tiny models are bf16 values computed in f32 on both sides, and diffusers
        // adds the LoRA product unrounded.
        let engine = Engine(memoryBudgetBytes: 1 << 30, loraPrecision: .f32)
        var report: [String] = []
        for c in cases.cases {
            let video = try await engine.generate(Self.request(c, cases), progress: { _ in }, isCancelled: { false })
            let ref = try expected.tensor(c.name)
            let theirs = flat(try StoredTensor(dtype: ref.dtype, shape: ref.shape, bytes: ref.bytes.baseAddress!, owner: ref.file).toTensor())
            XCTAssertEqual(video.latentShape, ref.shape, c.name)
            let models = try await engine.cache.value(for: try LoRAModelLoader.cacheKey(modelPath: Self.request(c, cases).modelPath,
                                                                                        loras: Self.request(c, cases).loras),
                                                     as: LoRAModelSet.self) { XCTFail("should be warm"); throw CancelledError(completedSteps: 0) }
            let ours = Self.denormalized(video.latents, models.value.models.vae)
            let error = relativeError(ours, theirs)
            XCTAssertLessThan(error, 1e-3, "\(c.name): final latents")
            XCTAssertEqual(video.loras.count, c.loras.count, c.name)
            XCTAssertTrue(video.loras.allSatisfy { $0.sha256.count == 64 && $0.mergedTensors > 0 }, c.name)
            report.append("\(c.name): latent rel. error \(error)")
        }
        print(report.joined(separator: "\n"))
    }

    /// The reference LoRAs change the result far beyond the tolerance (else the test above would
    /// pass with the LoRAs ignored), measured against the no-LoRA runs of pipeline_fixtures.py.
    func testTheLoRAsMatter() throws {
        let latents = try SafetensorsFile(path: Self.lora.appendingPathComponent("latents.safetensors").path)
        func load(_ t: WeightTensor) throws -> [Float] {
            flat(try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: t.bytes.baseAddress!, owner: t.file).toTensor())
        }
        for (name, plain) in [("peft-t2v", "t2v-unipc"), ("comfy-t2v", "t2v-unipc"), ("kohya-t2v", "t2v-unipc"),
                              ("a14b-experts", "t2v-a14b-unipc")] {
            let base = try SafetensorsFile(path: Self.fixtures.appendingPathComponent("pipelines/\(plain).safetensors").path)
            let change = relativeError(try load(try latents.tensor(name)), try load(try base.tensor("\(plain).decoder_input")))
            XCTAssertGreaterThan(change, 0.02, name)
        }
    }

    /// The Lightning schedule is the one diffusers ran (timesteps 1000, 937.5, 833.33, 625).
    func testLightningTimestepsMatchTheReference() throws {
        let c = try Self.cases().cases.first { $0.name == "a14b-lightning" }!
        let schedule = FlowSchedule.lightning(steps: 4, shift: 5)
        XCTAssertEqual(schedule.timesteps, c.timesteps)
        XCTAssertEqual(schedule.sigmas, [1.0, 0.9375, Float(0.8333333), 0.625, 0])
        XCTAssertEqual(FewStepRecipe.named("lightning-4step")?.guidance, 1)
    }

    static func denormalized(_ x: [Float], _ vae: WanVAE) -> [Float] {
        var out = x
        let c = vae.latentStd.count, per = x.count / c
        for ch in 0..<c { for i in 0..<per { out[ch * per + i] = x[ch * per + i] * vae.latentStd[ch] + vae.latentMean[ch] } }
        return out
    }
}
