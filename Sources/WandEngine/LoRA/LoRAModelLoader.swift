#if canImport(Glibc)
import Glibc
#endif
import WandMedia
import WandModels

/// A model folder's networks with LoRAs merged into its DiT(s), as the warm cache keeps it.
struct LoRAMerged<Models: Sendable>: Sendable {
    let models: Models
    let applied: [AppliedLoRA]
    /// For every job on it (skipped keys), and for the job that loaded it (what the merge did).
    let notes: [String]
    let loadNote: String
}

typealias LoRAModelSet = LoRAMerged<WanModelSet>

enum LoRAModelLoader {
    /// The warm cache's key for `modelPath` with `loras`: the folder, then per LoRA (in order, as
    /// merging is a sum but strengths and experts differ) its real path, file identity (device,
    /// inode, size, mtime), strength and expert. A file replaced on disk gets a new key; the same
    /// set finds the warm model.
    static func cacheKey(modelPath: String, loras: [LoRARequest]) throws -> String {
        guard !loras.isEmpty else { return modelPath }
        var key = modelPath
        for lora in loras {
            var st = stat()
            guard stat(lora.path, &st) == 0 else {
                throw EngineError(.badRequest, "LoRA file not found (\(String(cString: strerror(errno))))", path: lora.path)
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw EngineError(.badRequest, "LoRA path is not a file", path: lora.path) }
            let real = realpath(lora.path, nil).map { p -> String in defer { free(p) }; return String(cString: p) } ?? lora.path
            key += "\u{1}lora \(real) dev \(st.st_dev) ino \(st.st_ino) size \(st.st_size) "
                + "mtime \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) strength \(lora.strength) expert \(lora.expert.rawValue)"
        }
        return key
    }

    /// Merges `loras` into `base`'s experts (new DiTs; `base` is unchanged) and returns the set with
    /// its resident size: the base's, less the mapped bytes of replaced tensors, plus the merged ones.
    static func load(base: WanModelSet, loras: [LoRARequest], precision: LoRAMergePrecision) throws -> (LoRAModelSet, Int) {
        let files = try open(loras, twoExpert: base.isTwoExpert, modelPath: base.folder.path)
        var clock = Stopwatch()
        let (experts, total) = try mergeEach(base.experts, loras: loras, files: files) { try $0.merging($1, precision: precision) }
        let bytes = base.residentBytes + total.ownedBytes - total.replacedMappedBytes
        let set = WanModelSet(sharing: base, experts: experts, residentBytes: bytes)
        let merged = try summary(loras, files, model: base.experts[0].weights, dits: base.experts.count, twoExpert: base.isTwoExpert,
                                 total: total, seconds: clock.lap(), precision: precision, models: set)
        return (merged, bytes)
    }

    /// The same for an Animate folder's one DiT.
    static func load(base: WanAnimateModelSet, loras: [LoRARequest], precision: LoRAMergePrecision) throws -> (LoRAMerged<WanAnimateModelSet>, Int) {
        let files = try open(loras, twoExpert: false, modelPath: base.folder.path)
        var clock = Stopwatch()
        let (dits, total) = try mergeEach([base.dit], loras: loras, files: files) { try $0.merging($1, precision: precision) }
        let bytes = base.residentBytes + total.ownedBytes - total.replacedMappedBytes
        let set = WanAnimateModelSet(sharing: base, dit: dits[0], residentBytes: bytes)
        let merged = try summary(loras, files, model: base.dit.weights, dits: 1, twoExpert: false,
                                 total: total, seconds: clock.lap(), precision: precision, models: set)
        return (merged, bytes)
    }

    /// Reads and checks the LoRA files of a request.
    static func open(_ loras: [LoRARequest], twoExpert: Bool, modelPath: String) throws -> [LoRAFile] {
        var files: [LoRAFile] = []
        for lora in loras {
            guard lora.strength.isFinite, abs(lora.strength) <= 100 else {
                throw EngineError(.badRequest, "LoRA strength \(lora.strength) is out of range (-100...100)", path: lora.path)
            }
            if !twoExpert && lora.expert != .both {
                throw EngineError(.badRequest, "expert: \(lora.expert.rawValue) needs a two-expert (A14B) model; "
                                  + "\(modelPath) has one DiT (use expert: both or leave it out)", path: lora.path)
            }
            do { files.append(try LoRAFile(path: lora.path)) } catch {
                throw EngineError(.badRequest, error.message, path: lora.path)
            }
        }
        return files
    }

    /// Merges into each DiT (the first is the high-noise expert) the LoRAs meant for it.
    static func mergeEach<DiT>(_ dits: [DiT], loras: [LoRARequest], files: [LoRAFile],
                               merge: (DiT, [LoRAApplication]) throws -> (DiT, LoRAMergeReport)) throws -> ([DiT], LoRAMergeReport) {
        var out: [DiT] = [], total = LoRAMergeReport()
        for (index, dit) in dits.enumerated() {
            let isHigh = index == 0
            let apps = zip(loras, files).filter { r, _ in r.expert == .both || (r.expert == .high) == isHigh }
                .map { LoRAApplication(file: $1, strength: Float($0.strength)) }
            guard !apps.isEmpty else { out.append(dit); continue }
            do {
                let (merged, report) = try merge(dit, apps)
                out.append(merged)
                total.mergedTensors += report.mergedTensors
                total.ownedBytes += report.ownedBytes
                total.replacedMappedBytes += report.replacedMappedBytes
            } catch let error as LoRAError {
                throw EngineError(.badRequest, error.message, path: error.path)
            }
        }
        return (out, total)
    }

    /// What the sidecar records per LoRA, the notes, and the load note.
    static func summary<Models>(_ loras: [LoRARequest], _ files: [LoRAFile], model: ModelWeights, dits: Int, twoExpert: Bool,
                                total: LoRAMergeReport, seconds: Double, precision: LoRAMergePrecision,
                                models: Models) throws -> LoRAMerged<Models> {
        let mib = { (b: Int) in String(Double(b * 10 / (1 << 20)) / 10) }
        let loadNote = ("LoRAs merged (\(precision.rawValue) dtype) in \(String(Double(Int(seconds * 100)) / 100)) s: \(total.mergedTensors) tensors, "
                     + "\(mib(total.ownedBytes)) MiB held in memory in place of \(mib(total.replacedMappedBytes)) MiB mapped from the model's files")
        var applied: [AppliedLoRA] = [], notes: [String] = []
        for (lora, file) in zip(loras, files) {
            let intoDiTs = twoExpert && lora.expert != .both ? 1 : dits
            let targets = Set(file.contributions.map(\.target).filter { model.contains($0) })
            // Image-branch keys (k_img, v_img, img_emb) of a Wan2.1-I2V LoRA: merged where the
            // model has the branch (Animate), skipped where it has none (Wan2.2).
            let skipped = file.contributions.filter { !model.contains($0.target) }.flatMap(\.storedNames)
                .filter(file.imageBranchKeys.contains).count
            applied.append(AppliedLoRA(path: lora.path, strength: lora.strength, expert: lora.expert,
                                       sha256: try sha256(lora.path), mergedTensors: targets.count * intoDiTs, skippedKeys: skipped))
            if skipped > 0 {
                notes.append("LoRA \(lora.path): \(skipped) keys of the Wan2.1 image branch "
                             + "(k_img, v_img, img_emb) skipped: this model has no image branch")
            }
        }
        return LoRAMerged(models: models, applied: applied, notes: notes, loadNote: loadNote)
    }

    /// SHA-256 of the file, read through a mapping (1.2 GB LoRAs are common).
    static func sha256(_ path: String) throws -> String {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw EngineError(.badRequest, "\(error)", path: path) }
        return withExtendedLifetime(file) {
            var sha = SHA256()
            let all = file.all
            var offset = 0
            while offset < all.count {
                let n = min(1 << 24, all.count - offset)
                sha.update(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]))
                offset += n
            }
            return sha.finalizeHex()
        }
    }
}
