// Logging for the daemon. Under systemd, entries go to the journal with structured fields
// (so `journalctl -u wand JOB_ID=...` works); anywhere else, one readable line per entry on stderr.
import Foundation
import CSystemd
#if canImport(Glibc)
import Glibc
#endif

public enum LogLevel: String, Sendable, CaseIterable {
    case info, warning, error

    /// syslog priorities, as journald expects in PRIORITY=.
    public var syslogPriority: Int {
        switch self {
        case .info: return 6
        case .warning: return 4
        case .error: return 3
        }
    }
}

/// One entry of the daemon's log: what `Daemon` hands its sink and `Log.emit` sends on.
public struct LogEntry: Sendable, Equatable {
    public var level: LogLevel
    public var message: String
    /// Structured fields (journald names: `JOB_ID`, `JOB_NAME`, …).
    public var fields: [String: String]

    public init(_ level: LogLevel, _ message: String, fields: [String: String] = [:]) {
        self.level = level; self.message = message; self.fields = fields
    }

    /// An entry about one job: it carries JOB_ID and JOB_NAME, so that `journalctl -u wand
    /// JOB_ID=…` gathers every line of a job, from its claim to its webhook.
    public static func job(_ level: LogLevel, id: String, name: String, _ message: String) -> LogEntry {
        LogEntry(level, message, fields: [Log.jobIDField: id, Log.jobNameField: name])
    }

    public var jobID: String? { fields[Log.jobIDField] }
}

public enum Log {
    public static let jobIDField = "JOB_ID"
    public static let jobNameField = "JOB_NAME"

    public static func emit(_ entry: LogEntry) { emit(entry.level, entry.message, entry.fields) }

    public static func info(_ message: String, fields: [String: String] = [:]) { emit(.info, message, fields) }
    public static func warning(_ message: String, fields: [String: String] = [:]) { emit(.warning, message, fields) }
    public static func error(_ message: String, fields: [String: String] = [:]) { emit(.error, message, fields) }

    public static func emit(_ level: LogLevel, _ message: String, _ fields: [String: String]) {
        if destination == .journal {
            sendToJournal(level, message, fields)
        } else {
            let line = formatLine(level: level, message: message, fields: fields, date: Date(), pid: getpid())
            stderrLock.lock()
            FileHandle.standardError.write(Data(line.utf8))
            stderrLock.unlock()
        }
    }

    public enum Destination: Sendable { case journal, stderr }

    /// Decided once: the environment of a daemon does not change under it.
    public static let destination: Destination = {
        let environment = ProcessInfo.processInfo.environment
        switch environment["WAND_LOG"] {
        case "stderr": return .stderr
        case "journal": return .journal
        default: break
        }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return .stderr }
        return isJournalStream(environment["JOURNAL_STREAM"], device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            ? .journal : .stderr
    }()

    /// systemd's documented check: JOURNAL_STREAM is "<device>:<inode>" of the stream it connected,
    /// and it only counts if our stderr is still that very stream (not redirected by a wrapper).
    public static func isJournalStream(_ value: String?, device: UInt64, inode: UInt64) -> Bool {
        guard let value else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        return dev == device && ino == inode
    }

    /// `2026-11-25T03:00:00Z wand[1234]: warning: message key=value key2="with space"`.
    public static func formatLine(level: LogLevel, message: String, fields: [String: String],
                                  date: Date, pid: Int32) -> String {
        var line = "\(timestamp(date)) wand[\(pid)]: \(level.rawValue): \(flatten(message))"
        for key in fields.keys.sorted() {
            line += " \(key)=\(quoteIfNeeded(fields[key]!))"
        }
        return line + "\n"
    }

    /// journald field names: uppercase letters, digits and underscores, not starting with an underscore
    /// (those are trusted fields only journald may set).
    public static func journalFieldName(_ key: String) -> String {
        var name = String(key.uppercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "_" })
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty || name.first!.isNumber { name = "F" + name }
        return String(name.prefix(64))
    }

    /// The journal entry as KEY=value strings, in the order they are sent.
    public static func journalEntry(level: LogLevel, message: String, fields: [String: String]) -> [String] {
        var entry = ["MESSAGE=\(message)", "PRIORITY=\(level.syslogPriority)", "SYSLOG_IDENTIFIER=wand"]
        for key in fields.keys.sorted() {
            let name = journalFieldName(key)
            if ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"].contains(name) { continue }
            entry.append("\(name)=\(fields[key]!)")
        }
        return entry
    }

    private static func sendToJournal(_ level: LogLevel, _ message: String, _ fields: [String: String]) {
        let entry = journalEntry(level: level, message: message, fields: fields).map { Array($0.utf8) }
        // Values may hold newlines; sd_journal_sendv takes each iovec as one whole field, so they survive.
        let storage = entry.map { bytes -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
            buffer.copyBytes(from: bytes)
            return buffer
        }
        defer { for buffer in storage { buffer.deallocate() } }
        var vectors = zip(storage, entry).map { iovec(iov_base: $0.0.baseAddress, iov_len: $0.1.count) }
        let result = sd_journal_sendv(&vectors, Int32(vectors.count))
        if result < 0 {
            let line = formatLine(level: level, message: message, fields: fields, date: Date(), pid: getpid())
            stderrLock.lock()
            FileHandle.standardError.write(Data(line.utf8))
            stderrLock.unlock()
        }
    }

    private static let stderrLock = NSLock()

    /// RFC 3339 UTC to the second, through gmtime_r: thread-safe and allocation-light.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    private static func flatten(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func quoteIfNeeded(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" || $0 == "\t" }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}
