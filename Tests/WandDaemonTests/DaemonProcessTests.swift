import Foundation
import XCTest
@testable import WandDaemon

/// The real `wand serve` binary as a child process: crash recovery and systemd notifications.
final class DaemonProcessTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wand-proc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
        let model = Self.root.appendingPathComponent("Tests/Fixtures/pipelines/models/tiny-t2v").path
        let yaml = """
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes:
              - path: inbox
                settle: 0.2s
            models:
              tiny: {path: \(model), kind: t2v-a14b, sizes: [48x32]}
            defaults: {t2v: tiny}
            engine: {threads: 1}
            """
        FileManager.default.createFile(atPath: dir + "/wand.yaml", contents: Data(yaml.utf8))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func binary() throws -> String {
        let path = Self.root.appendingPathComponent(".build/debug/wand").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("build the wand binary first (swift build)") }
        return path
    }

    func serve(_ extra: [String] = [], env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary())
        p.arguments = ["serve", "--config", dir + "/wand.yaml"] + extra
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// kill -9 while a job runs, then restart: the job runs again, nothing is lost, and it runs to
    /// completion exactly once.
    func testKill9MidJobThenRestart() throws {
        FileManager.default.createFile(atPath: dir + "/inbox/slow.yaml", contents: Data(
            "wand: 1\nmode: t2v\nprompt: a red circle\nsize: 48x32\nframes: 9\nsteps: 200\nseed: 3\n".utf8))
        let first = try serve()
        var running = false
        for _ in 0..<600 {
            Thread.sleep(forTimeInterval: 0.05)
            if let rows = try? Journal(path: dir + "/state/journal.sqlite").rows([.running]), !rows.isEmpty { running = true; break }
        }
        XCTAssertTrue(running, "the job never started")
        Thread.sleep(forTimeInterval: 0.3)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let spool = try FileManager.default.subpathsOfDirectory(atPath: dir + "/state/spool")
        XCTAssertTrue(spool.contains { $0.hasSuffix("slow.yaml") }, "the claimed job is safe in the spool: \(spool)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/outbox/slow.mp4"))

        // Make the rerun quick: the spooled job keeps its settings, so shorten it there.
        let jobs = try FileManager.default.subpathsOfDirectory(atPath: dir + "/state/spool").first { $0.hasSuffix("jobs.json") }!
        let jobsPath = dir + "/state/spool/" + jobs
        let text = try String(contentsOfFile: jobsPath, encoding: .utf8).replacingOccurrences(of: "\"steps\":200", with: "\"steps\":2")
        try text.write(toFile: jobsPath, atomically: true, encoding: .utf8)

        let second = try serve(["--exit-when-idle"])
        second.waitUntilExit()
        XCTAssertEqual(second.terminationStatus, 0)
        let outbox = try FileManager.default.contentsOfDirectory(atPath: dir + "/outbox").filter { $0.hasSuffix(".mp4") }
        XCTAssertEqual(outbox, ["slow.mp4"])
        let rows = try Journal(path: dir + "/state/journal.sqlite").rows()
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].state, .done)
        XCTAssertEqual(rows[0].attempts, 2)
    }

    func notifySocket() throws -> (Int32, String) {
        let socketPath = dir + "/notify-\(UUID().uuidString.prefix(6)).sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return (fd, socketPath)
    }

    func next(_ fd: Int32, matching prefix: String, within seconds: Double = 20) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { let m = String(decoding: buffer[0..<n], as: UTF8.self); if m.hasPrefix(prefix) { return m } }
        }
        return nil
    }

    /// SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1; a broken config is refused and the
    /// daemon keeps running; SIGTERM: STOPPING=1 and a clean exit.
    func testReloadAndStopSignals() throws {
        let (fd, path) = try notifySocket()
        defer { close(fd) }
        let p = try serve([], env: ["NOTIFY_SOCKET": path])
        XCTAssertEqual(next(fd, matching: "READY=1"), "READY=1")
        kill(p.processIdentifier, SIGHUP)
        let reloading = next(fd, matching: "RELOADING=1")
        XCTAssertNotNil(reloading)
        XCTAssertTrue(reloading?.contains("\nMONOTONIC_USEC=") ?? false)
        XCTAssertEqual(next(fd, matching: "READY=1"), "READY=1")
        // A config with an error is refused: the daemon stays up with the old one.
        try "wand-config: 1\nstate_dir: state\n".write(toFile: dir + "/wand.yaml", atomically: true, encoding: .utf8)
        kill(p.processIdentifier, SIGHUP)
        XCTAssertNotNil(next(fd, matching: "RELOADING=1"))
        XCTAssertEqual(next(fd, matching: "READY=1"), "READY=1")
        XCTAssertTrue(p.isRunning)
        kill(p.processIdentifier, SIGTERM)
        XCTAssertEqual(next(fd, matching: "STOPPING=1"), "STOPPING=1")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// READY, STATUS, WATCHDOG and STOPPING arrive on a real NOTIFY_SOCKET datagram socket.
    func testSystemdNotifications() throws {
        let socketPath = dir + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in socketPath.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        FileManager.default.createFile(atPath: dir + "/inbox/a.yaml", contents: Data(
            "wand: 1\nmode: t2v\nprompt: a\nsize: 48x32\nframes: 5\nsteps: 2\nseed: 1\n".utf8))
        let p = try serve(["--exit-when-idle"], env: ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "10000000"])
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while p.isRunning || messages.last != "STOPPING=1" {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) } else if !p.isRunning { break }
        }
        p.waitUntilExit()
        XCTAssertEqual(messages.first, "READY=1")
        XCTAssertTrue(messages.contains { $0.hasPrefix("STATUS=queued ") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("STATUS=") && $0.contains("running a") }, "\(messages)")
        XCTAssertTrue(messages.contains("WATCHDOG=1"))
        XCTAssertEqual(messages.last, "STOPPING=1")
    }
}
