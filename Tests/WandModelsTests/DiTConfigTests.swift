import WandModels
import WandTensor
import XCTest

/// config.json reading, the network's own shape table at the published sizes, and refusals.
final class DiTConfigTests: XCTestCase {
    func config(_ text: String) throws -> WanDiTConfig {
        try WanDiTConfig(json: try JSONParser.parse(text), path: "config.json")
    }

    func testPublishedParameterCounts() {
        XCTAssertEqual(WanDiTConfig.ti2v5B.parameterCount, 4_999_787_712)
        XCTAssertEqual(WanDiTConfig.t2vA14BExpert.parameterCount, 14_288_491_584)
        XCTAssertEqual(WanDiTConfig.i2vA14BExpert.parameterCount, 14_288_901_184)
        XCTAssertEqual(WanDiTConfig.wan21T2V1_3B.parameterCount, 1_418_996_800)
        XCTAssertEqual(WanDiTConfig.ti2v5B.headDim, 128)
        XCTAssertEqual(WanDiTConfig.i2vA14BExpert.parameterShapes.first { $0.name == "patch_embedding.weight" }?.shape,
                       [5120, 36, 1, 2, 2])
        XCTAssertEqual(WanDiTConfig.ti2v5B.parameterShapes.first { $0.name == "head.head.weight" }?.shape, [192, 3072])
    }

    func testOfficialConfigJSON() throws {
        // The published TI2V-5B config.json (spec §1): patch size, norms and text_dim are not stored.
        let c = try config("""
        {"_class_name": "WanModel", "_diffusers_version": "0.33.0", "dim": 3072, "eps": 1e-06,
         "ffn_dim": 14336, "freq_dim": 256, "in_dim": 48, "model_type": "ti2v", "num_heads": 24,
         "num_layers": 30, "out_dim": 48, "text_len": 512}
        """)
        XCTAssertEqual(c, .ti2v5B)
    }

    func testDiffusersConfigJSON() throws {
        let c = try config("""
        {"_class_name": "WanTransformer3DModel", "_diffusers_version": "0.35.0.dev0", "added_kv_proj_dim": null,
         "attention_head_dim": 128, "cross_attn_norm": true, "eps": 1e-06, "ffn_dim": 13824, "freq_dim": 256,
         "image_dim": null, "in_channels": 36, "num_attention_heads": 40, "num_layers": 40, "out_channels": 16,
         "patch_size": [1, 2, 2], "pos_embed_seq_len": null, "qk_norm": "rms_norm_across_heads",
         "rope_max_seq_len": 1024, "text_dim": 4096}
        """)
        XCTAssertEqual(c, .i2vA14BExpert)
    }

    func testRefusals() {
        XCTAssertThrowsError(try config(#"{"_class_name": "WanModel", "dim": 64, "num_heads": 2}"#)) { error in
            XCTAssertEqual(error as? ModelError, .badConfig(path: "config.json", key: "ffn_dim", detail: "missing"))
        }
        XCTAssertThrowsError(try config("""
        {"num_attention_heads": 40, "attention_head_dim": 128, "ffn_dim": 13824, "num_layers": 40,
         "in_channels": 36, "image_dim": 1280, "added_kv_proj_dim": 5120}
        """)) { error in
            guard case .unsupported? = error as? ModelError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try config(#"{"dim": 64, "ffn_dim": 128, "num_heads": 2, "num_layers": 1, "patch_size": [1, 4, 4]}"#))
        XCTAssertThrowsError(try config(#"{"dim": 64, "ffn_dim": 128, "num_heads": 3, "num_layers": 1}"#))
        XCTAssertThrowsError(try config(#"{"dim": 64, "ffn_dim": 128, "num_heads": 2, "num_layers": 1, "model_type": "s2v"}"#))
    }

    func testWeightsThatDoNotFitTheConfigAreRefused() throws {
        let path = ReferenceFixtures.dit("t2v_d64_h2.official.safetensors")
        let weights = try SafetensorsFile(path: path).weights
        var config = try WanDiTConfig(configFile: ReferenceFixtures.dit("t2v_d64_h2.official.config.json"))
        config.ffnDim = 96
        XCTAssertThrowsError(try WanDiT(config: config, weights: weights, path: path, backend: CPUBackend(threads: 1))) { error in
            XCTAssertEqual(error as? ModelError, .weightShape(path: path, tensor: "blocks.0.ffn.0.weight",
                                                              expected: [96, 64], actual: [128, 64]))
        }
        config.ffnDim = 128
        config.numLayers = 3
        XCTAssertThrowsError(try WanDiT(config: config, weights: weights, path: path, backend: CPUBackend(threads: 1))) { error in
            XCTAssertEqual(error as? ModelError, .missingWeight(path: path, tensor: "blocks.2.modulation"))
        }
        config.numLayers = 1
        XCTAssertThrowsError(try WanDiT(config: config, weights: weights, path: path, backend: CPUBackend(threads: 1))) { error in
            guard case .unexpectedWeight? = error as? ModelError else { return XCTFail("\(error)") }
        }
    }
}
