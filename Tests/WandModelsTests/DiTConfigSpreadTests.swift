import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// WanTransformer3DModel folders saved by diffusers with non-default configs (issue 24): patch
/// sizes (1,1,1), (2,2,2), (1,2,1), (2,1,2), head sizes not divisible by 6, cross_attn_norm off,
/// qk_norm null, eps 1e-5, rope_max_seq_len 16, out_channels null, per-token timesteps
/// (Tools/reference/config_spread_fixtures.py). One forward pass matches diffusers (float32).
final class DiTConfigSpreadTests: XCTestCase {
    static let root = VAEConfigSpreadTests.root + "dit/"
    let backend = CPUBackend(threads: 2)

    struct Case: Decodable { let name: String; let kind: String }
    struct Cases: Decodable { let cases: [Case] }

    func model(_ name: String) throws -> WanDiT {
        let folder = Self.root + name
        let config = try WanDiTConfig(configFile: folder + "/config.json")
        let path = folder + "/diffusion_pytorch_model.safetensors"
        return try WanDiT(config: config, weights: try SafetensorsFile(path: path).weights, path: path, backend: backend)
    }

    func testEveryConfigMatchesDiffusers() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: VAEConfigSpreadTests.root + "cases.json"))
        let names = try JSONDecoder().decode(Cases.self, from: data).cases.filter { $0.kind == "dit" }.map(\.name)
        XCTAssertGreaterThanOrEqual(names.count, 5)
        var report: [String] = []
        for name in names {
            let dit = try model(name)
            let io = try SafetensorsFile(path: Self.root + "\(name).io.safetensors")
            let t = try ReferenceFixtures.tensor(io, "t").array.map(Double.init)
            let text = try dit.prepareText(try ReferenceFixtures.tensor(io, "context"))
            let out = try dit.forward(latent: try ReferenceFixtures.tensor(io, "x"), timesteps: t.count == 1 ? .scalar(t[0]) : .perToken(t),
                                      text: text)
            let expected = try ReferenceFixtures.tensor(io, "out")
            XCTAssertEqual(out.shape, expected.shape, name)
            guard out.shape == expected.shape else { continue }
            let err = ReferenceFixtures.relativeError(out, expected)
            XCTAssertLessThanOrEqual(err, 1e-5, name)
            report.append("\(name) patch \(dit.config.patchSize) head \(dit.config.headDim): rel \(err)")
        }
        print(report.joined(separator: "\n"))
    }

    func testConfigFieldsAreHonoured() throws {
        let c = try model("p122_noxnorm").config
        XCTAssertFalse(c.crossAttnNorm)
        XCTAssertTrue(c.qkNorm, "diffusers builds norm_q/norm_k whatever qk_norm says")
        XCTAssertEqual(c.outDim, 6, "out_channels null means in_channels")
        XCTAssertEqual(c.eps, 1e-5)
        let p = try model("p121_h1")
        XCTAssertEqual(p.config.patchSize, [1, 2, 1])
        XCTAssertEqual(p.config.ropeMaxSeqLen, 16)
        // 17 columns of tokens is past rope_max_seq_len 16 (diffusers' RoPE table ends there too).
        let text = try p.prepareText(Tensor(zeros: [2, p.config.textDim]))
        XCTAssertThrowsError(try p.forward(latent: Tensor(zeros: [5, 1, 2, 17]), timesteps: .scalar(1), text: text)) { error in
            guard case .badInput(argument: "latent", _)? = error as? ModelError else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try p.forward(latent: Tensor(zeros: [5, 1, 2, 16]), timesteps: .scalar(1), text: text))
        // A patch that does not tile the latent is refused, not truncated.
        let q = try model("p222_h2")
        let qText = try q.prepareText(Tensor(zeros: [1, q.config.textDim]))
        XCTAssertThrowsError(try q.forward(latent: Tensor(zeros: [4, 3, 4, 4]), timesteps: .scalar(1), text: qText))
    }

    func parse(_ fields: String) throws -> WanDiTConfig {
        try WanDiTConfig(json: try JSONParser.parse("{\"_class_name\": \"WanTransformer3DModel\", \(fields)}"), path: "transformer/config.json")
    }

    func assertRefused(_ fields: String, naming key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(fields), file: file, line: line) { error in
            switch error as? ModelError {
            case let .unsupported(path, detail)?:
                XCTAssertEqual(path, "transformer/config.json", file: file, line: line)
                XCTAssertTrue(detail.hasPrefix("config field \"\(key)\" = "), detail, file: file, line: line)
            case let .badConfig(path, k, _)?:
                XCTAssertEqual(path, "transformer/config.json", file: file, line: line)
                XCTAssertEqual(k, key, file: file, line: line)
            default: XCTFail("\(error)", file: file, line: line)
            }
        }
    }

    func testDiffusersDefaultsAndRefusals() throws {
        // Absent fields take WanTransformer3DModel's defaults (the A14B expert's shape).
        XCTAssertEqual(try parse("\"in_channels\": 16"), .t2vA14BExpert)
        assertRefused("\"image_dim\": 1280", naming: "image_dim")
        assertRefused("\"added_kv_proj_dim\": 5120", naming: "added_kv_proj_dim")
        assertRefused("\"pos_embed_seq_len\": 514", naming: "pos_embed_seq_len")
        assertRefused("\"window_size\": [4, 4]", naming: "window_size")
        assertRefused("\"patch_size\": [1, 0, 2]", naming: "patch_size")
        assertRefused("\"patch_size\": [1, 2]", naming: "patch_size")
        assertRefused("\"attention_head_dim\": 9", naming: "attention_head_dim")
        assertRefused("\"qk_norm\": true", naming: "qk_norm")
        assertRefused("\"cross_attn_norm\": \"yes\"", naming: "cross_attn_norm")
        assertRefused("\"freq_dim\": 255", naming: "freq_dim")
        assertRefused("\"num_layers\": 5000", naming: "num_layers")
        assertRefused("\"sample_size\": 64", naming: "sample_size")        // unknown: refused, not ignored
        XCTAssertThrowsError(try WanDiTConfig(json: try JSONParser.parse(#"{"_class_name": "WanVACETransformer3DModel"}"#), path: "x"))
        XCTAssertThrowsError(try parse("\"image_dim\": 1280")) { error in
            XCTAssertEqual("\(error)", "transformer/config.json: not implemented: config field \"image_dim\" = 1280: "
                           + "Wan2.1 I2V CLIP image tokens; Wand has no CLIP image encoder")
        }
    }

    func testOfficialNormFlagsAreHonoured() throws {
        let c = try WanDiTConfig(json: try JSONParser.parse("""
        {"_class_name": "WanModel", "dim": 64, "ffn_dim": 128, "num_heads": 2, "num_layers": 1, "qk_norm": false, "cross_attn_norm": false}
        """), path: "config.json")
        XCTAssertFalse(c.qkNorm)
        XCTAssertFalse(c.crossAttnNorm)
        let names = Set(c.parameterShapes.map(\.name))
        XCTAssertFalse(names.contains("blocks.0.self_attn.norm_q.weight"))
        XCTAssertFalse(names.contains("blocks.0.norm3.weight"))
        XCTAssertEqual(c.parameterCount, WanDiTConfig(modelType: .t2v, dim: 64, ffnDim: 128, numHeads: 2, numLayers: 1,
                                                      inDim: 16, outDim: 16).parameterCount - 4 * 64 - 2 * 64)
    }
}
