import Foundation
import XCTest
@testable import WandDaemon

final class YAMLReaderTests: XCTestCase {
    func testTreeWithMarks() throws {
        let docs = try YAMLReader.parse("a: 1\nb:\n  - x\n  - 'y'\nc: {d: true}\n")
        XCTAssertEqual(docs.count, 1)
        let pairs = try XCTUnwrap(docs[0].mapping)
        XCTAssertEqual(pairs.map { $0.key.string }, ["a", "b", "c"])
        XCTAssertEqual(pairs[0].value.int, 1)
        XCTAssertEqual(pairs[0].value.mark, YAMLMark(line: 1, column: 4))
        let list = try XCTUnwrap(pairs[1].value.sequence)
        XCTAssertEqual(list.map(\.string), ["x", "y"])
        XCTAssertEqual(list[1].mark, YAMLMark(line: 4, column: 5))
        XCTAssertEqual(list[1].value, .scalar("y", quoted: true))
        XCTAssertEqual(pairs[2].value.mapping?.first?.value.bool, true)
        XCTAssertEqual(pairs[2].value.mark, YAMLMark(line: 5, column: 4))
    }

    func testScalarTyping() throws {
        let docs = try YAMLReader.parse("[42, '42', 4.5, ~, '', true, 1_000, -3, .5, nan, 1e400]")
        let items = try XCTUnwrap(docs[0].sequence)
        XCTAssertEqual(items[0].int, 42)
        XCTAssertNil(items[1].int, "a quoted number is a string")
        XCTAssertEqual(items[2].double, 4.5)
        XCTAssertTrue(items[3].isNull)
        XCTAssertFalse(items[4].isNull)
        XCTAssertEqual(items[5].bool, true)
        XCTAssertEqual(items[6].int, 1000)
        XCTAssertEqual(items[7].int, -3)
        XCTAssertEqual(items[8].double, 0.5)
        XCTAssertNil(items[9].double)
        XCTAssertNil(items[10].double)
    }

    func testMultiDocumentStream() throws {
        let docs = try YAMLReader.parse("a: 1\n---\nb: 2\n---\n")
        XCTAssertEqual(docs.count, 3)
        XCTAssertEqual(docs[1].mark.line, 3)
        XCTAssertTrue(docs[2].isNull)
        XCTAssertEqual(try YAMLReader.parse("").count, 0)
    }

    func testAliasesAndDeepNestingAreRefusedWithALocation() {
        XCTAssertThrowsError(try YAMLReader.parse("a: &x 1\nb: *x\n")) { error in
            XCTAssertEqual(error as? YAMLError, YAMLError("aliases (*name) are not supported", at: YAMLMark(line: 2, column: 4)))
        }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        XCTAssertThrowsError(try YAMLReader.parse(deep)) { error in
            XCTAssertEqual(error as? YAMLError, YAMLError("nesting deeper than 64 levels", at: YAMLMark(line: 1, column: 65)))
        }
        XCTAssertNoThrow(try YAMLReader.parse(String(repeating: "[", count: 60) + String(repeating: "]", count: 60)))
    }

    func testInvalidUTF8IsAnError() {
        XCTAssertThrowsError(try YAMLReader.parse(bytes: [0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]))
    }

    /// Random bytes, random YAML-ish tokens and every truncation of the samples must give a tree or
    /// a located error, never a crash; the job parser on top must not crash either.
    func testFuzzNeverCrashes() throws {
        var rng = SplitMix64(seed: 0x5EED)
        let tokens = ["a", ":", " ", "\n", "-", "[", "]", "{", "}", ",", "'", "\"", "&x", "*x", "!!str", "---", "...",
                      "#", "|", ">", "  ", "?", "%YAML 1.1\n", "wand", "mode", "t2v", "1", "\t", "\\", "\u{FEFF}", "é"]
        var inputs: [[UInt8]] = []
        for _ in 0..<300 {
            inputs.append((0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            inputs.append(Array((0..<Int(rng.next() % 40)).map { _ in tokens[Int(rng.next() % UInt64(tokens.count))] }.joined().utf8))
        }
        let samples = PackageRoot.url.appendingPathComponent("Samples")
        let files = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".yaml") }
            .map { samples.appendingPathComponent($0) }
            + [PackageRoot.url.appendingPathComponent("Config/wand.yaml")]
        for url in files {
            let bytes = [UInt8](try Data(contentsOf: url))
            for cut in stride(from: 0, through: bytes.count, by: 5) { inputs.append(Array(bytes[..<cut])) }
        }
        var parsed = 0, refused = 0
        for input in inputs {
            do {
                _ = try YAMLReader.parse(bytes: input)
                parsed += 1
            } catch {
                refused += 1
                XCTAssertGreaterThanOrEqual(error.mark.line, 1)
                XCTAssertGreaterThanOrEqual(error.mark.column, 1)
            }
            do {
                _ = try JobFileParser.parse(bytes: input, file: samples.appendingPathComponent("fuzz.yaml").path,
                                            inbox: nil, config: .standard)
            } catch {
                XCTAssertFalse(error.diagnostics.isEmpty)
            }
            do {
                _ = try ConfigLoader.load(bytes: input, file: "/nonexistent/fuzz.yaml")
            } catch {
                XCTAssertFalse(error.diagnostics.isEmpty)
            }
        }
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertGreaterThan(refused, 0)
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
