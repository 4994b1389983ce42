import Foundation
import XCTest
@testable import WandDaemon
import WandEngine

/// A generator that makes a small moving gradient instantly (or slowly, step by step).
struct TestEngine: VideoGenerator {
    var stepDelay: Double = 0
    var steps = 1
    func generate(_ request: GenerationRequest, progress: @escaping @Sendable (GenerationProgress) -> Void,
                  isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        for i in 0..<steps {
            if isCancelled() { throw CancelledError(completedSteps: i) }
            if stepDelay > 0 { try await Task.sleep(nanoseconds: UInt64(stepDelay * 1e9)) }
            progress(GenerationProgress(stage: .denoising, step: i + 1, totalSteps: steps))
        }
        let frames = (0..<request.frames).map { f in
            RGBImage(width: request.width, height: request.height,
                     pixels: (0..<(request.width * request.height * 3)).map { UInt8(($0 * 7 + f * 13) % 256) })
        }
        return GeneratedVideo(width: request.width, height: request.height, fps: request.fps, frames: frames, latents: [],
                              latentShape: [], timings: StageTimings(), device: "test", notes: [])
    }
}

final class DaemonRuntimeTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wand-daemon-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func config(watch: String = "auto", duplicates: String = "skip", settle: String = "0.2s", extra: String = "") throws -> DaemonConfig {
        let yaml = """
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            duplicates: \(duplicates)
            inboxes:
              - path: inbox
                settle: \(settle)
                watch: \(watch)
            models:
              tiny: {path: /nonexistent/tiny, kind: t2v-a14b, sizes: [32x32]}
            defaults: {t2v: tiny}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            \(extra)
            """
        FileManager.default.createFile(atPath: dir + "/wand.yaml", contents: Data(yaml.utf8))
        return try ConfigLoader.load(dir + "/wand.yaml")
    }

    func drop(_ name: String, _ text: String) {
        FileManager.default.createFile(atPath: dir + "/inbox/" + name, contents: Data(text.utf8))
    }

    func job(_ prompt: String = "a red circle", seed: Int = 1) -> String {
        "wand: 1\nmode: t2v\nprompt: \(prompt)\nsize: 32x32\nframes: 5\nsteps: 2\nseed: \(seed)\n"
    }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + sub)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func runUntilIdle(_ cfg: DaemonConfig, engine: any VideoGenerator = TestEngine()) async throws {
        let daemon = try Daemon(config: cfg, generator: engine, log: { _ in })
        try await daemon.run(exitWhenIdle: true)
    }

    func testDroppedJobEndsInTheOutboxWithItsSidecar() async throws {
        let cfg = try config()
        drop("beach.yaml", job("a cat on a beach", seed: 42))
        try await runUntilIdle(cfg)
        XCTAssertEqual(files("outbox"), ["beach-poster.jpg", "beach.json", "beach.mp4", "beach.nfo"])
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/outbox/beach.json"))) as! [String: Any]
        XCTAssertEqual(sidecar["prompt"] as? String, "a cat on a beach")
        XCTAssertEqual(sidecar["seed"] as? Int, 42)
        XCTAssertEqual(sidecar["model"] as? String, "tiny")
        XCTAssertEqual(sidecar["ai_generated"] as? Bool, true)
        XCTAssertEqual((sidecar["inputs_sha256"] as? String)?.count, 64)
        XCTAssertEqual(files("inbox"), [])
        XCTAssertEqual(files("outbox/.wand-staging"), [])
        // The source was archived, not lost.
        let archive = try FileManager.default.subpathsOfDirectory(atPath: dir + "/state/archive")
        XCTAssertTrue(archive.contains { $0.hasSuffix("beach.yaml") }, "\(archive)")
    }

    func testNamesNeverOverwrite() async throws {
        let cfg = try config(duplicates: "run")
        drop("same.yaml", job(seed: 1))
        try await runUntilIdle(cfg)
        drop("same.yaml", job(seed: 2))
        try await runUntilIdle(cfg)
        XCTAssertTrue(files("outbox").contains("same.mp4"))
        XCTAssertTrue(files("outbox").contains("same-2.mp4"))
        XCTAssertTrue(files("outbox").contains("same-2.json"))
    }

    func testBadYAMLLandsInFailedWithALocatedError() async throws {
        let cfg = try config()
        drop("broken.yaml", "wand: 1\nmode: t2v\nprompt: x\nframes: 80\nsize: 32x32\n")
        try await runUntilIdle(cfg)
        XCTAssertEqual(files("failed"), ["broken.error.json", "broken.error.txt", "broken.yaml"])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/failed/broken.error.json"))) as! [String: Any]
        XCTAssertEqual(report["line"] as? Int, 4)
        XCTAssertEqual(report["column"] as? Int, 9)
        XCTAssertEqual(report["stage"] as? String, "validation")
        let text = try String(contentsOfFile: dir + "/failed/broken.error.txt", encoding: .utf8)
        XCTAssertTrue(text.contains("broken.yaml:4:9: error: frames must be 4n+1 (got 80; try 81)"), text)
        XCTAssertEqual(files("outbox"), [])
    }

    func testAnEscapeThroughDotDotOrASymlinkIsRefused() async throws {
        let cfg = try config()
        FileManager.default.createFile(atPath: dir + "/secret.png", contents: Data([0x89, 0x50, 0x4E, 0x47]))
        try FileManager.default.createSymbolicLink(atPath: dir + "/inbox/link.png", withDestinationPath: dir + "/secret.png")
        drop("a.yaml", "wand: 1\nmode: i2v\nmodel: tiny\nprompt: x\nimage: ../secret.png\nsize: 32x32\n")
        drop("b.yaml", "wand: 1\nmode: i2v\nmodel: tiny\nprompt: x\nimage: link.png\nsize: 32x32\n")
        try await runUntilIdle(cfg)
        XCTAssertTrue(files("failed").contains("a.error.txt"))
        XCTAssertTrue(files("failed").contains("b.error.txt"))
        let a = try String(contentsOfFile: dir + "/failed/a.error.txt", encoding: .utf8)
        XCTAssertTrue(a.contains("a.yaml:5:8"), a)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/secret.png"), "files outside the inbox are never moved")
        XCTAssertEqual(files("outbox"), [])
    }

    func testDuplicatePolicySkipsThenRuns() async throws {
        var cfg = try config()
        drop("one.yaml", job(seed: 5))
        try await runUntilIdle(cfg)
        drop("one.yaml", job(seed: 5))
        try await runUntilIdle(cfg)
        XCTAssertEqual(files("outbox").filter { $0.hasSuffix(".mp4") }, ["one.mp4"])
        let note = try String(contentsOfFile: dir + "/failed/one.error.txt", encoding: .utf8)
        XCTAssertTrue(note.contains("already made into a video"), note)
        cfg = try config(duplicates: "run")
        drop("one.yaml", job(seed: 5))
        try await runUntilIdle(cfg)
        XCTAssertEqual(files("outbox").filter { $0.hasSuffix(".mp4") }, ["one-2.mp4", "one.mp4"])
    }

    func testPollingModeWithInotifyOff() async throws {
        let cfg = try config(watch: "poll")
        let daemon = try Daemon(config: cfg, generator: TestEngine(), log: { _ in })
        let runner = Task { try await daemon.run() }
        try await Task.sleep(nanoseconds: 300_000_000)
        let dropped = Date()
        drop("late.yaml", job())
        while !FileManager.default.fileExists(atPath: dir + "/outbox/late.mp4") {
            if Date().timeIntervalSince(dropped) > 20 { XCTFail("not picked up by polling"); break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        await daemon.stop()
        try await runner.value
    }

    /// A file written in chunks is not claimed until it has been quiet for the settle time.
    func testSlowWriterIsNotClaimedBeforeComplete() throws {
        let cfg = try config(settle: "0.5s")
        let scanner = InboxScanner(inbox: cfg.inboxes[0])
        let path = dir + "/inbox/slow.yaml"
        FileManager.default.createFile(atPath: path, contents: Data())
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for chunk in job().split(separator: "\n") {
            try handle.write(contentsOf: Data((chunk + "\n").utf8))
            XCTAssertEqual(scanner.scan(), [], "claimed while still being written")
            Thread.sleep(forTimeInterval: 0.2)
        }
        try handle.close()
        XCTAssertEqual(scanner.scan(), [])
        Thread.sleep(forTimeInterval: 0.7)
        XCTAssertEqual(scanner.scan(), [.jobFile(URL(fileURLWithPath: path).path)])
        XCTAssertEqual(scanner.scan(), [], "handed out once")
    }

    func testTempAndSystemFilesAreIgnored() {
        for name in [".hidden.yaml", "x.part", "x.tmp", "x~", ".x.swp", "Thumbs.db", ".DS_Store", "@eaDir", "#recycle", "~$x.txt"] {
            XCTAssertTrue(InboxScanner.isIgnored(name), name)
        }
        XCTAssertFalse(InboxScanner.isIgnored("beach.yaml"))
    }

    /// 500 drops at once become 500 jobs: none lost, none doubled.
    func testBurstOf500Drops() async throws {
        let cfg = try config(settle: "0.2s")
        for i in 0..<500 { drop(String(format: "p%03d.txt", i), "prompt number \(i)") }
        let start = Date()
        // Bare prompts take the t2v defaults of the model (32x32 here) and the inbox settle.
        try await runUntilIdle(cfg, engine: TestEngine())
        let elapsed = Date().timeIntervalSince(start)
        let mp4s = files("outbox").filter { $0.hasSuffix(".mp4") }
        XCTAssertEqual(mp4s.count, 500)
        XCTAssertEqual(Set(mp4s).count, 500)
        XCTAssertEqual(mp4s.first, "p000.mp4")
        XCTAssertEqual(files("inbox"), [])
        XCTAssertEqual(files("failed"), [])
        print("burst: 500 drops -> 500 videos in \(String(format: "%.1f", elapsed)) s")
    }

    /// Drop-to-claim latency in both watch modes (printed for the issue note; settle is 0.2 s).
    func testPickupLatency() async throws {
        for mode in ["inotify", "poll"] {
            try? FileManager.default.removeItem(atPath: dir + "/state")
            let cfg = try config(watch: mode)
            let daemon = try Daemon(config: cfg, generator: TestEngine(), log: { _ in })
            let runner = Task { try await daemon.run() }
            try await Task.sleep(nanoseconds: 500_000_000)
            var samples: [Double] = []
            for i in 0..<5 {
                let t0 = Date()
                let tmp = dir + "/inbox/.l\(mode)\(i).yaml"
                FileManager.default.createFile(atPath: tmp, contents: Data(job(seed: i).utf8))
                rename(tmp, dir + "/inbox/l\(mode)\(i).yaml")  // an atomic drop, as producers should do
                while try Journal(path: dir + "/state/journal.sqlite").rows().count <= i {
                    try await Task.sleep(nanoseconds: 5_000_000)
                    if Date().timeIntervalSince(t0) > 10 { XCTFail("not claimed"); break }
                }
                samples.append(Date().timeIntervalSince(t0))
            }
            await daemon.stop()
            try await runner.value
            let sorted = samples.sorted()
            print("pickup latency \(mode): median \(String(format: "%.2f", sorted[2])) s, max \(String(format: "%.2f", sorted[4])) s (settle 0.2 s)")
        }
    }

    func testCancelBetweenSteps() async throws {
        let cfg = try config()
        drop("long.yaml", job())
        let daemon = try Daemon(config: cfg, generator: TestEngine(stepDelay: 0.1, steps: 100), log: { _ in })
        let runner = Task { try await daemon.run(exitWhenIdle: true) }
        var id: String?
        for _ in 0..<100 {
            try await Task.sleep(nanoseconds: 50_000_000)
            if let row = try Journal(path: dir + "/state/journal.sqlite").rows([.running]).first { id = row.id; break }
        }
        XCTAssertNotNil(id)
        let cancelled = try await daemon.cancel(id!)
        XCTAssertTrue(cancelled)
        try await runner.value
        XCTAssertEqual(try Journal(path: dir + "/state/journal.sqlite").row(id!)?.state, .cancelled)
        XCTAssertTrue(files("failed").contains("long.yaml"))
    }
}

final class DaemonControlTests: XCTestCase {
    func testStatusPauseQueueAndRetry() async throws {
        let dir = NSTemporaryDirectory() + "wand-ctl-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
        let yaml = """
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes: [{path: inbox, settle: 0.2s}]
            models: {tiny: {path: /nonexistent, kind: t2v-a14b, sizes: [32x32]}}
            defaults: {t2v: tiny}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            """
        FileManager.default.createFile(atPath: dir + "/wand.yaml", contents: Data(yaml.utf8))
        let daemon = try Daemon(config: try ConfigLoader.load(dir + "/wand.yaml"), generator: TestEngine(), log: { _ in })
        let paused = await daemon.handle(ControlRequest(cmd: .pause))
        XCTAssertTrue(paused.ok)
        FileManager.default.createFile(atPath: dir + "/inbox/a.yaml", contents: Data("wand: 1\nmode: t2v\nprompt: a\nsize: 32x32\nframes: 5\nsteps: 1\n".utf8))
        FileManager.default.createFile(atPath: dir + "/inbox/bad.yaml", contents: Data("wand: 1\nmode: t2v\nprompt: a\nframes: 80\n".utf8))
        let runner = Task { try await daemon.run() }
        var queue: ControlResponse?
        for _ in 0..<100 {
            try await Task.sleep(nanoseconds: 50_000_000)
            queue = await daemon.handle(ControlRequest(cmd: .queue))
            if queue?.jobs?.count == 1 { break }
        }
        XCTAssertEqual(queue?.jobs?.map(\.name), ["a"])
        let status = await daemon.handle(ControlRequest(cmd: .status))
        XCTAssertEqual(status.status?.paused, true)
        XCTAssertEqual(status.status?.queueLength, 1)
        _ = await daemon.handle(ControlRequest(cmd: .resume))
        let badID = try Journal(path: dir + "/state/journal.sqlite").rows([.failed]).first!.id
        let retried = await daemon.handle(ControlRequest(cmd: .retry, id: badID))
        XCTAssertTrue(retried.ok, retried.error ?? "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/inbox/bad.yaml") || FileManager.default.fileExists(atPath: dir + "/failed/bad.yaml"))
        let missing = await daemon.handle(ControlRequest(cmd: .cancel, id: "nope"))
        XCTAssertFalse(missing.ok)
        await daemon.stop()
        try await runner.value
    }
}
