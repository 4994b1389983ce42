import Foundation
import WandEngine
import WandMedia

/// Everything from a file landing in an inbox to files landing in the outbox (ARCHITECTURE.md,
/// "the way a drop travels"). One engine job runs at a time; scanning and claiming go on meanwhile.
public actor Daemon {
    public private(set) var config: DaemonConfig
    let journal: any JobJournal
    let generator: any VideoGenerator
    var scanners: [InboxScanner] = []
    var watcher: InotifyWatcher?
    let wake = WakeSignal()
    var running: (id: String, name: String, progress: GenerationProgress)?
    var runningTask: Task<Void, Never>?
    var cancelRequested: Set<String> = []
    /// Jobs whose lease ran out while they ran here (shared journal): stopped, their files left alone.
    var lostLeases: Set<String> = []
    /// The shared journal's lease renewals (nil on one machine).
    var heartbeat: LeaseHeartbeat?
    var nextSweep = Date.distantPast
    var lastQueueWarning = Date.distantPast
    var stopping = false
    var paused = false
    var lastProgress = Date()
    /// The running job's pace, for the time left in STATUS= and `wand status`.
    var runningPace = StepPace()
    /// Receives each log entry (`Log.emit` under `wand serve`; plain lines on stderr by default).
    let sink: @Sendable (LogEntry) -> Void
    /// `notify.webhooks` deliveries, off the job loop.
    let webhooks: WebhookSender

    public init(config: DaemonConfig, generator: any VideoGenerator,
                log: @escaping @Sendable (LogEntry) -> Void = { FileHandle.standardError.write(Data(("wand: " + $0.message + "\n").utf8)) },
                webhookPolicy: WebhookSender.Policy = WebhookSender.Policy()) throws {
        self.config = config
        self.generator = generator
        sink = log
        webhooks = WebhookSender(policy: webhookPolicy, log: log)
        for dir in [config.stateDir.path, config.spoolDir, config.outbox.path, config.failed.path] + config.inboxes.map(\.path.path) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        journal = try Self.openJournal(config)
    }

    // MARK: - the loop

    /// Runs until SIGTERM/SIGINT (or, with `exitWhenIdle`, until nothing is left to do).
    public func run(exitWhenIdle: Bool = false) async throws {
        try recover()
        startHeartbeat()
        startWatching()
        var firstScan = true
        while !stopping {
            sweepSharedQueue()
            scanInboxes()
            if firstScan { notifier.ready(); firstScan = false; log("ready; watching \(config.inboxes.map(\.path.path).joined(separator: ", "))", .info) }
            startNextJobIfIdle()
            notifier.status(statusLine())
            if watchdogHealthy() { notifier.watchdog() }
            if exitWhenIdle, running == nil, scanners.allSatisfy({ $0.pendingCount == 0 }),
               (try journal.rows([.queued, .claiming])).isEmpty { break }
            let pending = scanners.contains { $0.pendingCount > 0 }
            let pollInterval = scanners.contains { watchMode($0.inbox) == .poll } ? 1.0 : config.inboxes.map(\.rescan).min() ?? 300
            // Another host's drops become runnable here without any local event.
            var timeout = pending || running != nil ? 0.1 : min(pollInterval, isShared ? 1 : 5)
            // A job in its retry backoff becomes runnable without any event to wake us.
            let now = Date().timeIntervalSince1970
            if running == nil, let retry = try? journal.nextRetryTime(after: now) { timeout = max(0.01, min(timeout, retry - now)) }
            await wake.wait(timeout: timeout)
        }
        notifier.stopping()
        watcher?.stop()
        if let task = runningTask { await task.value }
        heartbeat?.stop()
        await webhooks.drain()
    }

    public func stop() { stopping = true; cancelFlag.setAll(); wake.signal() }
    public func pause() { paused = true }
    public func resume() { paused = false; wake.signal() }

    /// Cancels a queued job, or a running one between denoising steps (on another host: at its
    /// next lease renewal).
    public func cancel(_ id: String) throws -> Bool {
        if running?.id == id { cancelRequested.insert(id); cancelFlag.set(id); return true }
        guard let row = try journal.row(id) else { return false }
        if row.state == .running, isShared { return try journal.requestCancel(id) != nil }
        guard row.state == .queued else { return false }
        do {
            try failJob(row, lease: nil, stage: "cancelled", message: "cancelled by the operator", state: .cancelled)
        } catch is LeaseLostError {
            return false  // it started meanwhile (another host claimed it)
        }
        return true
    }

    /// Re-reads the config (SIGHUP / `wand reload`): a config with errors is refused and the running one stays.
    public func reload() -> ConfigErrors? {
        notifier.reloading()
        defer { notifier.ready() }
        do {
            let fresh = try ConfigLoader.load(config.sourcePath)
            config = fresh
            watcher?.stop()
            watcher = nil
            scanners = []
            startWatching()
            log("configuration reloaded from \(fresh.sourcePath)", .info)
            return nil
        } catch {
            log("configuration NOT reloaded, the running one stays:\n\(error)", .warning)
            return error
        }
    }

    func statusLine() -> String {
        let queuedRows = (try? journal.rows([.queued])) ?? []
        var s = "queued \(queuedRows.count)"
        let now = Date().timeIntervalSince1970
        let waiting = queuedRows.filter { ($0.notBefore ?? 0) > now }.count
        if waiting > 0 { s += " (\(waiting) waiting to retry)" }
        if let r = running {
            s += "; running \(r.name) (\(StepPace.describe(r.progress, runningPace)))"
        }
        if paused { s += "; paused" }
        return s
    }

    /// A job that has reported no progress for 15 minutes is wedged: stop the watchdog pings so
    /// systemd restarts the daemon (the job is re-queued on restart).
    func watchdogHealthy() -> Bool { running == nil || Date().timeIntervalSince(lastProgress) < 900 }

    func watchMode(_ inbox: InboxConfig) -> WatchMode {
        switch inbox.watch {
        case .auto: return isNetworkFilesystem(inbox.path.path).0 ? .poll : .inotify
        default: return inbox.watch
        }
    }

    func startWatching() {
        scanners = config.inboxes.map { InboxScanner(inbox: $0) }
        let inotifyPaths = config.inboxes.filter { watchMode($0) == .inotify }.map(\.path.path)
        for inbox in config.inboxes {
            let (network, fs) = isNetworkFilesystem(inbox.path.path)
            log("inbox \(inbox.path.path): \(watchMode(inbox) == .poll ? "polling" : "inotify") (filesystem \(fs)\(network ? ", network" : ""); watch: \(inbox.watch.rawValue))", .info)
        }
        if !inotifyPaths.isEmpty {
            let signal = wake
            watcher = InotifyWatcher(paths: inotifyPaths) { signal.signal() }
            if watcher == nil { log("inotify unavailable; polling every inbox instead", .warning) }
        }
    }

    // MARK: - running jobs

    func startNextJobIfIdle() {
        guard running == nil, !paused, !stopping else { return }
        let next: (row: Journal.Row, lease: Lease)?
        do { next = try journal.claimNext(now: Date().timeIntervalSince1970) } catch {
            warnQueue("cannot take the next job: \(error)")
            return
        }
        guard let (row, lease) = next else { return }
        running = (row.id, row.name, GenerationProgress(stage: .loading))
        runningPace = StepPace()
        lastProgress = Date()
        heartbeat?.hold(lease)
        runningTask = Task { await self.execute(row, lease: lease) }
    }

    func progressed(_ id: String, _ p: GenerationProgress) {
        guard running?.id == id else { return }
        running?.progress = p
        runningPace.update(p, now: ProcessInfo.processInfo.systemUptime)
        lastProgress = Date()
    }

    func isCancelled(_ id: String) -> Bool { stopping || cancelRequested.contains(id) }

    func execute(_ row: Journal.Row, lease: Lease) async {
        defer {
            heartbeat?.hold(nil)
            running = nil; runningTask = nil; cancelRequested.remove(row.id); lostLeases.remove(row.id); cancelFlag.clear(row.id); wake.signal()
        }
        var outputs: [String] = []
        do {
            let jobs = try JSONDecoder().decode([JobSpec].self, from: Data(contentsOf: URL(fileURLWithPath: row.spoolDir + "/jobs.json")))
            notify(.started, row, jobs: jobs)
            log("\(row.name): running \(row.id)", .info, job: row)
            // Parts an earlier run of this job already decided to publish are finished, not re-made.
            let decided = try journal.publications(of: row.id)
            if isShared { sweepStaging(of: row.id, keeping: decided) }
            for (index, job) in jobs.enumerated() {
                if let earlier = decided.first(where: { $0.part == index }) {
                    outputs += try completePublication(earlier, jobID: row.id)
                    continue
                }
                outputs += try await runOne(job, id: jobs.count > 1 ? "\(row.id)-\(index + 1)" : row.id, row: row, lease: lease, part: index)
            }
            guard try journal.markDone(lease) else { throw LeaseLostError(jobID: row.id) }
            notify(.done, row, jobs: jobs, outputs: outputs)
            try finishSources(row)
            log("\(row.name): done -> \(outputs.filter { $0.hasSuffix(".mp4") }.joined(separator: ", "))", .info, job: row)
        } catch let lost as LeaseLostError {
            log("\(row.name): \(lost); its files are left to the host that holds it now", .warning, job: row)
        } catch is CancelledError {
            if lostLeases.contains(row.id) {
                log("\(row.name): stopped: \(LeaseLostError(jobID: row.id))", .warning, job: row)
            } else if stopping {
                try? journal.release(lease)
                log("\(row.name): interrupted by shutdown; re-queued", .info, job: row)
            } else {
                try? failJob(row, lease: lease, stage: "cancelled", message: "cancelled by the operator", state: .cancelled)
                log("\(row.name): cancelled", .info, job: row)
            }
        } catch {
            let attempts = (try? journal.row(row.id))?.attempts ?? row.attempts + 1
            // Once a video of the job is in the outbox a re-run would make it twice: only a run
            // that published nothing is retried.
            if RetryPolicy.isTransient(error), attempts < config.maxAttempts, outputs.isEmpty {
                let delay = RetryPolicy.delay(afterAttempts: attempts, backoff: config.retryBackoff)
                do {
                    if try journal.requeue(lease, notBefore: Date().timeIntervalSince1970 + delay, error: "\(error)") {
                        log("\(row.name): attempt \(attempts) of \(config.maxAttempts) failed: \(error); retrying in \(Self.seconds(delay))", .warning, job: row)
                    } else {
                        log("\(row.name): attempt \(attempts) failed: \(error); \(LeaseLostError(jobID: row.id))", .warning, job: row)
                    }
                    return
                } catch {
                    log("\(row.name): could not re-queue: \(error)", .error, job: row)
                }
            }
            do {
                try failJob(row, lease: lease, stage: "generation", message: "\(error)")
                log("\(row.name): failed: \(error)", .warning, job: row)
            } catch {
                log("\(row.name): failed, and could not be filed: \(error)", .warning, job: row)
            }
        }
    }

    func log(_ message: String, _ level: LogLevel) { sink(LogEntry(level, message)) }
    func log(_ message: String, _ level: LogLevel, job row: Journal.Row) { sink(.job(level, id: row.id, name: row.name, message)) }
    func log(_ message: String, _ level: LogLevel, id: String, name: String) { sink(.job(level, id: id, name: name, message)) }

    static func seconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f s", value) : "\(Int(value.rounded())) s"
    }

    func runOne(_ job: JobSpec, id: String, row: Journal.Row, lease: Lease, part: Int) async throws -> [String] {
        guard let model = config.models[job.model] else {
            throw EngineError(.badRequest, "model '\(job.model)' is no longer in the config")
        }
        let seed = job.seed ?? UInt64.random(in: 0...UInt64(Int64.max))
        var request = GenerationRequest(mode: job.mode.generationMode, modelName: job.model, modelPath: model.path.path,
                                        prompt: job.prompt, negativePrompt: job.negativePrompt, seed: seed,
                                        width: job.size.width, height: job.size.height, frames: job.frames, fps: job.fps,
                                        steps: job.steps, sampler: job.sampler.samplerKind, shift: job.shift,
                                        guidance: Float(job.guidance.high), guidanceLow: Float(job.guidance.low),
                                        strength: job.strength ?? 0.8)
        request.vaeTilePixels = config.engine.vaeTilePixels
        request.loras = (job.loras ?? []).map { LoRARequest(path: $0.path.path, strength: $0.strength, expert: $0.expert) }
        request.sigmaSchedule = job.recipe.flatMap(FewStepRecipe.named)?.schedule ?? .model
        if let image = job.image {
            let frame = try ImageDecoder.decode(path: image.path)
            request.image = RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels)
        }
        if job.mode == .animate {
            request.animate = try Self.animateInputs(job)
        } else if let video = job.video {
            let clip = try VideoDecoder.decode(path: video.path, maxFrames: job.frames)
            guard clip.frames.count == job.frames else {
                throw EngineError(.badRequest, "\(video.lastPathComponent) has \(clip.frames.count) frames; the job asks for \(job.frames)")
            }
            request.video = clip.frames.map { RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels) }
        }
        let s2vWarnings = job.mode == .s2v ? try S2VInputs.prepare(job, into: &request) : []
        let started = Date()
        let rowID = row.id
        let flags = cancelFlag
        let video = try await generator.generate(request, progress: { p in
            Task { await self.progressed(rowID, p) }
        }, isCancelled: { flags.isSet(rowID) })
        for w in s2vWarnings { log("\(row.name): \(w)", .warning, job: row) }
        return try await writeOutputs(video, job: job, id: id, seed: seed, inputsHash: row.inputHash, started: started,
                                      lease: lease, part: part, warnings: s2vWarnings)
    }

    nonisolated let cancelFlag = CancelFlags()

    func writeOutputs(_ video: GeneratedVideo, job: JobSpec, id: String, seed: UInt64, inputsHash: String, started: Date,
                      lease: Lease, part: Int, warnings: [String] = []) async throws -> [String] {
        let outbox = OutboxWriter(root: config.outbox.path, folderPerJob: config.layout == .folderPerJob)
        let staging = try outbox.makeStaging(jobID: stagingName(id, lease))
        let base = job.output.name
        let now = Date()
        let wm = config.watermark
        let label = wm.visible.enabled
            ? VisibleWatermarkConfig(text: wm.visible.text, corner: WatermarkCorner(rawValue: wm.visible.position.rawValue) ?? .bottomRight,
                                     opacity: wm.visible.opacity, fontPath: wm.visible.font?.path)
            : nil
        let options = VideoPublisher.Options(
            settings: VideoEncoderSettings(codec: job.output.codec == .hevc ? .hevc : .h264, crf: job.output.crf,
                                           preset: config.output.preset, fps: video.fps),
            label: label, invisibleEvery: wm.invisible.enabled ? 1 : nil, writeNFO: true, writePoster: true)
        let clip = VideoFrames(frames: video.frames.map { RGBFrame(width: $0.width, height: $0.height, pixels: $0.pixels) }, fps: video.fps)
        let written = try VideoPublisher.publish(clip, to: staging + "/" + base + ".mp4",
                                                 metadata: MP4Metadata(title: base, prompt: job.prompt, jobID: id, model: job.model,
                                                                       seed: seed, wandVersion: wandVersion, creationTime: now),
                                                 audio: try S2VInputs.muxTrack(job, frames: clip.frames.count, fps: clip.fps),
                                                 options: options)
        let sidecar = Sidecar(job: id, name: base, mode: job.mode.rawValue, model: job.model,
                              modelPath: config.models[job.model]?.path.path ?? "", prompt: job.prompt,
                              negativePrompt: job.negativePrompt, seed: seed, width: video.width, height: video.height,
                              frames: job.mode == .s2v ? video.frames.count : job.frames, fps: job.fps, steps: job.steps, sampler: job.sampler.rawValue, shift: job.shift,
                              guidance: ["high": job.guidance.high, "low": job.guidance.low], strength: job.mode == .edit ? job.strength : nil,
                              tags: job.tags, inputsSHA256: inputsHash, source: job.source.description, engine: "Wand \(wandVersion)",
                              device: video.device, aiGenerated: true,
                              watermark: ["visible": label?.text ?? "off", "invisible_payload": written.payloadHex ?? "off"],
                              timings: ["load": video.timings.load, "text_encode": video.timings.textEncode,
                                        "input_encode": video.timings.inputEncode, "denoise": video.timings.denoise,
                                        "decode": video.timings.decode, "encode_mp4": Date().timeIntervalSince(now),
                                        "total": Date().timeIntervalSince(started)],
                              modelWasWarm: video.timings.modelWasWarm, created: iso8601(now), notes: video.notes, warnings: warnings,
                              recipe: job.recipe, loras: video.loras.map(SidecarLoRA.init),
                              audio: try S2VInputs.sidecarAudio(job), poseVideo: job.poseVideo?.lastPathComponent,
                              clips: job.mode == .s2v ? job.clips ?? S2VLimits.defaultClips : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(sidecar).write(to: URL(fileURLWithPath: staging + "/" + base + ".json"))
        var suffixes = [".mp4", ".json"]
        if written.nfo != nil { suffixes.append(".nfo") }
        if written.poster != nil { suffixes.append("-poster.jpg") }
        return try publishPart(outbox, staging: staging, base: base, suffixes: suffixes, lease: lease, part: part)
    }

    /// After success the sources are archived (dated folder under state_dir), deleted or kept (in the spool's done/).
    func finishSources(_ row: Journal.Row) throws {
        let inputs = row.spoolDir + "/inputs"
        switch config.afterSuccess {
        case .archive:
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd"
            let dir = config.stateDir.path + "/archive/" + f.string(from: Date()) + "/" + row.id
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: inputs, toPath: dir)
        case .delete:
            try FileManager.default.removeItem(atPath: inputs)
        case .keep:
            let dir = config.spoolDir + "/done/" + row.id
            try FileManager.default.createDirectory(atPath: config.spoolDir + "/done", withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: inputs, toPath: dir)
        }
        try? FileManager.default.removeItem(atPath: row.spoolDir)
    }

    /// Tells the webhooks that asked for `event`; returns at once (delivery runs on its own tasks).
    func notify(_ event: NotifyEvent, _ row: Journal.Row, jobs: [JobSpec]?, outputs: [String]? = nil,
                error: String? = nil, stage: String? = nil) {
        let hooks = config.notify.webhooks
        guard hooks.contains(where: { $0.events.contains(event) }) else { return }
        var payload = WebhookPayload(event: event, job: row.id, name: row.name, mode: jobs?.first?.mode.rawValue,
                                     model: jobs?.first?.model, outputs: outputs, error: error, stage: stage)
        payload.take((try? journal.row(row.id)) ?? row)
        webhooks.send(payload, to: hooks)
    }

    nonisolated let notifier = SystemdNotifier()
}

public let wandVersion = "0.1.0"

/// Cancellation flags readable from the engine's threads without hopping onto the actor.
public final class CancelFlags: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []
    private var all = false
    func set(_ id: String) { lock.lock(); ids.insert(id); lock.unlock() }
    /// When a run ends: the same job may run here again later (its lease was lost, then it came back).
    func clear(_ id: String) { lock.lock(); ids.remove(id); lock.unlock() }
    func setAll() { lock.lock(); all = true; lock.unlock() }
    func isSet(_ id: String) -> Bool { lock.lock(); defer { lock.unlock() }; return all || ids.contains(id) }
}

/// Wakes the daemon's loop early (inotify events, finished jobs, commands).
final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    func signal() { lock.lock(); pending = true; lock.unlock() }
    private func take() -> Bool {
        lock.withLock {
            let fired = pending
            pending = false
            return fired
        }
    }
    func wait(timeout: Double) async {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if take() { return }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}


/// NAME.json in the outbox: the job as it ran, every default filled in.
struct Sidecar: Codable {
    var job: String
    var name: String
    var mode: String
    var model: String
    var modelPath: String
    var prompt: String
    var negativePrompt: String?
    var seed: UInt64
    var width: Int
    var height: Int
    var frames: Int
    var fps: Int
    var steps: Int
    var sampler: String
    var shift: Double?
    var guidance: [String: Double]
    var strength: Double?
    var tags: [String]
    var inputsSHA256: String
    var source: String
    var engine: String
    var device: String
    var aiGenerated: Bool
    var watermark: [String: String]
    var timings: [String: Double]
    var modelWasWarm: Bool
    var created: String
    var notes: [String]
    var warnings: [String]
    var recipe: String?
    var loras: [SidecarLoRA]
    /// s2v: the audio file (name) and its SHA-256, the pose video's name, the clip cap.
    var audio: [String: String]? = nil
    var poseVideo: String? = nil
    var clips: Int? = nil

    enum CodingKeys: String, CodingKey {
        case job, name, mode, model, prompt, seed, width, height, frames, fps, steps, sampler, shift, guidance, strength, tags
        case recipe, loras
        case source, engine, device, timings, created, notes, warnings, watermark, audio, clips
        case poseVideo = "pose_video"
        case modelPath = "model_path", negativePrompt = "negative_prompt", inputsSHA256 = "inputs_sha256"
        case aiGenerated = "ai_generated", modelWasWarm = "model_was_warm"
    }
}

/// A LoRA in the sidecar: what was merged, with the file's SHA-256.
struct SidecarLoRA: Codable {
    var path: String
    var strength: Double
    var expert: String
    var sha256: String
    init(_ a: AppliedLoRA) { path = a.path; strength = a.strength; expert = a.expert.rawValue; sha256 = a.sha256 }
}
