// `wand status|queue|cancel|retry|pause|resume|reload`: thin clients of the daemon's control socket.
import ArgumentParser
import Foundation
import WandDaemon

struct ControlOptions: ParsableArguments {
    @Option(name: .long, help: "Path of the daemon's control socket (default: from --config, else \(ControlSocketPath.defaultPath)).")
    var socket: String?

    @Option(name: .long, help: "The daemon's config file; its control_socket or state_dir locates the socket.")
    var config: String?

    @Flag(name: .long, help: "Print the daemon's raw JSON response.")
    var json = false

    /// Sends one request, prints the answer, and exits 1 when the daemon refused it or was unreachable.
    func run(_ request: ControlRequest) throws {
        let path: String
        do {
            path = try ControlSocketPath.resolve(socket: socket, configPath: config)
        } catch {
            printError("cannot locate the Wand control socket: \(error)")
            throw ExitCode(1)
        }
        let client = ControlClient(path: path)
        let response: ControlResponse
        do {
            if json {
                let line = try client.sendRaw(ControlWire.encodeLine(request))
                print(String(decoding: line, as: UTF8.self))
                response = try JSONDecoder().decode(ControlResponse.self, from: line)
                if !response.ok { throw ExitCode(1) }
                return
            }
            response = try client.send(request)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("cannot reach the Wand daemon at \(path): \(error)")
            throw ExitCode(1)
        }
        let rendered = ControlOutput.render(response)
        rendered.stdout.forEach { print($0) }
        rendered.stderr.forEach(printError)
        if !response.ok { throw ExitCode(1) }
    }

    private func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the queue length, the running job and whether the daemon is paused.")
    @OptionGroup var options: ControlOptions
    func run() throws { try options.run(ControlRequest(cmd: .status)) }
}

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "List the jobs the daemon knows about.")
    @OptionGroup var options: ControlOptions
    func run() throws { try options.run(ControlRequest(cmd: .queue)) }
}

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued or running job.")
    @Argument(help: "The job's id (see `wand queue`).") var id: String
    @OptionGroup var options: ControlOptions
    func run() throws { try options.run(ControlRequest(cmd: .cancel, id: id)) }
}

struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Queue a failed job again.")
    @Argument(help: "The job's id (see `wand queue`).") var id: String
    @OptionGroup var options: ControlOptions
    func run() throws { try options.run(ControlRequest(cmd: .retry, id: id)) }
}

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop starting new jobs (the running one finishes).")
    @OptionGroup var options: ControlOptions
    func run() throws { try options.run(ControlRequest(cmd: .pause)) }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Start jobs again after `wand pause`.")
    @OptionGroup var options: ControlOptions
    func run() throws { try options.run(ControlRequest(cmd: .resume)) }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Re-read the daemon's config file; prints its errors if the new config is refused.")
    @OptionGroup var options: ControlOptions
    func run() throws { try options.run(ControlRequest(cmd: .reload)) }
}
