import XCTest
import Foundation
@testable import WandDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Answers from a fixed state and records what it was asked, so tests check the wire end to end.
final class RecordingHandler: ControlHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [ControlRequest] = []
    var requests: [ControlRequest] { lock.lock(); defer { lock.unlock() }; return seen }

    func handle(_ request: ControlRequest) async -> ControlResponse {
        lock.withLock { seen.append(request) }
        switch request.cmd {
        case .status:
            return ControlResponse(ok: true, status: ControlStatus(
                queueLength: 3, runningJobID: "j1", runningJobName: "beach-cat",
                runningStage: "denoising", runningStep: 12, runningTotal: 40, paused: false))
        case .queue:
            return ControlResponse(ok: true, jobs: [ControlJob(id: "j2", name: "dog", state: "queued", attempts: 0, priority: 5)])
        case .cancel where request.id == "missing":
            return .failure("no job missing")
        default:
            return ControlResponse(ok: true, message: "\(request.cmd.rawValue) \(request.id ?? "")")
        }
    }
}

final class ServiceControlTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        // Short path: sun_path holds only 108 bytes.
        directory = URL(fileURLWithPath: "/tmp/wct-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func startServer(_ handler: RecordingHandler = RecordingHandler()) throws -> (ControlServer, String) {
        let path = directory.appendingPathComponent("c.sock").path
        return (try ControlServer.start(path: path, handler: handler, allowSocketActivation: false), path)
    }

    func testStatusRoundTripAndSocketMode() throws {
        let (server, path) = try startServer()
        defer { server.stop() }
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        let response = try ControlClient(path: path).send(ControlRequest(cmd: .status))
        XCTAssertTrue(response.ok)
        XCTAssertEqual(response.status?.runningJobName, "beach-cat")
        XCTAssertEqual(response.status?.runningStep, 12)
        XCTAssertEqual(response.status?.queueLength, 3)
    }

    func testCancelCarriesIDAndFailureIsReported() throws {
        let handler = RecordingHandler()
        let (server, path) = try startServer(handler)
        defer { server.stop() }
        let client = ControlClient(path: path)
        XCTAssertEqual(try client.send(ControlRequest(cmd: .cancel, id: "abc")).message, "cancel abc")
        let failed = try client.send(ControlRequest(cmd: .cancel, id: "missing"))
        XCTAssertFalse(failed.ok)
        XCTAssertEqual(failed.error, "no job missing")
        XCTAssertEqual(handler.requests.map(\.id), ["abc", "missing"])
    }

    func testWireFormatIsOneJSONObjectPerLine() throws {
        let (server, path) = try startServer()
        defer { server.stop() }
        let line = try ControlClient(path: path).sendRaw(Data("{\"cmd\":\"retry\",\"id\":\"x9\"}\n".utf8))
        let object = try JSONSerialization.jsonObject(with: line) as? [String: Any]
        XCTAssertEqual(object?["ok"] as? Bool, true)
        XCTAssertEqual(object?["message"] as? String, "retry x9")
    }

    func testMissingIDUnknownCommandAndGarbageGetErrors() throws {
        let (server, path) = try startServer()
        defer { server.stop() }
        let client = ControlClient(path: path)
        for bad in ["{\"cmd\":\"cancel\"}\n", "{\"cmd\":\"explode\"}\n", "not json\n", "{\"cmd\":\n"] {
            let line = try client.sendRaw(Data(bad.utf8))
            let response = try JSONDecoder().decode(ControlResponse.self, from: line)
            XCTAssertFalse(response.ok, bad)
            XCTAssertNotNil(response.error, bad)
        }
    }

    func testOversizedLineIsRefusedAndClosed() throws {
        let (server, path) = try startServer()
        defer { server.stop() }
        var big = Data(repeating: UInt8(ascii: "a"), count: ControlWire.maxLineBytes + 10)
        big.append(0x0A)
        let line = try ControlClient(path: path).sendRaw(big)
        let response = try JSONDecoder().decode(ControlResponse.self, from: line)
        XCTAssertFalse(response.ok)
        XCTAssertTrue(response.error?.contains("longer than") ?? false)
        // The server still serves the next client.
        XCTAssertTrue(try ControlClient(path: path).send(ControlRequest(cmd: .pause)).ok)
    }

    func testHalfClosedClientStillGetsAnswerWithoutNewline() throws {
        let (server, path) = try startServer()
        defer { server.stop() }
        let fd = try connectRaw(path)
        defer { close(fd) }
        XCTAssertTrue(UnixSocket.sendAll(fd, Data("{\"cmd\":\"resume\"}".utf8)))
        shutdown(fd, Int32(SHUT_WR))
        let reply = readAll(fd)
        XCTAssertTrue(reply.contains("\"ok\":true"), reply)
        XCTAssertTrue(reply.contains("resume"), reply)
    }

    func testStaleSocketIsReplacedAndRegularFileIsNot() throws {
        let path = directory.appendingPathComponent("c.sock").path
        let first = try ControlServer.start(path: path, handler: RecordingHandler(), allowSocketActivation: false)
        // Simulate a crash: the file stays, nobody listens.
        let staleFD = try ControlServer.bindListeningSocket(path: directory.appendingPathComponent("s.sock").path)
        close(staleFD)
        first.stop()
        let second = try ControlServer.start(path: directory.appendingPathComponent("s.sock").path,
                                             handler: RecordingHandler(), allowSocketActivation: false)
        XCTAssertTrue(try ControlClient(path: second.path).send(ControlRequest(cmd: .status)).ok)
        second.stop()

        let regular = directory.appendingPathComponent("file").path
        _ = FileManager.default.createFile(atPath: regular, contents: Data("keep".utf8))
        XCTAssertThrowsError(try ControlServer.start(path: regular, handler: RecordingHandler(), allowSocketActivation: false))
        XCTAssertEqual(try String(contentsOfFile: regular, encoding: .utf8), "keep")
    }

    func testUnreachableDaemonIsATypedError() {
        let path = directory.appendingPathComponent("nobody.sock").path
        XCTAssertThrowsError(try ControlClient(path: path).send(ControlRequest(cmd: .status))) { error in
            guard case ControlProtocolError.socket(let op, _, let code) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "connect")
            XCTAssertEqual(code, ENOENT)
        }
    }

    /// Random bytes, truncated JSON and abrupt closes must never crash or wedge the server.
    func testFuzzRandomBytesAndTruncatedJSON() throws {
        let (server, path) = try startServer()
        defer { server.stop() }
        var generator = SplitMix64(seed: 0x5EED)
        let valid = Array("{\"cmd\":\"cancel\",\"id\":\"abc\"}\n".utf8)
        for round in 0..<60 {
            let fd = try connectRaw(path)
            var payload: [UInt8]
            switch round % 3 {
            case 0: payload = (0..<Int(generator.next() % 4096)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            case 1: payload = Array(valid.prefix(Int(generator.next() % UInt64(valid.count))))
            default: payload = valid.map { generator.next() % 17 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : $0 }
            }
            _ = UnixSocket.sendAll(fd, Data(payload))
            if round % 2 == 0 { shutdown(fd, Int32(SHUT_WR)); _ = readAll(fd) }
            close(fd)
        }
        let response = try ControlClient(path: path, timeoutSeconds: 5).send(ControlRequest(cmd: .status))
        XCTAssertTrue(response.ok)
    }

    func testStopRemovesSocketAndUnblocksIdleClients() throws {
        let (server, path) = try startServer()
        let idle = try connectRaw(path)
        defer { close(idle) }
        let started = Date()
        server.stop()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    /// systemd passes the listening socket as fd 3 with LISTEN_PID/LISTEN_FDS; the server must use it
    /// instead of binding, and must not delete the socket file systemd owns.
    func testSocketActivationUsesFD3() throws {
        let path = directory.appendingPathComponent("act.sock").path
        let listening = try ControlServer.bindListeningSocket(path: path)
        let saved = fcntl(3, F_GETFD) >= 0 ? dup(3) : -1
        XCTAssertEqual(dup2(listening, 3), 3)
        close(listening)
        setenv("LISTEN_PID", "\(getpid())", 1)
        setenv("LISTEN_FDS", "1", 1)
        defer {
            unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDS")
            if saved >= 0 { dup2(saved, 3); close(saved) }
        }
        let server = try ControlServer.start(path: directory.appendingPathComponent("unused.sock").path,
                                             handler: RecordingHandler())
        XCTAssertTrue(server.isSocketActivated)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.path))
        XCTAssertTrue(try ControlClient(path: path).send(ControlRequest(cmd: .status)).ok)
        server.stop()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }

    // MARK: helpers

    private func connectRaw(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let address = try XCTUnwrap(UnixSocket.address(path))
        let result = UnixSocket.withSockaddr(address) { connect(fd, $0, $1) }
        XCTAssertEqual(result, 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    private func readAll(_ fd: Int32) -> String {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

