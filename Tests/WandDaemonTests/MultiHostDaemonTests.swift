import Foundation
import XCTest
@testable import WandDaemon
import WandEngine

/// Three daemons in one process on one PostgreSQL queue (a real server), with separate state
/// dirs and one shared inbox, outbox, failed folder and spool: every drop ends exactly once.
final class MultiHostDaemonTests: XCTestCase {
    var server: PostgresTestServer!
    var dir: String!

    override func setUpWithError() throws {
        server = try PostgresTestServer.start()
        dir = NSTemporaryDirectory() + "wand-multi-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        server?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func config(_ host: String) throws -> DaemonConfig {
        let yaml = """
            wand-config: 1
            state_dir: state-\(host)
            outbox: outbox
            failed: failed
            inboxes: [{path: inbox, settle: 0.2s}]
            models: {tiny: {path: /nonexistent/tiny, kind: t2v-a14b, sizes: [32x32]}}
            defaults: {t2v: tiny}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            queue: {backend: postgres, url: "\(server.url)", spool: spool, host: \(host), lease: 2s, heartbeat: 0.5s}
            """
        FileManager.default.createFile(atPath: dir + "/\(host).yaml", contents: Data(yaml.utf8))
        return try ConfigLoader.load(dir + "/\(host).yaml")
    }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + sub)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func testThreeHostsShareOneInboxAndEveryDropEndsOnce() async throws {
        let hosts = ["h1", "h2", "h3"]
        let daemons = try hosts.map { try Daemon(config: try config($0), generator: TestEngine(stepDelay: 0.01, steps: 3), log: { _ in }) }
        for i in 0..<57 { FileManager.default.createFile(atPath: dir + "/inbox/p\(i).txt", contents: Data("prompt number \(i)".utf8)) }
        for i in 0..<3 { FileManager.default.createFile(atPath: dir + "/inbox/bad\(i).yaml", contents: Data("wand: 1\nmode: t2v\nprompt: x\nframes: 80\n".utf8)) }
        let runners = daemons.map { d in Task { try await d.run() } }

        var status: ControlResponse?
        var queue: ControlResponse?
        let deadline = Date().addingTimeInterval(60)
        while files("outbox").filter({ $0.hasSuffix(".mp4") }).count < 57 || files("failed").filter({ $0.hasSuffix(".yaml") }).count < 3 {
            if Date() > deadline { XCTFail("not done: \(files("outbox").count) in outbox, \(files("failed")) failed"); break }
            if queue?.jobs?.isEmpty ?? true { queue = await daemons[0].handle(ControlRequest(cmd: .queue)) }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        status = await daemons[1].handle(ControlRequest(cmd: .status))
        for d in daemons { await d.stop() }
        for r in runners { try await r.value }

        let videos = files("outbox").filter { $0.hasSuffix(".mp4") }
        XCTAssertEqual(Set(videos), Set((0..<57).map { "p\($0).mp4" }), "each prompt exactly once, no NAME-2")
        XCTAssertEqual(files("failed").filter { $0.hasSuffix(".yaml") }, ["bad0.yaml", "bad1.yaml", "bad2.yaml"])
        XCTAssertEqual(files("failed").filter { $0.hasSuffix(".error.txt") }.count, 3)
        XCTAssertEqual(files("inbox"), [])
        XCTAssertEqual(files("spool"), [], "every job's spool folder is gone")
        XCTAssertEqual(files("outbox/.wand-staging"), [])

        let journal = try PostgresJournal(url: server.url, host: "checker", lease: 2)
        let done = try journal.rows([.done])
        XCTAssertEqual(done.count, 57)
        // The id names the host that claimed the drop; `host` the one that ran it (often another).
        XCTAssertTrue(done.allSatisfy { row in hosts.contains { row.id.contains("-\($0)-") } }, "\(done.map(\.id))")
        XCTAssertGreaterThan(Set(done.compactMap(\.host)).count, 1, "the work was shared")
        XCTAssertEqual(try journal.rows([.failed]).count, 3)

        XCTAssertEqual(status?.status?.host, "h2")
        XCTAssertEqual(status?.status?.hosts?.map(\.name), hosts)
        XCTAssertTrue(status?.status?.hosts?.allSatisfy(\.alive) ?? false)
        let rendered = ControlOutput.render(status!).stdout
        XCTAssertTrue(rendered[0].hasPrefix("host: h2  queued: "), rendered[0])
        XCTAssertTrue(rendered[1].hasPrefix("HOST  SEEN"), rendered[1])
        let jobs = try XCTUnwrap(queue?.jobs)
        XCTAssertFalse(jobs.isEmpty)
        XCTAssertTrue(jobs.allSatisfy { $0.host != nil }, "wand queue has a host column with a shared queue")
        XCTAssertTrue(ControlOutput.jobTable(jobs).hasPrefix("ID "))
        XCTAssertTrue(ControlOutput.jobTable(jobs).split(separator: "\n")[0].hasSuffix("HOST"))
    }

    /// The fence at publication through the real daemon: a run whose lease was taken over while
    /// its engine was finishing (as if the host had been stopped) stages its video, is refused
    /// under the row lock, and discards it; the outbox never sees it.
    func testARunThatLostItsLeaseIsRefusedAtPublicationAndDiscardsItsFiles() async throws {
        let gate = Gate()
        let lines = LogLines()
        let daemon = try Daemon(config: try config("a"), generator: GatedEngine(gate: gate), log: { lines.add($0.message) })
        FileManager.default.createFile(atPath: dir + "/inbox/late.txt", contents: Data("a late red circle".utf8))
        let runner = Task { try await daemon.run() }
        let other = try PostgresJournal(url: server.url, host: "b", lease: 2)
        var deadline = Date().addingTimeInterval(20)
        while !gate.reached, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertTrue(gate.reached, "the job never reached the end of generation")
        let stale = try XCTUnwrap(other.rows([.running]).first)
        XCTAssertEqual(stale.host, "a")

        // Host a's renewals stop arriving (a stopped host), its lease runs out, b takes the job.
        let raw = try PGConnection(url: server.url)
        try raw.exec("UPDATE wand_jobs SET lease_expires = now() - interval '1 second' WHERE id = $1", [stale.id])
        let taken = try other.takeOverStale(includeOwn: false)
        XCTAssertEqual(taken.map(\.row.id), [stale.id])
        XCTAssertTrue(try other.requeue(taken[0].lease, notBefore: nil, error: "test"))
        // b claims it before a's loop can (a is idle-polling the queue too).
        var claimed: (row: Journal.Row, lease: Lease)?
        deadline = Date().addingTimeInterval(5)
        while claimed == nil, Date() < deadline { claimed = try other.claimNext(now: Date().timeIntervalSince1970) }
        XCTAssertEqual(claimed?.row.id, stale.id)

        gate.open()
        deadline = Date().addingTimeInterval(20)
        while !lines.all.contains(where: { $0.contains("its files are left to the host that holds it now") }), Date() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        await daemon.stop()
        try await runner.value
        XCTAssertTrue(lines.all.contains { $0.contains("late: the lease on job \(stale.id) was lost") }, "\(lines.all)")
        XCTAssertEqual(files("outbox"), [], "nothing of the stale run reached the outbox")
        XCTAssertEqual(files("outbox/.wand-staging"), [], "its staged files were discarded")
        XCTAssertTrue(try other.publications(of: stale.id).isEmpty)
        XCTAssertEqual(try other.row(stale.id)?.state, .running)
        XCTAssertEqual(try other.row(stale.id)?.host, "b")
        XCTAssertTrue(FileManager.default.fileExists(atPath: stale.spoolDir + "/jobs.json"), "the inputs stay for b's run")
    }
}

/// Finishes generating, then waits for the gate before handing the frames back (and does not
/// look at cancellation there, like the engine in its VAE decode).
struct GatedEngine: VideoGenerator {
    let gate: Gate
    func generate(_ request: GenerationRequest, progress: @escaping @Sendable (GenerationProgress) -> Void,
                  isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
        let video = try await TestEngine().generate(request, progress: progress, isCancelled: isCancelled)
        gate.arrive()
        while !gate.isOpen { try await Task.sleep(nanoseconds: 10_000_000) }
        return video
    }
}

final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var arrived = false, opened = false
    func arrive() { lock.withLock { arrived = true } }
    func open() { lock.withLock { opened = true } }
    var reached: Bool { lock.withLock { arrived } }
    var isOpen: Bool { lock.withLock { opened } }
}

final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
