import Foundation
import WandTensor
import XCTest
@testable import WandModels

final class SafetensorsTests: XCTestCase {
    /// Every good fixture: names, dtypes, shapes and first bytes equal what torch/safetensors read.
    func testGoodFilesMatchReferenceReader() throws {
        let expected = try XCTUnwrap(Fixtures.json(Fixtures.weights("expected.json")) as? [String: [String: [String: Any]]])
        var checked = 0
        for (file, tensors) in expected where file.hasSuffix(".safetensors") {
            let st = try SafetensorsFile(path: Fixtures.weights(file))
            XCTAssertEqual(Set(st.weights.names), Set(tensors.keys), file)
            for (name, info) in tensors {
                let t = try st.tensor(name)
                XCTAssertEqual(t.dtype.rawValue, info["dtype"] as? String, "\(file) \(name)")
                XCTAssertEqual(t.shape, info["shape"] as? [Int], "\(file) \(name)")
                XCTAssertEqual(t.byteCount, t.elementCount * t.dtype.size)
                let first = info["first_bytes"] as? [Int] ?? []
                XCTAssertEqual(Array(t.bytes.prefix(first.count)).map(Int.init), first, "\(file) \(name)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 300)
    }

    func testMetadataIsRead() throws {
        let st = try SafetensorsFile(path: Fixtures.weights("good_handmade.safetensors"))
        XCTAssertEqual(st.metadata.first?.0, "format")
        XCTAssertEqual(st.metadata.first?.1, "pt")
        XCTAssertEqual(try st.tensor("b").dtype, .bf16)
        XCTAssertThrowsError(try st.tensor("nope")) { error in
            XCTAssertEqual((error as? WeightError)?.kind, .tensorNotFound)
        }
    }

    private func refusal(_ file: String) -> WeightError? {
        do {
            _ = try SafetensorsFile(path: Fixtures.weights(file))
            XCTFail("\(file) was accepted")
            return nil
        } catch {
            XCTAssertEqual(error.path, Fixtures.weights(file))
            XCTAssertTrue(error.description.contains(file), error.description)
            return error
        }
    }

    func testLyingHeadersAreRefused() throws {
        if case .offsetsOutOfRange = refusal("bad_truncated.safetensors")?.kind {} else { XCTFail("truncated") }
        if case .headerLengthOutOfRange = refusal("bad_header_length_huge.safetensors")?.kind {} else { XCTFail("huge") }
        if case .headerLengthOutOfRange = refusal("bad_header_length_past_end.safetensors")?.kind {} else { XCTFail("past end") }
        let overlap = refusal("bad_overlap.safetensors")
        XCTAssertEqual(overlap?.kind, .overlappingTensors(other: "a"))
        XCTAssertEqual(overlap?.tensor, "b")
        let size = refusal("bad_size_mismatch.safetensors")
        XCTAssertEqual(size?.kind, .sizeMismatch(expectedBytes: 24, actualBytes: 16))
        XCTAssertEqual(size?.tensor, "a")
        XCTAssertEqual(refusal("bad_unknown_dtype.safetensors")?.kind, .unknownDType("F12"))
        if case .offsetsOutOfRange = refusal("bad_offsets_past_end.safetensors")?.kind {} else { XCTFail("offsets") }
        XCTAssertEqual(refusal("bad_gap.safetensors")?.kind, .gapBetweenTensors(at: 16))
        XCTAssertEqual(refusal("bad_trailing.safetensors")?.kind, .trailingBytes(dataEnd: 16, dataSize: 24))
        if case let .malformedHeader(e) = refusal("bad_duplicate_key.safetensors")?.kind {
            XCTAssertTrue(e.message.contains("duplicate key"), e.message)
        } else { XCTFail("duplicate") }
        if case .invalidHeader = refusal("bad_not_object.safetensors")?.kind {} else { XCTFail("not object") }
        XCTAssertEqual(refusal("bad_negative_shape.safetensors")?.kind, .invalidShape([-1, -16]))
        if case .invalidHeader = refusal("bad_metadata_not_string.safetensors")?.kind {} else { XCTFail("metadata") }
    }

    func testShardedIndex() throws {
        let sharded = try ShardedSafetensors(indexPath: Fixtures.weights("sharded/diffusion_pytorch_model.safetensors.index.json"))
        XCTAssertEqual(sharded.shards.count, 2)
        let expected = try XCTUnwrap(Fixtures.json(Fixtures.weights("expected.json")) as? [String: [String: [String: Any]]])
        let ref = try XCTUnwrap(expected["sharded"])
        XCTAssertEqual(Set(sharded.weights.names), Set(ref.keys))
        for (name, info) in ref {
            XCTAssertEqual(sharded.weights[name]?.shape, info["shape"] as? [Int], name)
        }
        XCTAssertThrowsError(try ShardedSafetensors(indexPath: Fixtures.weights("sharded/lying.index.json"))) { error in
            guard case .invalidIndex = (error as? WeightError)?.kind else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ShardedSafetensors(indexPath: Fixtures.weights("sharded/missing_shard.index.json"))) { error in
            XCTAssertEqual((error as? WeightError)?.kind, .missingShard("diffusion_pytorch_model-00003-of-00003.safetensors"))
        }
    }

    func testJSONParserStrictness() {
        XCTAssertEqual(try JSONParser.parse(#"{"a":[1,-2.5e3,"\u00e9\ud83d\ude00",true,null]}"#),
                       .object([("a", .array([.integer(1), .number(-2500), .string("é😀"), .bool(true), .null]))]))
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "\"\\ud800\"", "{\"a\":1}x", "[\"\u{01}\"]", "nul", "1.", "-"] {
            XCTAssertThrowsError(try JSONParser.parse(bad), bad)
        }
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        XCTAssertThrowsError(try JSONParser.parse(deep))
    }
}
