import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// Property tests of the config.json readers (a model folder is untrusted input): real configs
/// with fields replaced by hostile values, dropped or added never crash; each gives a typed,
/// located error or a config whose structure can be listed.
final class ConfigFuzzTests: XCTestCase {
    static let hostile: [JSONValue] = [
        .null, .bool(true), .bool(false), .integer(0), .integer(-1), .integer(1), .integer(2), .integer(3), .integer(7),
        .integer(1 << 40), .integer(Int64.max), .integer(Int64.min), .number(0.5), .number(-1e300), .number(1e300),
        .string("x"), .string(""), .array([]), .array([.integer(1)]), .array([.integer(1), .integer(2), .integer(2)]),
        .array([.bool(true), .bool(false), .bool(true)]), .array([.integer(0), .integer(-3)]),
        .array(Array(repeating: .integer(1), count: 40)), .array([.number(1.0), .number(0.5)]), .object([]),
    ]

    static func members(_ path: String) throws -> [(String, JSONValue)] {
        try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))).objectValue!
    }

    static func mutated(_ base: [(String, JSONValue)], _ rng: inout SplitMix64, extraKeys: [String]) -> JSONValue {
        var m = base
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            switch rng.next() % 4 {
            case 0, 1:  // replace a value
                let i = Int(rng.next() % UInt64(m.count))
                m[i].1 = hostile[Int(rng.next() % UInt64(hostile.count))]
            case 2:  // drop a field
                if !m.isEmpty { m.remove(at: Int(rng.next() % UInt64(m.count))) }
            default:  // add a field (known to the reader or not)
                let key = extraKeys[Int(rng.next() % UInt64(extraKeys.count))]
                if !m.contains(where: { $0.0 == key }) { m.append((key, hostile[Int(rng.next() % UInt64(hostile.count))])) }
            }
        }
        return .object(m)
    }

    func testVAEConfigReaderNeverCrashes() throws {
        let root = VAEConfigSpreadTests.root + "vae/"
        let seeds = try VAEConfigSpreadTests.cases().map { try Self.members(root + $0.name + "/config.json") }
        var rng = SplitMix64(state: 0xC0_F16)
        var accepted = 0, refused = 0
        for i in 0..<3000 {
            let json = Self.mutated(seeds[i % seeds.count], &rng, extraKeys: Array(WanVAEConfigFile.knownFields) + ["foo", "_x"])
            do {
                let file = try WanVAEConfigFile(json: json, path: "fuzz/config.json")
                accepted += 1
                let structure = WanVAEStructure(file.config)
                XCTAssertFalse(structure.parameters.isEmpty)
                XCTAssertEqual(file.latentsMean.count, file.config.zDim)
                XCTAssertEqual(file.config.encoderTemporalFactor, file.config.decoderTemporalFactor)
            } catch {
                refused += 1
                switch error {
                case let .badConfig(path, _, _), let .unsupportedConfig(path, _, _, _): XCTAssertEqual(path, "fuzz/config.json")
                default: XCTFail("\(error)")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 1000)
    }

    func testDiTConfigReaderNeverCrashes() throws {
        let names = ["p111_h3", "p222_h2", "p122_noxnorm", "p121_h1", "p212_pertoken"]
        var seeds = try names.map { try Self.members(DiTConfigSpreadTests.root + $0 + "/config.json") }
        seeds.append(try Self.members(ReferenceFixtures.dit("t2v_d64_h2.official.config.json")))
        var rng = SplitMix64(state: 0xD17)
        var accepted = 0, refused = 0
        for i in 0..<3000 {
            let keys = Array(WanDiTConfig.diffusersFields.union(WanDiTConfig.officialFields)) + ["foo"]
            let json = Self.mutated(seeds[i % seeds.count], &rng, extraKeys: keys)
            do {
                let c = try WanDiTConfig(json: json, path: "fuzz/config.json")
                accepted += 1
                XCTAssertEqual(c.patchSize.count, 3)
                XCTAssertGreaterThan(c.parameterShapes.count, 0)
            } catch {
                refused += 1
                switch error {
                case let .badConfig(path, _, _), let .unsupported(path, _): XCTAssertEqual(path, "fuzz/config.json")
                default: XCTFail("\(error)")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 500)
    }

    func testUMT5ConfigReaderNeverCrashes() throws {
        let seeds = try ["umt5_b16_d20", "umt5_b8_d6"].map { try Self.members(UMT5ConfigSpreadTests.root + $0 + "/config.json") }
            + [try Self.members(ReferenceFixtures.umt5("tiny.transformers/config.json"))]
        var rng = SplitMix64(state: 0x75)
        var accepted = 0, refused = 0
        for i in 0..<2000 {
            let json = Self.mutated(seeds[i % seeds.count], &rng, extraKeys: ["model_type", "feed_forward_proj", "d_kv", "foo"])
            do {
                let c = try UMT5Config(json: json, path: "fuzz/config.json")
                accepted += 1
                for offset in [-3000, -9, 0, 7, 4000] {
                    let b = UMT5Encoder.relativeBucket(offset, numBuckets: c.numBuckets, maxDistance: c.maxDistance)
                    XCTAssertTrue(b >= 0 && b < c.numBuckets, "bucket \(b) of \(c.numBuckets)")
                }
            } catch {
                refused += 1
                switch error {
                case let .badConfig(path, _, _), let .unsupported(path, _): XCTAssertEqual(path, "fuzz/config.json")
                default: XCTFail("\(error)")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 100)
    }
}
