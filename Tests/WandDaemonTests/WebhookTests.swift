import Foundation
import XCTest
@testable import WandDaemon

/// `notify.webhooks`: real POSTs to a real listener on 127.0.0.1, and a dead or silent receiver
/// that must not hold up the job loop.
final class WebhookTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wand-webhook-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func config(notify: String) throws -> DaemonConfig {
        let yaml = """
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes: [{path: inbox, settle: 0.1s}]
            models: {tiny: {path: /nonexistent/tiny, kind: t2v-a14b, sizes: [32x32]}}
            defaults: {t2v: tiny}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            notify: \(notify)
            """
        FileManager.default.createFile(atPath: dir + "/wand.yaml", contents: Data(yaml.utf8))
        return try ConfigLoader.load(dir + "/wand.yaml")
    }

    func drop(_ name: String, _ text: String) {
        FileManager.default.createFile(atPath: dir + "/inbox/" + name, contents: Data(text.utf8))
    }

    let goodJob = "wand: 1\nmode: t2v\nprompt: a red circle\nsize: 32x32\nframes: 5\nsteps: 2\nseed: 1\n"

    func json(_ body: Data) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: body) as? [String: Any])
    }

    func testDoneAndFailedArePostedAsJSON() async throws {
        let server = try LocalHTTPServer()
        defer { server.stop() }
        let cfg = try config(notify: "{webhooks: [{url: \"\(server.url.absoluteString)\", events: [done, failed]}]}")
        drop("beach.yaml", goodJob)
        drop("broken.yaml", "wand: 1\nmode: t2v\nprompt: x\nframes: 80\nsize: 32x32\n")
        let daemon = try Daemon(config: cfg, generator: TestEngine(), log: { _ in })
        try await daemon.run(exitWhenIdle: true)

        let requests = await server.waitForRequests(2)
        XCTAssertEqual(requests.count, 2, "only done and failed were asked for")
        for request in requests {
            XCTAssertEqual(request.method, "POST")
            XCTAssertEqual(request.path, "/hook")
            XCTAssertEqual(request.headers["content-type"], "application/json")
        }
        let bodies = try requests.map { try json($0.body) }
        let journal = try Journal(path: dir + "/state/journal.sqlite")

        let done = try XCTUnwrap(bodies.first { $0["event"] as? String == "done" })
        let doneRow = try XCTUnwrap(journal.rows([.done]).first)
        XCTAssertEqual(done["job"] as? String, doneRow.id)
        XCTAssertEqual(done["name"] as? String, "beach")
        XCTAssertEqual(done["mode"] as? String, "t2v")
        XCTAssertEqual(done["model"] as? String, "tiny")
        XCTAssertEqual(done["attempt"] as? Int, 1)
        XCTAssertNil(done["error"])
        let outputs = try XCTUnwrap(done["outputs"] as? [String])
        let outbox = URL(fileURLWithPath: dir + "/outbox").standardizedFileURL.path
        XCTAssertTrue(outputs.contains(outbox + "/beach.mp4"), "\(outputs)")
        XCTAssertTrue(outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "\(outputs)")
        XCTAssertNotNil(done["started_at"] as? String)
        XCTAssertNotNil(done["finished_at"] as? String)
        XCTAssertNotNil(done["queued_at"] as? String)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(done["seconds"] as? Double), 0)
        XCTAssertEqual(done["wand"] as? String, wandVersion)

        let failed = try XCTUnwrap(bodies.first { $0["event"] as? String == "failed" })
        XCTAssertEqual(failed["name"] as? String, "broken")
        XCTAssertEqual(failed["job"] as? String, try journal.rows([.failed]).first?.id)
        XCTAssertEqual(failed["stage"] as? String, "validation")
        XCTAssertTrue((failed["error"] as? String ?? "").contains("broken.yaml:4:9: error: frames must be 4n+1"), "\(failed)")
        XCTAssertNil(failed["outputs"])
    }

    func testEveryEventWhenNoneAreListed() async throws {
        let server = try LocalHTTPServer()
        defer { server.stop() }
        let cfg = try config(notify: "{webhooks: [{url: \"\(server.url.absoluteString)\"}]}")
        drop("one.yaml", goodJob)
        try await Daemon(config: cfg, generator: TestEngine(), log: { _ in }).run(exitWhenIdle: true)
        let events = try await server.waitForRequests(3).map { try json($0.body)["event"] as? String }
        XCTAssertEqual(Set(events.compactMap { $0 }), ["queued", "started", "done"])
    }

    func testA503IsRetriedWithTheSameBody() async throws {
        let server = try LocalHTTPServer(statuses: [503, 200])
        defer { server.stop() }
        let sender = WebhookSender(policy: .init(timeout: 2, attempts: 3, backoff: 0.05), log: { _ in })
        let payload = WebhookPayload(event: .done, job: "J1", name: "n", outputs: ["/o/n.mp4"])
        let tasks = sender.send(payload, to: [Webhook(url: server.url, events: [.done])])
        XCTAssertEqual(tasks.count, 1)
        let outcome = await tasks[0].value
        XCTAssertEqual(outcome, .delivered(status: 200))
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertEqual(server.requests[0].body, server.requests[1].body)
        XCTAssertEqual(try json(server.requests[1].body)["job"] as? String, "J1")
        XCTAssertEqual(sender.pendingCount, 0)
    }

    func testA404IsNotRetriedAndIsLogged() async throws {
        let server = try LocalHTTPServer(statuses: [404])
        defer { server.stop() }
        let lines = LockedLines()
        let sender = WebhookSender(policy: .init(timeout: 2, attempts: 3, backoff: 0.05), log: { lines.append($0) })
        let tasks = sender.send(WebhookPayload(event: .failed, job: "J2", name: "x", error: "boom"),
                                to: [Webhook(url: server.url, events: [.failed]), Webhook(url: server.url, events: [.done])])
        XCTAssertEqual(tasks.count, 1, "only the webhook that asked for failed")
        let outcome = await tasks[0].value
        XCTAssertEqual(outcome, .failed(status: 404, reason: "HTTP 404"))
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertTrue(lines.all.contains { $0.contains("webhook failed to \(server.url.absoluteString)") && $0.contains("HTTP 404") }, "\(lines.all)")
    }

    /// A refused connection and a receiver that never answers: the job still runs at full speed
    /// and ends done; the failures are only logged.
    func testUnreachableWebhooksNeitherDelayNorFailTheJob() async throws {
        let refused = try LocalHTTPServer()
        refused.stop()  // nothing listens on its port now
        let silent = try LocalHTTPServer(silent: true)
        defer { silent.stop() }
        let cfg = try config(notify: "{webhooks: [{url: \"\(refused.url.absoluteString)\"}, {url: \"\(silent.url.absoluteString)\"}]}")
        drop("calm.yaml", goodJob)
        let lines = LockedLines()
        let policy = WebhookSender.Policy(timeout: 3, attempts: 2, backoff: 0.1, drainLimit: 1)
        let daemon = try Daemon(config: cfg, generator: TestEngine(), log: { lines.append($0) }, webhookPolicy: policy)
        let start = Date()
        try await daemon.run(exitWhenIdle: true)
        let elapsed = Date().timeIntervalSince(start)

        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/outbox/calm.mp4"))
        let row = try XCTUnwrap(Journal(path: dir + "/state/journal.sqlite").rows().first)
        XCTAssertEqual(row.state, .done)
        // Sent inline, the started event alone would hold the job for the silent receiver's 3 s timeout, twice.
        XCTAssertLessThan(try XCTUnwrap(row.finished) - XCTUnwrap(row.started), 2.5)
        XCTAssertLessThan(elapsed, 6, "the shutdown wait for deliveries is bounded by drainLimit")
        let failure = try XCTUnwrap(lines.allEntries.first { $0.message.contains("webhook failed to \(refused.url.absoluteString)") },
                                    "\(lines.all)")
        XCTAssertEqual(failure.level, .warning)
        XCTAssertEqual(failure.fields, ["JOB_ID": row.id, "JOB_NAME": "calm"])
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ entry: LogEntry) { lock.withLock { lines.append(entry.message); entries.append(entry) } }
    private var entries: [LogEntry] = []
    var allEntries: [LogEntry] { lock.withLock { entries } }
    var all: [String] { lock.withLock { lines } }
}
