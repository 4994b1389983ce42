import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// Property tests: random bytes, bit flips and truncations of valid files never crash the
/// parsers; each input gives either a typed WeightError or a result that passes the same checks.
final class FuzzTests: XCTestCase {
    private func bytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.weights(file))))
    }

    private func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        switch rng.next() % 5 {
        case 0: // bit flips
            for _ in 0..<(1 + Int(rng.next() % 4)) where !b.isEmpty {
                b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8))
            }
        case 1: // truncation
            b = Array(b.prefix(Int(rng.next() % UInt64(b.count + 1))))
        case 2: // random byte values
            for _ in 0..<(1 + Int(rng.next() % 8)) where !b.isEmpty {
                b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
        case 3: // pure noise
            b = (0..<Int(rng.next() % 256)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        default: // splice a chunk elsewhere
            if b.count > 4 {
                let from = Int(rng.next() % UInt64(b.count)), to = Int(rng.next() % UInt64(b.count))
                let n = min(Int(rng.next() % 16), b.count - max(from, to))
                if n > 0 { b.replaceSubrange(to..<(to + n), with: b[from..<(from + n)]) }
            }
        }
        return b
    }

    func testSafetensorsHeaderParserNeverCrashes() throws {
        let seeds = [try bytes("good_handmade.safetensors"), try bytes("bad_overlap.safetensors"),
                     Array(try bytes("dit_official.safetensors").prefix(4096))]
        var rng = SplitMix64(state: 0x5AFE_7E45)
        var accepted = 0, refused = 0
        for i in 0..<4000 {
            let input = mutate(seeds[i % seeds.count], &rng)
            do {
                let header = try input.withUnsafeBytes { try SafetensorsHeader.parse(file: $0, path: "fuzz") }
                accepted += 1
                let dataSize = input.count - 8 - header.headerLength
                for e in header.entries {
                    XCTAssertTrue(e.begin >= 0 && e.begin <= e.end && e.end <= dataSize)
                    XCTAssertEqual(e.end - e.begin, e.shape.reduce(1, *) * e.dtype.size)
                }
            } catch {
                refused += 1
                XCTAssertEqual((error as? WeightError)?.path, "fuzz", "\(error)")
            }
        }
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertGreaterThan(refused, 2000)
    }

    func testJSONParserNeverCrashes() throws {
        let seed = Array(try bytes("sharded/diffusion_pytorch_model.safetensors.index.json").prefix(2048))
        var rng = SplitMix64(state: 42)
        for _ in 0..<3000 {
            _ = try? JSONParser.parse(mutate(seed, &rng))
        }
    }

    func testUnpicklerNeverCrashes() throws {
        var seeds: [[UInt8]] = []
        for file in ["views.pth", "umt5_official.pth", "noncontiguous.pth"] {
            let archive = try bytes(file)
            let entries = try archive.withUnsafeBytes { try ZipArchive.entries(of: $0, path: file) }
            let pkl = try XCTUnwrap(entries.first { $0.name.hasSuffix("data.pkl") })
            seeds.append(Array(archive[pkl.dataOffset..<(pkl.dataOffset + pkl.compressedSize)]))
        }
        seeds.append(try bytes("gadget_ordereddict_args.pkl"))
        var rng = SplitMix64(state: 7)
        var refused = 0
        for i in 0..<4000 {
            let input = mutate(seeds[i % seeds.count], &rng)
            do {
                _ = try input.withUnsafeBytes { try RestrictedUnpickler.load($0, path: "fuzz") }
            } catch {
                refused += 1
                XCTAssertEqual((error as? WeightError)?.path, "fuzz", "\(error)")
            }
        }
        XCTAssertGreaterThan(refused, 1000)
    }

    /// Whole .pth archives, mutated and written to disk: zip reader + unpickler + storage mapping.
    func testCheckpointLoaderNeverCrashes() throws {
        let dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let seeds = [try bytes("views.pth"), try bytes("umt5_official.pth")]
        var rng = SplitMix64(state: 99)
        let path = dir + "/fuzz.pth"
        for i in 0..<400 {
            var input = seeds[i % seeds.count]
            // Aim at the central directory and pickle, not only the bulk data.
            if rng.next() % 2 == 0, input.count > 2048 {
                let tail = mutate(Array(input.suffix(2048)), &rng)
                input = Array(input.dropLast(2048)) + tail
            } else {
                input = mutate(input, &rng)
            }
            try Data(input).write(to: URL(fileURLWithPath: path))
            do {
                let ckpt = try PyTorchCheckpoint(path: path)
                for t in ckpt.weights.tensors {
                    let base = ckpt.file.all.baseAddress!
                    XCTAssertTrue(t.bytes.isEmpty || (t.bytes.baseAddress! >= base && t.bytes.baseAddress! + t.bytes.count <= base + ckpt.file.size))
                }
            } catch {
                XCTAssertEqual(error.path, path, "\(error)")
            }
        }
    }
}

final class TokenizerFuzzTests: XCTestCase {
    /// Mutated spiece.model files either load (and then encode without crashing) or throw TokenizerError.
    func testModelProtoParserNeverCrashes() throws {
        let seed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.tokenizer("spiece_byte_fallback.model"))))
        var rng = SplitMix64(state: 1234)
        var loaded = 0
        for i in 0..<60 {
            var b = seed
            switch i % 3 {
            case 0: for _ in 0..<4 { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8)) }
            case 1: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            default:
                // Hit the charsmap trie specifically (it sits near the end of the file).
                let at = b.count - 1 - Int(rng.next() % 200_000)
                b[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                let model = try SentencePieceModel(bytes: b, path: "fuzz")
                let tokenizer = try UnigramTokenizer(model: model, path: "fuzz")
                _ = tokenizer.encode("Fuzz テスト 测试 😀 \u{3000} ｘ")
                loaded += 1
            } catch {
                XCTAssertEqual(error.path, "fuzz")
            }
        }
        XCTAssertGreaterThan(loaded, 0)
    }
}
