import Foundation
import XCTest
@testable import WandDaemon
@testable import WandEngine

final class JobFileParserTests: XCTestCase {
    var dir: String!
    var config: DaemonConfig!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wand-jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/outside", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/inbox/cat.png", contents: Data([0x89, 0x50, 0x4E, 0x47]))
        FileManager.default.createFile(atPath: dir + "/outside/secret.png", contents: Data([0x89]))
        config = try ConfigLoader.parse("""
            wand-config: 1
            state_dir: state
            outbox: out
            failed: failed
            inboxes:
              - path: inbox
            models:
              t2v-a14b: {path: /models/t2v, sizes: [1280x720, 720x1280, 832x480, 480x832]}
              ti2v-5b: {path: /models/ti2v, sizes: [1280x704, 704x1280]}
              i2v-a14b: {path: /models/i2v}
            defaults: {t2v: t2v-a14b, ti2v: ti2v-5b, i2v: i2v-a14b}
            """, path: dir + "/wand.yaml")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func parse(_ text: String, name: String = "job.yaml") throws(Diagnostics) -> [JobSpec] {
        try JobFileParser.parse(text, path: dir + "/inbox/" + name, inbox: config.inboxes[0], config: config)
    }

    func errors(_ text: String) -> [String] {
        do { _ = try parse(text); return [] } catch { return error.items.map { $0.description.replacingOccurrences(of: dir + "/", with: "") } }
    }

    func testDefaultsComeFromTheModeAndTheModel() throws {
        let job = try parse("wand: 1\nmode: t2v\nprompt: a cat on a beach\n")[0]
        XCTAssertEqual(job.model, "t2v-a14b")
        XCTAssertEqual([job.width, job.height, job.frames, job.fps, job.steps], [1280, 720, 81, 16, 40])
        XCTAssertEqual(job.guidanceHigh, 4)
        XCTAssertEqual(job.guidanceLow, 3)
        XCTAssertEqual(job.outputName, "job")
        XCTAssertNil(job.seed)
        let ti2v = try parse("wand: 1\nmode: ti2v\nprompt: x\n")[0]
        XCTAssertEqual([ti2v.width, ti2v.height, ti2v.frames, ti2v.fps, ti2v.steps], [1280, 704, 121, 24, 50])
    }

    func testFramesErrorIsLocatedWithASuggestion() {
        XCTAssertEqual(errors("wand: 1\nmode: t2v\nprompt: x\nframes: 80\n"),
                       ["inbox/job.yaml:4:9: error: frames must be 4n+1 (got 80; try 81)"])
    }

    func testUnknownKeysGetDidYouMeanAndAllErrorsComeAtOnce() {
        XCTAssertEqual(errors("wand: 1\nmode: t2v\npromt: x\nsize: 1280x721\nsampler: unpic\n"), [
            "inbox/job.yaml:1:1: error: missing 'prompt'",
            "inbox/job.yaml:3:1: error: unknown key 'promt' in a job (did you mean 'prompt'?)",
            "inbox/job.yaml:4:7: error: size 1280x721 is not supported by model 't2v-a14b' (supported: 1280x720, 720x1280, 832x480, 480x832)",
            "inbox/job.yaml:5:10: error: sampler must be one of unipc, dpm++, euler (got 'unpic'); did you mean 'unipc'?",
        ])
    }

    func testVersionAndModeAreRequired() {
        XCTAssertEqual(errors("prompt: x\n"), ["inbox/job.yaml:1:1: error: missing 'wand: 1' (the job file's schema version)",
                                              "inbox/job.yaml:1:1: error: missing 'mode' (one of t2v, i2v, ti2v, s2v, animate, edit)"])
        XCTAssertEqual(errors("wand: 2\nmode: t2v\nprompt: x\n"),
                       ["inbox/job.yaml:1:7: error: unsupported job schema version 2 (this Wand reads 'wand: 1')"])
    }

    func testInvalidYAMLIsLocated() {
        let e = errors("wand: 1\nmode: t2v\nprompt: \"unterminated\n")
        XCTAssertEqual(e.count, 1)
        XCTAssertTrue(e[0].hasPrefix("inbox/job.yaml:"), e[0])
        XCTAssertTrue(e[0].contains("invalid YAML"), e[0])
    }

    func testBatchesAndSeedsExpand() throws {
        let jobs = try parse("wand: 1\nmode: t2v\nprompt: a\nseeds: [1, 2, 3]\n---\nwand: 1\nmode: t2v\nprompt: b\nseed: 9\n", name: "batch.yaml")
        XCTAssertEqual(jobs.map(\.seed), [1, 2, 3, 9])
        XCTAssertEqual(jobs.map(\.outputName), ["batch-1-seed1", "batch-1-seed2", "batch-1-seed3", "batch-2"])
        XCTAssertEqual(jobs.map(\.prompt), ["a", "a", "a", "b"])
    }

    func testGuidancePerExpert() throws {
        let job = try parse("wand: 1\nmode: t2v\nprompt: x\nguidance: {high: 5.5, low: 2}\n")[0]
        XCTAssertEqual([job.guidanceHigh, job.guidanceLow], [5.5, 2])
    }

    func testInputsAreConfinedToTheJobFolder() throws {
        let job = try parse("wand: 1\nmode: i2v\nprompt: x\nimage: cat.png\n")[0]
        XCTAssertTrue(job.image!.hasSuffix("/inbox/cat.png"))
        XCTAssertEqual(errors("wand: 1\nmode: i2v\nprompt: x\nimage: ../outside/secret.png\n").count, 1)
        XCTAssertTrue(errors("wand: 1\nmode: i2v\nprompt: x\nimage: ../outside/secret.png\n")[0]
            .contains("outside the job's folder and the configured input_roots"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/inbox/link.png", withDestinationPath: dir + "/outside/secret.png")
        XCTAssertTrue(errors("wand: 1\nmode: i2v\nprompt: x\nimage: link.png\n")[0].contains("outside the job's folder"))
        XCTAssertEqual(errors("wand: 1\nmode: i2v\nprompt: x\nimage: missing.png\n"),
                       ["inbox/job.yaml:4:8: error: file not found: missing.png"])
        try FileManager.default.createSymbolicLink(atPath: dir + "/inbox/inside.png", withDestinationPath: dir + "/inbox/cat.png")
        XCTAssertNoThrow(try parse("wand: 1\nmode: i2v\nprompt: x\nimage: inside.png\n"))
    }

    func testAliasesAndDeepNestingAreRefused() {
        XCTAssertTrue(errors("wand: 1\nmode: t2v\nprompt: &p x\n")[0].contains("anchors"))
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertTrue(errors(deep)[0].contains("nesting deeper"))
    }

    /// Random bytes and truncations of a valid file never crash the parser.
    func testFuzzNeverCrashes() {
        let valid = "wand: 1\nmode: t2v\nprompt: \"a cat\"\nsize: 1280x720\nframes: 81\nguidance: {high: 4, low: 3}\ntags: [a, b]\n"
        var rng = SystemRandomNumberGenerator()
        for n in 0..<valid.utf8.count { _ = try? parse(String(decoding: Array(valid.utf8.prefix(n)), as: UTF8.self)) }
        let alphabet = Array("abc:{}[]-#&*!|>'\"\n\t ,?%@`0123456789".utf8)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            _ = try? parse(String(decoding: bytes, as: UTF8.self))
        }
    }

    func testConfigErrorsAreLocated() {
        do {
            _ = try ConfigLoader.parse("wand-config: 1\nstate_dir: s\noutbox: o\nfailed: f\ninboxes:\n  - path: i\n    setle: 5s\nlayout: folder_per_job\n", path: "/etc/wand/wand.yaml")
            XCTFail("expected errors")
        } catch {
            XCTAssertEqual(error.items.map(\.description), [
                "/etc/wand/wand.yaml:7:5: error: unknown key 'setle' in an inbox (did you mean 'settle'?)",
                "/etc/wand/wand.yaml:8:9: error: layout must be one of flat, folder-per-job (got 'folder_per_job'); did you mean 'folder-per-job'?",
            ])
        }
    }
}
