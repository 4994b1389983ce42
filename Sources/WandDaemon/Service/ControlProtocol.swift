// The control socket speaks line-delimited JSON: one request object per line in,
// one response object per line out. Kept tiny so `socat` and shell scripts can drive it.
import Foundation

public enum ControlCommand: String, Codable, Sendable, CaseIterable {
    case status, queue, cancel, retry, pause, resume, reload
}

public struct ControlRequest: Codable, Sendable, Equatable {
    public var cmd: ControlCommand
    public var id: String?
    public init(cmd: ControlCommand, id: String? = nil) {
        self.cmd = cmd
        self.id = id
    }
}

public struct ControlStatus: Codable, Sendable, Equatable {
    public var queueLength: Int
    public var runningJobID: String?
    public var runningJobName: String?
    public var runningStage: String?
    public var runningStep: Int?
    public var runningTotal: Int?
    /// The running stage's time left, from its pace so far (StepPace); nil until two steps are in.
    public var runningSecondsLeft: Double?
    public var paused: Bool
    /// With a shared queue: this daemon's name and every daemon on the queue.
    public var host: String?
    public var hosts: [ControlHost]?
    public init(queueLength: Int, runningJobID: String? = nil, runningJobName: String? = nil,
                runningStage: String? = nil, runningStep: Int? = nil, runningTotal: Int? = nil,
                runningSecondsLeft: Double? = nil, paused: Bool, host: String? = nil, hosts: [ControlHost]? = nil) {
        self.queueLength = queueLength
        self.runningJobID = runningJobID
        self.runningJobName = runningJobName
        self.runningStage = runningStage
        self.runningStep = runningStep
        self.runningTotal = runningTotal
        self.runningSecondsLeft = runningSecondsLeft
        self.paused = paused
        self.host = host
        self.hosts = hosts
    }
    enum CodingKeys: String, CodingKey {
        case queueLength = "queue_length", runningJobID = "running_job_id", runningJobName = "running_job_name"
        case runningStage = "running_stage", runningStep = "running_step", runningTotal = "running_total"
        case runningSecondsLeft = "running_seconds_left", paused, host, hosts
    }
}

/// One daemon on a shared queue, as `wand status` lists it.
public struct ControlHost: Codable, Sendable, Equatable {
    public var name: String
    /// Its last lease renewal or heartbeat (RFC 3339 UTC).
    public var lastSeen: String
    /// Whether it renewed within its lease.
    public var alive: Bool
    public var runningJobID: String?
    public var runningJobName: String?
    public init(name: String, lastSeen: String, alive: Bool, runningJobID: String? = nil, runningJobName: String? = nil) {
        self.name = name; self.lastSeen = lastSeen; self.alive = alive
        self.runningJobID = runningJobID; self.runningJobName = runningJobName
    }
    enum CodingKeys: String, CodingKey {
        case name, alive
        case lastSeen = "last_seen", runningJobID = "running_job_id", runningJobName = "running_job_name"
    }
}

public struct ControlJob: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var state: String
    public var attempts: Int
    public var priority: Int
    /// A queued job in its retry backoff runs no earlier than this (RFC 3339 UTC).
    public var retryAt: String?
    /// With a shared queue, the host that runs (or is claiming) the job.
    public var host: String?
    public init(id: String, name: String, state: String, attempts: Int, priority: Int, retryAt: String? = nil, host: String? = nil) {
        self.id = id
        self.name = name
        self.state = state
        self.attempts = attempts
        self.priority = priority
        self.retryAt = retryAt
        self.host = host
    }
    enum CodingKeys: String, CodingKey {
        case id, name, state, attempts, priority, host
        case retryAt = "retry_at"
    }
}

public struct ControlResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    public var error: String?
    public var message: String?
    public var status: ControlStatus?
    public var jobs: [ControlJob]?
    public var errors: [String]?
    public init(ok: Bool, error: String? = nil, message: String? = nil, status: ControlStatus? = nil,
                jobs: [ControlJob]? = nil, errors: [String]? = nil) {
        self.ok = ok
        self.error = error
        self.message = message
        self.status = status
        self.jobs = jobs
        self.errors = errors
    }
    public static func failure(_ error: String) -> ControlResponse { ControlResponse(ok: false, error: error) }
}

/// What the daemon implements to answer the control socket.
public protocol ControlHandler: Sendable {
    func handle(_ request: ControlRequest) async -> ControlResponse
}

public enum ControlWire {
    /// Lines longer than this are refused and the connection closed: a client has no business sending more.
    public static let maxLineBytes = 64 * 1024

    public static func encodeLine<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }

    /// Parses one request line; a typed failure message when it is not a valid request.
    public static func decodeRequest(_ line: Data) -> Result<ControlRequest, ControlProtocolError> {
        do {
            let request = try JSONDecoder().decode(ControlRequest.self, from: line)
            if (request.cmd == .cancel || request.cmd == .retry), (request.id ?? "").isEmpty {
                return .failure(.missingID(request.cmd.rawValue))
            }
            return .success(request)
        } catch {
            return .failure(.malformedRequest(String(describing: error).prefix(300).description))
        }
    }
}

public enum ControlProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedRequest(String)
    case missingID(String)
    case lineTooLong(Int)
    case socket(operation: String, path: String, errno: Int32)
    case closedWithoutResponse(path: String)
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .malformedRequest(let why): return "malformed request: \(why)"
        case .missingID(let cmd): return "command \(cmd) needs an \"id\""
        case .lineTooLong(let limit): return "request line longer than \(limit) bytes"
        case .socket(let op, let path, let code): return "\(op) \(path): \(String(cString: strerror(code)))"
        case .closedWithoutResponse(let path): return "\(path) closed the connection without a response"
        case .malformedResponse(let why): return "malformed response: \(why)"
        }
    }
}
