import Foundation
import XCTest
@testable import WandDaemon

/// The shared journal against a real PostgreSQL server (started per test in a temporary folder):
/// claims that skip locked rows, exclusive drop claims, leases, the heartbeat, fencing, and
/// restart recovery that leaves a live host's job alone.
final class PostgresJournalTests: XCTestCase {
    var server: PostgresTestServer!

    override func setUpWithError() throws { server = try PostgresTestServer.start() }
    override func tearDown() { server?.stop() }

    func journal(_ host: String, lease: Double = 60, lockWait: Double = 0.3) throws -> PostgresJournal {
        try PostgresJournal(url: server.url, host: host, lease: lease, lockWait: lockWait)
    }

    /// A queued job, claimed and finished by `host`.
    @discardableResult
    func queue(_ j: PostgresJournal, _ id: String, priority: Int = 0) throws -> Lease {
        let lease = try XCTUnwrap(j.beginClaim(id: id, name: id, priority: priority, spoolDir: "/spool/\(id)", inputHash: "h-\(id)",
                                               files: [DropFile(path: "/inbox/\(id).yaml", size: 10, mtime: 1)]))
        XCTAssertTrue(try j.finishClaim(lease))
        return lease
    }

    func testTwoHostsClaimEveryJobOnceAndSkipLockedRows() throws {
        let a = try journal("a"), b = try journal("b")
        for i in 0..<40 { try queue(a, String(format: "job%02d", i), priority: i % 3) }

        // A row locked by someone else is skipped, not waited for.
        let locker = try PGConnection(url: server.url)
        try locker.exec("BEGIN")
        let locked = try XCTUnwrap(locker.exec("SELECT id FROM wand_jobs WHERE state = 'queued' ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE").first?[0])
        let first = try XCTUnwrap(a.claimNext(now: 0))
        XCTAssertNotEqual(first.row.id, locked, "claimed the locked row")
        try locker.exec("ROLLBACK")

        let claimed = ClaimLog()
        claimed.add("a", first.row.id)
        let group = DispatchGroup()
        for (name, j) in [("a", a), ("b", b)] {
            DispatchQueue.global().async(group: group) {
                while let next = try? j.claimNext(now: 0) { claimed.add(name, next.row.id) }
            }
        }
        group.wait()
        let all = claimed.ids
        XCTAssertEqual(all.count, 40, "every job claimed exactly once")
        XCTAssertEqual(Set(all).count, 40)
        XCTAssertTrue(claimed.byHost["a"]! > 0 && claimed.byHost["b"]! > 0, "\(claimed.byHost)")
        XCTAssertEqual(try a.rows([.running]).count, 40)
        XCTAssertEqual(Set(try a.rows([.running]).compactMap(\.host)), ["a", "b"])
    }

    func testADropIsClaimedByOneHostAndItsKeyIsFreedOnceSpooled() throws {
        let a = try journal("a"), b = try journal("b")
        let file = DropFile(path: "/inbox/x.png", size: 100, mtime: 5)
        let partner = DropFile(path: "/inbox/x.txt", size: 3, mtime: 5)
        let lease = try XCTUnwrap(a.beginClaim(id: "a1", name: "x", priority: 0, spoolDir: "/s/a1", inputHash: "h", files: [file, partner]))
        XCTAssertNil(try b.beginClaim(id: "b1", name: "x", priority: 0, spoolDir: "/s/b1", inputHash: "h", files: [partner]),
                     "a file of a drop another host is claiming")
        XCTAssertNil(try b.row("b1"), "a refused claim leaves no row")
        var changed = file
        changed.mtime = 6
        XCTAssertNotNil(try b.beginClaim(id: "b2", name: "x", priority: 0, spoolDir: "/s/b2", inputHash: "h2", files: [changed]),
                        "a file replaced since (another mtime) is another drop")
        XCTAssertTrue(try a.finishClaim(lease))
        XCTAssertNotNil(try b.beginClaim(id: "b3", name: "x", priority: 0, spoolDir: "/s/b3", inputHash: "h", files: [partner]),
                        "once spooled the key is free for a new file of that name")
    }

    func testAnExpiredLeaseIsTakenOverAndTheOldHolderIsFencedOut() throws {
        let a = try journal("a", lease: 1), b = try journal("b", lease: 1)
        try queue(a, "j")
        let old = try XCTUnwrap(a.claimNext(now: 0)).lease
        XCTAssertEqual(try a.renew(old), .held)
        XCTAssertTrue(try b.takeOverStale(includeOwn: true).isEmpty, "a live lease is nobody else's")
        Thread.sleep(forTimeInterval: 1.3)
        // Expired but not yet taken over: already refused.
        XCTAssertEqual(try a.renew(old), .lost)
        XCTAssertFalse(try a.beginPublication(old, part: 0, staging: "/st", base: "j", suffixes: [".mp4"]))

        let stale = try b.takeOverStale(includeOwn: false)
        XCTAssertEqual(stale.map(\.row.id), ["j"])
        XCTAssertEqual(stale.first?.previousHost, "a")
        XCTAssertGreaterThan(stale[0].lease.token, old.token)
        XCTAssertTrue(try b.requeue(stale[0].lease, notBefore: nil, error: "interrupted"))
        let fresh = try XCTUnwrap(b.claimNext(now: 0)).lease
        XCTAssertGreaterThan(fresh.token, stale[0].lease.token, "tokens only grow")
        XCTAssertEqual(try b.row("j")?.attempts, 2)

        XCTAssertFalse(try a.beginPublication(old, part: 0, staging: "/st", base: "j", suffixes: [".mp4"]))
        XCTAssertFalse(try a.markDone(old))
        XCTAssertFalse(try a.requeue(old, notBefore: nil, error: nil))
        XCTAssertNil(try a.decideFailure(.lease(old), state: .failed, report: FailureReport(stage: "generation", message: "x")))
        XCTAssertTrue(try b.publications(of: "j").isEmpty, "the refused host recorded nothing")

        XCTAssertTrue(try b.beginPublication(fresh, part: 0, staging: "/st2", base: "j", suffixes: [".mp4", ".json"]))
        try b.finishPublication(jobID: "j", part: 0, outputs: ["/out/j.mp4", "/out/j.json"])
        XCTAssertEqual(try b.publications(of: "j").first?.outputs, ["/out/j.mp4", "/out/j.json"])
        XCTAssertTrue(try b.markDone(fresh))
        XCTAssertEqual(try a.row("j")?.state, .done)
    }

    func testTheHeartbeatKeepsALongJobAndRecoveryLeavesALiveHostsJobAlone() throws {
        let a = try journal("a", lease: 1), b = try journal("b", lease: 1)
        try queue(a, "long")
        let lease = try XCTUnwrap(a.claimNext(now: 0)).lease
        let changes = ClaimLog()
        let beat = LeaseHeartbeat(journal: a, interval: 0.2) { lease, check in changes.add("\(check)", lease.jobID) }
        beat.hold(lease)
        beat.start()
        Thread.sleep(forTimeInterval: 2.5)
        // b starting up (its own rows, and everything expired) must not take a's running job.
        XCTAssertTrue(try b.takeOverStale(includeOwn: true).isEmpty)
        XCTAssertEqual(try b.row("long")?.state, .running)
        XCTAssertEqual(try b.row("long")?.host, "a")
        XCTAssertTrue(changes.ids.isEmpty, "\(changes.byHost)")

        // A cancel asked from b reaches a at its next renewal.
        XCTAssertEqual(try b.requestCancel("long"), "a")
        let deadline = Date().addingTimeInterval(3)
        while changes.ids.isEmpty, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertEqual(changes.byHost["cancelRequested"], 1)
        beat.stop()
        XCTAssertTrue(try a.markDone(lease), "renewed all along")
        XCTAssertFalse(try a.hosts().isEmpty)
        XCTAssertEqual(Set(try b.hosts().map(\.name)), ["a", "b"])

        // A host retired a week ago leaves the list at the next renewal; one seen a day ago stays, marked dead.
        let sql = try PGConnection(url: server.url)
        try sql.exec("INSERT INTO wand_hosts (name, pid, started, last_seen) VALUES ('old', 1, now(), now() - interval '8 days'), "
                     + "('yesterday', 2, now(), now() - interval '1 day')")
        try a.touchHost()
        let hosts = try b.hosts()
        XCTAssertEqual(Set(hosts.map(\.name)), ["a", "b", "yesterday"])
        XCTAssertEqual(hosts.first { $0.name == "yesterday" }?.alive, false)
    }

    func testOwnRowsAreRecoveredAtOnceAfterARestart() throws {
        var a: PostgresJournal? = try journal("a")
        let claiming = try XCTUnwrap(a?.beginClaim(id: "c", name: "c", priority: 0, spoolDir: "/s/c", inputHash: "h",
                                                   files: [DropFile(path: "/inbox/c.txt", size: 1, mtime: 1)]))
        try queue(a!, "r")
        _ = try XCTUnwrap(a?.claimNext(now: 0))
        _ = claiming
        // The same host name is refused while the first daemon's session lives, accepted after.
        XCTAssertThrowsError(try journal("a")) { XCTAssertTrue("\($0)".contains("another Wand daemon is running as host 'a'"), "\($0)") }
        a = nil
        let restarted = try journal("a", lockWait: 5)  // the old session's end reaches the server in a moment
        let stale = try restarted.takeOverStale(includeOwn: true).sorted { $0.row.id < $1.row.id }
        XCTAssertEqual(stale.map(\.row.id), ["c", "r"])
        XCTAssertEqual(stale.map(\.row.state), [.claiming, .running])
        XCTAssertEqual(stale[0].originalPaths, ["c.txt": "/inbox/c.txt"])
        XCTAssertNil(stale[0].previousHost)
    }

    func testADecidedFailureWaitsToBeFiledAndCancelOnlyTakesQueuedJobs() throws {
        let a = try journal("a", lease: 1), b = try journal("b", lease: 1)
        try queue(a, "q")
        let report = FailureReport(stage: "cancelled", message: "cancelled by the operator", errors: ["e1"])
        let filing = try XCTUnwrap(b.decideFailure(.queued("q"), state: .cancelled, report: report))
        XCTAssertNil(try a.decideFailure(.queued("q"), state: .cancelled, report: report), "no longer queued")
        XCTAssertEqual(try a.row("q")?.state, .cancelled)
        // b "dies" before filing: after its lease a takes the filing over, report and all.
        Thread.sleep(forTimeInterval: 1.3)
        let stale = try a.takeOverStale(includeOwn: false)
        XCTAssertEqual(stale.map(\.row.id), ["q"])
        XCTAssertEqual(stale.first?.report, report)
        XCTAssertEqual(stale.first?.previousHost, "b")
        try a.markFiled(stale[0].lease, state: .cancelled, error: "e1")
        try b.markFiled(filing, state: .cancelled, error: "e1")  // the old filer finishing late changes nothing
        Thread.sleep(forTimeInterval: 1.2)
        XCTAssertTrue(try b.takeOverStale(includeOwn: true).isEmpty, "filed: nothing left to recover")
        XCTAssertEqual(try a.row("q")?.error, "e1")
    }

    func testAJournalReconnectsAfterTheServerRestartsAndKeepsItsHostName() throws {
        let a = try journal("a")
        try queue(a, "before")
        try server.restart()
        // The first statement on the dead session fails; the next one reconnects.
        _ = try? a.rows(nil)
        XCTAssertEqual(try a.rows(nil).map(\.id), ["before"])
        try queue(a, "after")
        XCTAssertEqual(try a.claimNext(now: 0)?.row.id, "before")
        XCTAssertThrowsError(try journal("a"), "the reconnected session holds the host name again")
    }

    func testAJournalWithANewerSchemaIsRefused() throws {
        _ = try journal("a")
        try PGConnection(url: server.url).exec("UPDATE wand_meta SET value = '99' WHERE key = 'schema_version'")
        XCTAssertThrowsError(try journal("b")) { XCTAssertTrue("\($0)".contains("schema version 99"), "\($0)") }
    }
}

/// Claimed ids from several threads.
final class ClaimLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(String, String)] = []
    func add(_ host: String, _ id: String) { lock.withLock { entries.append((host, id)) } }
    var ids: [String] { lock.withLock { entries.map(\.1) } }
    var byHost: [String: Int] { lock.withLock { Dictionary(entries.map { ($0.0, 1) }, uniquingKeysWith: +) } }
}
