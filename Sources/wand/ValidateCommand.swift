import ArgumentParser
import Foundation
import WandDaemon

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check job files (and/or a config) and print every error, compiler-style. Never runs a job.")

    @Option(name: .long, help: "The daemon config to check jobs against (default: /etc/wand/wand.yaml if it exists, else built-in defaults). Given alone, the config itself is checked.")
    var config: String?

    @Argument(help: "Job files (.yaml) to check.")
    var files: [String] = []

    func run() throws {
        var failed = false
        let cfg: DaemonConfig
        if let path = config {
            do { cfg = try ConfigLoader.load(path) } catch {
                print(error.description)
                throw ExitCode(1)
            }
            if files.isEmpty { print("\(path): ok"); return }
        } else if FileManager.default.fileExists(atPath: "/etc/wand/wand.yaml"), let c = try? ConfigLoader.load("/etc/wand/wand.yaml") {
            cfg = c
        } else {
            cfg = BuiltInConfig.config()
        }
        guard !files.isEmpty else { throw ValidationError("give job files to check, or --config FILE") }
        for file in files {
            do {
                let jobs = try JobFileParser.parse(fileAt: file, inbox: nil, config: cfg)
                print("\(file): ok (\(jobs.count) job\(jobs.count == 1 ? "" : "s"))")
            } catch {
                print(error.description)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
