import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for webhook tests: it records each
/// request and answers with the next status from `statuses` (the last one repeats), or never
/// answers at all when `silent` (a webhook receiver that hangs).
final class LocalHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data
    }

    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var received: [Request] = []
    private var statuses: [Int]
    private let silent: Bool
    private var held: [Int32] = []

    init(statuses: [Int] = [200], silent: Bool = false) throws {
        self.statuses = statuses
        self.silent = silent
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { close(listener); throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        fd = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/hook")! }
    var requests: [Request] { lock.withLock { received } }

    /// Waits until `count` requests have arrived (or `timeout` passes); returns what arrived.
    func waitForRequests(_ count: Int, timeout: Double = 10) async -> [Request] {
        let deadline = Date().addingTimeInterval(timeout)
        while requests.count < count, Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
        return requests
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        lock.withLock { for c in held { close(c) }; held = [] }
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { if errno == EINTR { continue }; return }
            if silent { lock.withLock { held.append(client) }; continue }
            handle(client)
        }
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        var sentContinue = false
        while true {
            if headerEnd == nil { headerEnd = data.range(of: separator) }
            if let end = headerEnd {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                let headers = Self.headers(head)
                if headers["expect"]?.lowercased() == "100-continue", !sentContinue {
                    sentContinue = true
                    _ = "HTTP/1.1 100 Continue\r\n\r\n".withCString { write(client, $0, strlen($0)) }
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                if data.count - end.upperBound >= length {
                    let line = head.split(separator: "\r\n").first.map(String.init) ?? ""
                    let parts = line.split(separator: " ").map(String.init)
                    let request = Request(method: parts.first ?? "", path: parts.count > 1 ? parts[1] : "",
                                          headers: headers, body: data[end.upperBound..<(end.upperBound + length)])
                    let status: Int = lock.withLock {
                        received.append(request)
                        return statuses.count > 1 ? statuses.removeFirst() : statuses[0]
                    }
                    let answer = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    _ = answer.withCString { write(client, $0, strlen($0)) }
                    return
                }
            }
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            data.append(contentsOf: buffer[0..<n])
        }
    }

    private static func headers(_ head: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }
}
