import XCTest
import Foundation
@testable import WandDaemon
#if canImport(Glibc)
import Glibc
#endif

final class ServiceLogTests: XCTestCase {
    func testStderrLineFormat() {
        let date = Date(timeIntervalSince1970: 1_795_575_600) // 2026-11-25T03:00:00Z
        let line = Log.formatLine(level: .warning, message: "job failed\nbadly",
                                  fields: ["MODE": "t2v", "JOB_ID": "abc", "NOTE": "two words"], date: date, pid: 42)
        XCTAssertEqual(line, "2026-11-25T03:00:00Z wand[42]: warning: job failed\\nbadly JOB_ID=abc MODE=t2v NOTE=\"two words\"\n")
    }

    func testJournalStreamDetection() {
        XCTAssertTrue(Log.isJournalStream("8:12345", device: 8, inode: 12345))
        XCTAssertFalse(Log.isJournalStream("8:12345", device: 8, inode: 12346))
        XCTAssertFalse(Log.isJournalStream("9:12345", device: 8, inode: 12345))
        XCTAssertFalse(Log.isJournalStream(nil, device: 8, inode: 12345))
        XCTAssertFalse(Log.isJournalStream("", device: 0, inode: 0))
        XCTAssertFalse(Log.isJournalStream("8:12345:1", device: 8, inode: 12345))
        XCTAssertFalse(Log.isJournalStream("x:1", device: 0, inode: 1))
    }

    func testJournalEntryFields() {
        let entry = Log.journalEntry(level: .error, message: "boom",
                                     fields: ["job_id": "abc", "_PID": "1", "MESSAGE": "spoof", "message-id": "m"])
        XCTAssertEqual(entry, ["MESSAGE=boom", "PRIORITY=3", "SYSLOG_IDENTIFIER=wand", "PID=1", "JOB_ID=abc", "MESSAGE_ID=m"])
    }

    func testConcurrentStderrLoggingDoesNotCrash() {
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            Log.info("concurrent \(index)", fields: ["N": "\(index)"])
        }
    }
}

final class ServiceNotifierTests: XCTestCase {
    private var directory: String!
    private var fd: Int32 = -1

    override func setUpWithError() throws {
        directory = "/tmp/wnt-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let address = try XCTUnwrap(UnixSocket.address(path))
        XCTAssertEqual(UnixSocket.withSockaddr(address) { bind(fd, $0, $1) }, 0)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setenv("NOTIFY_SOCKET", path, 1)
    }

    override func tearDownWithError() throws {
        unsetenv("NOTIFY_SOCKET")
        close(fd)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count < 0 ? nil : String(decoding: buffer[0..<count], as: UTF8.self)
    }

    func testEachMessageArrivesExactly() throws {
        let notifier = SystemdNotifier()
        XCTAssertTrue(notifier.ready())
        XCTAssertEqual(receive(), "READY=1")
        XCTAssertTrue(notifier.status("queued: 2\nrunning: x"))
        XCTAssertEqual(receive(), "STATUS=queued: 2 running: x")
        XCTAssertTrue(notifier.watchdog())
        XCTAssertEqual(receive(), "WATCHDOG=1")
        let before = SystemdNotifier.monotonicMicroseconds()
        XCTAssertTrue(notifier.reloading())
        let reload = try XCTUnwrap(receive())
        let after = SystemdNotifier.monotonicMicroseconds()
        let lines = reload.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines.first, "RELOADING=1")
        let usec = try XCTUnwrap(UInt64(lines[1].dropFirst("MONOTONIC_USEC=".count)))
        XCTAssertTrue(lines[1].hasPrefix("MONOTONIC_USEC="))
        XCTAssertTrue((before...after).contains(usec), "\(usec) not in \(before)...\(after)")
        XCTAssertTrue(notifier.stopping())
        XCTAssertEqual(receive(), "STOPPING=1")
    }

    func testNoOpWithoutNotifySocket() {
        unsetenv("NOTIFY_SOCKET")
        XCTAssertFalse(SystemdNotifier().ready())
        XCTAssertFalse(SystemdNotifier().isAvailable)
    }

    func testWatchdogInterval() {
        setenv("WATCHDOG_USEC", "120000000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        defer { unsetenv("WATCHDOG_USEC"); unsetenv("WATCHDOG_PID") }
        XCTAssertTrue(SystemdNotifier().isWatchdogEnabled)
        XCTAssertEqual(SystemdNotifier().watchdogInterval, .seconds(120))
        setenv("WATCHDOG_PID", "1", 1)
        XCTAssertFalse(SystemdNotifier().isWatchdogEnabled)
    }
}
