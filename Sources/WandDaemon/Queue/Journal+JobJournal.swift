import Foundation

/// The one-machine journal behind the protocol: one daemon per state_dir is assumed (as it always
/// was; nothing enforces it), so there is nothing to fence; leases carry token 0 and every fenced
/// step succeeds. The order of steps and files is the one Wand has always had.
extension Journal: JobJournal {
    public var host: String? { nil }

    public func beginClaim(id: String, name: String, priority: Int, spoolDir: String, inputHash: String, files: [DropFile]) throws -> Lease? {
        _ = try insert(id: id, name: name, priority: priority, spoolDir: spoolDir, inputHash: inputHash)
        return Lease(jobID: id, token: 0)
    }

    public func finishClaim(_ lease: Lease) throws -> Bool {
        try setState(lease.jobID, .queued)
        return true
    }

    public func abandonClaim(_ lease: Lease) throws { try delete(lease.jobID) }

    public func claimNext(now: Double) throws -> (row: Journal.Row, lease: Lease)? {
        guard let next = try nextRunnable(now: now) else { return nil }
        try setState(next.id, .running)
        return (try row(next.id) ?? next, Lease(jobID: next.id, token: 0))
    }

    public func renew(_ lease: Lease) throws -> LeaseCheck { .held }

    public func beginPublication(_ lease: Lease, part: Int, staging: String, base: String, suffixes: [String]) throws -> Bool { true }
    public func finishPublication(jobID: String, part: Int, outputs: [String]) throws {}
    public func publications(of jobID: String) throws -> [Publication] { [] }

    public func markDone(_ lease: Lease) throws -> Bool {
        try setState(lease.jobID, .done)
        return true
    }

    public func requeue(_ lease: Lease, notBefore: Double?, error: String?) throws -> Bool {
        try requeue(lease.jobID, notBefore: notBefore, error: error)
        return true
    }

    public func release(_ lease: Lease) throws { try setState(lease.jobID, .queued) }

    /// The state is written after the files are in failed/ (`markFiled`), as it always was.
    public func decideFailure(_ fence: FailureFence, state: Journal.State, report: FailureReport) throws -> Lease? {
        switch fence {
        case .lease(let lease): return lease
        case .queued(let id): return try row(id)?.state == .queued ? Lease(jobID: id, token: 0) : nil
        }
    }

    public func markFiled(_ lease: Lease, state: Journal.State, error: String) throws {
        try setState(lease.jobID, state, error: error)
    }

    /// After a restart everything left claiming or running is this daemon's own.
    public func takeOverStale(includeOwn: Bool) throws -> [StaleJob] {
        guard includeOwn else { return [] }
        return try rows([.claiming]).map { StaleJob(row: $0, lease: Lease(jobID: $0.id, token: 0), originalPaths: [:]) }
            + rows([.running]).map { StaleJob(row: $0, lease: Lease(jobID: $0.id, token: 0), originalPaths: [:]) }
    }

    public func requestCancel(_ id: String) throws -> String? { nil }
    public func hosts() throws -> [HostStatus] { [] }
    public func touchHost() throws {}
}
