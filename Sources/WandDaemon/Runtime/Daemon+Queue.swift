import Foundation

/// The daemon's steps that move a job's files, in the order `JobJournal` documents: claim
/// rollback, fenced publication, failure filing, and the recovery of jobs a daemon left behind
/// (this one before a restart, or, with a shared journal, any host whose lease ran out).
extension Daemon {
    static func openJournal(_ config: DaemonConfig) throws -> any JobJournal {
        switch config.queue.backend {
        case .sqlite: return try Journal(path: config.journalPath)
        case .postgres:
            guard let url = config.queue.url else { throw JournalError(path: config.sourcePath, message: "queue.url is missing") }
            return try PostgresJournal(url: url, host: config.queue.host, lease: config.queue.lease)
        }
    }

    var isShared: Bool { journal.host != nil }

    /// With a shared journal job ids carry the host name, so ids (and staging folders) made at the
    /// same second on two hosts cannot collide.
    func newJobID() -> String {
        guard let host = journal.host else { return Self.newJobID() }
        let id = Self.newJobID()
        let cut = id.index(id.startIndex, offsetBy: 15)  // yyyyMMdd-HHmmss
        return id[..<cut] + "-" + host + id[cut...]
    }

    func stagingName(_ id: String, _ lease: Lease) -> String { lease.token == 0 ? id : "\(id)-t\(lease.token)" }

    // MARK: - the heartbeat and the janitor

    func startHeartbeat() {
        guard isShared, heartbeat == nil else { return }
        let beat = LeaseHeartbeat(journal: journal, interval: config.queue.heartbeat) { [weak self] lease, check in
            guard let self else { return }
            Task { await self.leaseChanged(lease, check) }
        }
        beat.start()
        heartbeat = beat
    }

    func leaseChanged(_ lease: Lease, _ check: LeaseCheck) {
        guard let current = running, current.id == lease.jobID else { return }
        switch check {
        case .lost:
            lostLeases.insert(lease.jobID)
            log("\(current.name): the lease on \(lease.jobID) ran out (was this daemon stopped?); stopping the job, another host runs it", .warning, id: lease.jobID, name: current.name)
        case .cancelRequested:
            guard !cancelRequested.contains(lease.jobID) else { return }
            cancelRequested.insert(lease.jobID)
            log("\(current.name): cancel requested from another host", .info, id: lease.jobID, name: current.name)
        case .held: return
        }
        cancelFlag.set(lease.jobID)
    }

    /// Every heartbeat: re-queue the jobs of hosts that stopped renewing their leases, put back
    /// drops whose claim was abandoned, and finish failures nobody filed.
    func sweepSharedQueue() {
        guard isShared, Date() >= nextSweep else { return }
        nextSweep = Date().addingTimeInterval(config.queue.heartbeat)
        do {
            for stale in try journal.takeOverStale(includeOwn: false) { recoverStale(stale) }
        } catch {
            warnQueue("cannot check the shared queue for stale jobs: \(error)")
        }
    }

    /// A journal that cannot be reached is reported once a minute, not at every tick.
    func warnQueue(_ message: String) {
        guard Date().timeIntervalSince(lastQueueWarning) >= 60 else { return }
        lastQueueWarning = Date()
        log(message, .warning)
    }

    // MARK: - recovery

    /// After a crash: rows still claiming give their files back to the inbox; running jobs are
    /// re-queued (bounded by max_attempts, then quarantined to failed/); a failure decided but not
    /// filed is filed. A shared journal hands over only this host's rows and expired ones.
    func recover() throws {
        for stale in try journal.takeOverStale(includeOwn: true) { recoverStale(stale) }
    }

    func recoverStale(_ stale: StaleJob) {
        let row = stale.row
        let whose = stale.previousHost.map { " (host \($0) stopped renewing its lease)" } ?? ""
        do {
            switch row.state {
            case .claiming:
                rollBackClaim(spool: row.spoolDir, lease: stale.lease, originalPaths: stale.originalPaths)
                log("\(row.name): a claim interrupted\(whose) was put back into the inbox", .info, job: row)
            case .running:
                if row.attempts >= config.maxAttempts {
                    try failJob(row, lease: stale.lease, stage: "quarantine", message: "the job was interrupted \(row.attempts) times (the daemon crashed or was killed while it ran); it is quarantined so it cannot stop the queue")
                    log("\(row.name): quarantined after \(row.attempts) attempts", .warning, job: row)
                } else {
                    let delay = RetryPolicy.delay(afterAttempts: row.attempts, backoff: config.retryBackoff)
                    let why = stale.previousHost == nil ? "interrupted (the daemon stopped while the job ran)" : "interrupted\(whose)"
                    _ = try journal.requeue(stale.lease, notBefore: Date().timeIntervalSince1970 + delay, error: why)
                    log("\(row.name): re-queued after an interrupted run\(whose); attempt \(row.attempts + 1) of \(config.maxAttempts) in \(Self.seconds(delay))", .info, job: row)
                }
            default:
                if let report = stale.report {
                    try fileFailure(row, lease: stale.lease, state: row.state, report: report)
                    log("\(row.name): finished filing its failure\(whose)", .info, job: row)
                }
            }
        } catch {
            log("\(row.name): could not recover: \(error)", .error, job: row)
        }
    }

    /// A claim that did not complete: its files go back where they lay in the inbox (never over a
    /// file that arrived since), and the scanners look at them afresh.
    func rollBackClaim(spool: String, lease: Lease, originalPaths: [String: String]) {
        let inputs = spool + "/inputs"
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: inputs)) ?? []).sorted() {
            guard let back = originalPaths[name].map({ URL(fileURLWithPath: $0).deletingLastPathComponent().path }) ?? config.inboxes.first?.path.path else { continue }
            if let path = try? moveNoReplace(inputs + "/" + name, toFolder: back) { scanners.forEach { $0.forget(path) } }
        }
        try? FileManager.default.removeItem(atPath: spool)
        try? journal.abandonClaim(lease)
    }

    // MARK: - publication

    /// Publishes one part's staged files if this host still holds the job: the fencing token is
    /// checked (and the decision recorded) under the row lock first; refused, the staged files are
    /// discarded and nothing reaches the outbox. Once recorded, a stall or a crash between the
    /// check and the links is finished by the job's next run (`completePublication`), and the
    /// links are idempotent, so the part appears exactly once.
    func publishPart(_ outbox: OutboxWriter, staging: String, base: String, suffixes: [String], lease: Lease, part: Int) throws -> [String] {
        guard try journal.beginPublication(lease, part: part, staging: staging, base: base, suffixes: suffixes) else {
            try? FileManager.default.removeItem(atPath: staging)
            throw LeaseLostError(jobID: lease.jobID)
        }
        let paths = try outbox.publish(staging: staging, base: base, suffixes: suffixes)
        try journal.finishPublication(jobID: lease.jobID, part: part, outputs: paths)
        return paths
    }

    /// A part an earlier run of the job decided to publish: finished from its staging folder.
    func completePublication(_ publication: Publication, jobID: String) throws -> [String] {
        if publication.done { return publication.outputs }
        let outbox = OutboxWriter(root: config.outbox.path, folderPerJob: config.layout == .folderPerJob)
        let paths = try outbox.publish(staging: publication.staging, base: publication.base, suffixes: publication.suffixes)
        try journal.finishPublication(jobID: jobID, part: publication.part, outputs: paths)
        return paths
    }

    /// Staging folders of this job's earlier runs that nothing will publish (a run killed while it
    /// encoded): removed before the job runs again.
    func sweepStaging(of id: String, keeping: [Publication]) {
        let root = OutboxWriter(root: config.outbox.path, folderPerJob: false).stagingRoot
        let keep = Set(keeping.map { URL(fileURLWithPath: $0.staging).lastPathComponent })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where name.hasPrefix(id + "-") && !keep.contains(name) {
            try? FileManager.default.removeItem(atPath: root + "/" + name)
        }
    }

    // MARK: - failures

    /// Fails a job: the outcome is recorded first (fenced by `lease`; without one the job must
    /// still be queued), then its inputs and error files go to failed/.
    func failJob(_ row: Journal.Row, lease: Lease?, stage: String, message: String, location: SourceLocation? = nil,
                 errors: [String] = [], state: Journal.State = .failed) throws {
        let report = FailureReport(stage: stage, message: message, location: location, errors: errors)
        guard let filing = try journal.decideFailure(lease.map { .lease($0) } ?? .queued(row.id), state: state, report: report) else {
            throw LeaseLostError(jobID: row.id)
        }
        try fileFailure(row, lease: filing, state: state, report: report)
    }

    /// The files of a decided failure into failed/; safe to run again after a crash midway.
    func fileFailure(_ row: Journal.Row, lease: Lease, state: Journal.State, report: FailureReport) throws {
        let jobs = try? JSONDecoder().decode([JobSpec].self, from: Data(contentsOf: URL(fileURLWithPath: row.spoolDir + "/jobs.json")))
        let inputsDir = row.spoolDir + "/inputs"
        let inputs = ((try? FileManager.default.contentsOfDirectory(atPath: inputsDir)) ?? []).sorted().map { inputsDir + "/" + $0 }
        let moved = try FailedWriter(root: config.failed.path).record(name: row.name, inputs: inputs, stage: report.stage, message: report.message,
                                                                  location: report.location, errors: report.errors, staging: row.spoolDir + "/report")
        // Remembered so that `wand retry ID` can put them back into an inbox (with those an
        // interrupted filing already moved).
        let record = failedInputsRecord(row.id)
        let earlier = FileManager.default.contents(atPath: record).flatMap { try? JSONDecoder().decode([String].self, from: $0) } ?? []
        try? FileManager.default.createDirectory(atPath: URL(fileURLWithPath: record).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try? JSONEncoder().encode(earlier + moved.filter { !earlier.contains($0) }).write(to: URL(fileURLWithPath: record))
        let error = report.errors.first ?? report.message
        try journal.markFiled(lease, state: state, error: error)
        if state == .failed { notify(.failed, row, jobs: jobs, error: error, stage: report.stage) }
        try? FileManager.default.removeItem(atPath: row.spoolDir)
    }
}
