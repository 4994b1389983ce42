import Foundation

/// The tables of the shared journal. All hosts create them on start (under one transaction-scoped
/// advisory lock, so that three daemons starting together do not race on CREATE ... IF NOT EXISTS).
///
/// * `wand_jobs`: one row per job, as in the SQLite journal, plus the holder: `host`,
///   `lease_token` (the fencing token, from one sequence, so it only grows) and `lease_expires`
///   (server clock: hosts' clocks never decide a lease), `cancel_requested` (`wand cancel` from
///   another host), and for a failure decided but not yet moved into failed/ `filed = false` with
///   its `report`.
/// * `wand_claims`: one row per inbox file being claimed, keyed by path + size + mtime; the unique
///   key is what lets exactly one host take a drop. Deleted once the files are in the spool.
/// * `wand_publications`: a part of a job decided for publication (staging folder, names), until
///   the job is done; the next run of the job finishes one that is not `done`.
/// * `wand_hosts`: the daemons and when each last renewed (for `wand status`).
enum PostgresSchema {
    static let version = 1
    /// Any constant: the advisory lock key that serialises schema creation.
    static let creationLock: Int64 = 0x5741_4E44_0001

    static let statements = [
        "CREATE TABLE IF NOT EXISTS wand_meta (key text PRIMARY KEY, value text NOT NULL)",
        "CREATE SEQUENCE IF NOT EXISTS wand_job_seq",
        "CREATE SEQUENCE IF NOT EXISTS wand_lease_token",
        """
        CREATE TABLE IF NOT EXISTS wand_jobs (
          id text PRIMARY KEY, name text NOT NULL, state text NOT NULL, attempts integer NOT NULL DEFAULT 0,
          priority integer NOT NULL DEFAULT 0, seq bigint NOT NULL DEFAULT nextval('wand_job_seq'),
          spool_dir text NOT NULL, input_hash text NOT NULL, error text,
          created double precision NOT NULL, started double precision, finished double precision,
          not_before double precision, host text, lease_token bigint NOT NULL DEFAULT 0,
          lease_expires timestamptz, cancel_requested boolean NOT NULL DEFAULT false,
          filed boolean NOT NULL DEFAULT true, report text)
        """,
        "CREATE INDEX IF NOT EXISTS wand_jobs_state ON wand_jobs (state, priority DESC, seq)",
        "CREATE INDEX IF NOT EXISTS wand_jobs_hash ON wand_jobs (input_hash)",
        "CREATE TABLE IF NOT EXISTS wand_claims (path_key text PRIMARY KEY, job_id text NOT NULL, path text NOT NULL)",
        "CREATE INDEX IF NOT EXISTS wand_claims_job ON wand_claims (job_id)",
        """
        CREATE TABLE IF NOT EXISTS wand_publications (
          job_id text NOT NULL, part integer NOT NULL, token bigint NOT NULL, staging text NOT NULL,
          base text NOT NULL, suffixes text NOT NULL, done boolean NOT NULL DEFAULT false, outputs text,
          PRIMARY KEY (job_id, part))
        """,
        "CREATE TABLE IF NOT EXISTS wand_hosts (name text PRIMARY KEY, pid integer, started timestamptz, last_seen timestamptz NOT NULL)",
    ]

    static func create(on db: PGConnection) throws {
        try db.transaction {
            try db.exec("SELECT pg_advisory_xact_lock($1)", [creationLock])
            try db.exec(statements[0])
            try db.exec("INSERT INTO wand_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING", [String(version)])
            let found = Int(try db.exec("SELECT value FROM wand_meta WHERE key = 'schema_version'").first?[0] ?? "") ?? 0
            if found > version {
                throw JournalError(path: db.displayURL, message: "the shared journal has schema version \(found); this Wand reads up to \(version) (was it written by a newer Wand?)")
            }
            for sql in statements.dropFirst() { try db.exec(sql) }
        }
    }
}
