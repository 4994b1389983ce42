// Where the CLI finds the daemon's control socket. Deliberately a line scan of two top-level
// keys rather than the full config parser: `wand status` must work even when the config has an
// error the daemon is about to report, and it keeps the CLI independent of config schema changes.
import Foundation
import WandEngine

public enum ControlSocketPath {
    public static let defaultPath = "/var/lib/wand/control.sock"

    /// `--socket` wins, then the config's `control_socket:`, then `state_dir:` + "/control.sock", then the default.
    public static func resolve(socket: String?, configPath: String?) throws -> String {
        if let socket { return socket }
        guard let configPath else { return defaultPath }
        let text: String
        do {
            text = try String(contentsOfFile: configPath, encoding: .utf8)
        } catch {
            throw ControlProtocolError.socket(operation: "read config", path: configPath, errno: errno == 0 ? ENOENT : errno)
        }
        return resolve(configText: text, configPath: configPath)
    }

    public static func resolve(configText: String, configPath: String) -> String {
        let folder = URL(fileURLWithPath: configPath).deletingLastPathComponent().path
        let keys = topLevelScalars(configText, keys: ["control_socket", "state_dir"])
        if let socket = keys["control_socket"] { return absolute(socket, against: folder) }
        if let state = keys["state_dir"] { return absolute(state, against: folder) + "/control.sock" }
        return defaultPath
    }

    /// Values of top-level `key: value` lines (no indentation), comments and quotes removed.
    static func topLevelScalars(_ text: String, keys: Set<String>) -> [String: String] {
        var found: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            guard let first = rawLine.first, first != " ", first != "\t", first != "#" else { continue }
            guard let colon = rawLine.firstIndex(of: ":") else { continue }
            let key = rawLine[..<colon].trimmingCharacters(in: .whitespaces)
            guard keys.contains(key), found[key] == nil else { continue }
            var value = rawLine[rawLine.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if let quote = value.first, quote == "\"" || quote == "'" {
                let body = value.dropFirst()
                value = body.firstIndex(of: quote).map { String(body[..<$0]) } ?? String(body)
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            } else if value.hasPrefix("#") {
                value = ""
            }
            if !value.isEmpty { found[key] = value }
        }
        return found
    }

    static func absolute(_ path: String, against folder: String) -> String {
        var resolved = path.hasPrefix("/") ? path : folder + "/" + path
        while resolved.count > 1 && resolved.hasSuffix("/") { resolved.removeLast() }
        return URL(fileURLWithPath: resolved).standardizedFileURL.path
    }
}

/// Human-readable rendering of control responses for the CLI.
public enum ControlOutput {
    /// `queued: 3  running: beach-cat (denoising 12/40, 4:07 left)  paused: no`
    public static func statusLine(_ status: ControlStatus) -> String {
        var running = "none"
        if status.runningJobID != nil || status.runningJobName != nil {
            running = status.runningJobName ?? status.runningJobID ?? "?"
            var detail: [String] = []
            if let stage = status.runningStage { detail.append(stage) }
            if let step = status.runningStep, let total = status.runningTotal, total > 0 { detail.append("\(step)/\(total)") }
            if !detail.isEmpty { running += " (\(detail.joined(separator: " "))" }
            if let left = status.runningSecondsLeft { running += ", \(StepPace.clock(left)) left" }
            if !detail.isEmpty { running += ")" }
        }
        let host = status.host.map { "host: \($0)  " } ?? ""
        return host + "queued: \(status.queueLength)  running: \(running)  paused: \(status.paused ? "yes" : "no")"
    }

    /// The daemons on a shared queue, one line each.
    public static func hostTable(_ hosts: [ControlHost]) -> String {
        let rows = [["HOST", "SEEN", "RUNNING"]] + hosts.map { h in
            [h.name, h.alive ? h.lastSeen : "\(h.lastSeen) (lease run out)", h.runningJobName.map { "\($0) (\(h.runningJobID ?? "?"))" } ?? "-"]
        }
        return table(rows)
    }

    /// The jobs, with a HOST column when the queue is shared.
    public static func jobTable(_ jobs: [ControlJob]) -> String {
        guard !jobs.isEmpty else { return "no jobs" }
        let shared = jobs.contains { $0.host != nil }
        let header = ["ID", "NAME", "STATE", "ATTEMPTS", "PRIORITY"] + (shared ? ["HOST"] : [])
        let rows = [header] + jobs.map { job -> [String] in
            let state = job.retryAt.map { "\(job.state) (retry at \($0))" } ?? job.state
            return [job.id, job.name, state, "\(job.attempts)", "\(job.priority)"] + (shared ? [job.host ?? "-"] : [])
        }
        return table(rows)
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Everything the response carries, in a stable order; the error line is for stderr.
    public static func render(_ response: ControlResponse) -> (stdout: [String], stderr: [String]) {
        var out: [String] = []
        var err: [String] = []
        if let status = response.status {
            out.append(statusLine(status))
            if let hosts = status.hosts, !hosts.isEmpty { out.append(hostTable(hosts)) }
        }
        if let jobs = response.jobs { out.append(jobTable(jobs)) }
        if let message = response.message { out.append(message) }
        if response.ok, out.isEmpty { out.append("ok") }
        if let error = response.error { err.append("error: \(error)") }
        for error in response.errors ?? [] { err.append("  \(error)") }
        return (out, err)
    }
}
