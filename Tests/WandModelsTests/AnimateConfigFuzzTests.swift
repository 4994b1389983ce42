import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// Property tests for the config files of an Animate folder (transformer/config.json,
/// image_encoder/config.json): mutated bytes and hostile values never crash; each gives a typed
/// ModelError naming the file, or a config whose invariants hold (so building its shape table,
/// which the loader does next, is safe).
final class AnimateConfigFuzzTests: XCTestCase {
    func seed(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: ReferenceFixtures.animate(path)))) }

    func check(_ bytes: [UInt8]) -> (accepted: Int, refused: Int) {
        guard let json = try? JSONParser.parse(bytes) else { return (0, 0) }
        var accepted = 0, refused = 0
        do {
            let c = try WanAnimateConfig(json: json, path: "fuzz")
            accepted += 1
            XCTAssertEqual(c.base.numLayers % c.faceBlockInterval, 0)
            XCTAssertTrue(c.motionResolutions.allSatisfy { c.motionChannels[$0] != nil && c.motionChannels[$0 / 2] != nil })
            _ = c.parameterShapes(official: true).count + c.parameterShapes(official: false).count
        } catch let e as ModelError {
            refused += 1
            if case .badConfig(let p, _, _) = e { XCTAssertEqual(p, "fuzz") }
        } catch {
            XCTFail("untyped error \(error)")
        }
        do {
            let c = try CLIPVisionConfig(json: json, path: "fuzz")
            accepted += 1
            XCTAssertEqual(c.hiddenSize % c.numHeads, 0)
            XCTAssertEqual(c.imageSize % c.patchSize, 0)
            _ = c.parameterShapes(fusedQKV: true).count
        } catch is ModelError {
            refused += 1
        } catch {
            XCTFail("untyped error \(error)")
        }
        return (accepted, refused)
    }

    func testMutatedConfigsNeverCrash() throws {
        let seeds = [try seed("models/tiny-animate/transformer/config.json"), try seed("models/tiny-animate/image_encoder/config.json")]
        var rng = SplitMix64(state: 0xA41_3A7E)
        var accepted = 0, refused = 0
        for i in 0..<1500 {
            var b = seeds[i % 2]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b[at] = Array("0123456789-".utf8)[Int(rng.next() % 11)]
                default: b.remove(at: at)
                }
            }
            let r = check(b)
            accepted += r.accepted
            refused += r.refused
        }
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertGreaterThan(refused, 0)
    }

    func testHostileValuesAreRefused() throws {
        let text = String(decoding: try seed("models/tiny-animate/transformer/config.json"), as: UTF8.self)
        for (key, value) in [("inject_face_latents_blocks", "3"), ("motion_encoder_size", "24"), ("motion_encoder_size", "1073741824"),
                             ("num_layers", "0"), ("motion_dim", "4096"), ("attention_head_dim", "15"), ("in_channels", "35"),
                             ("added_kv_proj_dim", "64"), ("eps", "2"), ("motion_encoder_channel_sizes", "{\"16\": -1}")] {
            let pattern = "\"\(key)\": "
            guard let range = text.range(of: pattern) else { return XCTFail(key) }
            let end = value.hasPrefix("{") ? text.index(after: text[range.upperBound...].firstIndex(of: "}")!)
                : text[range.upperBound...].firstIndex(where: { $0 == "," || $0 == "\n" })!
            var mutated = text
            mutated.replaceSubrange(range.upperBound..<end, with: value)
            let json = try JSONParser.parse(Array(mutated.utf8))
            XCTAssertThrowsError(try WanAnimateConfig(json: json, path: "cfg"), "\(key): \(value)") { error in
                XCTAssertNotNil(error as? ModelError, "\(error)")
            }
        }
    }
}
