import ArgumentParser
import Foundation
import WandDaemon

/// `wand validate FILE...` checks job files; `wand validate --config FILE` checks a config.
/// Prints every diagnostic compiler-style on stdout; exits 0 when all are valid, 1 otherwise.
/// It never runs a job.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check job files (or a config) and print every error, compiler-style.")

    @Option(name: .long, help: "Check this config file; with job files, also validate them against it.")
    var config: String?

    @Argument(help: "Job files (.yaml/.yml) to check.")
    var files: [String] = []

    func run() throws {
        var failed = false
        var daemonConfig = DaemonConfig.standard
        if let config {
            do {
                daemonConfig = try ConfigLoader.load(config)
            } catch {
                error.diagnostics.forEach { print($0) }
                failed = true
            }
        } else if files.isEmpty {
            throw ValidationError("give job files to check, or --config FILE")
        }
        for file in files {
            let absolute = URL(fileURLWithPath: file).standardizedFileURL
            do {
                _ = try JobFileParser.parse(fileAt: file, inbox: daemonConfig.inbox(containing: absolute),
                                            config: daemonConfig)
            } catch {
                error.diagnostics.forEach { print($0) }
                if error.diagnostics.contains(where: { $0.severity == .error }) { failed = true }
            }
        }
        if failed { throw ExitCode(1) }
    }
}
