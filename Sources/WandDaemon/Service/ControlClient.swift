// A blocking client for the control socket, used by the `wand status/queue/...` commands.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct ControlClient: Sendable {
    public let path: String
    public let timeoutSeconds: Int

    public init(path: String, timeoutSeconds: Int = 70) {
        self.path = path
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends one request and waits for its one-line response.
    public func send(_ request: ControlRequest) throws -> ControlResponse {
        let line = try sendRaw(ControlWire.encodeLine(request))
        do {
            return try JSONDecoder().decode(ControlResponse.self, from: line)
        } catch {
            throw ControlProtocolError.malformedResponse(String(decoding: line.prefix(300), as: UTF8.self))
        }
    }

    /// Sends raw bytes and returns the first response line (without its newline).
    public func sendRaw(_ bytes: Data) throws -> Data {
        guard let address = UnixSocket.address(path) else {
            throw ControlProtocolError.socket(operation: "socket path too long or empty:", path: path, errno: ENAMETOOLONG)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ControlProtocolError.socket(operation: "socket", path: path, errno: errno) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = UnixSocket.withSockaddr(address) { connect(fd, $0, $1) }
        guard connected == 0 else { throw ControlProtocolError.socket(operation: "connect", path: path, errno: errno) }
        guard UnixSocket.sendAll(fd, bytes) else {
            throw ControlProtocolError.socket(operation: "send", path: path, errno: errno)
        }
        var buffer = LineBuffer(limit: 16 * 1024 * 1024)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            switch buffer.next() {
            case .line(let line): return line
            case .tooLong: throw ControlProtocolError.malformedResponse("response line too long")
            case .needMore: break
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ControlProtocolError.socket(operation: "recv", path: path, errno: errno)
            }
            if count == 0 { throw ControlProtocolError.closedWithoutResponse(path: path) }
            chunk.withUnsafeBytes { buffer.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
