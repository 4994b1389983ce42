import Foundation
import WandEngine
import WandMedia

/// Intake: settled inbox files become a claimed job in the spool (or a located failure in failed/).
extension Daemon {
    func scanInboxes() {
        for scanner in scanners {
            // Job files first: the inputs they name are claimed with them, so the same files are
            // not also taken as a bare drop from the same scan.
            let drops = scanner.scan().sorted { a, _ in if case .jobFile = a { return true }; return false }
            for drop in drops { intake(drop, scanner: scanner) }
        }
    }

    func intake(_ drop: Drop, scanner: InboxScanner) {
        let inbox = scanner.inbox
        var files: [String]
        var jobs: [JobSpec] = []
        var problem: (message: String, location: SourceLocation?, errors: [String])?
        switch drop {
        case .jobFile(let path):
            files = [path]
            do {
                jobs = try JobFileParser.parse(fileAt: path, inbox: inbox, config: config)
            } catch {
                let first = error.diagnostics.first
                problem = ("the job file has errors", first.map { SourceLocation(file: $0.file, line: $0.line, column: $0.column) },
                           error.diagnostics.map(\.description))
            }
        case .bare(_, let all):
            let group = all.filter { FileManager.default.fileExists(atPath: $0) }
            guard !group.isEmpty else { return }  // taken by a job file in this scan
            files = group
            switch BareDropRouter(config: config, inbox: inbox).route(fileNames: group.map { URL(fileURLWithPath: $0).lastPathComponent },
                                                                     in: inbox.path, settled: true) {
            case .ready(let routed): jobs = routed
            case .invalid(let errors): problem = ("the drop cannot become a job", nil, errors.diagnostics.map(\.description))
            case .waiting(let roles): problem = ("the drop is missing a partner file (\(roles.map(\.rawValue).sorted().joined(separator: ", ")))", nil, [])
            case .ignored: problem = ("none of these files is a type Wand takes", nil, [])
            }
        }
        // Inputs inside the inbox travel with the job; inputs under input_roots stay where they are.
        let inboxRoot = inbox.path.resolvingSymlinksInPath().path
        for job in jobs {
            for url in job.inputFiles {
                let input = url.path
                if URL(fileURLWithPath: input).deletingLastPathComponent().path == inboxRoot,
                   !files.contains(where: { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path == input }) {
                    files.append(input)
                }
            }
        }
        scanner.claimPartners(files)
        let name = URL(fileURLWithPath: files[0]).deletingPathExtension().lastPathComponent
        let id = newJobID()
        let spool = config.spoolDir + "/" + id
        var claim: Lease?
        // Set before a step that may have changed the row even when it throws: after that only a
        // refused lease puts the files back; anything else is left to recovery.
        var decisive = false
        do {
            let hash = try inputHash(files, loras: jobs.flatMap { $0.loras ?? [] })
            guard let lease = try journal.beginClaim(id: id, name: name, priority: jobs.first?.priority ?? inbox.priority, spoolDir: spool,
                                                     inputHash: hash, files: files.compactMap(DropFile.current)) else {
                // Another host claimed one of these files first; if it puts them back, they are seen afresh.
                files.forEach(scanner.forget)
                return
            }
            claim = lease
            guard let row = try journal.row(id) else { throw JournalError(path: spool, message: "the claim row vanished") }
            try FileManager.default.createDirectory(atPath: spool + "/inputs", withIntermediateDirectories: true)
            var moved: [String: String] = [:]
            for f in files {
                let target = spool + "/inputs/" + URL(fileURLWithPath: f).lastPathComponent
                guard rename(f, target) == 0 else { throw posixError("rename", f) }
                moved[URL(fileURLWithPath: f).resolvingSymlinksInPath().path] = target
                moved[f] = target
            }
            if let problem {
                decisive = true
                try failJob(row, lease: lease, stage: "validation", message: problem.message, location: problem.location, errors: problem.errors)
                log("\(name): rejected: \(problem.errors.first ?? problem.message)", .warning, id: id, name: name)
                return
            }
            if config.duplicates == .skip, let earlier = try journal.completed(withHash: hash) {
                decisive = true
                try failJob(row, lease: lease, stage: "duplicate", message: "the same inputs were already made into a video by job \(earlier.id) (\(earlier.name)); set duplicates: run in the config to run them again", state: .duplicate)
                log("\(name): skipped, duplicate of \(earlier.id)", .info, id: id, name: name)
                return
            }
            let relocated = jobs.map { job -> JobSpec in
                var j = job
                j.image = j.image.map { URL(fileURLWithPath: moved[$0.path] ?? $0.path) }
                j.audio = j.audio.map { URL(fileURLWithPath: moved[$0.path] ?? $0.path) }
                j.video = j.video.map { URL(fileURLWithPath: moved[$0.path] ?? $0.path) }
                j.poseVideo = j.poseVideo.map { URL(fileURLWithPath: moved[$0.path] ?? $0.path) }
                j.faceVideo = j.faceVideo.map { URL(fileURLWithPath: moved[$0.path] ?? $0.path) }
                j.backgroundVideo = j.backgroundVideo.map { URL(fileURLWithPath: moved[$0.path] ?? $0.path) }
                j.maskVideo = j.maskVideo.map { URL(fileURLWithPath: moved[$0.path] ?? $0.path) }
                return j
            }
            try JSONEncoder().encode(relocated).write(to: URL(fileURLWithPath: spool + "/jobs.json"))
            decisive = true
            guard try journal.finishClaim(lease) else { throw LeaseLostError(jobID: id) }
            notify(.queued, row, jobs: relocated)
            log("\(name): queued as \(id) (\(relocated.count) job\(relocated.count == 1 ? "" : "s"), \(relocated.first?.mode.rawValue ?? "?"))", .info, id: id, name: name)
        } catch {
            // With a shared inbox a file that vanished mid-claim was taken by another host: not an error.
            let vanished = files.contains { f in
                !FileManager.default.fileExists(atPath: f) && !FileManager.default.fileExists(atPath: spool + "/inputs/" + URL(fileURLWithPath: f).lastPathComponent)
            }
            if !(isShared && vanished && !decisive) { log("\(name): could not claim: \(error)", .error, id: id, name: name) }
            // Not claimed at all (the journal unreachable, say): the files are looked at again later.
            if claim == nil { files.forEach(scanner.forget) }
            // Not queued: the files go back to the inbox.
            if let claim, !decisive || error is LeaseLostError { rollBackClaim(spool: spool, lease: claim, originalPaths: Dictionary(files.map { (URL(fileURLWithPath: $0).lastPathComponent, $0) }) { a, _ in a }) }
        }
    }

    func inputHash(_ files: [String], loras: [LoRASpec] = []) throws -> String {
        var sha = SHA256()
        for f in files.sorted(by: { URL(fileURLWithPath: $0).lastPathComponent < URL(fileURLWithPath: $1).lastPathComponent }) {
            sha.update(Array(URL(fileURLWithPath: f).lastPathComponent.utf8))
            sha.update(Array(try SHA256.file(f).utf8))
        }
        // LoRA files stay where they are and can be large: their identity (path, size, mtime),
        // not their bytes, so the same job with a replaced LoRA file is not a duplicate.
        for l in loras {
            let a = try? FileManager.default.attributesOfItem(atPath: l.path.path)
            let stamp = "\(l.path.path)|\((a?[.size] as? NSNumber)?.int64Value ?? -1)|\((a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
            sha.update(Array(("lora:" + stamp).utf8))
        }
        return sha.finalizeHex()
    }

    static func newJobID() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date()) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }
}
