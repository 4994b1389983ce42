import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// Full few-step checkpoints load through the normal loaders. FastVideo publishes FastWan as a
/// diffusers folder whose model_index.json names `WanDMDPipeline` and carries no boundary_ratio or
/// expand_timesteps (FastVideo/FastWan2.1-T2V-14B-Diffusers' model_index.json), with
/// WanTransformer3DModel weights in diffusers names (FastVideo's param_names_mapping reads them).
/// Here: that model_index over the tiny TI2V components, run with FastWan's own recipe
/// (fastwan-3step; its parity with FastVideo is DMDParityTests).
final class FewStepCheckpointTests: XCTestCase {
    func testFastWanLayoutOpensAsATI2VFolderAndRunsTheRecipe() async throws {
        let shared = LoRAParityTests.fixtures.appendingPathComponent("pipelines/models/shared")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wand-fastwan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scheduler"), withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for (link, target) in [("transformer", "ti2v"), ("text_encoder", "text_encoder"), ("tokenizer", "tokenizer"), ("vae", "vae22")] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(link), withDestinationURL: shared.appendingPathComponent(target))
        }
        try Data("""
        {"_class_name": "WanDMDPipeline", "_diffusers_version": "0.33.0.dev0",
         "scheduler": ["diffusers", "UniPCMultistepScheduler"], "text_encoder": ["transformers", "UMT5EncoderModel"],
         "tokenizer": ["transformers", "T5TokenizerFast"], "transformer": ["diffusers", "WanTransformer3DModel"],
         "vae": ["diffusers", "AutoencoderKLWan"]}
        """.utf8).write(to: dir.appendingPathComponent("model_index.json"))
        let folder = try WanModelFolder.open(dir.path)
        XCTAssertEqual(folder.layout, .diffusers)
        XCTAssertEqual(folder.transformers.count, 1)
        XCTAssertNil(folder.boundaryRatio)
        XCTAssertTrue(folder.expandTimesteps)  // from the 48-channel transformer

        let recipe = try XCTUnwrap(FewStepRecipe.named("fastwan-3step"))
        var r = GenerationRequest(mode: .ti2v, modelName: "fastwan", modelPath: dir.path, prompt: "a red circle",
                                  seed: 3, width: 96, height: 64, frames: 5, fps: 16, steps: recipe.steps, sampler: recipe.sampler,
                                  shift: recipe.shift, guidance: recipe.guidance)
        r.sigmaSchedule = recipe.schedule
        let video = try await Engine(memoryBudgetBytes: 1 << 30).generate(r, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(video.latentShape, [48, 2, 4, 6])
        XCTAssertTrue(video.latents.allSatisfy(\.isFinite))
    }
}
