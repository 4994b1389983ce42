import CPostgres
import Foundation

/// One libpq connection to the shared journal. Every statement is sent with PQexecParams: values
/// always travel as parameters ($1, $2, ...), never spliced into the SQL text. One connection
/// serves one thread at a time (libpq's rule), so every use goes through a recursive lock (a
/// transaction's statements run inside its body).
final class PGConnection: @unchecked Sendable {
    private var conn: OpaquePointer?
    private let conninfo: String
    private let lock = NSRecursiveLock()
    private var inTransaction = false
    /// The address for messages, password hidden.
    let displayURL: String
    /// Runs after a lost connection was re-established (session state such as advisory locks is
    /// gone with the old session).
    var afterReconnect: (@Sendable (PGConnection) throws -> Void)?

    init(url: String) throws {
        conninfo = url
        displayURL = Self.redacted(url)
        try connect()
    }

    deinit { if let conn { PQfinish(conn) } }

    private func connect() throws {
        if let conn { PQfinish(conn) }
        conn = PQconnectdb(conninfo)
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let message = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            throw JournalError(path: displayURL, message: "cannot connect to PostgreSQL: " + message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // CREATE ... IF NOT EXISTS and friends send NOTICEs that libpq would print on stderr.
        _ = try run("SET client_min_messages TO warning", [])
    }

    /// The rows of one statement (each value as PostgreSQL's text form, nil for NULL) and the
    /// number of rows it changed.
    struct Rows {
        var values: [[String?]]
        var changed: Int
        var first: [String?]? { values.first }
    }

    @discardableResult
    func exec(_ sql: String, _ params: [Any?] = []) throws -> Rows {
        lock.lock()
        defer { lock.unlock() }
        if !inTransaction, conn == nil || PQstatus(conn) != CONNECTION_OK {
            try connect()
            try afterReconnect?(self)
        }
        return try run(sql, params)
    }

    /// Runs `body` in one transaction: COMMIT when it returns, ROLLBACK when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        try exec("BEGIN")
        inTransaction = true
        do {
            let value = try body()
            inTransaction = false
            try exec("COMMIT")
            return value
        } catch {
            inTransaction = false
            if let conn, PQstatus(conn) == CONNECTION_OK { _ = try? run("ROLLBACK", []) }
            throw error
        }
    }

    private func run(_ sql: String, _ params: [Any?]) throws -> Rows {
        let texts: [String?] = params.map { value in
            switch value {
            case nil: return nil
            case let s as String: return s
            case let n as Int: return String(n)
            case let n as Int64: return String(n)
            case let x as Double: return "\(x)"
            case let b as Bool: return b ? "true" : "false"
            case let some?: return "\(some)"
            }
        }
        // libpq takes C strings: a NUL inside one would silently cut it short.
        if texts.contains(where: { $0?.utf8.contains(0) ?? false }) {
            throw JournalError(path: displayURL, message: "a value holds a NUL byte, which PostgreSQL text cannot store")
        }
        var owned: [UnsafeMutablePointer<CChar>?] = texts.map { $0.map { strdup($0) } ?? nil }
        defer { owned.forEach { free($0) } }
        let result: OpaquePointer? = owned.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return PQexecParams(conn, sql, 0, nil, nil, nil, nil, 0) }
            return base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { values in
                PQexecParams(conn, sql, Int32(buffer.count), nil, values, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK, let result else {
            var message = result.map { String(cString: PQresultErrorMessage($0)) } ?? ""
            if message.isEmpty, let conn { message = String(cString: PQerrorMessage(conn)) }
            var state = ""
            if let result, let code = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) { state = " (SQLSTATE \(String(cString: code)))" }
            let head = sql.split(separator: "\n").first.map(String.init)?.trimmingCharacters(in: .whitespaces).prefix(60) ?? ""
            throw JournalError(path: displayURL, message: "\(message.trimmingCharacters(in: .whitespacesAndNewlines))\(state) in: \(head)")
        }
        var rows: [[String?]] = []
        let count = PQntuples(result), fields = PQnfields(result)
        rows.reserveCapacity(Int(count))
        for r in 0..<count {
            rows.append((0..<fields).map { f in PQgetisnull(result, r, f) == 1 ? nil : String(cString: PQgetvalue(result, r, f)) })
        }
        let changed = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Rows(values: rows, changed: changed)
    }

    /// The connection string's own complaint about itself, or nil when libpq can parse it
    /// (nothing is contacted).
    static func problem(inConninfo url: String) -> String? {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &error) else {
            let message = error.map { String(cString: $0) } ?? "cannot parse it"
            if let error { PQfreemem(error) }
            return message.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        PQconninfoFree(options)
        return nil
    }

    /// `postgresql://wand:secret@db/wand` -> `postgresql://wand:***@db/wand`; `password=x` -> `password=***`.
    static func redacted(_ url: String) -> String {
        if let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") {
            let credentials = url[scheme.upperBound..<at]
            if let colon = credentials.firstIndex(of: ":") {
                return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
            }
        }
        return url.replacingOccurrences(of: #"password\s*=\s*\S+"#, with: "password=***", options: .regularExpression)
    }
}
