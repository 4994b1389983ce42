import Foundation
#if canImport(FoundationNetworking)
// On Linux URLSession lives here and runs on libcurl (Debian's libcurl4), which also does https.
import FoundationNetworking
#endif

/// The JSON body POSTed to a webhook (`notify.webhooks` in the config). Keys that do not apply to
/// an event are left out (no `outputs` on `failed`, no `error` on `done`).
public struct WebhookPayload: Codable, Sendable, Equatable {
    public var event: NotifyEvent
    /// The job id (as in the journal, the sidecar and the watermark).
    public var job: String
    public var name: String
    public var mode: String?
    public var model: String?
    /// Which run this is (1 for the first; more after a crash or a retried failure).
    public var attempt: Int?
    /// Files published into the outbox (`done`).
    public var outputs: [String]?
    /// What went wrong (`failed`) and at which stage (`validation`, `generation`, `quarantine`, …).
    public var error: String?
    public var stage: String?
    /// RFC 3339 UTC times from the journal.
    public var queuedAt: String?
    public var startedAt: String?
    public var finishedAt: String?
    /// Seconds from start to finish of the last run.
    public var seconds: Double?
    public var wand: String

    public init(event: NotifyEvent, job: String, name: String, mode: String? = nil, model: String? = nil,
                attempt: Int? = nil, outputs: [String]? = nil, error: String? = nil, stage: String? = nil,
                queuedAt: String? = nil, startedAt: String? = nil, finishedAt: String? = nil,
                seconds: Double? = nil, wand: String = wandVersion) {
        self.event = event; self.job = job; self.name = name; self.mode = mode; self.model = model
        self.attempt = attempt; self.outputs = outputs; self.error = error; self.stage = stage
        self.queuedAt = queuedAt; self.startedAt = startedAt; self.finishedAt = finishedAt
        self.seconds = seconds; self.wand = wand
    }

    enum CodingKeys: String, CodingKey {
        case event, job, name, mode, model, attempt, outputs, error, stage, seconds, wand
        case queuedAt = "queued_at", startedAt = "started_at", finishedAt = "finished_at"
    }

    /// Fills the times and the attempt from the job's journal row.
    public mutating func take(_ row: Journal.Row) {
        queuedAt = rfc3339(row.created)
        startedAt = row.started.map(rfc3339)
        finishedAt = row.finished.map(rfc3339)
        if let s = row.started, let f = row.finished, f >= s { seconds = ((f - s) * 1000).rounded() / 1000 }
        if row.attempts > 0 { attempt = row.attempts }
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

func rfc3339(_ epochSeconds: Double) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date(timeIntervalSince1970: epochSeconds))
}

/// Delivers webhook POSTs off the job loop: each delivery is its own task with a short timeout and
/// a few retries with backoff; a failure is logged and never reaches the job.
public final class WebhookSender: @unchecked Sendable {
    public struct Policy: Sendable {
        /// Seconds a request may stay silent before it is abandoned.
        public var timeout: Double
        /// Tries per delivery (the first and the retries).
        public var attempts: Int
        /// Seconds before the first retry; doubled per retry.
        public var backoff: Double
        /// At shutdown, how long deliveries still under way are waited for.
        public var drainLimit: Double
        public init(timeout: Double = 5, attempts: Int = 3, backoff: Double = 1, drainLimit: Double = 10) {
            self.timeout = timeout; self.attempts = attempts; self.backoff = backoff; self.drainLimit = drainLimit
        }
    }

    public enum Outcome: Sendable, Equatable {
        case delivered(status: Int)
        /// Gave up: the last HTTP status, if any answer came, and why.
        case failed(status: Int?, reason: String)
    }

    public let policy: Policy
    let session: URLSession
    let log: @Sendable (LogEntry) -> Void
    private let lock = NSLock()
    private var inFlight: [UUID: Task<Outcome, Never>] = [:]

    public init(policy: Policy = Policy(), log: @escaping @Sendable (LogEntry) -> Void) {
        self.policy = policy
        self.log = log
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = policy.timeout
        configuration.timeoutIntervalForResource = policy.timeout * 2
        configuration.httpAdditionalHeaders = ["User-Agent": "wand/\(wandVersion)"]
        session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }

    /// Starts one delivery per webhook that asked for this event; returns at once.
    @discardableResult
    public func send(_ payload: WebhookPayload, to hooks: [Webhook]) -> [Task<Outcome, Never>] {
        let matching = hooks.filter { $0.events.contains(payload.event) }
        guard !matching.isEmpty else { return [] }
        let body: Data
        do { body = try payload.json() } catch {
            log(.job(.error, id: payload.job, name: payload.name, "\(payload.name): webhook payload could not be encoded: \(error)"))
            return []
        }
        return matching.map { hook in
            let key = UUID()
            let task = Task.detached { [self] () -> Outcome in
                let outcome = await deliver(body, to: hook.url)
                if case .failed(_, let reason) = outcome {
                    log(.job(.warning, id: payload.job, name: payload.name,
                             "\(payload.name): webhook failed to \(hook.url.absoluteString) (event \(payload.event.rawValue)): \(reason)"))
                }
                forget(key)
                return outcome
            }
            lock.withLock { inFlight[key] = task }
            return task
        }
    }

    private func forget(_ key: UUID) { _ = lock.withLock { inFlight.removeValue(forKey: key) } }

    public var pendingCount: Int { lock.withLock { inFlight.count } }

    /// Waits (at most `policy.drainLimit` seconds) for deliveries still under way, so that a daemon
    /// stopping right after a job (`--exit-when-idle`) still reports it.
    public func drain() async {
        let deadline = Date().addingTimeInterval(policy.drainLimit)
        while pendingCount > 0, Date() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// POSTs `body`, retrying network errors and 408/429/5xx answers with backoff.
    public func deliver(_ body: Data, to url: URL) async -> Outcome {
        var request = URLRequest(url: url, timeoutInterval: policy.timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        var last = Outcome.failed(status: nil, reason: "not tried")
        for attempt in 0..<max(1, policy.attempts) {
            if attempt > 0 {
                let wait = policy.backoff * pow(2, Double(attempt - 1))
                try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            }
            do {
                let (_, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) { return .delivered(status: status) }
                last = .failed(status: status, reason: "HTTP \(status)")
                if !(status == 408 || status == 429 || status >= 500) { return last }
            } catch {
                last = .failed(status: nil, reason: (error as NSError).localizedDescription)
            }
        }
        return last
    }
}
