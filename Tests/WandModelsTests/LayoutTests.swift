import Foundation
import WandTensor
import XCTest
@testable import WandModels

final class LayoutTests: XCTestCase {
    private func verdict(_ file: String) throws -> (ModelVerdict, WeightSet) {
        let path = Fixtures.weights(file)
        let weights = path.hasSuffix(".pth") ? try PyTorchCheckpoint(path: path).weights : try SafetensorsFile(path: path).weights
        return (ModelDetector.detect(weights), weights)
    }

    func testDetection() throws {
        let cases: [(String, WanModelKind, KeyLayout)] = [
            ("dit_official.safetensors", .customDiT, .official),
            ("dit_diffusers.safetensors", .customDiT, .diffusers),
            ("dit_comfy_prefixed_fp16.safetensors", .customDiT, .comfyUI),
            ("dit_comfy_fp8_scaled.safetensors", .customDiT, .comfyUI),
            ("vae21_official.pth", .vae21, .official),
            ("vae22_official.pth", .vae22, .official),
            ("vae21_diffusers.safetensors", .vae21, .diffusers),
            ("vae22_diffusers.safetensors", .vae22, .diffusers),
            ("umt5_official.pth", .umt5Encoder, .official),
            ("umt5_hf.safetensors", .umt5Encoder, .transformers),
        ]
        for (file, model, layout) in cases {
            let (v, _) = try verdict(file)
            XCTAssertEqual(v.model, model, file)
            XCTAssertEqual(v.layout, layout, file)
        }
        let (dit, _) = try verdict("dit_diffusers.safetensors")
        XCTAssertEqual(dit.dit, DiTShape(dim: 32, ffnDim: 48, inDim: 4, outDim: 4, numLayers: 2, textDim: 24, freqDim: 16, hasImageEmbedding: false))
        let (fp8, _) = try verdict("dit_comfy_fp8_scaled.safetensors")
        XCTAssertTrue(fp8.fp8Scaled)
        XCTAssertEqual(fp8.scaleTensorCount, 2 * 10 + 1)
        let (prefixed, _) = try verdict("dit_comfy_prefixed_fp16.safetensors")
        XCTAssertEqual(prefixed.prefix, "model.diffusion_model.")
        let sharded = try ShardedSafetensors(indexPath: Fixtures.weights("sharded/diffusion_pytorch_model.safetensors.index.json"))
        XCTAssertEqual(ModelDetector.detect(sharded.weights).dit?.inDim, 36)
    }

    /// Mapping a layout's names must give exactly the official file's names, with the same shapes.
    private func assertMapsOntoOfficial(_ file: String, official: String, _ map: (String) -> String?) throws {
        let (_, source) = try verdict(file)
        let (_, target) = try verdict(official)
        var mapped: [String: [Int]] = [:]
        for t in source.tensors {
            guard let name = map(t.name) else { continue }
            if let previous = mapped[name] { XCTAssertEqual(previous, t.shape, name); continue }
            mapped[name] = t.shape
        }
        XCTAssertEqual(Set(mapped.keys), Set(target.names), file)
        for t in target.tensors { XCTAssertEqual(mapped[t.name], t.shape, "\(file): \(t.name)") }
    }

    func testDiTMappers() throws {
        try assertMapsOntoOfficial("dit_diffusers.safetensors", official: "dit_official.safetensors", KeyMapper.ditDiffusersToOfficial)
        try assertMapsOntoOfficial("dit_comfy_prefixed_fp16.safetensors", official: "dit_official.safetensors", KeyMapper.ditComfyToOfficial)
        try assertMapsOntoOfficial("dit_comfy_fp8_scaled.safetensors", official: "dit_official.safetensors", KeyMapper.ditComfyToOfficial)
        XCTAssertEqual(KeyMapper.ditDiffusersToOfficial("blocks.3.attn2.add_k_proj.weight"), "blocks.3.cross_attn.k_img.weight")
        XCTAssertEqual(KeyMapper.ditDiffusersToOfficial("condition_embedder.image_embedder.ff.net.0.proj.bias"), "img_emb.proj.1.bias")
        XCTAssertNil(KeyMapper.ditDiffusersToOfficial("blocks.0.attn1.to_out.1.weight"))
    }

    func testVAEAndTextEncoderMappers() throws {
        try assertMapsOntoOfficial("vae21_diffusers.safetensors", official: "vae21_official.pth") { KeyMapper.vaeDiffusersToOfficial($0, version: .wan21) }
        try assertMapsOntoOfficial("vae22_diffusers.safetensors", official: "vae22_official.pth") { KeyMapper.vaeDiffusersToOfficial($0, version: .wan22) }
        try assertMapsOntoOfficial("umt5_hf.safetensors", official: "umt5_official.pth", KeyMapper.umt5TransformersToOfficial)
    }

    func testEveryFP8WeightHasItsScale() throws {
        let (_, weights) = try verdict("dit_comfy_fp8_scaled.safetensors")
        let fp8 = weights.tensors.filter { $0.dtype == .fp8e4m3 && $0.name != "scaled_fp8" }
        XCTAssertEqual(fp8.count, 20)
        for t in fp8 {
            let scale = KeyMapper.scaleNames(forWeight: t.name).compactMap { weights[$0] }.first
            XCTAssertEqual(scale?.dtype, .f32, t.name)
            XCTAssertEqual(scale?.shape, [], t.name)
        }
    }

    func testParameterCountExcludesScaleTensors() throws {
        let (fp8, _) = try verdict("dit_comfy_fp8_scaled.safetensors")
        let (official, weights) = try verdict("dit_official.safetensors")
        XCTAssertEqual(fp8.parameterCount, official.parameterCount)
        XCTAssertEqual(official.parameterCount, weights.parameterCount)
    }
}

final class WeightFolderTests: XCTestCase {
    func testFolderScanUsesIndexesAndReportsRefusals() throws {
        let contents = try WeightFolder.open(Fixtures.weights("sharded"))
        XCTAssertEqual(contents.groups.map { ($0.path as NSString).lastPathComponent }, ["diffusion_pytorch_model.safetensors.index.json"])
        XCTAssertEqual(contents.groups.first?.config?["model_type"], .string("i2v"))
        XCTAssertEqual(contents.failures.count, 2) // lying.index.json and missing_shard.index.json
        XCTAssertThrowsError(try WeightFolder.open(Fixtures.weights("hostile_eval.pth")))
    }

    func testTiedUMT5EmbeddingCountedOnce() throws {
        let hf = try WeightFolder.open(Fixtures.weights("umt5_hf.safetensors")).groups[0]
        let official = try WeightFolder.open(Fixtures.weights("umt5_official.pth")).groups[0]
        XCTAssertEqual(hf.verdict.parameterCount, official.verdict.parameterCount)
    }
}

final class DiffusersRepoTests: XCTestCase {
    func testDiffusersPipelineFolder() throws {
        let root = Fixtures.weights("diffusers_repo")
        let index = try XCTUnwrap(try WeightFolder.pipelineIndex(root))
        XCTAssertEqual(index["_class_name"], .string("WanPipeline"))
        XCTAssertEqual(index["boundary_ratio"], .number(0.875))
        let contents = try WeightFolder.open(root)
        XCTAssertTrue(contents.failures.isEmpty)
        XCTAssertEqual(contents.groups.map { $0.verdict.layout }, [.diffusers, .diffusers])
        XCTAssertEqual(contents.groups.map { $0.verdict.model }, [.customDiT, .vae21])
        XCTAssertEqual(contents.groups.first?.config?["in_channels"], .integer(4))
    }
}
