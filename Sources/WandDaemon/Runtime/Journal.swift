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
        /// A re-queued job does not run before this time (epoch seconds): its retry backoff.
        public var notBefore: Double? = nil
        /// The host that holds (or last held) the job in a shared journal; nil on one machine.
        public var host: String? = nil
    }

    /// The schema this code writes (`PRAGMA user_version`); older journals are migrated on open.
    public static let schemaVersion = 1

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
        // Another process (the CLI, a second daemon being refused) may hold the lock for a moment.
        sqlite3_busy_timeout(db, 5000)
        try exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        try exec("""
            CREATE TABLE IF NOT EXISTS jobs (
              id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
              priority INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, spool_dir TEXT NOT NULL,
              input_hash TEXT NOT NULL, error TEXT, created REAL NOT NULL, started REAL, finished REAL);
            CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, priority, seq);
            CREATE INDEX IF NOT EXISTS jobs_hash ON jobs(input_hash);
            """)
        try migrate()
    }

    /// Version 0 is the first schema (the CREATE above, also what older Wand wrote); each step
    /// runs in a transaction, so a crash mid-migration leaves the journal as it was.
    private func migrate() throws {
        let version = try scalarInt("PRAGMA user_version") ?? 0
        if version > Self.schemaVersion {
            throw JournalError(path: path, message: "the journal has schema version \(version); this Wand reads up to \(Self.schemaVersion) (was it written by a newer Wand?)")
        }
        if version < 1 {
            try exec("BEGIN IMMEDIATE;")
            do {
                if !(try columns("jobs").contains("not_before")) { try exec("ALTER TABLE jobs ADD COLUMN not_before REAL;") }
                try exec("PRAGMA user_version = 1; COMMIT;")
            } catch {
                try? exec("ROLLBACK;")
                throw error
            }
        }
    }

    private func columns(_ table: String) throws -> [String] {
        let stmt = try prepare("PRAGMA table_info(\(table))", [])
        defer { sqlite3_finalize(stmt) }
        var names: [String] = []
        while sqlite3_step(stmt) == SQLITE_ROW { names.append(String(cString: sqlite3_column_text(stmt, 1))) }
        return names
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
            case .running:
                try run("UPDATE jobs SET state = ?, attempts = attempts + 1, started = ?, not_before = NULL WHERE id = ?", [state.rawValue, now, id])
            case .done, .failed, .cancelled, .duplicate:
                try run("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ?", [state.rawValue, now, error, id])
            default: try run("UPDATE jobs SET state = ?, error = ? WHERE id = ?", [state.rawValue, error, id])
            }
        }
    }

    /// Puts a job back in the queue, not to run before `notBefore` (epoch seconds; nil: at once).
    /// `error` keeps why the last attempt ended.
    public func requeue(_ id: String, notBefore: Double?, error: String? = nil) throws {
        try locked { try run("UPDATE jobs SET state = ?, not_before = ?, error = ? WHERE id = ?", [State.queued.rawValue, notBefore, error, id]) }
    }

    /// The queued job to run next at `now`: highest priority, then oldest, skipping jobs still in their backoff.
    public func nextRunnable(now: Double) throws -> Row? {
        try locked {
            try query("SELECT \(Self.columnList) FROM jobs WHERE state = 'queued' AND (not_before IS NULL OR not_before <= ?) ORDER BY priority DESC, seq ASC LIMIT 1", [now]).first
        }
    }

    /// The earliest time a queued job in backoff becomes runnable, if any is waiting after `now`.
    public func nextRetryTime(after now: Double) throws -> Double? {
        try locked {
            let stmt = try prepare("SELECT MIN(not_before) FROM jobs WHERE state = 'queued' AND not_before > ?", [now])
            defer { sqlite3_finalize(stmt) }
            guard sqlite3_step(stmt) == SQLITE_ROW, sqlite3_column_type(stmt, 0) != SQLITE_NULL else { return nil }
            return sqlite3_column_double(stmt, 0)
        }
    }

    public func delete(_ id: String) throws { try locked { try run("DELETE FROM jobs WHERE id = ?", [id]) } }

    public func rows(_ states: [State]? = nil) throws -> [Row] {
        try locked {
            let filter = states.map { "WHERE state IN (" + $0.map { "'\($0.rawValue)'" }.joined(separator: ",") + ")" } ?? ""
            return try query("SELECT \(Self.columnList) FROM jobs \(filter) ORDER BY priority DESC, seq ASC")
        }
    }

    public func row(_ id: String) throws -> Row? {
        try locked { try query("SELECT \(Self.columnList) FROM jobs WHERE id = '\(id.replacingOccurrences(of: "'", with: "''"))'").first }
    }

    /// A finished job with the same inputs, for the duplicate policy.
    public func completed(withHash hash: String) throws -> Row? {
        try locked {
            try query("SELECT \(Self.columnList) FROM jobs WHERE input_hash = '\(hash)' AND state = 'done' LIMIT 1").first
        }
    }

    static let columnList = "id, name, state, attempts, priority, seq, spool_dir, input_hash, error, created, started, finished, not_before"

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

    private func query(_ sql: String, _ values: [Any?] = []) throws -> [Row] {
        let stmt = try prepare(sql, values)
        defer { sqlite3_finalize(stmt) }
        var out: [Row] = []
        func text(_ i: Int32) -> String? { sqlite3_column_text(stmt, i).map { String(cString: $0) } }
        func real(_ i: Int32) -> Double? { sqlite3_column_type(stmt, i) == SQLITE_NULL ? nil : sqlite3_column_double(stmt, i) }
        while sqlite3_step(stmt) == SQLITE_ROW {
            out.append(Row(id: text(0)!, name: text(1)!, state: State(rawValue: text(2)!) ?? .failed,
                           attempts: Int(sqlite3_column_int64(stmt, 3)), priority: Int(sqlite3_column_int64(stmt, 4)),
                           sequence: Int(sqlite3_column_int64(stmt, 5)), spoolDir: text(6)!, inputHash: text(7)!,
                           error: text(8), created: real(9) ?? 0, started: real(10), finished: real(11), notBefore: real(12)))
        }
        return out
    }
}

public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): journal error: \(message)" }
}
