import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// Header-only sparse files with the real names and shapes of Animate-14B's DiT (official and
/// diffusers) and of its ViT-H/14 image encoder (the open-clip checkpoint with its text tower, and
/// transformers' vision model), as the reference code builds them on the meta device
/// (Tools/reference/animate_fixtures.py, real_shapes.json, repeated blocks condensed to block 0).
final class AnimateRealSizeTests: XCTestCase {
    struct Table {
        var tensors: [(String, [Int])]
        var entries: Int
        var parameters: Int
    }

    static let real: [String: Table] = {
        let json = try! Fixtures.json(ReferenceFixtures.animate("real_shapes.json")) as! [String: Any]
        var out: [String: Table] = [:]
        for (key, value) in json {
            guard let v = value as? [String: Any] else { continue }
            let repeats = v["repeats"] as! [String: Int]
            var tensors: [(String, [Int])] = []
            for entry in v["tensors"] as! [[Any]] {
                let name = entry[0] as! String, shape = entry[1] as! [Int]
                if let (prefix, count) = repeats.first(where: { name.hasPrefix($0.key + ".0.") }) {
                    let rest = name.dropFirst(prefix.count + 3)
                    for n in 0..<count { tensors.append(("\(prefix).\(n).\(rest)", shape)) }
                } else {
                    tensors.append((name, shape))
                }
            }
            out[key] = Table(tensors: tensors, entries: v["entries"] as! Int, parameters: v["parameters"] as! Int)
        }
        return out
    }()

    private func sparse(_ key: String, dtype: DType) throws -> (SafetensorsFile, Table) {
        let dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let table = try XCTUnwrap(Self.real[key])
        XCTAssertEqual(table.tensors.count, table.entries, "\(key): the condensed table expands to every entry")
        _ = try SparseRealSizeTests.writeSparse(table.tensors, dtype: dtype, to: dir + "/\(key).safetensors")
        return (try SafetensorsFile(path: dir + "/\(key).safetensors"), table)
    }

    func testOfficialAnimateDiTLoads() throws {
        let (st, table) = try sparse("animate14b_official", dtype: .bf16)
        XCTAssertEqual(st.weights.parameterCount, 17_274_817_108)
        XCTAssertEqual(st.weights.parameterCount, table.parameters)
        // Our table is the reference's minus the 14 constant blur kernels (4×4 each).
        let ours = WanAnimateConfig.animate14B.parameterShapes(official: true)
        let reference = table.tensors.filter { !$0.0.hasSuffix(".kernel") }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: ours), Dictionary(uniqueKeysWithValues: reference))
        XCTAssertEqual(WanAnimateConfig.animate14B.parameterCount(official: true), 17_274_817_108 - 14 * 16)
        let model = try WanAnimateDiT(config: .animate14B, weights: st.weights, path: st.file.path, backend: CPUBackend(threads: 1))
        XCTAssertEqual(model.layout, .official)
        XCTAssertEqual(ModelDetector.detect(st.weights).model, .animate14B)
    }

    func testDiffusersAnimateDiTLoads() throws {
        let (st, table) = try sparse("animate14b_diffusers", dtype: .bf16)
        XCTAssertEqual(st.weights.parameterCount, 17_274_816_884)
        XCTAssertEqual(st.weights.parameterCount, table.parameters)
        XCTAssertEqual(WanAnimateConfig.animate14B.parameterCount(official: false), 17_274_816_884)
        let model = try WanAnimateDiT(config: .animate14B, weights: st.weights, path: st.file.path, backend: CPUBackend(threads: 1))
        XCTAssertEqual(model.layout, .diffusers)
        let verdict = ModelDetector.detect(st.weights)
        XCTAssertEqual(verdict.model, .animate14B)
        XCTAssertEqual(verdict.layout, .diffusers)
    }

    func testOpenCLIPCheckpointLoadsItsVisionTower() throws {
        let (st, table) = try sparse("clip_open_clip", dtype: .f16)
        XCTAssertEqual(st.weights.parameterCount, 1_193_014_785)
        XCTAssertEqual(st.weights.parameterCount, table.parameters)
        let encoder = try CLIPVisionEncoder(config: .vitH14, weights: st.weights, path: st.file.path, backend: CPUBackend(threads: 1))
        XCTAssertEqual(encoder.layout, .openCLIP)
        // What the encoder reads (all 32 blocks, of which 31 run): the transformers tower without
        // its post-LayerNorm, and the open-clip visual tower without post_norm and head [1280, 1024].
        let used = CLIPVisionConfig.vitH14.parameterShapes(fusedQKV: true).reduce(0) { $0 + $1.shape.reduce(1, *) }
        XCTAssertEqual(used, try XCTUnwrap(Self.real["clip_transformers"]).parameters - 2 * 1280)
        let visual = table.tensors.filter { $0.0.hasPrefix("visual.") }.reduce(0) { $0 + $1.1.reduce(1, *) }
        XCTAssertEqual(visual, used + 2 * 1280 + 1280 * 1024)
        XCTAssertEqual(ModelDetector.detect(st.weights).model, .clipVision)
    }

    func testTransformersCLIPVisionModelLoads() throws {
        let (st, table) = try sparse("clip_transformers", dtype: .f16)
        XCTAssertEqual(st.weights.parameterCount, 630_766_080)
        XCTAssertEqual(st.weights.parameterCount, table.parameters)
        let encoder = try CLIPVisionEncoder(config: .vitH14, weights: st.weights, path: st.file.path, backend: CPUBackend(threads: 1))
        XCTAssertEqual(encoder.layout, .transformers)
        XCTAssertEqual(ModelDetector.detect(st.weights).layout, .transformers)
    }
}
