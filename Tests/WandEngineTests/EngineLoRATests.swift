import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// The warm cache keys a model by its LoRA set; bad LoRA requests fail with located errors.
final class EngineLoRATests: XCTestCase {
    static let fixtures = LoRAParityTests.fixtures
    static let folder = fixtures.appendingPathComponent("pipelines/models/tiny-t2v").path

    func request(_ loras: [LoRARequest]) -> GenerationRequest {
        var r = GenerationRequest(mode: .t2v, modelName: "tiny-t2v", modelPath: Self.folder, prompt: "a red circle",
                                  seed: 1, width: 48, height: 32, frames: 5, fps: 16, steps: 2, guidance: 4)
        r.loras = loras
        return r
    }

    func lora(_ file: String, _ strength: Double = 1, _ expert: LoRAExpert = .both) -> LoRARequest {
        LoRARequest(path: LoRAParityTests.lora.appendingPathComponent(file).path, strength: strength, expert: expert)
    }

    func testTheSameLoRASetIsWarmAndAnotherIsNot() async throws {
        let engine = Engine(memoryBudgetBytes: 1 << 30)
        let generate = { (loras: [LoRARequest]) in
            try await engine.generate(self.request(loras), progress: { _ in }, isCancelled: { false })
        }
        let plain = try await generate([])
        let a = try await generate([lora("peft_t2v.safetensors", 0.8)])
        let aAgain = try await generate([lora("peft_t2v.safetensors", 0.8)])
        let b = try await generate([lora("peft_t2v.safetensors", 0.5)])
        let plainAgain = try await generate([])
        XCTAssertFalse(a.timings.modelWasWarm)
        XCTAssertTrue(aAgain.timings.modelWasWarm)
        XCTAssertFalse(b.timings.modelWasWarm)
        XCTAssertTrue(plainAgain.timings.modelWasWarm)
        XCTAssertEqual(a.latents, aAgain.latents)
        XCTAssertNotEqual(a.latents, b.latents)
        XCTAssertNotEqual(a.latents, plain.latents)
        XCTAssertEqual(plain.latents, plainAgain.latents)  // the base model was not changed by the merges
        XCTAssertEqual(a.loras.first?.sha256, aAgain.loras.first?.sha256)
        XCTAssertEqual(a.loras.first?.sha256.count, 64)
        let stats = await engine.cache.stats
        XCTAssertEqual(stats.loads, 3)
    }

    func testAReplacedFileGetsANewKey() throws {
        let dir = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                              appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("l.safetensors").path
        try FileManager.default.copyItem(atPath: lora("kohya_t2v.safetensors").path, toPath: path)
        let r = [LoRARequest(path: path)]
        let first = try LoRAModelLoader.cacheKey(modelPath: Self.folder, loras: r)
        XCTAssertEqual(first, try LoRAModelLoader.cacheKey(modelPath: Self.folder, loras: r))
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: lora("peft_t2v.safetensors").path, toPath: path)
        XCTAssertNotEqual(first, try LoRAModelLoader.cacheKey(modelPath: Self.folder, loras: r))
        XCTAssertNotEqual(first, try LoRAModelLoader.cacheKey(modelPath: Self.folder, loras: [LoRARequest(path: path, strength: 0.9)]))
        XCTAssertEqual(try LoRAModelLoader.cacheKey(modelPath: Self.folder, loras: []), Self.folder)
    }

    func testBadRequestsAreLocated() async throws {
        let engine = Engine(memoryBudgetBytes: 1 << 30)
        for (loras, needle) in [([LoRARequest(path: "/nonexistent/x.safetensors")], "not found"),
                                ([lora("peft_t2v.safetensors", 1, .low)], "two-expert"),
                                ([lora("latents.safetensors")], "not a Wan DiT LoRA key")] {
            do {
                _ = try await engine.generate(request(loras), progress: { _ in }, isCancelled: { false })
                XCTFail("expected an error for \(loras)")
            } catch let e as EngineError {
                XCTAssertEqual(e.kind, .badRequest)
                XCTAssertEqual(e.path, loras[0].path)
                XCTAssertTrue(e.message.contains(needle), e.message)
            }
        }
    }

    /// The default (`stored`) keeps the bf16 tiny model's merged tensors in bf16: memory as before,
    /// and the latents move by the rounding only (measured against the diffusers run).
    func testStoredPrecisionKeepsBF16AndStaysClose() async throws {
        let c = try LoRAParityTests.cases().cases.first { $0.name == "peft-t2v" }!
        let engine = Engine(memoryBudgetBytes: 1 << 30)
        let r = LoRAParityTests.request(c, try LoRAParityTests.cases())
        let video = try await engine.generate(r, progress: { _ in }, isCancelled: { false })
        let loaded = try await engine.cache.value(for: try LoRAModelLoader.cacheKey(modelPath: r.modelPath, loras: r.loras),
                                                  as: LoRAModelSet.self) { throw CancelledError(completedSteps: 0) }
        let dit = loaded.value.models.experts[0]
        XCTAssertEqual(dit.weights.dtype("blocks.0.self_attn.q.weight"), .bf16)
        XCTAssertEqual(dit.weights.ownedCount, 2 * 10 * 2 + 2)  // 20 linears (weight + bias), head weight + bias
        let base = try WanModelSet(folder: try WanModelFolder.open(r.modelPath), backend: CPUBackend(threads: 1))
        XCTAssertEqual(loaded.value.models.residentBytes, base.residentBytes)  // bf16 replaced by bf16
        let ref = try SafetensorsFile(path: LoRAParityTests.lora.appendingPathComponent("latents.safetensors").path).tensor(c.name)
        let theirs = flat(try StoredTensor(dtype: ref.dtype, shape: ref.shape, bytes: ref.bytes.baseAddress!, owner: ref.file).toTensor())
        let error = relativeError(LoRAParityTests.denormalized(video.latents, loaded.value.models.vae), theirs)
        print("peft-t2v with bf16 (stored) merges: latent rel. error \(error)")
        XCTAssertLessThan(error, 5e-3)
    }
}
