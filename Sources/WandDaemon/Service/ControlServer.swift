// The control socket server. It runs on its own threads (one accept loop, one thread per
// connection) so a slow or hostile client never stalls the daemon's job loop or Swift's
// cooperative pool; every wait is a bounded poll() so stop() always finishes.
import Foundation
import CSystemd
#if canImport(Glibc)
import Glibc
#endif

public final class ControlServer: @unchecked Sendable {
    public let path: String
    /// True when the listening socket came from systemd (wand.socket) rather than our own bind().
    public let isSocketActivated: Bool
    private let listenFD: Int32
    private let handler: any ControlHandler
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let lock = NSLock()
    private var stopped = false
    private var clientFDs: Set<Int32> = []
    private let acceptDone = DispatchSemaphore(value: 0)

    /// Connections beyond this are closed at once; a control socket needs a handful at most.
    public static let maxConnections = 32
    /// A client that sends nothing for this long is dropped, so a stuck client cannot hold a thread forever.
    public static let idleTimeoutMilliseconds: Int32 = 30_000
    /// A handler that has not answered in this long gets the client an error instead of a hang.
    public static let handlerTimeoutSeconds: Double = 60

    private init(path: String, listenFD: Int32, activated: Bool, handler: any ControlHandler,
                 wake: (Int32, Int32)) {
        self.path = path
        self.listenFD = listenFD
        self.isSocketActivated = activated
        self.handler = handler
        self.wakeRead = wake.0
        self.wakeWrite = wake.1
    }

    /// Listens on `path` (or on systemd's fd 3 when socket-activated) and answers requests with `handler`.
    public static func start(path: String, handler: any ControlHandler,
                             allowSocketActivation: Bool = true) throws -> ControlServer {
        let (fd, activated) = allowSocketActivation && activatedSocketCount() >= 1
            ? (SD_LISTEN_FDS_START, true)
            : (try bindListeningSocket(path: path), false)
        UnixSocket.setNonBlocking(fd)
        UnixSocket.setCloseOnExec(fd)
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            let code = errno
            if !activated { close(fd) }
            throw ControlProtocolError.socket(operation: "pipe for", path: path, errno: code)
        }
        UnixSocket.setCloseOnExec(pipeFDs[0])
        UnixSocket.setCloseOnExec(pipeFDs[1])
        let server = ControlServer(path: path, listenFD: fd, activated: activated, handler: handler,
                                   wake: (pipeFDs[0], pipeFDs[1]))
        let thread = Thread { server.acceptLoop() }
        thread.name = "wand-control-accept"
        thread.start()
        return server
    }

    /// Number of sockets systemd passed us; 0 unless LISTEN_PID is our pid.
    static func activatedSocketCount() -> Int32 {
        max(0, sd_listen_fds(0))
    }

    static func bindListeningSocket(path: String) throws -> Int32 {
        guard let address = UnixSocket.address(path) else {
            throw ControlProtocolError.socket(operation: "socket path too long or empty:", path: path, errno: ENAMETOOLONG)
        }
        try removeStaleSocket(path: path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ControlProtocolError.socket(operation: "socket", path: path, errno: errno) }
        let bound = UnixSocket.withSockaddr(address) { bind(fd, $0, $1) }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw ControlProtocolError.socket(operation: "bind", path: path, errno: code)
        }
        // 0660 and group wand: operators in the wand group may drive the daemon, nobody else.
        chmod(path, 0o660)
        if let group = getgrnam("wand") { _ = chown(path, uid_t.max, group.pointee.gr_gid) }
        guard listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw ControlProtocolError.socket(operation: "listen", path: path, errno: code)
        }
        return fd
    }

    /// A socket file left by a crashed daemon would make bind() fail; replace it. Anything that
    /// is not a socket is left alone: that is an operator mistake we must not delete.
    static func removeStaleSocket(path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ControlProtocolError.socket(operation: "refusing to replace non-socket", path: path, errno: EEXIST)
        }
        unlink(path)
    }

    /// Stops accepting, closes every connection and removes the socket file we created.
    public func stop() {
        lock.lock()
        if stopped { lock.unlock(); return }
        stopped = true
        for fd in clientFDs { shutdown(fd, Int32(SHUT_RDWR)) }
        lock.unlock()
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        acceptDone.wait()
        close(listenFD)
        close(wakeRead)
        close(wakeWrite)
        if !isSocketActivated { unlink(path) }
    }

    private var isStopped: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopped
    }

    private func acceptLoop() {
        defer { acceptDone.signal() }
        while !isStopped {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, 1_000)
            if ready < 0 && errno != EINTR { usleep(10_000); continue }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(listenFD, nil, nil)
            if client < 0 { continue }
            UnixSocket.setCloseOnExec(client)
            UnixSocket.setNonBlocking(client)
            lock.lock()
            let admitted = !stopped && clientFDs.count < Self.maxConnections
            if admitted { clientFDs.insert(client) }
            lock.unlock()
            guard admitted else {
                if let line = try? ControlWire.encodeLine(ControlResponse.failure("too many control connections")) {
                    _ = UnixSocket.sendAll(client, line)
                }
                close(client)
                continue
            }
            let thread = Thread { [self] in
                self.serve(client: client)
                self.lock.lock()
                self.clientFDs.remove(client)
                self.lock.unlock()
                close(client)
            }
            thread.name = "wand-control-client"
            thread.start()
        }
    }

    private func serve(client fd: Int32) {
        var buffer = LineBuffer(limit: ControlWire.maxLineBytes)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while !isStopped {
            // Answer every complete line already buffered before reading more.
            switch buffer.next() {
            case .line(let line):
                if !respond(to: line, on: fd) { return }
                continue
            case .tooLong:
                reply(.failure(ControlProtocolError.lineTooLong(ControlWire.maxLineBytes).description), on: fd)
                return
            case .needMore:
                break
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Self.idleTimeoutMilliseconds)
            if ready == 0 { return }
            if ready < 0 { if errno == EINTR { continue } else { return } }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                return
            }
            if count == 0 {
                // Half-closed: the client is done sending; still answer what it sent.
                while case .line(let line) = buffer.next() { if !respond(to: line, on: fd) { return } }
                if case .tooLong = buffer.next() {
                    reply(.failure(ControlProtocolError.lineTooLong(ControlWire.maxLineBytes).description), on: fd)
                    return
                }
                if let last = buffer.takeRemainder() { _ = respond(to: last, on: fd) }
                return
            }
            chunk.withUnsafeBytes { buffer.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// Returns false when the client can no longer be written to.
    private func respond(to line: Data, on fd: Int32) -> Bool {
        let isBlank = line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if isBlank { return true }
        switch ControlWire.decodeRequest(line) {
        case .failure(let error):
            return reply(.failure(error.description), on: fd)
        case .success(let request):
            return reply(runHandler(request), on: fd)
        }
    }

    private func runHandler(_ request: ControlRequest) -> ControlResponse {
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        let handler = self.handler
        Task {
            box.set(await handler.handle(request))
            done.signal()
        }
        guard done.wait(timeout: .now() + Self.handlerTimeoutSeconds) == .success, let response = box.get() else {
            return .failure("the daemon did not answer \(request.cmd.rawValue) within \(Int(Self.handlerTimeoutSeconds)) s")
        }
        return response
    }

    @discardableResult
    private func reply(_ response: ControlResponse, on fd: Int32) -> Bool {
        guard let line = try? ControlWire.encodeLine(response) else { return false }
        return UnixSocket.sendAll(fd, line)
    }
}

private final class ResponseBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ControlResponse?
    func set(_ response: ControlResponse) { lock.lock(); value = response; lock.unlock() }
    func get() -> ControlResponse? { lock.lock(); defer { lock.unlock() }; return value }
}
