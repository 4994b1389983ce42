import Foundation

/// The durable queue the daemon runs on: SQLite under state_dir for one machine (`Journal`), or
/// PostgreSQL shared by several hosts (`PostgresJournal`). Every step that moves a job's files
/// (claim, publish, fail, re-queue, done) goes through here, so that with a shared journal a host
/// acts only on what it still holds.
///
/// The order of a step and its files, which the daemon follows for both backends:
/// * claim: `beginClaim` (the row, and with PostgreSQL a claim on each file: one host wins), the
///   renames into the spool, then `finishClaim` (false: the claim was taken back meanwhile).
/// * publish: stage and fsync, `beginPublication` (the fencing token checked under the row lock;
///   false: this host's lease is gone, the staged files are discarded), link into the outbox,
///   `finishPublication`.
/// * fail: `decideFailure` (the outcome is recorded, fenced), the files go to failed/, `markFiled`.
/// A decided publication or failure whose host died is finished by the next host (idempotent
/// file steps), so the window between the check and the rename loses nothing and doubles nothing.
public protocol JobJournal: AnyObject, Sendable {
    /// This daemon's name in a shared journal; nil for the one-machine SQLite journal.
    var host: String? { get }

    func rows(_ states: [Journal.State]?) throws -> [Journal.Row]
    func row(_ id: String) throws -> Journal.Row?
    /// A finished job with the same inputs, for the duplicate policy.
    func completed(withHash hash: String) throws -> Journal.Row?
    /// The earliest time a queued job in backoff becomes runnable, if any is waiting after `now`.
    func nextRetryTime(after now: Double) throws -> Double?

    /// A new row in state `claiming`, with a claim on each of `files`; nil when another host
    /// claimed one of them first.
    func beginClaim(id: String, name: String, priority: Int, spoolDir: String, inputHash: String, files: [DropFile]) throws -> Lease?
    /// claiming -> queued once the files are in the spool; false when the claim was taken back.
    func finishClaim(_ lease: Lease) throws -> Bool
    /// Forgets a claiming row whose files went back to the inbox.
    func abandonClaim(_ lease: Lease) throws

    /// The queued job to run next at `now` (highest priority, then oldest, none in its backoff),
    /// now `running` under a fresh lease.
    func claimNext(now: Double) throws -> (row: Journal.Row, lease: Lease)?
    /// Renews a running job's lease (the heartbeat); `.lost` once it ran out or was taken over.
    func renew(_ lease: Lease) throws -> LeaseCheck
    /// Records that part `part` of a job is to be published from `staging`, if `lease` still holds
    /// the job; false (nothing recorded) when it does not.
    func beginPublication(_ lease: Lease, part: Int, staging: String, base: String, suffixes: [String]) throws -> Bool
    func finishPublication(jobID: String, part: Int, outputs: [String]) throws
    /// The parts of a job already decided for publication (by any earlier run of it).
    func publications(of jobID: String) throws -> [Publication]
    /// running -> done; false when the lease no longer holds the job.
    func markDone(_ lease: Lease) throws -> Bool
    /// Back to the queue, not before `notBefore` (epoch seconds); false when the lease is gone.
    func requeue(_ lease: Lease, notBefore: Double?, error: String?) throws -> Bool
    /// Back to the queue at once, keeping its backoff and error (the daemon is stopping).
    func release(_ lease: Lease) throws

    /// Records a job's failure (or cancellation, or a skipped duplicate) before its files go to
    /// failed/; returns the lease the filing runs under, nil when the job is no longer ours (or,
    /// for `.queued`, no longer queued).
    func decideFailure(_ fence: FailureFence, state: Journal.State, report: FailureReport) throws -> Lease?
    /// The failure's files are in failed/.
    func markFiled(_ lease: Lease, state: Journal.State, error: String) throws

    /// Jobs to recover, each now leased to this host: with `includeOwn`, this host's own rows left
    /// by its previous run (claiming, running, or failed but not yet filed); always, any host's
    /// rows whose lease ran out. A live host's job with a valid lease is never among them.
    func takeOverStale(includeOwn: Bool) throws -> [StaleJob]
    /// Asks the host running `id` to cancel it; returns that host, nil if it is not running.
    func requestCancel(_ id: String) throws -> String?
    /// The daemons sharing this journal (empty for SQLite).
    func hosts() throws -> [HostStatus]
    /// Tells the journal this host is alive (the heartbeat, also when idle).
    func touchHost() throws
}

/// A daemon's hold on one job: the fencing token every later step on the job must present. The
/// token grows with each claim or takeover, so an old holder's token never matches again.
public struct Lease: Sendable, Hashable {
    public var jobID: String
    public var token: Int64
    public init(jobID: String, token: Int64) { self.jobID = jobID; self.token = token }
}

public enum LeaseCheck: Sendable, Equatable { case held, lost, cancelRequested }

public enum FailureFence: Sendable, Equatable {
    /// The job is claiming or running under this lease.
    case lease(Lease)
    /// The job is queued (a cancel): whoever holds no lease may fail it only while it waits.
    case queued(String)
}

/// What failed/NAME.error.* will say, kept in a shared journal until it is filed.
public struct FailureReport: Codable, Sendable, Equatable {
    public var stage: String
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var errors: [String]
    public init(stage: String, message: String, location: SourceLocation? = nil, errors: [String] = []) {
        self.stage = stage; self.message = message; self.errors = errors
        file = location?.file; line = location?.line; column = location?.column
    }
    var location: SourceLocation? { file.map { SourceLocation(file: $0, line: line ?? 1, column: column ?? 1) } }
}

/// A file of a drop as it lay in the inbox; the shared journal's claim is keyed on all three, so a
/// file replaced under the same name is a new drop.
public struct DropFile: Sendable, Hashable {
    public var path: String
    public var size: Int64
    public var mtime: Double
    public init(path: String, size: Int64, mtime: Double) { self.path = path; self.size = size; self.mtime = mtime }
    /// `SIZE:MTIME_NS:PATH`: the numbers first, so the path (which may hold anything) ends it.
    public var key: String { "\(size):\(Int64((mtime * 1e9).rounded())):\(path)" }

    /// The file as it lies now; nil when it is gone.
    public static func current(_ path: String) -> DropFile? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return DropFile(path: path, size: Int64(st.st_size), mtime: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) * 1e-9)
    }
}

public struct Publication: Sendable, Equatable {
    public var part: Int
    public var staging: String
    public var base: String
    public var suffixes: [String]
    public var done: Bool
    public var outputs: [String]
}

/// A job a daemon left behind, leased to the host recovering it.
public struct StaleJob: Sendable {
    public var row: Journal.Row
    public var lease: Lease
    /// Where each claimed file lay in the inbox, by file name (shared journal; empty for SQLite).
    public var originalPaths: [String: String]
    /// A failure decided but not yet filed.
    public var report: FailureReport?
    /// The host that held it, when it was not this one.
    public var previousHost: String?
}

public struct HostStatus: Sendable, Equatable {
    public var name: String
    public var lastSeen: Double
    public var alive: Bool
}

/// A step refused because this host no longer holds the job (its lease ran out and another host
/// took it over): the job goes on elsewhere, and this host leaves its files alone.
struct LeaseLostError: Error, CustomStringConvertible {
    var jobID: String
    var description: String { "the lease on job \(jobID) was lost (it ran out and another host may have taken the job over)" }
}
