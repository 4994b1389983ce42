import WandModels
import WandTensor
import XCTest

/// The umT5 encoder against the official wan T5Encoder (and transformers' UMT5EncoderModel).
final class UMT5ParityTests: XCTestCase {
    let backend = CPUBackend(threads: 2)

    func io() throws -> SafetensorsFile { try SafetensorsFile(path: ReferenceFixtures.umt5("tiny.io.safetensors")) }

    func check(_ encoder: UMT5Encoder, label: String) throws {
        let io = try io()
        let ids = try ReferenceFixtures.ints(io, "ids"), mask = try ReferenceFixtures.ints(io, "mask")
        let expected = try ReferenceFixtures.tensor(io, "out")
        let prompts = expected.shape[0], textLen = expected.shape[1], dim = expected.shape[2]
        for p in 0..<prompts {
            let realLength = (0..<textLen).filter { mask[p * textLen + $0] != 0 }.count
            let promptIDs = Array(ids[(p * textLen)..<(p * textLen + realLength)])
            let out = try encoder.encodePadded(promptIDs, textLen: textLen)
            let want = try expected.sliced(dim: 0, p..<(p + 1)).reshaped([textLen, dim])
            XCTAssertEqual(out.shape, want.shape)
            let err = ReferenceFixtures.relativeError(out, want)
            print("umT5 parity \(label) prompt \(p) (\(realLength) tokens): rel \(err)")
            XCTAssertLessThanOrEqual(err, 1e-4, "\(label) prompt \(p)")
            // Padding rows are exactly zero, as the pipelines hand them to the DiT.
            XCTAssertTrue(out.array[(realLength * dim)...].allSatisfy { $0 == 0 })
        }
    }

    func testOfficialLayoutMatchesReference() throws {
        let path = ReferenceFixtures.umt5("tiny.official.safetensors")
        let hfConfig = try UMT5Config(configFile: ReferenceFixtures.umt5("tiny.transformers/config.json"))
        let encoder = try UMT5Encoder(config: hfConfig, weights: try SafetensorsFile(path: path).weights,
                                      path: path, backend: backend)
        try check(encoder, label: "official f32")
        // An official folder's .pth has no config: its sizes come from the tensor shapes.
        let weights = try SafetensorsFile(path: path).weights
        XCTAssertEqual(try UMT5Config.official(weights, path: path), hfConfig)
        let sized = try UMT5Encoder(config: try UMT5Config.official(weights, path: path), weights: weights, path: path, backend: backend)
        try check(sized, label: "official f32, sized from its shapes")
    }

    func testShapeInferenceNamesWhatIsMissingOrWrong() throws {
        let path = ReferenceFixtures.umt5("tiny.official.safetensors")
        let all = try SafetensorsFile(path: path).weights
        let noBias = try WeightSet(all.tensors.filter { $0.name != "blocks.0.pos_embedding.embedding.weight" })
        XCTAssertThrowsError(try UMT5Config(officialWeights: noBias, path: path)) { error in
            XCTAssertEqual(error as? ModelError, .missingWeight(path: path, tensor: "blocks.0.pos_embedding.embedding.weight"))
        }
    }

    func testTransformersLayoutBF16MatchesReference() throws {
        let path = ReferenceFixtures.umt5("tiny.transformers/model.safetensors")
        let config = try UMT5Config(configFile: ReferenceFixtures.umt5("tiny.transformers/config.json"))
        XCTAssertEqual(config, UMT5Config(vocabSize: 300, dim: 64, numHeads: 4, headDim: 16, ffnDim: 128,
                                          numLayers: 3, numBuckets: 32, maxDistance: 128, eps: 1e-6))
        let encoder = try UMT5Encoder(config: config, weights: try SafetensorsFile(path: path).weights,
                                      path: path, backend: backend)
        try check(encoder, label: "transformers bf16")
    }

    func testRelativeBucketsMatchReference() throws {
        let buckets = try ReferenceFixtures.ints(try io(), "buckets")
        let range = (buckets.count - 1) / 2
        for (i, want) in buckets.enumerated() {
            XCTAssertEqual(UMT5Encoder.relativeBucket(i - range), want, "offset \(i - range)")
        }
    }

    func testXXLParameterCountMatchesReferenceClass() {
        // Counted from wan.modules.t5.umt5_xxl(encoder_only=True) on the meta device.
        XCTAssertEqual(UMT5Config.xxl.parameterCount, 5_680_910_336)
    }

    func testRefusesOutOfVocabularyIDs() throws {
        let path = ReferenceFixtures.umt5("tiny.official.safetensors")
        let config = try UMT5Config(configFile: ReferenceFixtures.umt5("tiny.transformers/config.json"))
        let encoder = try UMT5Encoder(config: config, weights: try SafetensorsFile(path: path).weights,
                                      path: path, backend: backend)
        XCTAssertThrowsError(try encoder.encode([5, 300, 1]))
        XCTAssertThrowsError(try encoder.encodePadded(Array(repeating: 5, count: 41), textLen: 40))
    }
}
