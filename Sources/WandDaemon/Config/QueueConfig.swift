import Foundation

/// Where the job journal lives (`queue:`): SQLite under state_dir for one machine (the default),
/// or PostgreSQL shared by several hosts that watch the same inbox and write the same outbox.
public struct QueueConfig: Sendable, Hashable {
    public var backend: QueueBackend
    /// libpq connection string (`postgresql://USER@HOST/DB` or `host=... dbname=...`); postgres only.
    public var url: String?
    /// The spool on the shared filesystem, one folder per job id (postgres only; required there).
    public var spool: URL?
    /// This daemon's name in the shared queue: in job ids, in `wand queue`, in leases.
    public var host: String
    /// Seconds a running job stays this host's without a renewal; after that any host re-queues it.
    public var lease: Double
    /// Seconds between lease renewals while a job runs.
    public var heartbeat: Double

    public init(backend: QueueBackend = .sqlite, url: String? = nil, spool: URL? = nil, host: String = QueueConfig.machineName,
                lease: Double = 60, heartbeat: Double = 15) {
        self.backend = backend; self.url = url; self.spool = spool; self.host = host
        self.lease = lease; self.heartbeat = heartbeat
    }

    /// The machine's host name cut to what a job id and a file name can carry.
    public static var machineName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer) : "wand"
        let cleaned = String(name.split(separator: ".").first ?? "wand").filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        return cleaned.isEmpty ? "wand" : String(cleaned.prefix(63))
    }

    /// Host names are used in job ids and staging folder names: letters, digits, '-' and '_'.
    static func isValidHost(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count <= 63 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}

public enum QueueBackend: String, Sendable, Hashable, Codable, CaseIterable { case sqlite, postgres }

extension ConfigLoader {
    static let queueKeys = ["backend", "url", "spool", "host", "lease", "heartbeat"]

    static func readQueue(_ node: YAMLNode, base: URL, reader r: inout SchemaReader) -> QueueConfig {
        var q = QueueConfig()
        let k = r.mapping(node, allowed: queueKeys, context: "queue")
        guard node.mapping != nil else { return q }
        if let v = k["backend"], let b = r.choice(v.value, key: "backend", as: QueueBackend.self) { q.backend = b.value }
        if q.backend == .sqlite {
            for key in queueKeys.dropFirst() {
                if let v = k[key] { r.error("queue.\(key) applies to backend: postgres only (the SQLite journal lives in state_dir)", at: v.key.mark) }
            }
            return q
        }
        if let v = k["url"], let s = r.string(v.value, key: "url") {
            let url = s.value.trimmingCharacters(in: .whitespaces)
            let isURI = url.hasPrefix("postgresql://") || url.hasPrefix("postgres://")
            if !isURI && !url.contains("=") {
                r.error("queue.url must be a PostgreSQL address like postgresql://wand@db.lan/wand (got '\(PGConnection.redacted(url))')", at: v.value.mark)
            } else if let problem = PGConnection.problem(inConninfo: url) {
                r.error("queue.url: \(problem)", at: v.value.mark)
            } else {
                q.url = url
            }
        } else if k["url"] == nil {
            r.error("queue.url is required with backend: postgres (e.g. postgresql://wand@db.lan/wand)", at: node.mark)
        }
        if let v = k["spool"] { q.spool = path(v.value, key: "spool", base: base, reader: &r) }
        else { r.error("queue.spool is required with backend: postgres: the spool folder on the filesystem every host shares (each host must mount it at the same path)", at: node.mark) }
        if let v = k["host"], let s = r.string(v.value, key: "host") {
            if QueueConfig.isValidHost(s.value) { q.host = s.value }
            else { r.error("queue.host must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit (got '\(s.value)')", at: v.value.mark) }
        }
        var leaseOK = true
        if let v = k["lease"], let d = r.duration(v.value, key: "lease") {
            if d.value < 1 { r.error("queue.lease must be at least 1s", at: v.value.mark); leaseOK = false } else { q.lease = d.value }
        }
        q.heartbeat = q.lease / 4
        if let v = k["heartbeat"], let d = r.duration(v.value, key: "heartbeat") {
            if d.value <= 0 || d.value * 2 > q.lease {
                if leaseOK {
                    r.error("queue.heartbeat must be more than 0 and at most half the lease (\(SchemaReader.format(q.lease))s), so that one late renewal does not lose the job", at: v.value.mark)
                }
            } else {
                q.heartbeat = d.value
            }
        }
        return q
    }
}
