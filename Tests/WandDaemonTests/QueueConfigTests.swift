import Foundation
import XCTest
@testable import WandDaemon

/// `queue:` in the config: SQLite by default, PostgreSQL with a url and a shared spool, located errors.
final class QueueConfigTests: XCTestCase {
    func load(_ queue: String, in folder: TemporaryFolder) throws(ConfigErrors) -> DaemonConfig {
        try ConfigLoader.load(bytes: Array("wand-config: 1\n\(queue)".utf8), file: folder.url.path + "/wand.yaml")
    }

    func errors(_ queue: String, in folder: TemporaryFolder) -> [String] {
        do {
            _ = try load(queue, in: folder)
            XCTFail("expected errors")
            return []
        } catch {
            return error.diagnostics.map { String($0.description.dropFirst(folder.url.path.count + 1)) }
        }
    }

    func testSQLiteIsTheDefaultAndKeepsItsSpoolUnderStateDir() throws {
        let folder = try TemporaryFolder()
        for text in ["", "queue: {backend: sqlite}\n"] {
            let config = try load("state_dir: st\n" + text, in: folder)
            XCTAssertEqual(config.queue.backend, .sqlite)
            XCTAssertEqual(config.spoolDir, folder.url.path + "/st/spool")
            XCTAssertEqual(config.journalPath, folder.url.path + "/st/journal.sqlite")
        }
        XCTAssertEqual(try ConfigLoader.load(PackageRoot.url.appendingPathComponent("Config/wand.yaml").path).queue.backend, .sqlite)
    }

    func testPostgresWithItsSharedSpool() throws {
        let folder = try TemporaryFolder()
        let config = try load("""
            queue:
              backend: postgres
              url: postgresql://wand@db.lan:5433/wand?sslmode=require
              spool: ../shared/spool
              host: gpu-2
              lease: 30s
            """, in: folder)
        XCTAssertEqual(config.queue.backend, .postgres)
        XCTAssertEqual(config.queue.url, "postgresql://wand@db.lan:5433/wand?sslmode=require")
        XCTAssertEqual(config.spoolDir, folder.url.deletingLastPathComponent().path + "/shared/spool")
        XCTAssertEqual(config.queue.host, "gpu-2")
        XCTAssertEqual(config.queue.lease, 30)
        XCTAssertEqual(config.queue.heartbeat, 7.5, "a quarter of the lease unless given")
        let keywords = try load("queue: {backend: postgres, url: 'host=/run/postgresql dbname=wand', spool: /s, heartbeat: 10s}\n", in: folder)
        XCTAssertEqual(keywords.queue.url, "host=/run/postgresql dbname=wand")
        XCTAssertEqual(keywords.queue.heartbeat, 10)
        XCTAssertEqual(keywords.queue.lease, 60)
        XCTAssertTrue(QueueConfig.isValidHost(keywords.queue.host), keywords.queue.host)
    }

    func testQueueErrorsAreLocated() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(errors("queue: {backend: postgress}\n", in: folder),
                       ["wand.yaml:2:18: error: backend must be one of sqlite, postgres (got 'postgress'); did you mean 'postgres'?"])
        XCTAssertEqual(errors("queue:\n  backend: postgres\n", in: folder), [
            "wand.yaml:3:3: error: queue.url is required with backend: postgres (e.g. postgresql://wand@db.lan/wand)",
            "wand.yaml:3:3: error: queue.spool is required with backend: postgres: the spool folder on the filesystem every host shares (each host must mount it at the same path)",
        ])
        XCTAssertEqual(errors("""
            queue:
              backend: postgres
              url: mysql://root:pw@db/wand
              spool: /s
              host: gpu 2
              lease: 10s
              heartbeat: 6s
              leese: 1m
            """, in: folder), [
            "wand.yaml:4:8: error: queue.url must be a PostgreSQL address like postgresql://wand@db.lan/wand (got 'mysql://root:***@db/wand')",
            "wand.yaml:6:9: error: queue.host must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit (got 'gpu 2')",
            "wand.yaml:8:14: error: queue.heartbeat must be more than 0 and at most half the lease (10s), so that one late renewal does not lose the job",
            "wand.yaml:9:3: error: unknown key 'leese' in queue; did you mean 'lease'?",
        ])
        let unparsable = errors("queue: {backend: postgres, url: 'postgresql://wand@db/wand?colour=red', spool: /s}\n", in: folder)
        XCTAssertEqual(unparsable.count, 1)
        XCTAssertTrue(unparsable[0].hasPrefix("wand.yaml:2:33: error: queue.url: invalid URI query parameter: \"colour\""), unparsable[0])
        XCTAssertEqual(errors("queue: {url: postgresql://db/wand}\n", in: folder),
                       ["wand.yaml:2:9: error: queue.url applies to backend: postgres only (the SQLite journal lives in state_dir)"])
    }

    func testAnUnreachableServerIsAnErrorThatHidesThePassword() {
        XCTAssertThrowsError(try PostgresJournal(url: "postgresql://wand:sekrit@/postgres?host=/nonexistent-wand", host: "a", lease: 1)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("cannot connect to PostgreSQL"), text)
            XCTAssertTrue(text.hasPrefix("postgresql://wand:***@"), text)
            XCTAssertFalse(text.contains("sekrit"), text)
        }
    }
}
