import CSQLite
import Foundation
import XCTest
@testable import WandDaemon
import WandEngine

/// Fails the `failingCall`-th run (1-based) of each prompt in `flaky` with `error`; otherwise generates as TestEngine does.
final class FlakyEngine: VideoGenerator, @unchecked Sendable {
    let flaky: Set<String>
    let error: EngineError
    let failingCall: Int
    private let lock = NSLock()
    private var log: [(prompt: String, at: Date)] = []
    init(flaky: Set<String>, error: EngineError = EngineError(.modelFailure, "out of device memory"), failingCall: Int = 1) {
        self.flaky = flaky; self.error = error; self.failingCall = failingCall
    }
    var calls: [(prompt: String, at: Date)] { lock.withLock { log } }

    func generate(_ request: GenerationRequest, progress: @escaping @Sendable (GenerationProgress) -> Void,
                  isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        let call = lock.withLock { () -> Int in
            log.append((request.prompt, Date()))
            return log.filter { $0.prompt == request.prompt }.count
        }
        if call == failingCall && flaky.contains(request.prompt) { throw error }
        return try await TestEngine().generate(request, progress: progress, isCancelled: isCancelled)
    }
}

final class RetryBackoffTests: XCTestCase {
    var dir: String!
    var journalPath: String { dir + "/state/journal.sqlite" }

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wand-retry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func config(backoff: String, maxAttempts: Int = 3) throws -> DaemonConfig {
        let yaml = """
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes: [{path: inbox, settle: 0.1s}]
            models: {tiny: {path: /nonexistent/tiny, kind: t2v-a14b, sizes: [32x32]}}
            defaults: {t2v: tiny}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            max_attempts: \(maxAttempts)
            retry_backoff: \(backoff)
            """
        FileManager.default.createFile(atPath: dir + "/wand.yaml", contents: Data(yaml.utf8))
        return try ConfigLoader.load(dir + "/wand.yaml")
    }

    func drop(_ name: String, prompt: String, priority: Int = 0) {
        let job = "wand: 1\nmode: t2v\nprompt: \(prompt)\nsize: 32x32\nframes: 5\nsteps: 1\nseed: 1\npriority: \(priority)\n"
        FileManager.default.createFile(atPath: dir + "/inbox/" + name, contents: Data(job.utf8))
    }

    func testDelayDoublesPerAttemptAndIsCapped() {
        XCTAssertEqual(RetryPolicy.delay(afterAttempts: 1, backoff: 30), 30)
        XCTAssertEqual(RetryPolicy.delay(afterAttempts: 2, backoff: 30), 60)
        XCTAssertEqual(RetryPolicy.delay(afterAttempts: 3, backoff: 30), 120)
        XCTAssertEqual(RetryPolicy.delay(afterAttempts: 99, backoff: 30), 86_400)
        XCTAssertEqual(RetryPolicy.delay(afterAttempts: 2, backoff: 0), 0)
        XCTAssertTrue(RetryPolicy.isTransient(EngineError(.modelFailure, "x")))
        XCTAssertFalse(RetryPolicy.isTransient(EngineError(.badRequest, "x")))
        XCTAssertTrue(RetryPolicy.isTransient(NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))))
        XCTAssertFalse(RetryPolicy.isTransient(NSError(domain: NSPOSIXErrorDomain, code: Int(ENOENT))))
    }

    func testNextRunnableSkipsJobsInTheirBackoff() throws {
        try FileManager.default.createDirectory(atPath: dir + "/state", withIntermediateDirectories: true)
        let journal = try Journal(path: journalPath)
        _ = try journal.insert(id: "high", name: "high", priority: 5, spoolDir: "/x", inputHash: "h1")
        _ = try journal.insert(id: "low", name: "low", priority: 0, spoolDir: "/y", inputHash: "h2")
        try journal.setState("low", .queued)
        try journal.requeue("high", notBefore: 1000)
        XCTAssertEqual(try journal.nextRunnable(now: 999)?.id, "low", "the higher priority job is still in its backoff")
        XCTAssertEqual(try journal.nextRunnable(now: 1000)?.id, "high")
        XCTAssertEqual(try journal.nextRetryTime(after: 999), 1000)
        XCTAssertNil(try journal.nextRetryTime(after: 1000))
        try journal.setState("high", .running)
        XCTAssertNil(try journal.row("high")?.notBefore, "a run clears the backoff")
    }

    /// A journal written before not_before existed (schema version 0) is migrated in place, rows intact.
    func testVersion0JournalIsMigrated() throws {
        try FileManager.default.createDirectory(atPath: dir + "/state", withIntermediateDirectories: true)
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(journalPath, &db), SQLITE_OK)
        let v0 = """
            CREATE TABLE jobs (
              id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
              priority INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, spool_dir TEXT NOT NULL,
              input_hash TEXT NOT NULL, error TEXT, created REAL NOT NULL, started REAL, finished REAL);
            INSERT INTO jobs (id, name, state, attempts, priority, seq, spool_dir, input_hash, created)
              VALUES ('old', 'old-job', 'queued', 1, 3, 1, '/spool/old', 'abc', 1700000000);
            """
        XCTAssertEqual(sqlite3_exec(db, v0, nil, nil, nil), SQLITE_OK)
        sqlite3_close(db)

        let journal = try Journal(path: journalPath)
        let row = try XCTUnwrap(journal.row("old"))
        XCTAssertEqual(row.name, "old-job")
        XCTAssertEqual(row.state, .queued)
        XCTAssertEqual(row.attempts, 1)
        XCTAssertEqual(row.priority, 3)
        XCTAssertNil(row.notBefore)
        try journal.requeue("old", notBefore: 1_800_000_000)
        XCTAssertEqual(try Journal(path: journalPath).row("old")?.notBefore, 1_800_000_000, "reopening is a no-op")
        XCTAssertEqual(try userVersion(), Journal.schemaVersion)
    }

    func testANewerJournalIsRefused() throws {
        try FileManager.default.createDirectory(atPath: dir + "/state", withIntermediateDirectories: true)
        _ = try Journal(path: journalPath)
        var db: OpaquePointer?
        sqlite3_open(journalPath, &db)
        sqlite3_exec(db, "PRAGMA user_version = 99;", nil, nil, nil)
        sqlite3_close(db)
        XCTAssertThrowsError(try Journal(path: journalPath)) { error in
            XCTAssertTrue("\(error)".contains("schema version 99"), "\(error)")
        }
    }

    func userVersion() throws -> Int {
        var db: OpaquePointer?
        sqlite3_open(journalPath, &db)
        defer { sqlite3_close(db) }
        var stmt: OpaquePointer?
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nil)
        defer { sqlite3_finalize(stmt) }
        XCTAssertEqual(sqlite3_step(stmt), SQLITE_ROW)
        return Int(sqlite3_column_int64(stmt, 0))
    }

    /// After a crash the interrupted job waits retry_backoff x 2^(attempts-1) before it may run again.
    func testRecoveryRequeuesWithTheBackoff() async throws {
        let daemon = try Daemon(config: try config(backoff: "30s"), generator: TestEngine(), log: { _ in })
        let journal = try Journal(path: journalPath)
        _ = try journal.insert(id: "once", name: "once", priority: 0, spoolDir: dir + "/state/spool/once", inputHash: "a")
        try journal.setState("once", .running)
        _ = try journal.insert(id: "twice", name: "twice", priority: 0, spoolDir: dir + "/state/spool/twice", inputHash: "b")
        try journal.setState("twice", .running)
        try journal.setState("twice", .running)
        let before = Date().timeIntervalSince1970
        try await daemon.recover()
        let after = Date().timeIntervalSince1970

        let once = try XCTUnwrap(journal.row("once"))
        XCTAssertEqual(once.state, .queued)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(once.notBefore), before + 30)
        XCTAssertLessThanOrEqual(try XCTUnwrap(once.notBefore), after + 30)
        let twice = try XCTUnwrap(journal.row("twice"))
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(twice.notBefore), before + 60)
        XCTAssertLessThanOrEqual(try XCTUnwrap(twice.notBefore), after + 60)
        XCTAssertNil(try journal.nextRunnable(now: after + 1), "neither may run yet")
        XCTAssertEqual(try journal.nextRunnable(now: after + 31)?.id, "once")

        let queue = await daemon.handle(ControlRequest(cmd: .queue))
        XCTAssertEqual(queue.jobs?.count, 2)
        XCTAssertTrue(queue.jobs?.allSatisfy { $0.retryAt != nil } ?? false, "\(String(describing: queue.jobs))")
        XCTAssertTrue(ControlOutput.jobTable(queue.jobs ?? []).contains("queued (retry at 20"))
        let status = await daemon.statusLine()
        XCTAssertEqual(status, "queued 2 (2 waiting to retry)")
    }

    /// A transient failure re-queues the job behind its backoff; a lower-priority job runs meanwhile.
    func testTransientFailureIsRetriedAfterTheBackoffWithoutBlockingTheQueue() async throws {
        let engine = FlakyEngine(flaky: ["flaky"])
        let daemon = try Daemon(config: try config(backoff: "2s"), generator: engine, log: { _ in })
        await daemon.pause()
        drop("flaky.yaml", prompt: "flaky", priority: 10)
        drop("steady.yaml", prompt: "steady", priority: 0)
        let runner = Task { try await daemon.run() }
        let journal = try Journal(path: journalPath)
        var deadline = Date().addingTimeInterval(20)
        while try journal.rows([.queued]).count < 2, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        await daemon.resume()
        deadline = Date().addingTimeInterval(20)
        while try journal.rows([.done]).count < 2, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        await daemon.stop()
        try await runner.value

        let calls = engine.calls
        XCTAssertEqual(calls.map(\.prompt), ["flaky", "steady", "flaky"])
        guard calls.count == 3 else { return }
        XCTAssertLessThan(calls[1].at.timeIntervalSince(calls[0].at), 2, "the queue did not wait for the backoff")
        XCTAssertGreaterThanOrEqual(calls[2].at.timeIntervalSince(calls[0].at), 2, "the retry waited retry_backoff")
        let flaky = try XCTUnwrap(journal.rows([.done]).first { $0.name == "flaky" })
        XCTAssertEqual(flaky.attempts, 2)
        XCTAssertNil(flaky.notBefore)
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: dir + "/failed")) ?? []), [])
    }

    /// A failure that would repeat (a bad request) goes to failed/ at once, with attempts left.
    func testPermanentFailureIsNotRetried() async throws {
        let engine = FlakyEngine(flaky: ["bad"], error: EngineError(.badRequest, "the prompt is too long"))
        drop("bad.yaml", prompt: "bad")
        try await Daemon(config: try config(backoff: "0.1s"), generator: engine, log: { _ in }).run(exitWhenIdle: true)
        XCTAssertEqual(engine.calls.count, 1)
        let row = try XCTUnwrap(Journal(path: journalPath).rows().first)
        XCTAssertEqual(row.state, .failed)
        XCTAssertEqual(row.attempts, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/failed/bad.error.txt"))
    }

    /// A batch whose first video is already in the outbox is not run again (it would make that video twice).
    func testBatchWithAPublishedVideoIsNotRetried() async throws {
        let engine = FlakyEngine(flaky: ["pair"], failingCall: 2)
        let job = "wand: 1\nmode: t2v\nprompt: pair\nsize: 32x32\nframes: 5\nsteps: 1\nseeds: [1, 2]\n"
        FileManager.default.createFile(atPath: dir + "/inbox/pair.yaml", contents: Data(job.utf8))
        try await Daemon(config: try config(backoff: "0.1s"), generator: engine, log: { _ in }).run(exitWhenIdle: true)
        XCTAssertEqual(engine.calls.count, 2)
        let row = try XCTUnwrap(Journal(path: journalPath).rows().first)
        XCTAssertEqual(row.state, .failed)
        XCTAssertEqual(row.attempts, 1)
        let videos = ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/outbox")) ?? []).filter { $0.hasSuffix(".mp4") }
        XCTAssertEqual(videos.count, 1)
    }

    /// Out of attempts, a transient failure is final too.
    func testTransientFailureOnTheLastAttemptFails() async throws {
        let engine = FlakyEngine(flaky: ["once"])
        drop("once.yaml", prompt: "once")
        try await Daemon(config: try config(backoff: "0.1s", maxAttempts: 1), generator: engine, log: { _ in }).run(exitWhenIdle: true)
        XCTAssertEqual(engine.calls.count, 1)
        XCTAssertEqual(try Journal(path: journalPath).rows().first?.state, .failed)
    }
}
