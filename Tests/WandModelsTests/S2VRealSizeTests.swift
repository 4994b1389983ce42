import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// The published S2V-14B DiT (4 bf16 shards + index, as the official folder ships it) and its
/// wav2vec2-large-xlsr-53 encoder, as header-only sparse files with the names and shapes the
/// reference code builds (Tools/reference/s2v_fixtures.py real): both load, and the counts are
/// exact.
final class S2VRealSizeTests: XCTestCase {
    struct Compact: Decodable {
        let other: [[Entry]]
        let block_prefix: String
        let block: [[Entry]]
        let blocks: Int
        let parameters: Int
        let tensors: Int
        enum Entry: Decodable {
            case name(String), shape([Int])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .name(s) } else { self = .shape(try c.decode([Int].self)) }
            }
        }
        /// Every tensor, in the reference's order for the non-block ones, blocks in index order.
        var expanded: [(String, [Int])] {
            func pair(_ e: [Entry]) -> (String, [Int]) {
                guard case let .name(n) = e[0], case let .shape(s) = e[1] else { fatalError("bad entry") }
                return (n, s)
            }
            var out = other.map(pair)
            for n in 0..<blocks { out += block.map(pair).map { ("\(block_prefix)\(n).\($0.0)", $0.1) } }
            return out
        }
    }

    static let real: [String: Compact] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Wav2Vec2ParityTests.s2v("real_shapes.json")))
        var object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        object.removeValue(forKey: "generator")
        return try! JSONDecoder().decode([String: Compact].self, from: JSONSerialization.data(withJSONObject: object))
    }()

    func testS2V14BShardedCheckpointLoadsWithTheExactParameterCount() throws {
        let s2v = try XCTUnwrap(Self.real["s2v_14b_dit"])
        let tensors = s2v.expanded
        XCTAssertEqual(tensors.count, 1260)
        XCTAssertEqual(s2v.parameters, 16_295_755_609)
        let dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        // Four shards of about equal size, in checkpoint order, like diffusion_pytorch_model-0000N-of-00004.
        let total = tensors.reduce(0) { $0 + $1.1.reduce(1, *) }
        var shards: [[(String, [Int])]] = [[], [], [], []], running = 0
        for t in tensors {
            shards[min(3, running * 4 / total)].append(t)
            running += t.1.reduce(1, *)
        }
        var map: [String: String] = [:]
        for (i, shard) in shards.enumerated() {
            let name = "diffusion_pytorch_model-0000\(i + 1)-of-00004.safetensors"
            _ = try SparseRealSizeTests.writeSparse(shard, dtype: .bf16, to: dir + "/" + name)
            for (t, _) in shard { map[t] = name }
        }
        let index = dir + "/diffusion_pytorch_model.safetensors.index.json"
        try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": total * 2], "weight_map": map])
            .write(to: URL(fileURLWithPath: index))
        let weights = try ShardedSafetensors(indexPath: index).weights
        let model = try WanS2VDiT(config: .s2v14B, weights: weights, path: dir, backend: CPUBackend(threads: 1))
        XCTAssertEqual(model.config.parameterCount, 16_295_755_609)
        XCTAssertEqual(weights.parameterCount, 16_295_755_609)
        XCTAssertEqual(model.config.extraParameterShapes.count, 165)
        XCTAssertEqual(model.config.extraParameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }, 2_007_264_025)
        XCTAssertEqual(model.weights.dtypes, [.bf16])
        let verdict = ModelDetector.detect(weights)
        XCTAssertEqual(verdict.model, .s2v14B)
        XCTAssertEqual(verdict.layout, .official)
        print("S2V-14B: \(weights.tensors.count) tensors, \(weights.parameterCount) parameters in 4 bf16 shards")
    }

    func testXLSR53EncoderLoadsFromTheRealNames() throws {
        let w2v = try XCTUnwrap(Self.real["wav2vec2_large_xlsr_53"])
        let dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.safetensors"
        _ = try SparseRealSizeTests.writeSparse(w2v.expanded, dtype: .f32, to: path)
        let weights = try SafetensorsFile(path: path).weights
        XCTAssertEqual(weights.parameterCount, 315_472_545)
        XCTAssertEqual(ModelDetector.detect(weights).model, .wav2vec2)
        let encoder = try Wav2Vec2Encoder(config: .xlsr53Large, weights: weights, path: path, backend: CPUBackend(threads: 1))
        // lm_head and masked_spec_embed are in the file but not used by S2V.
        XCTAssertEqual(encoder.config.parameterCount, 315_472_545 - 33 * 1024 - 33 - 1024)
    }
}
