import Foundation
import XCTest
@testable import WandDaemon

/// Every log line about a job carries JOB_ID and JOB_NAME, so `journalctl -u wand JOB_ID=…` finds
/// all of them; the journald field list is checked as built, without a running journald.
final class JobLogFieldsTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wand-logfields-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
        let yaml = """
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes: [{path: inbox, settle: 0.1s}]
            models: {tiny: {path: /nonexistent/tiny, kind: t2v-a14b, sizes: [32x32]}}
            defaults: {t2v: tiny}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            """
        FileManager.default.createFile(atPath: dir + "/wand.yaml", contents: Data(yaml.utf8))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testEveryLineAboutAJobCarriesItsIDAndName() async throws {
        FileManager.default.createFile(atPath: dir + "/inbox/beach.yaml",
                                       contents: Data("wand: 1\nmode: t2v\nprompt: a beach\nsize: 32x32\nframes: 5\nsteps: 1\n".utf8))
        FileManager.default.createFile(atPath: dir + "/inbox/broken.yaml",
                                       contents: Data("wand: 1\nmode: t2v\nprompt: x\nframes: 80\n".utf8))
        let lines = LockedLines()
        let daemon = try Daemon(config: try ConfigLoader.load(dir + "/wand.yaml"), generator: TestEngine(), log: { lines.append($0) })
        try await daemon.run(exitWhenIdle: true)

        let journal = try Journal(path: dir + "/state/journal.sqlite")
        let beachID = try XCTUnwrap(journal.rows([.done]).first?.id)
        let brokenID = try XCTUnwrap(journal.rows([.failed]).first?.id)
        let entries = lines.allEntries

        let beach = entries.filter { $0.message.hasPrefix("beach:") }
        XCTAssertEqual(beach.map { $0.message.split(separator: " ")[1] }, ["queued", "running", "done"], "\(beach)")
        for entry in beach {
            XCTAssertEqual(entry.fields, ["JOB_ID": beachID, "JOB_NAME": "beach"], entry.message)
            XCTAssertEqual(entry.level, .info)
        }
        let broken = try XCTUnwrap(entries.first { $0.message.hasPrefix("broken: rejected") })
        XCTAssertEqual(broken.jobID, brokenID)
        XCTAssertEqual(broken.fields["JOB_NAME"], "broken")
        XCTAssertEqual(broken.level, .warning)

        let ready = try XCTUnwrap(entries.first { $0.message.hasPrefix("ready;") })
        XCTAssertEqual(ready.fields, [:], "a line about no job has no JOB_ID")
        XCTAssertEqual(Set(entries.compactMap(\.jobID)), [beachID, brokenID])
    }

    func testJournaldFieldsAndStderrLineOfAJobEntry() {
        let entry = LogEntry.job(.warning, id: "20261125-060000-1a2b", name: "beach cat", "beach cat: failed: boom")
        XCTAssertEqual(Log.journalEntry(level: entry.level, message: entry.message, fields: entry.fields), [
            "MESSAGE=beach cat: failed: boom", "PRIORITY=4", "SYSLOG_IDENTIFIER=wand",
            "JOB_ID=20261125-060000-1a2b", "JOB_NAME=beach cat",
        ])
        let line = Log.formatLine(level: entry.level, message: entry.message, fields: entry.fields,
                                  date: Date(timeIntervalSince1970: 0), pid: 7)
        XCTAssertEqual(line, "1970-01-01T00:00:00Z wand[7]: warning: beach cat: failed: boom JOB_ID=20261125-060000-1a2b JOB_NAME=\"beach cat\"\n")
    }
}
