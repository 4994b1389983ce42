import CSQLite
import Foundation

/// The durable record of every job, in SQLite under state_dir. A job's row is written before its
/// files are claimed, so a crash at any moment leaves either the files in the inbox or a row that
/// points at them in the spool.
public final class Journal: @unchecked Sendable {
    public enum State: String, Sendable, CaseIterable {
        case claiming, queued, running, done, failed, cancelled, duplicate
    }

    public struct Row: Sendable, Equatable {
        public var id: String
        public var name: String
        public var state: State
        public var attempts: Int
        public var priority: Int
        public var sequence: Int
        public var spoolDir: String
        public var inputHash: String
        public var error: String?
        public var created: Double
        public var started: Double?
        public var finished: Double?
    }

    private let db: OpaquePointer
    private let lock = NSLock()
    public let path: String

    public init(path: String) throws {
        self.path = path
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK, let handle else {
            throw JournalError(path: path, message: "cannot open the journal")
        }
        db = handle
        try exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        try exec("""
            CREATE TABLE IF NOT EXISTS jobs (
              id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
              priority INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, spool_dir TEXT NOT NULL,
              input_hash TEXT NOT NULL, error TEXT, created REAL NOT NULL, started REAL, finished REAL);
            CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, priority, seq);
            CREATE INDEX IF NOT EXISTS jobs_hash ON jobs(input_hash);
            """)
    }

    deinit { sqlite3_close(db) }

    public func insert(id: String, name: String, priority: Int, spoolDir: String, inputHash: String) throws -> Row {
        try locked {
            let seq = (try scalarInt("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs")) ?? 1
            let now = Date().timeIntervalSince1970
            try run("INSERT INTO jobs (id, name, state, priority, seq, spool_dir, input_hash, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [id, name, State.claiming.rawValue, priority, seq, spoolDir, inputHash, now])
            return Row(id: id, name: name, state: .claiming, attempts: 0, priority: priority, sequence: seq,
                       spoolDir: spoolDir, inputHash: inputHash, error: nil, created: now, started: nil, finished: nil)
        }
    }

    public func setState(_ id: String, _ state: State, error: String? = nil) throws {
        let now = Date().timeIntervalSince1970
        try locked {
            switch state {
            case .running: try run("UPDATE jobs SET state = ?, attempts = attempts + 1, started = ? WHERE id = ?", [state.rawValue, now, id])
            case .done, .failed, .cancelled, .duplicate:
                try run("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ?", [state.rawValue, now, error, id])
            default: try run("UPDATE jobs SET state = ?, error = ? WHERE id = ?", [state.rawValue, error, id])
            }
        }
    }

    public func delete(_ id: String) throws { try locked { try run("DELETE FROM jobs WHERE id = ?", [id]) } }

    public func rows(_ states: [State]? = nil) throws -> [Row] {
        try locked {
            let filter = states.map { "WHERE state IN (" + $0.map { "'\($0.rawValue)'" }.joined(separator: ",") + ")" } ?? ""
            return try query("SELECT id, name, state, attempts, priority, seq, spool_dir, input_hash, error, created, started, finished FROM jobs \(filter) ORDER BY priority DESC, seq ASC")
        }
    }

    public func row(_ id: String) throws -> Row? {
        try locked { try query("SELECT id, name, state, attempts, priority, seq, spool_dir, input_hash, error, created, started, finished FROM jobs WHERE id = '\(id.replacingOccurrences(of: "'", with: "''"))'").first }
    }

    /// A finished job with the same inputs, for the duplicate policy.
    public func completed(withHash hash: String) throws -> Row? {
        try locked {
            try query("SELECT id, name, state, attempts, priority, seq, spool_dir, input_hash, error, created, started, finished FROM jobs WHERE input_hash = '\(hash)' AND state = 'done' LIMIT 1").first
        }
    }

    // MARK: - SQLite plumbing

    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func exec(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(message)
            throw JournalError(path: path, message: text)
        }
    }

    private func prepare(_ sql: String, _ values: [Any?]) throws -> OpaquePointer {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw JournalError(path: path, message: String(cString: sqlite3_errmsg(db)))
        }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            switch v {
            case let s as String: sqlite3_bind_text(stmt, index, s, -1, transient)
            case let n as Int: sqlite3_bind_int64(stmt, index, Int64(n))
            case let x as Double: sqlite3_bind_double(stmt, index, x)
            default: sqlite3_bind_null(stmt, index)
            }
        }
        return stmt
    }

    private func run(_ sql: String, _ values: [Any?]) throws {
        let stmt = try prepare(sql, values)
        defer { sqlite3_finalize(stmt) }
        guard sqlite3_step(stmt) == SQLITE_DONE else { throw JournalError(path: path, message: String(cString: sqlite3_errmsg(db))) }
    }

    private func scalarInt(_ sql: String) throws -> Int? {
        let stmt = try prepare(sql, [])
        defer { sqlite3_finalize(stmt) }
        return sqlite3_step(stmt) == SQLITE_ROW ? Int(sqlite3_column_int64(stmt, 0)) : nil
    }

    private func query(_ sql: String) throws -> [Row] {
        let stmt = try prepare(sql, [])
        defer { sqlite3_finalize(stmt) }
        var out: [Row] = []
        func text(_ i: Int32) -> String? { sqlite3_column_text(stmt, i).map { String(cString: $0) } }
        func real(_ i: Int32) -> Double? { sqlite3_column_type(stmt, i) == SQLITE_NULL ? nil : sqlite3_column_double(stmt, i) }
        while sqlite3_step(stmt) == SQLITE_ROW {
            out.append(Row(id: text(0)!, name: text(1)!, state: State(rawValue: text(2)!) ?? .failed,
                           attempts: Int(sqlite3_column_int64(stmt, 3)), priority: Int(sqlite3_column_int64(stmt, 4)),
                           sequence: Int(sqlite3_column_int64(stmt, 5)), spoolDir: text(6)!, inputHash: text(7)!,
                           error: text(8), created: real(9) ?? 0, started: real(10), finished: real(11)))
        }
        return out
    }
}

public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): journal error: \(message)" }
}
