import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// A minimal safetensors writer for tests: f32 (or bf16 bits) tensors, optional metadata.
enum TestSafetensors {
    static func write(_ tensors: [(String, [Int], [Float])], to path: String, metadata: [String: String] = [:],
                      dtype: DType = .f32) throws {
        var entries: [String] = []
        var data = Data()
        for (name, shape, values) in tensors {
            let begin = data.count
            for v in values {
                if dtype == .bf16 {
                    var bits = UInt16(truncatingIfNeeded: v.bitPattern >> 16)
                    data.append(Data(bytes: &bits, count: 2))
                } else {
                    var f = v
                    data.append(Data(bytes: &f, count: 4))
                }
            }
            entries.append("\"\(name)\":{\"dtype\":\"\(dtype.safetensorsName)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(data.count)]}")
        }
        if !metadata.isEmpty {
            let pairs = metadata.map { "\"\($0.key)\":\(jsonString($0.value))" }.joined(separator: ",")
            entries.insert("\"__metadata__\":{\(pairs)}", at: 0)
        }
        var header = "{" + entries.joined(separator: ",") + "}"
        while header.utf8.count % 8 != 0 { header += " " }
        var out = Data()
        var n = UInt64(header.utf8.count).littleEndian
        out.append(Data(bytes: &n, count: 8))
        out.append(Data(header.utf8))
        out.append(data)
        try out.write(to: URL(fileURLWithPath: path))
    }

    static func jsonString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}

final class LoRAKeyMappingTests: XCTestCase {
    func key(_ s: String) -> LoRAKey? { try? LoRAKeyMapping.parse(s).get() }

    func testEveryPublishedLayoutNamesTheSameModule() {
        let forms = ["diffusion_model.blocks.3.self_attn.q.lora_down.weight", "blocks.3.self_attn.q.lora_A.weight",
                     "lora_unet_blocks_3_self_attn_q.lora_down.weight", "transformer.blocks.3.attn1.to_q.lora_A.weight",
                     "model.diffusion_model.blocks.3.self_attn.q.lora.down.weight",
                     "base_model.model.blocks.3.attn1.to_q.lora_A.default.weight"]
        for f in forms {
            XCTAssertEqual(key(f)?.module, "blocks.3.self_attn.q", f)
            XCTAssertEqual(key(f)?.role, .down, f)
            XCTAssertEqual(key(f)?.target, "blocks.3.self_attn.q.weight", f)
        }
        XCTAssertEqual(key("transformer.blocks.0.attn2.to_out.0.lora_B.weight")?.module, "blocks.0.cross_attn.o")
        XCTAssertEqual(key("transformer.blocks.0.ffn.net.0.proj.lora_B.bias")?.target, "blocks.0.ffn.0.bias")
        XCTAssertEqual(key("transformer.proj_out.lora_A.weight")?.module, "head.head")
        XCTAssertEqual(key("transformer.condition_embedder.time_proj.lora_A.weight")?.module, "time_projection.1")
        XCTAssertEqual(key("lora_unet_blocks_12_cross_attn_k_img.alpha")?.module, "blocks.12.cross_attn.k_img")
        XCTAssertEqual(key("lora_unet_blocks_0_ffn_2.lora_up.weight")?.module, "blocks.0.ffn.2")
        XCTAssertEqual(key("lora_unet_head_head.lora_up.weight")?.module, "head.head")
        XCTAssertEqual(key("diffusion_model.blocks.7.diff_m")?.target, "blocks.7.modulation")
        XCTAssertEqual(key("diffusion_model.head.head.diff")?.target, "head.head.weight")
        XCTAssertEqual(key("diffusion_model.blocks.1.norm3.diff_b")?.target, "blocks.1.norm3.bias")
        XCTAssertEqual(key("diffusion_model.blocks.1.self_attn.o.diff_b")?.role, .diffBias)
        XCTAssertEqual(key("diffusion_model.patch_embedding.lora_down.weight")?.module, "patch_embedding")
        XCTAssertTrue(key("diffusion_model.img_emb.proj.1.lora_up.weight")!.isImageBranch)
        XCTAssertTrue(key("transformer.blocks.0.attn2.add_v_proj.lora_A.weight")!.isImageBranch)
    }

    func testUnknownAndUnsupportedKeysAreTold() {
        for bad in ["blocks.0.self_attn.q.weight", "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
                    "diffusion_model.blocks.0.self_attn.qq.lora_down.weight", "blocks.x.ffn.0.lora_A.weight",
                    "diffusion_model.blocks.0.lora_down.weight", "diffusion_model.blocks.0.ffn.0.diff_m",
                    "lora_unet_blocks_01_ffn_0.lora_down.weight", "transformer.blocks.0.scale_shift_table.lora_A.weight", ""] {
            XCTAssertEqual(LoRAKeyMapping.parse(bad).failure, .unknown, bad)
        }
        XCTAssertEqual(LoRAKeyMapping.parse("diffusion_model.blocks.0.self_attn.q.dora_scale").failure, .unsupported("DoRA (weight-decomposed LoRA)"))
        XCTAssertEqual(LoRAKeyMapping.parse("lora_unet_blocks_0_ffn_0.hada_w1_a").failure, .unsupported("LoHa"))
    }

    func testPEFTPatternsMatchAsPEFTDoes() {
        XCTAssertTrue(PEFTMetadata.matches("blocks.1.ffn.net.2", "blocks.1.ffn.net.2"))
        XCTAssertTrue(PEFTMetadata.matches("to_q", "blocks.1.attn1.to_q"))
        XCTAssertFalse(PEFTMetadata.matches("to_q", "blocks.1.attn1.xto_q"))
        XCTAssertTrue(PEFTMetadata.matches("^blocks.1.attn1.to_q", "blocks.1.attn1.to_q"))
        XCTAssertFalse(PEFTMetadata.matches("^attn1.to_q", "blocks.1.attn1.to_q"))
        let m = PEFTMetadata(rank: 4, alpha: 8, rankPattern: [("ffn.net.2", 2)], alphaPattern: [("ffn.net.2", 6)])
        XCTAssertEqual(try m.scale(forModule: "blocks.0.attn1.to_q", path: ""), 2)
        XCTAssertEqual(try m.scale(forModule: "blocks.0.ffn.net.2", path: ""), 3)
        XCTAssertEqual(try PEFTMetadata(rank: 16, alpha: 8, useRSLoRA: true).scale(forModule: "x", path: ""), 2)
    }
}

extension Result {
    var failure: Failure? { if case let .failure(f) = self { return f }; return nil }
}

final class LoRAMergeTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
    }

    /// The d64 official DiT fixture (2 blocks, ffn 128, text 32, out 16).
    func model() throws -> WanDiT {
        let path = ReferenceFixtures.dit("t2v_d64_h2.official.safetensors")
        return try WanDiT(config: try WanDiTConfig(configFile: ReferenceFixtures.dit("t2v_d64_h2.official.config.json")),
                          weights: try SafetensorsFile(path: path).weights, path: path, backend: CPUBackend(threads: 1))
    }

    func values(_ n: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(state: seed)
        return (0..<n).map { _ in Float(Double(g.next() % 2001) / 1000 - 1) * 0.1 }
    }

    func lora(_ tensors: [(String, [Int], [Float])], _ name: String = "l.safetensors", metadata: [String: String] = [:],
              dtype: DType = .f32) throws -> LoRAFile {
        let path = dir + "/" + name
        try TestSafetensors.write(tensors, to: path, metadata: metadata, dtype: dtype)
        return try LoRAFile(path: path)
    }

    func testLowRankDeltaAndModulationAreAddedWithTheirScales() throws {
        let dit = try model()
        let down = values(4 * 64, seed: 1), up = values(64 * 4, seed: 2), diff = values(6 * 64, seed: 3)
        let file = try lora([("diffusion_model.blocks.1.cross_attn.v.lora_down.weight", [4, 64], down),
                             ("diffusion_model.blocks.1.cross_attn.v.lora_up.weight", [64, 4], up),
                             ("diffusion_model.blocks.1.cross_attn.v.alpha", [], [2]),
                             ("diffusion_model.blocks.1.diff_m", [1, 6, 64], diff)])
        let (merged, report) = try dit.merging([LoRAApplication(file: file, strength: 0.5)], precision: .f32)
        XCTAssertEqual(report.mergedTensors, 2)
        XCTAssertEqual(report.ownedBytes, (64 * 64 + 6 * 64) * 4)
        let before = try dit.weights.widened("blocks.1.cross_attn.v.weight").array
        let after = try merged.weights.widened("blocks.1.cross_attn.v.weight").array
        for (i, j) in [(0, 0), (5, 17), (63, 63)] {
            var d: Float = 0
            for r in 0..<4 { d += up[i * 4 + r] * down[r * 64 + j] }
            XCTAssertEqual(after[i * 64 + j], before[i * 64 + j] + 0.5 * 0.5 * d, accuracy: 1e-6)
        }
        let mod0 = try dit.weights.widened("blocks.1.modulation").array, mod1 = try merged.weights.widened("blocks.1.modulation").array
        XCTAssertEqual(mod1[100], mod0[100] + 0.5 * diff[100], accuracy: 1e-6)
        // The original model is untouched; an untouched tensor is still the mapped one.
        XCTAssertEqual(try dit.weights.widened("blocks.1.cross_attn.v.weight").array, before)
        XCTAssertEqual(merged.weights.ownedCount, 2)
        XCTAssertEqual(try merged.weights.widened("blocks.0.ffn.0.weight").array, try dit.weights.widened("blocks.0.ffn.0.weight").array)
    }

    /// `stored` keeps a bf16 model bf16: the merged values are the f32 merge rounded to nearest even.
    func testStoredPrecisionRoundsIntoTheBaseDType() throws {
        let dit = try model()
        XCTAssertEqual(dit.weights.dtype("blocks.0.ffn.2.weight"), .f32)
        let tensors = [("blocks.0.ffn.2.lora_A.weight", [4, 128], values(4 * 128, seed: 5)),
                       ("blocks.0.ffn.2.lora_B.weight", [64, 4], values(64 * 4, seed: 6))]
        let file = try lora(tensors)
        let (f32, _) = try dit.merging([LoRAApplication(file: file, strength: 1)], precision: .f32)
        let (stored, r) = try dit.merging([LoRAApplication(file: file, strength: 1)], precision: .stored)
        XCTAssertEqual(stored.weights.dtype("blocks.0.ffn.2.weight"), .f32)  // an f32 base stays f32
        XCTAssertEqual(r.ownedBytes, r.replacedMappedBytes)
        XCTAssertEqual(try stored.weights.widened("blocks.0.ffn.2.weight").array, try f32.weights.widened("blocks.0.ffn.2.weight").array)
        for (f, bits) in [(Float(1.0), UInt16(0x3F80)), (1.00390625, 0x3F80), (1.01171875, 0x3F82), (-2.5, 0xC020)] {
            XCTAssertEqual(OwnedWeight.bf16Bits(f), bits, "\(f)")
        }
        let values: [Float] = [1, 1.0039, -3.3, 1e-3]
        let owned = values.withUnsafeBufferPointer { OwnedWeight($0.baseAddress!, count: 4, shape: [4], dtype: .bf16) }
        let read = (0..<4).map { DTypeConversion.bf16ToFloat(owned.bytes.load(fromByteOffset: 2 * $0, as: UInt16.self)) }
        for (a, b) in zip(read, values) { XCTAssertEqual(a, b, accuracy: abs(b) / 128) }
    }

    func testKeysThatMissTheModelAreRefusedByName() throws {
        let dit = try model()
        let file = try lora([("blocks.9.ffn.0.lora_A.weight", [2, 64], values(128, seed: 1)),
                             ("blocks.9.ffn.0.lora_B.weight", [128, 2], values(256, seed: 2)),
                             ("blocks.0.ffn.0.lora_A.weight", [2, 64], values(128, seed: 1)),
                             ("blocks.0.ffn.0.lora_B.weight", [128, 2], values(256, seed: 2))])
        XCTAssertThrowsError(try dit.merging([LoRAApplication(file: file, strength: 1)], precision: .f32)) { error in
            let e = error as! LoRAError
            XCTAssertEqual(e.tensors, ["blocks.9.ffn.0.lora_A.weight", "blocks.9.ffn.0.lora_B.weight"])
            XCTAssertTrue("\(e)".contains("a module this model does not have"), "\(e)")
        }
        let wrong = try lora([("blocks.0.ffn.0.lora_A.weight", [2, 96], values(192, seed: 1)),
                              ("blocks.0.ffn.0.lora_B.weight", [128, 2], values(256, seed: 2))], "wrong.safetensors")
        XCTAssertThrowsError(try dit.merging([LoRAApplication(file: wrong, strength: 1)], precision: .f32)) { error in
            XCTAssertEqual((error as! LoRAError).tensors, ["blocks.0.ffn.0.lora_A.weight"])
        }
    }

    func testImageBranchKeysAreSkippedAndReported() throws {
        let dit = try model()
        let file = try lora([("diffusion_model.blocks.0.cross_attn.k_img.lora_down.weight", [2, 64], values(128, seed: 1)),
                             ("diffusion_model.blocks.0.cross_attn.k_img.lora_up.weight", [64, 2], values(128, seed: 2)),
                             ("diffusion_model.blocks.0.cross_attn.k.lora_down.weight", [2, 64], values(128, seed: 1)),
                             ("diffusion_model.blocks.0.cross_attn.k.lora_up.weight", [64, 2], values(128, seed: 2))])
        let (_, report) = try dit.merging([LoRAApplication(file: file, strength: 1)], precision: .f32)
        XCTAssertEqual(report.mergedTensors, 1)
        XCTAssertEqual(report.skippedImageBranchKeys.count, 2)
    }

    func testMalformedFilesGiveLocatedErrors() throws {
        func refused(_ tensors: [(String, [Int], [Float])], metadata: [String: String] = [:], _ check: (LoRAError) -> Void) throws {
            let path = dir + "/bad.safetensors"
            try TestSafetensors.write(tensors, to: path, metadata: metadata)
            XCTAssertThrowsError(try LoRAFile(path: path)) { check($0 as! LoRAError) }
        }
        try refused([("blocks.0.ffn.0.lora_A.weight", [2, 64], values(128, seed: 1))]) {
            XCTAssertEqual($0.tensors, ["blocks.0.ffn.0.lora_A.weight"])
            XCTAssertTrue("\($0)".contains("without its up"), "\($0)")
        }
        try refused([("blocks.0.ffn.0.lora_A.weight", [2, 64], values(128, seed: 1)),
                     ("blocks.0.ffn.0.lora_B.weight", [128, 3], values(384, seed: 2))]) {
            XCTAssertEqual($0.tensors, ["blocks.0.ffn.0.lora_B.weight"])
        }
        try refused([("blocks.0.ffn.0.lora_A.weight", [2, 64], values(128, seed: 1)),
                     ("diffusion_model.blocks.0.ffn.0.lora_down.weight", [2, 64], values(128, seed: 1))]) {
            if case .duplicate = $0.kind {} else { XCTFail("\($0)") }
        }
        try refused([("blocks.0.ffn.0.lora_A.weight", [2, 64], values(128, seed: 1)),
                     ("blocks.0.ffn.0.lora_B.weight", [128, 2], values(256, seed: 2)),
                     ("blocks.0.ffn.0.alpha", [2], [1, 2])]) {
            XCTAssertEqual($0.tensors, ["blocks.0.ffn.0.alpha"])
        }
        try refused([("text_encoders.t5.lora_A.weight", [1], [1]), ("vae.decoder.lora", [1], [1])]) {
            XCTAssertEqual($0.kind, .unknownKeys(["text_encoders.t5.lora_A.weight", "vae.decoder.lora"]))
        }
        try refused([("transformer.blocks.0.attn1.to_q.lora_A.weight", [2, 64], values(128, seed: 1)),
                     ("transformer.blocks.0.attn1.to_q.lora_B.weight", [64, 2], values(128, seed: 2))],
                    metadata: ["lora_adapter_metadata": "{\"transformer.r\": 2, \"transformer.use_dora\": true}"]) {
            XCTAssertEqual($0.kind, .unsupported("DoRA (use_dora true)"))
        }
        try refused([], { XCTAssertEqual($0.kind, .noAdapters) })
    }
}
