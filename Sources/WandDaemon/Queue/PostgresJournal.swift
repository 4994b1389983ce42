import Foundation

/// The journal on PostgreSQL, shared by every daemon on one queue (issue 23). Claims take rows
/// with `FOR UPDATE SKIP LOCKED`, so hosts never wait on each other's jobs; a running job is held
/// by a lease on the server's clock, renewed by the heartbeat, and every step that moves its files
/// checks the lease's fencing token in the same statement or transaction (`fence` below). A host
/// whose lease ran out (killed, or stopped with SIGSTOP) finds its token refused and its staged
/// files are discarded; any live host re-queues the job.
///
/// Two connections: the daemon's, which also holds a session advisory lock on the host name (one
/// live daemon per name, and a restarted daemon may recover its own rows at once), and the
/// heartbeat's, so a renewal never waits behind the daemon's statements.
public final class PostgresJournal: @unchecked Sendable {
    public let hostName: String
    /// Seconds a lease lasts from its last renewal.
    public let leaseSeconds: Double
    private let db: PGConnection
    private let beat: PGConnection

    /// The fencing condition: `$1` the job id, `$2` the lease token. The lease must be unexpired
    /// by the server's clock, not merely unclaimed by others: a lease that ran out is gone.
    static let fence = "id = $1 AND lease_token = $2 AND lease_expires > now()"
    static let columns = "id, name, state, attempts, priority, seq, spool_dir, input_hash, error, created, started, finished, not_before, host"
    static let prefixedColumns = columns.split(separator: ",").map { "j." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
    static let epoch = "extract(epoch from clock_timestamp())::double precision"
    /// The lease length travels as a session setting (set with a parameter on connecting), so no
    /// value is ever spliced into a statement.
    static let leaseEnd = "now() + make_interval(secs => current_setting('wand.lease_seconds')::double precision)"

    public init(url: String, host: String, lease: Double, lockWait: Double? = nil) throws {
        hostName = host
        leaseSeconds = lease
        db = try PGConnection(url: url)
        beat = try PGConnection(url: url)
        for connection in [db, beat] { try Self.setLease(lease, on: connection) }
        try PostgresSchema.create(on: db)
        try Self.lockHost(host, on: db, wait: lockWait ?? lease)
        db.afterReconnect = { try Self.setLease(lease, on: $0); try Self.lockHost(host, on: $0, wait: lease) }
        beat.afterReconnect = { try Self.setLease(lease, on: $0) }
        try touchHost()
    }

    static func setLease(_ seconds: Double, on db: PGConnection) throws {
        try db.exec("SELECT set_config('wand.lease_seconds', $1, false)", [String(seconds)])
    }

    /// One live daemon per host name: a session advisory lock, released by the server the moment
    /// the session ends (a `kill -9` included). A restart waits for the old session to go.
    static func lockHost(_ host: String, on db: PGConnection, wait: Double) throws {
        let deadline = Date().addingTimeInterval(wait)
        while true {
            if try db.exec("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", ["wand-host:" + host]).first?[0] == "t" { return }
            if Date() >= deadline {
                throw JournalError(path: db.displayURL, message: "another Wand daemon is running as host '\(host)' on this queue; give every daemon its own queue.host")
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    // MARK: - rows

    static func parse(_ v: [String?]) -> Journal.Row {
        Journal.Row(id: v[0] ?? "", name: v[1] ?? "", state: Journal.State(rawValue: v[2] ?? "") ?? .failed,
                    attempts: Int(v[3] ?? "") ?? 0, priority: Int(v[4] ?? "") ?? 0, sequence: Int(v[5] ?? "") ?? 0,
                    spoolDir: v[6] ?? "", inputHash: v[7] ?? "", error: v[8], created: Double(v[9] ?? "") ?? 0,
                    started: v[10].flatMap(Double.init), finished: v[11].flatMap(Double.init),
                    notBefore: v[12].flatMap(Double.init), host: v[13])
    }

    /// `{queued,running}`: the states as one text[] parameter.
    static func stateArray(_ states: [Journal.State]) -> String { "{" + states.map(\.rawValue).joined(separator: ",") + "}" }
}

extension PostgresJournal: JobJournal {
    public var host: String? { hostName }

    public func rows(_ states: [Journal.State]? = nil) throws -> [Journal.Row] {
        try db.exec("SELECT \(Self.columns) FROM wand_jobs WHERE $1::text[] IS NULL OR state = ANY($1::text[]) ORDER BY priority DESC, seq ASC",
                    [states.map(Self.stateArray)]).values.map(Self.parse)
    }

    public func row(_ id: String) throws -> Journal.Row? {
        try db.exec("SELECT \(Self.columns) FROM wand_jobs WHERE id = $1", [id]).first.map(Self.parse)
    }

    public func completed(withHash hash: String) throws -> Journal.Row? {
        try db.exec("SELECT \(Self.columns) FROM wand_jobs WHERE input_hash = $1 AND state = 'done' LIMIT 1", [hash]).first.map(Self.parse)
    }

    public func nextRetryTime(after now: Double) throws -> Double? {
        try db.exec("SELECT min(not_before) FROM wand_jobs WHERE state = 'queued' AND not_before > $1", [now]).first?[0].flatMap(Double.init)
    }

    // MARK: intake

    private struct ClaimTaken: Error {}

    public func beginClaim(id: String, name: String, priority: Int, spoolDir: String, inputHash: String, files: [DropFile]) throws -> Lease? {
        do {
            return try db.transaction {
                let token = try db.exec("""
                    INSERT INTO wand_jobs (id, name, state, priority, spool_dir, input_hash, created, host, lease_token, lease_expires)
                    VALUES ($1, $2, 'claiming', $3, $4, $5, \(Self.epoch), $6, nextval('wand_lease_token'), \(Self.leaseEnd)) RETURNING lease_token
                    """, [id, name, priority, spoolDir, inputHash, hostName]).first?[0].flatMap { Int64($0) } ?? 0
                for file in files {
                    let inserted = try db.exec("INSERT INTO wand_claims (path_key, job_id, path) VALUES ($1, $2, $3) ON CONFLICT (path_key) DO NOTHING",
                                               [file.key, id, file.path])
                    if inserted.changed == 0 { throw ClaimTaken() }  // rolls the whole claim back
                }
                return Lease(jobID: id, token: token)
            }
        } catch is ClaimTaken {
            return nil
        }
    }

    public func finishClaim(_ lease: Lease) throws -> Bool {
        try db.transaction {
            let moved = try db.exec("UPDATE wand_jobs SET state = 'queued', host = NULL, lease_expires = NULL WHERE \(Self.fence) AND state = 'claiming'",
                                    [lease.jobID, lease.token]).changed == 1
            if moved { try db.exec("DELETE FROM wand_claims WHERE job_id = $1", [lease.jobID]) }
            return moved
        }
    }

    public func abandonClaim(_ lease: Lease) throws {
        try db.transaction {
            if try db.exec("DELETE FROM wand_jobs WHERE id = $1 AND lease_token = $2 AND state = 'claiming'", [lease.jobID, lease.token]).changed == 1 {
                try db.exec("DELETE FROM wand_claims WHERE job_id = $1", [lease.jobID])
            }
        }
    }

    // MARK: running

    public func claimNext(now: Double) throws -> (row: Journal.Row, lease: Lease)? {
        let rows = try db.exec("""
            WITH next AS (
              SELECT id FROM wand_jobs WHERE state = 'queued' AND (not_before IS NULL OR not_before <= $2)
              ORDER BY priority DESC, seq ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
            UPDATE wand_jobs j SET state = 'running', attempts = j.attempts + 1, started = \(Self.epoch), not_before = NULL,
              host = $1, lease_token = nextval('wand_lease_token'), lease_expires = \(Self.leaseEnd), cancel_requested = false
            FROM next WHERE j.id = next.id
            RETURNING \(Self.prefixedColumns), j.lease_token
            """, [hostName, now])
        guard let v = rows.first else { return nil }
        return (Self.parse(v), Lease(jobID: v[0] ?? "", token: Int64(v[14] ?? "") ?? 0))
    }

    public func renew(_ lease: Lease) throws -> LeaseCheck {
        guard let v = try beat.exec("UPDATE wand_jobs SET lease_expires = \(Self.leaseEnd) WHERE \(Self.fence) AND state = 'running' RETURNING cancel_requested",
                                    [lease.jobID, lease.token]).first else { return .lost }
        return v[0] == "t" ? .cancelRequested : .held
    }

    /// The check under the row lock, and the decision recorded in the same transaction: once this
    /// commits, the part will be published from `staging` (by this host, or by the next run of
    /// the job if this one stalls or dies), and by nothing else.
    public func beginPublication(_ lease: Lease, part: Int, staging: String, base: String, suffixes: [String]) throws -> Bool {
        try db.transaction {
            guard try db.exec("SELECT 1 FROM wand_jobs WHERE \(Self.fence) AND state = 'running' FOR UPDATE", [lease.jobID, lease.token]).first != nil else {
                return false
            }
            let suffixList = String(decoding: try JSONEncoder().encode(suffixes), as: UTF8.self)
            return try db.exec("""
                INSERT INTO wand_publications (job_id, part, token, staging, base, suffixes) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (job_id, part) DO NOTHING
                """, [lease.jobID, part, lease.token, staging, base, suffixList]).changed == 1
        }
    }

    public func finishPublication(jobID: String, part: Int, outputs: [String]) throws {
        let list = String(decoding: try JSONEncoder().encode(outputs), as: UTF8.self)
        try db.exec("UPDATE wand_publications SET done = true, outputs = $3 WHERE job_id = $1 AND part = $2", [jobID, part, list])
    }

    public func publications(of jobID: String) throws -> [Publication] {
        try db.exec("SELECT part, staging, base, suffixes, done, outputs FROM wand_publications WHERE job_id = $1 ORDER BY part", [jobID]).values.map { v in
            func list(_ s: String?) -> [String] { s.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? [] }
            return Publication(part: Int(v[0] ?? "") ?? 0, staging: v[1] ?? "", base: v[2] ?? "", suffixes: list(v[3]),
                               done: v[4] == "t", outputs: list(v[5]))
        }
    }

    public func markDone(_ lease: Lease) throws -> Bool {
        try db.transaction {
            let done = try db.exec("UPDATE wand_jobs SET state = 'done', finished = \(Self.epoch), lease_expires = NULL WHERE \(Self.fence) AND state = 'running'",
                                   [lease.jobID, lease.token]).changed == 1
            if done { try db.exec("DELETE FROM wand_publications WHERE job_id = $1", [lease.jobID]) }
            return done
        }
    }

    public func requeue(_ lease: Lease, notBefore: Double?, error: String?) throws -> Bool {
        try db.exec("""
            UPDATE wand_jobs SET state = 'queued', not_before = $3, error = $4, host = NULL, lease_expires = NULL,
              lease_token = nextval('wand_lease_token') WHERE \(Self.fence) AND state = 'running'
            """, [lease.jobID, lease.token, notBefore, error]).changed == 1
    }

    public func release(_ lease: Lease) throws {
        try db.exec("""
            UPDATE wand_jobs SET state = 'queued', host = NULL, lease_expires = NULL, lease_token = nextval('wand_lease_token')
            WHERE \(Self.fence) AND state = 'running'
            """, [lease.jobID, lease.token])
    }

    // MARK: failures

    public func decideFailure(_ fence: FailureFence, state: Journal.State, report: FailureReport) throws -> Lease? {
        let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        let values: [Any?] = [state.rawValue, report.errors.first ?? report.message, text, hostName]
        let set = """
            UPDATE wand_jobs SET state = $1, error = $2, report = $3, filed = false, finished = \(Self.epoch), host = $4,
              lease_token = nextval('wand_lease_token'), lease_expires = \(Self.leaseEnd)
            """
        let id: String
        let rows: PGConnection.Rows
        switch fence {
        case .lease(let lease):
            id = lease.jobID
            rows = try db.exec(set + " WHERE id = $5 AND lease_token = $6 AND lease_expires > now() AND state IN ('claiming', 'running') RETURNING lease_token",
                               values + [lease.jobID, lease.token])
        case .queued(let job):
            id = job
            rows = try db.exec(set + " WHERE id = $5 AND state = 'queued' RETURNING lease_token", values + [job])
        }
        guard let token = rows.first?[0].flatMap({ Int64($0) }) else { return nil }
        // The files are in the spool now, no longer in the inbox: their claim keys may go.
        try db.exec("DELETE FROM wand_claims WHERE job_id = $1", [id])
        return Lease(jobID: id, token: token)
    }

    public func markFiled(_ lease: Lease, state: Journal.State, error: String) throws {
        try db.exec("UPDATE wand_jobs SET filed = true, report = NULL, lease_expires = NULL WHERE id = $1 AND lease_token = $2",
                    [lease.jobID, lease.token])
    }

    // MARK: recovery and hosts

    public func takeOverStale(includeOwn: Bool) throws -> [StaleJob] {
        let taken = try db.exec("""
            WITH stale AS (
              SELECT id, host AS old_host FROM wand_jobs
              WHERE (state IN ('claiming', 'running') OR (state IN ('failed', 'cancelled', 'duplicate') AND NOT filed))
                AND ((host = $1 AND $2::boolean) OR lease_expires < now())
              FOR UPDATE SKIP LOCKED)
            UPDATE wand_jobs j SET host = $1, lease_token = nextval('wand_lease_token'), lease_expires = \(Self.leaseEnd)
            FROM stale WHERE j.id = stale.id
            RETURNING \(Self.prefixedColumns), j.lease_token, j.report, stale.old_host
            """, [hostName, includeOwn])
        return try taken.values.map { v in
            let row = Self.parse(v)
            var paths: [String: String] = [:]
            for p in try db.exec("SELECT path FROM wand_claims WHERE job_id = $1", [row.id]).values.compactMap({ $0[0] }) {
                paths[URL(fileURLWithPath: p).lastPathComponent] = p
            }
            let report = v[15].flatMap { try? JSONDecoder().decode(FailureReport.self, from: Data($0.utf8)) }
            let previous = v[16] == hostName ? nil : v[16]
            return StaleJob(row: row, lease: Lease(jobID: row.id, token: Int64(v[14] ?? "") ?? 0), originalPaths: paths,
                            report: report, previousHost: previous)
        }
    }

    public func requestCancel(_ id: String) throws -> String? {
        try db.exec("UPDATE wand_jobs SET cancel_requested = true WHERE id = $1 AND state = 'running' RETURNING host", [id]).first?[0]
    }

    public func hosts() throws -> [HostStatus] {
        try db.exec("""
            SELECT name, extract(epoch from last_seen)::double precision,
              last_seen > now() - make_interval(secs => current_setting('wand.lease_seconds')::double precision)
            FROM wand_hosts ORDER BY name
            """).values.map { HostStatus(name: $0[0] ?? "", lastSeen: Double($0[1] ?? "") ?? 0, alive: $0[2] == "t") }
    }

    /// A host unseen this long leaves `wand status` (a machine retired or renamed); its jobs stay.
    public static let hostRetention = "7 days"

    public func touchHost() throws {
        try beat.exec("""
            INSERT INTO wand_hosts (name, pid, started, last_seen) VALUES ($1, $2, now(), now())
            ON CONFLICT (name) DO UPDATE SET last_seen = now(), pid = excluded.pid
            """, [hostName, Int(getpid())])
        try beat.exec("DELETE FROM wand_hosts WHERE last_seen < now() - interval '\(Self.hostRetention)'")
    }
}
