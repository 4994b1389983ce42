import WandTensor
import XCTest
@testable import WandModels

/// UMT5EncoderModel folders with other bucket counts, max distances, attention widths and
/// epsilons than umT5-XXL (Tools/reference/config_spread_fixtures.py): the encoder output matches
/// transformers; configs of other encoders are refused by field and value.
final class UMT5ConfigSpreadTests: XCTestCase {
    static let root = VAEConfigSpreadTests.root + "umt5/"

    func testOtherSizesMatchTransformers() throws {
        for name in ["umt5_b16_d20", "umt5_b8_d6"] {
            let folder = Self.root + name
            let config = try UMT5Config(configFile: folder + "/config.json")
            let path = folder + "/model.safetensors"
            let encoder = try UMT5Encoder(config: config, weights: try SafetensorsFile(path: path).weights, path: path,
                                          backend: CPUBackend(threads: 2))
            let io = try SafetensorsFile(path: Self.root + "\(name).io.safetensors")
            let out = try encoder.encode(try ReferenceFixtures.ints(io, "ids"))
            let expected = try ReferenceFixtures.tensor(io, "out")
            XCTAssertEqual(out.shape, expected.shape, name)
            let err = ReferenceFixtures.relativeError(out, expected)
            print("umT5 \(name) (\(config.numBuckets) buckets, max distance \(config.maxDistance), \(config.numHeads)x\(config.headDim) on \(config.dim)): rel \(err)")
            XCTAssertLessThanOrEqual(err, 1e-5, name)
        }
        let c = try UMT5Config(configFile: Self.root + "umt5_b16_d20/config.json")
        XCTAssertEqual(c, UMT5Config(vocabSize: 64, dim: 16, numHeads: 3, headDim: 6, ffnDim: 24, numLayers: 2,
                                     numBuckets: 16, maxDistance: 20, eps: 1e-5))
    }

    func assertRefused(_ text: String, naming key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try UMT5Config(json: try JSONParser.parse(text), path: "text_encoder/config.json"), file: file, line: line) { error in
            switch error as? ModelError {
            case let .unsupported(path, detail)?:
                XCTAssertEqual(path, "text_encoder/config.json", file: file, line: line)
                XCTAssertTrue(detail.hasPrefix("config field \"\(key)\" = "), detail, file: file, line: line)
            case let .badConfig(_, k, _)?: XCTAssertEqual(k, key, file: file, line: line)
            default: XCTFail("\(error)", file: file, line: line)
            }
        }
    }

    func testRefusals() throws {
        assertRefused(#"{"model_type": "t5", "d_model": 16}"#, naming: "model_type")
        assertRefused(#"{"model_type": "umt5", "feed_forward_proj": "relu"}"#, naming: "feed_forward_proj")
        assertRefused(#"{"feed_forward_proj": "gated-silu"}"#, naming: "feed_forward_proj")
        assertRefused(#"{"relative_attention_num_buckets": 2}"#, naming: "relative_attention_num_buckets")
        assertRefused(#"{"relative_attention_num_buckets": 16, "relative_attention_max_distance": 4}"#,
                      naming: "relative_attention_max_distance")
        assertRefused(#"{"d_model": 0}"#, naming: "d_model")
        assertRefused(#"{"layer_norm_epsilon": "1e-6"}"#, naming: "layer_norm_epsilon")
        assertRefused(#"{"num_layers": 100000}"#, naming: "num_layers")
        // Absent fields take transformers' UMT5Config defaults.
        XCTAssertEqual(try UMT5Config(json: try JSONParser.parse("{}"), path: "c"),
                       UMT5Config(vocabSize: 250_112, dim: 512, numHeads: 6, headDim: 64, ffnDim: 1024, numLayers: 8))
    }
}
