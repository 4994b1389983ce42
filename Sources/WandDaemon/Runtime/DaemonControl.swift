import Foundation

/// The control socket's commands (`wand status`, `queue`, `cancel`, `retry`, `pause`, `resume`,
/// `reload`) on the running daemon.
extension Daemon: ControlHandler {
    public func handle(_ request: ControlRequest) async -> ControlResponse {
        do {
            switch request.cmd {
            case .status:
                return ControlResponse(ok: true, status: controlStatus())
            case .queue:
                let rows = try journal.rows([.claiming, .queued, .running])
                return ControlResponse(ok: true, jobs: rows.map {
                    ControlJob(id: $0.id, name: $0.name, state: $0.state.rawValue, attempts: $0.attempts, priority: $0.priority,
                               retryAt: $0.state == .queued ? $0.notBefore.map(rfc3339) : nil, host: isShared ? ($0.host ?? "-") : nil)
                })
            case .cancel:
                guard let id = request.id else { return .failure("cancel needs a job id") }
                guard try cancel(id) else { return .failure("no queued or running job \(id)") }
                if running?.id != id, let host = try journal.row(id)?.host, host != journal.host {
                    return ControlResponse(ok: true, message: "asked host \(host) to cancel \(id)")
                }
                return ControlResponse(ok: true, message: "cancelled \(id)")
            case .retry:
                guard let id = request.id else { return .failure("retry needs a job id") }
                return try retry(id)
            case .pause:
                pause()
                return ControlResponse(ok: true, message: "paused: the running job finishes, no new job starts")
            case .resume:
                resume()
                return ControlResponse(ok: true, message: "resumed")
            case .reload:
                if let errors = reload() {
                    return ControlResponse(ok: false, error: "the new configuration was refused; the running one stays",
                                           errors: errors.diagnostics.map(\.description))
                }
                return ControlResponse(ok: true, message: "configuration reloaded")
            }
        } catch {
            return .failure("\(error)")
        }
    }

    func controlStatus() -> ControlStatus {
        let queued = (try? journal.rows([.queued]).count) ?? 0
        var hosts: [ControlHost]?
        if isShared {
            let runningRows = (try? journal.rows([.running])) ?? []
            hosts = ((try? journal.hosts()) ?? []).map { h in
                let job = runningRows.first { $0.host == h.name }
                return ControlHost(name: h.name, lastSeen: rfc3339(h.lastSeen), alive: h.alive, runningJobID: job?.id, runningJobName: job?.name)
            }
        }
        return ControlStatus(queueLength: queued, runningJobID: running?.id, runningJobName: running?.name,
                             runningStage: running?.progress.stage.rawValue,
                             runningStep: running.map { $0.progress.step }, runningTotal: running.map { $0.progress.totalSteps },
                             runningSecondsLeft: running == nil ? nil : runningPace.secondsLeft,
                             paused: paused, host: journal.host, hosts: hosts)
    }

    /// A failed or cancelled job's inputs go back from failed/ into the first inbox, where they are
    /// claimed again as a new job.
    func retry(_ id: String) throws -> ControlResponse {
        guard let row = try journal.row(id) else { return .failure("no job \(id)") }
        guard [.failed, .cancelled, .duplicate].contains(row.state) else {
            return .failure("job \(id) is \(row.state.rawValue); only failed, cancelled or skipped jobs can be retried")
        }
        let record = failedInputsRecord(id)
        guard let data = FileManager.default.contents(atPath: record),
              let inputs = try? JSONDecoder().decode([String].self, from: data), let inbox = config.inboxes.first else {
            return .failure("the inputs of job \(id) are no longer recorded; drop them from failed/ into an inbox again")
        }
        var moved: [String] = []
        for input in inputs where FileManager.default.fileExists(atPath: input) {
            let target = uniquePath(inbox.path.path + "/" + URL(fileURLWithPath: input).lastPathComponent)
            try FileManager.default.moveItem(atPath: input, toPath: target)
            moved.append(URL(fileURLWithPath: target).lastPathComponent)
        }
        try? FileManager.default.removeItem(atPath: record)
        wake.signal()
        return moved.isEmpty ? .failure("the inputs of job \(id) are no longer in failed/")
                             : ControlResponse(ok: true, message: "re-dropped \(moved.joined(separator: ", ")) into \(inbox.path.path)")
    }

    /// Under state_dir on one machine; beside the shared spool with PostgreSQL, so any host can retry.
    func failedInputsRecord(_ id: String) -> String {
        (isShared ? config.spoolDir + "/.failed-inputs/" : config.stateDir.path + "/failed-inputs/") + id + ".json"
    }
}
