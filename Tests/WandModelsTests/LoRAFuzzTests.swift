import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// Property tests for the LoRA parsers: random key names and mutated LoRA files never crash;
/// each input is either understood consistently or refused with a typed, located LoRAError.
final class LoRAFuzzTests: XCTestCase {
    static let lora = ReferenceFixtures.root + "lora/"

    func testKeyParserNeverCrashesAndIsConsistent() {
        // prefix + module + suffix, each drawn from real spellings, near misses and junk.
        let prefixes = ["", "diffusion_model.", "lora_unet_", "transformer.", "model.", "diffusion_model.diffusion_model.", "é"]
        let modules = ["blocks.0.self_attn.q", "blocks_3_cross_attn_k_img", "blocks.12.attn1.to_out.0", "blocks.1.ffn.net.0.proj",
                       "blocks.0", "blocks_7", "head.head", "head", "proj_out", "patch_embedding", "time_projection_1",
                       "blocks.-1.ffn.0", "blocks.00.ffn.0", "blocks.99999999999999999999.ffn.0", "blocks..ffn.0", "blocks",
                       "blocks.2.norm3", "img_emb.proj.1", "condition_embedder.time_proj", "blocks.1.scale_shift_table",
                       "\u{0}", "blocks.0.self_attn.q.lora_A", ""]
        let suffixes = [".lora_down.weight", ".lora_up.weight", ".lora_A.weight", ".lora_B.bias", ".alpha", ".diff",
                        ".diff_b", ".diff_m", ".dora_scale", ".weight", "", ".lora_A.default.weight", "lora_up.weight"]
        var rng = SplitMix64(state: 0x10FA)
        var understood = 0, refused = 0
        for _ in 0..<8_000 {
            var key = prefixes.randomElement(using: &rng)! + modules.randomElement(using: &rng)! + suffixes.randomElement(using: &rng)!
            if rng.next() % 4 == 0, !key.isEmpty {  // and a random edit
                var chars = Array(key)
                chars[Int(rng.next() % UInt64(chars.count))] = Character(UnicodeScalar(UInt8(32 + rng.next() % 95)))
                key = String(chars)
            }
            switch LoRAKeyMapping.parse(key) {
            case let .success(k):
                understood += 1
                XCTAssertTrue(LoRAKeyMapping.isOfficial(k.module), "\(key) -> \(k.module)")
                XCTAssertTrue(k.target.hasPrefix(k.module + "."), key)
            case .failure: refused += 1
            }
        }
        XCTAssertGreaterThan(understood, 800)
        XCTAssertGreaterThan(refused, 800)
    }

    func testLoRAFileLoaderNeverCrashes() throws {
        let dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let seeds = try ["kohya_t2v.safetensors", "peft_t2v.safetensors"].map {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.lora + $0)))
        }
        var rng = SplitMix64(state: 0xBADF11E)
        let path = dir + "/fuzz.safetensors"
        var loaded = 0, refused = 0
        for i in 0..<200 {
            var b = seeds[i % 2]
            let headerEnd = 8 + Int(b[0]) + Int(b[1]) << 8 + Int(b[2]) << 16
            switch rng.next() % 4 {
            case 0:  // flip bytes inside the JSON header (names, shapes, offsets, metadata)
                for _ in 0..<(1 + Int(rng.next() % 3)) { b[8 + Int(rng.next() % UInt64(headerEnd - 8))] ^= UInt8(1 << (rng.next() % 8)) }
            case 1: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            case 2:  // replace a digit of the header by another (shapes and offsets)
                let digits = (8..<headerEnd).filter { (48...57).contains(b[$0]) }
                if let at = digits.randomElement(using: &rng) { b[at] = UInt8(48 + rng.next() % 10) }
            default:  // data bytes: values change, structure does not (must load)
                for _ in 0..<16 { b[headerEnd + Int(rng.next() % UInt64(b.count - headerEnd))] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            try Data(b).write(to: URL(fileURLWithPath: path))
            do {
                let file = try LoRAFile(path: path)
                loaded += 1
                for c in file.contributions { XCTAssertFalse(c.storedNames.isEmpty) }
            } catch {
                refused += 1  // typed: a LoRAError
                XCTAssertEqual(error.path, path, "\(error)")
            }
        }
        XCTAssertGreaterThan(loaded, 30)
        XCTAssertGreaterThan(refused, 30)
    }
}
