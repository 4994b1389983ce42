import Foundation
import XCTest
@testable import WandModels

/// Ids from Python sentencepiece / transformers (Tools/reference/tokenizer_fixtures.py) on 1,240
/// prompts: English, Japanese, Chinese, emoji, odd whitespace, unseen scripts, very long.
final class TokenizerTests: XCTestCase {
    struct Expected: Sendable {
        let prompts: [String]
        let clean: [String]
        /// Per model file: sentencepiece ids, without EOS.
        let sentencepiece: [String: [[Int]]]
        /// transformers' T5TokenizerFast ids (with EOS) where they differ from sentencepiece + EOS.
        let fastDiffers: [String: [Int: [Int]]]
        /// transformers, cleaned prompt, padding to 512 with truncation (first prompts only).
        let fastCleaned512: [[Int]]
    }

    static let expected: Expected = {
        let json = try! Fixtures.json(Fixtures.tokenizer("expected_ids.json")) as! [String: Any]
        var sp: [String: [[Int]]] = [:]
        var differs: [String: [Int: [Int]]] = [:]
        for key in ["spiece.model", "spiece_byte_fallback.model"] {
            let m = json[key] as! [String: Any]
            sp[key] = m["sentencepiece"] as? [[Int]]
            var d: [Int: [Int]] = [:]
            for (k, v) in m["t5_fast_differs"] as! [String: [Int]] { d[Int(k)!] = v }
            differs[key] = d
        }
        let cleaned = (json["spiece.model"] as! [String: Any])["t5_fast_cleaned_512"] as! [[Int]]
        return Expected(prompts: json["prompts"] as! [String], clean: json["clean"] as! [String],
                        sentencepiece: sp, fastDiffers: differs, fastCleaned512: cleaned)
    }()

    private func assertMatchesSentencePiece(_ file: String) throws {
        let tokenizer = try UnigramTokenizer(spieceModelPath: Fixtures.tokenizer(file))
        let reference = try XCTUnwrap(Self.expected.sentencepiece[file])
        XCTAssertGreaterThanOrEqual(reference.count, 1000)
        var mismatches = 0
        for (prompt, ids) in zip(Self.expected.prompts, reference) {
            let got = tokenizer.encode(prompt)
            if got != ids {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(file): \(prompt.debugDescription.prefix(120))\n got \(got.prefix(40))\nwant \(ids.prefix(40))") }
            }
        }
        XCTAssertEqual(mismatches, 0, "\(file): \(mismatches) of \(reference.count) prompts differ")
    }

    func testSpieceModelMatchesSentencePiece() throws {
        try assertMatchesSentencePiece("spiece.model")
    }

    func testByteFallbackModelMatchesSentencePiece() throws {
        try assertMatchesSentencePiece("spiece_byte_fallback.model")
    }

    func testModelProtoFields() throws {
        let model = try SentencePieceModel(path: Fixtures.tokenizer("spiece_byte_fallback.model"))
        XCTAssertEqual(model.pieces.count, 1500)
        XCTAssertEqual(model.unkID, 2)
        XCTAssertEqual(model.eosID, 1)
        XCTAssertEqual(model.padID, 0)
        XCTAssertEqual(model.bosID, -1)
        XCTAssertTrue(model.byteFallback)
        XCTAssertEqual(model.normalizerName, "nmt_nfkc")
        XCTAssertFalse(model.precompiledCharsMap.isEmpty)
        XCTAssertEqual(model.pieces[1].type, .control)
        XCTAssertEqual(model.pieces[2].type, .unknown)
        XCTAssertThrowsError(try SentencePieceModel(path: Fixtures.weights("views.pth")))
    }

    func testTokenizerJSONMatchesTransformersFast() throws {
        let tokenizer = try UnigramTokenizer(tokenizerJSONPath: Fixtures.tokenizer("spiece.tokenizer.json"))
        let sp = try XCTUnwrap(Self.expected.sentencepiece["spiece.model"])
        let differs = try XCTUnwrap(Self.expected.fastDiffers["spiece.model"])
        XCTAssertEqual(differs.count, 2) // the prompts "<unk>" and "</s>": transformers matches special tokens in text
        var mismatches = 0
        for (i, prompt) in Self.expected.prompts.enumerated() {
            let want = differs[i] ?? (sp[i] + [1])
            let got = tokenizer.encodeWithEOS(prompt)
            if got != want {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(prompt.debugDescription.prefix(120))\n got \(got.prefix(40))\nwant \(want.prefix(40))") }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testUMT5PaddingAndTruncation() throws {
        let tokenizer = try UnigramTokenizer(tokenizerJSONPath: Fixtures.tokenizer("spiece.tokenizer.json"))
        for (clean, want) in zip(Self.expected.clean, Self.expected.fastCleaned512) {
            let (ids, count) = tokenizer.encodeForUMT5(clean)
            XCTAssertEqual(ids, want, clean)
            XCTAssertEqual(count, want.firstIndex(of: 1).map { $0 + 1 })
        }
        // A very long prompt keeps its first 511 ids and ends with EOS, as truncation=True does.
        let sp = try XCTUnwrap(Self.expected.sentencepiece["spiece.model"])
        let longest = sp.indices.max { sp[$0].count < sp[$1].count }!
        XCTAssertGreaterThan(sp[longest].count, 512)
        let (ids, count) = tokenizer.encodeForUMT5(Self.expected.prompts[longest])
        XCTAssertEqual(count, 512)
        XCTAssertEqual(ids, Array(sp[longest].prefix(511)) + [1])
    }

    /// Wan's cleaning (ftfy.fix_text + html.unescape x2 + whitespace collapse), compared scalar by
    /// scalar (not with String ==, which is canonical equivalence) with the Python output.
    func testWanPromptCleaningMatchesReference() {
        var mismatches = 0
        for (prompt, want) in zip(Self.expected.prompts, Self.expected.clean) {
            let got = WanPromptCleaner.clean(prompt)
            if Array(got.unicodeScalars) != Array(want.unicodeScalars) {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(prompt.debugDescription.prefix(100))\n got \(got.debugDescription.prefix(100))\nwant \(want.debugDescription.prefix(100))") }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testHTMLUnescapeFollowsPython() {
        XCTAssertEqual(WanPromptCleaner.htmlUnescape("&amp;amp; &lt;b&gt; &notit; &#x41;&#65 &#128; &#xD800; &#99999999; &bogus;"),
                       "&amp; <b> ¬it; AA € \u{FFFD} \u{FFFD} &bogus;")
        XCTAssertEqual(WanPromptCleaner.clean("  “Hello”\r\n\tﬁne  &amp;amp;  ＡＢＣ \u{1B}[31mred\u{1B}[0m "), "\"Hello\" fine & ABC red")
    }
}
