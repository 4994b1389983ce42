// Small POSIX helpers shared by the control server and client: the socket APIs are C,
// and sockaddr_un needs byte-level filling that is easy to get wrong twice.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum UnixSocket {
    /// Builds a sockaddr_un for `path`; nil when the path does not fit sun_path (108 bytes on Linux).
    static func address(_ path: String) -> sockaddr_un? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }

    static func withSockaddr<R>(_ addr: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = addr
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// Writes everything or fails; MSG_NOSIGNAL so a client that went away cannot SIGPIPE the daemon.
    static func sendAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            guard var pointer = raw.baseAddress else { return true }
            var left = raw.count
            while left > 0 {
                let sent = Glibc.send(fd, pointer, left, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK {
                        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                        if poll(&pfd, 1, 5_000) <= 0 { return false }
                        continue
                    }
                    return false
                }
                left -= sent
                pointer = pointer.advanced(by: sent)
            }
            return true
        }
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC)
    }
}

/// Splits a byte stream into newline-terminated lines, refusing lines over a limit.
struct LineBuffer {
    private(set) var pending = Data()
    let limit: Int

    init(limit: Int) { self.limit = limit }

    enum Next: Equatable { case line(Data), needMore, tooLong }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { pending.append(contentsOf: bytes) }

    mutating func next() -> Next {
        if let newline = pending.firstIndex(of: 0x0A) {
            let line = pending[pending.startIndex..<newline]
            if line.count > limit { return .tooLong }
            pending = Data(pending[pending.index(after: newline)...])
            return .line(Data(line))
        }
        return pending.count > limit ? .tooLong : .needMore
    }

    /// At end of stream, an unterminated last line still counts (shell clients often omit the newline).
    mutating func takeRemainder() -> Data? {
        let rest = pending
        pending = Data()
        let trimmed = rest.filter { $0 != 0x0D && $0 != 0x20 && $0 != 0x09 }
        return trimmed.isEmpty ? nil : rest
    }
}
