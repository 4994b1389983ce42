import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// wav2vec2 hidden states and the S2V audio post-processing against transformers and the
/// official `AudioEncoder` on tiny random models (Tools/reference/s2v_fixtures.py audio):
/// relative error <= 1e-4 for every stored hidden state and for the bucketed embedding.
final class Wav2Vec2ParityTests: XCTestCase {
    static func s2v(_ name: String) -> String { ReferenceFixtures.root + "s2v/" + name }

    static func encoder(_ name: String) throws -> Wav2Vec2Encoder {
        let config = try Wav2Vec2Config(configFile: s2v(name + "/config.json"))
        let weights = try SafetensorsFile(path: s2v(name + "/model.safetensors")).weights
        return try Wav2Vec2Encoder(config: config, weights: weights, path: s2v(name), backend: CPUBackend(threads: 2))
    }

    static func samples(_ io: SafetensorsFile) throws -> [Float] { try ReferenceFixtures.tensor(io, "samples").array }

    func testStableLayerNormEncoderMatchesTransformers() throws {
        let io = try SafetensorsFile(path: Self.s2v("audio.safetensors"))
        let encoder = try Self.encoder("w2v_stable")
        XCTAssertTrue(encoder.config.stableLayerNorm)
        XCTAssertEqual(encoder.config.featureNorm, .layer)
        let states = try encoder.hiddenStates(Wav2Vec2Encoder.normalize(try Self.samples(io)))
        XCTAssertEqual(states.count, 25)
        var worst = 0.0
        for i in [0, 1, 12, 23, 24] {
            let reference = try ReferenceFixtures.tensor(io, "stable.hidden.\(i)")
            XCTAssertEqual(states[i].shape, reference.shape, "state \(i)")
            let e = ReferenceFixtures.relativeError(states[i], reference)
            XCTAssertLessThan(e, 1e-4, "hidden state \(i)")
            worst = max(worst, e)
        }
        print("wav2vec2 (stable LN, 24 layers): worst hidden-state rel. error \(worst)")
    }

    func testBaseGeometryEncoderMatchesTransformers() throws {
        let io = try SafetensorsFile(path: Self.s2v("audio.safetensors"))
        let encoder = try Self.encoder("w2v_base")
        XCTAssertFalse(encoder.config.stableLayerNorm)
        XCTAssertEqual(encoder.config.featureNorm, .group)
        let input = Array(try Self.samples(io).prefix(8000))
        let states = try encoder.hiddenStates(Wav2Vec2Encoder.normalize(input))
        XCTAssertEqual(states.count, 4)
        for (i, state) in states.enumerated() {
            let e = ReferenceFixtures.relativeError(state, try ReferenceFixtures.tensor(io, "base.hidden.\(i)"))
            XCTAssertLessThan(e, 1e-4, "hidden state \(i)")
        }
    }

    func testS2VBucketsMatchTheOfficialAudioEncoder() throws {
        let io = try SafetensorsFile(path: Self.s2v("audio.safetensors"))
        let encoder = try Self.encoder("w2v_stable")
        let embedding = try S2VAudioFeatures.embed(samples: try Self.samples(io), encoder: encoder, framesPerClip: 16, fps: 16)
        XCTAssertEqual(embedding.featureFrames, 47)
        XCTAssertEqual(embedding.clips, 2)
        let reference = try ReferenceFixtures.tensor(io, "stable.buckets16")
        XCTAssertEqual(embedding.frames.shape, reference.shape)
        let e = ReferenceFixtures.relativeError(embedding.frames, reference)
        XCTAssertLessThan(e, 1e-4)
        print("S2V audio buckets (16-frame clips): rel. error \(e)")
        XCTAssertEqual(try embedding.clip(1).shape, [16, 25, 16])
        // The official 80-frame clips (one clip for 47 feature frames) take these 30 Hz frames.
        let expected = try ReferenceFixtures.ints(io, "stable.bucket80_index")
        let ours = (0..<80).map { S2VAudioFeatures.bucketIndex($0, fps: 16, featureFrames: 47, totalFrames: 80) ?? -1 }
        XCTAssertEqual(ours, expected)
    }

    func testIndicesRoundHalfToEvenAndClipCountsAsNumpy() {
        // i·1.875 for i = 4, 12 is 7.5, 22.5: numpy rounds to 8, 22.
        XCTAssertEqual(S2VAudioFeatures.bucketIndex(4, fps: 16, featureFrames: 1000, totalFrames: 80), 8)
        XCTAssertEqual(S2VAudioFeatures.bucketIndex(12, fps: 16, featureFrames: 1000, totalFrames: 80), 22)
        XCTAssertEqual(S2VAudioFeatures.interpolatedLength(499), 299)
        XCTAssertEqual(S2VAudioFeatures.interpolatedLength(250), 150)
    }

    func testSilenceAndTooShortInput() throws {
        let encoder = try Self.encoder("w2v_stable")
        let silent = try encoder.hiddenStates(Wav2Vec2Encoder.normalize([Float](repeating: 0, count: 4000)))
        XCTAssertEqual(silent.count, 25)
        XCTAssertTrue(silent.allSatisfy { $0.array.allSatisfy(\.isFinite) })
        XCTAssertThrowsError(try encoder.hiddenStates([Float](repeating: 0.1, count: 399))) { error in
            XCTAssertTrue("\(error)".contains("shorter than one wav2vec2 frame"), "\(error)")
        }
        XCTAssertEqual(encoder.config.minimumSamples, 400)
    }

    func testRealXLSRGeometryHasTheS2VParameterCount() {
        // next-modes §A.3: the S2V path uses 315.5 M parameters of wav2vec2-large-xlsr-53-english.
        let count = Wav2Vec2Config.xlsr53Large.parameterCount
        XCTAssertEqual(Double(count) / 1e6, 315.5, accuracy: 0.1)
        print("wav2vec2-large-xlsr-53 encoder parameters: \(count)")
    }

    func testBadConfigsAreLocated() throws {
        let dir = try Fixtures.temporaryDirectory()
        let path = dir + "/config.json"
        let base = try String(contentsOfFile: Self.s2v("w2v_base/config.json"), encoding: .utf8)
        try base.replacingOccurrences(of: "\"gelu\"", with: "\"relu\"").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Wav2Vec2Config(configFile: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        try "{\"hidden_size\": 16}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Wav2Vec2Config(configFile: path)) { XCTAssertTrue("\($0)".contains("num_hidden_layers"), "\($0)") }
    }
}
