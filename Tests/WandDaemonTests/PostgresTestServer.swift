import Foundation
import XCTest

/// A throwaway PostgreSQL server from Debian's `postgresql` package for one test: a fresh cluster
/// in a temporary folder, `postgres` listening only on a unix socket in that folder, stopped and
/// removed by `stop()`. initdb refuses to run as root, and CI runs as root, so there the server
/// runs as the `postgres` system user the package creates (setpriv), in a folder it owns.
///
/// initdb takes 1.5 s on an idle machine and 6 s on a busy one, so it runs once per machine and
/// server version into a template (`$TMPDIR/wand-pg-template-UID-VERSION`, made under a file
/// lock, since parallel test processes start servers at once) that each test copies (0.4 s).
final class PostgresTestServer {
    let dir: String
    private var server: Process
    private let serverArgv: [String]
    private let bin: String
    /// libpq's address of the server: user `wand` (the superuser initdb made), database `postgres`.
    var url: String { "postgresql://wand@/postgres?host=\(dir)" }

    /// The newest installed server's bin folder, or nil when the server is not installed.
    static var binaries: String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") }
    }

    /// Starts a server, or skips the test (visibly) when the binaries are truly absent.
    static func start() throws -> PostgresTestServer {
        guard let bin = binaries else {
            throw XCTSkip("PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql; `make deps` installs it)")
        }
        return try PostgresTestServer(bin: bin)
    }

    private init(bin: String) throws {
        dir = NSTemporaryDirectory() + "wand-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var prefix: [String] = []
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else { throw XCTSkip("running as root and there is no postgres user to run the server as") }
            guard chown(dir, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else { throw Self.failure("chown \(dir) failed") }
            prefix = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"]
        }
        let template = try Self.template(bin: bin, prefix: prefix)
        let copy = try Self.run(["/bin/cp", "-a", template, dir + "/data"], log: dir + "/copy.log")
        copy.waitUntilExit()
        guard copy.terminationStatus == 0 else { throw Self.failure("cannot copy the template cluster \(template)") }
        // No TCP, no durability (a test's data dies with it), a socket in our own folder.
        self.bin = bin
        serverArgv = prefix + [bin + "/postgres", "-D", dir + "/data", "-k", dir, "-c", "listen_addresses=",
                               "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                               "-c", "max_connections=60"]
        server = try Self.run(serverArgv, log: dir + "/server.log")
        try waitUntilReady()
    }

    /// Stops the server and starts it again on the same data (a database restart under a daemon).
    func restart() throws {
        kill(server.processIdentifier, SIGINT)
        server.waitUntilExit()
        server = try Self.run(serverArgv, log: dir + "/server-2.log")
        try waitUntilReady()
    }

    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: dir + "/.s.PGSQL.5432") || !acceptsConnections(bin) {
            guard server.isRunning, Date() < deadline else {
                stop()
                throw Self.failure("postgres did not start: " + ((try? String(contentsOfFile: dir + "/server.log", encoding: .utf8)) ?? ""))
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// The initdb'd cluster every test copies; made by the first test that needs it.
    private static func template(bin: String, prefix: [String]) throws -> String {
        let version = URL(fileURLWithPath: bin).deletingLastPathComponent().lastPathComponent
        let root = NSTemporaryDirectory() + "wand-pg-template-\(getuid())-\(version)"
        let lock = open(root + ".lock", O_CREAT | O_RDWR, 0o644)
        guard lock >= 0 else { throw failure("cannot open \(root).lock") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }
        if FileManager.default.fileExists(atPath: root + "/ready") { return root + "/data" }
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if !prefix.isEmpty, let user = getpwnam("postgres") { chown(root, user.pointee.pw_uid, user.pointee.pw_gid) }
        let initdb = try run(prefix + [bin + "/initdb", "-D", root + "/data", "-A", "trust", "-U", "wand", "-E", "UTF8",
                                       "--locale=C", "--no-sync", "--no-instructions"], log: root + "/initdb.log")
        initdb.waitUntilExit()
        guard initdb.terminationStatus == 0 else {
            throw failure("initdb failed: " + ((try? String(contentsOfFile: root + "/initdb.log", encoding: .utf8)) ?? ""))
        }
        FileManager.default.createFile(atPath: root + "/ready", contents: nil)
        return root + "/data"
    }

    private func acceptsConnections(_ bin: String) -> Bool {
        guard let ready = try? Self.run([bin + "/pg_isready", "-q", "-h", dir], log: nil) else { return false }
        ready.waitUntilExit()
        return ready.terminationStatus == 0
    }

    /// Fast shutdown (SIGINT), then the folder goes.
    func stop() {
        if server.isRunning {
            kill(server.processIdentifier, SIGINT)
            server.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    deinit { stop() }

    /// `log`: a new file in our folder for the output, or nil to drop it.
    private static func run(_ argv: [String], log: String?) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        var out: FileHandle?
        if let log, log.hasPrefix(NSTemporaryDirectory()), FileManager.default.createFile(atPath: log, contents: nil) {
            out = FileHandle(forWritingAtPath: log)
        }
        p.standardOutput = out ?? FileHandle.nullDevice
        p.standardError = out ?? FileHandle.nullDevice
        try p.run()
        return p
    }

    private static func failure(_ message: String) -> NSError {
        NSError(domain: "PostgresTestServer", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
    }
}
