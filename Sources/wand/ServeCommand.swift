import ArgumentParser
import Dispatch
import Foundation
import WandDaemon
import WandEngine

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon in the foreground: watch the inboxes, run jobs, write the outbox.")

    @Option(name: .long, help: "The config file.")
    var config: String = "/etc/wand/wand.yaml"

    @Flag(name: .long, help: "Process what is in the inboxes, then exit 0 (batch runs, timers).")
    var exitWhenIdle = false

    func run() async throws {
        let cfg: DaemonConfig
        do { cfg = try ConfigLoader.load(config) } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        let device: ComputeDevice
        do { device = try EngineDeviceChoice.open(cfg.engine) } catch {
            FileHandle.standardError.write(Data("\(config): error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let note = device.note { Log.emit(.info, note, [:]) }
        Log.emit(.info, "engine: \(device.description)", [:])
        // The budget is a share of the device's memory on a GPU, of RAM on the CPU.
        let memory = device.memoryBytes.map(Double.init) ?? Double(ProcessInfo.processInfo.physicalMemory)
        // A model with LoRAs is cached under its folder + LoRA set, so that is what is pinned.
        let keepWarm = Set(cfg.engine.keepWarm.compactMap { name -> String? in
            guard let m = cfg.models[name] else { return nil }
            let loras = m.loras.map { LoRARequest(path: $0.path.path, strength: $0.strength, expert: $0.expert) }
            return (try? Engine.cacheKey(modelPath: m.path.path, loras: loras)) ?? m.path.path
        })
        let engine = Engine(memoryBudgetBytes: Int(memory * cfg.engine.memoryBudget), keepWarm: keepWarm,
                            threads: cfg.engine.threads, device: device,
                            loraPrecision: cfg.engine.loraMerge == .f32 ? .f32 : .stored)
        // Structured journald entries under systemd (JOB_ID, JOB_NAME on a job's lines),
        // timestamped lines on stderr otherwise.
        let daemon = try Daemon(config: cfg, generator: engine, log: { Log.emit($0) })

        // Signals arrive on a dispatch source rather than in a C handler. A source registers
        // asynchronously after resume(), and with SIG_IGN a signal that comes before it has
        // registered is lost, so wait for all of them before the daemon can say READY=1: a SIGHUP
        // right after READY was dropped on a loaded CI machine.
        var sources: [DispatchSourceSignal] = []
        let registered = DispatchGroup()
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                Task {
                    if sig == SIGHUP { _ = await daemon.reload() } else { await daemon.stop() }
                }
            }
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            source.resume()
            sources.append(source)
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            registered.notify(queue: .global()) { done.resume() }
        }
        // The control socket (`wand status`, ...); socket activation through wand.socket is used when present.
        let control = try ControlServer.start(path: cfg.stateDir.path + "/control.sock", handler: daemon)
        defer { control.stop() }
        try await daemon.run(exitWhenIdle: exitWhenIdle)
        sources.forEach { $0.cancel() }
    }
}
