#if canImport(Glibc)
import Glibc
#endif
import WandMedia
import WandModels

/// A model folder's networks with LoRAs merged into its DiT expert(s), as the warm cache keeps it.
struct LoRAModelSet: Sendable {
    let models: WanModelSet
    let applied: [AppliedLoRA]
    /// For every job on it (skipped keys), and for the job that loaded it (what the merge did).
    let notes: [String]
    let loadNote: String
}

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
        var files: [LoRAFile] = []
        for lora in loras {
            guard lora.strength.isFinite, abs(lora.strength) <= 100 else {
                throw EngineError(.badRequest, "LoRA strength \(lora.strength) is out of range (-100...100)", path: lora.path)
            }
            if !base.isTwoExpert && lora.expert != .both {
                throw EngineError(.badRequest, "expert: \(lora.expert.rawValue) needs a two-expert (A14B) model; "
                                  + "\(base.folder.path) has one DiT (use expert: both or leave it out)", path: lora.path)
            }
            do { files.append(try LoRAFile(path: lora.path)) } catch {
                throw EngineError(.badRequest, error.message, path: lora.path)
            }
        }
        var experts: [WanDiT] = []
        var bytes = base.residentBytes
        var notes: [String] = []
        var clock = Stopwatch()
        var total = LoRAMergeReport()
        for (index, expert) in base.experts.enumerated() {
            let isHigh = index == 0
            let apps = zip(loras, files).filter { r, _ in r.expert == .both || (r.expert == .high) == isHigh }
                .map { LoRAApplication(file: $1, strength: Float($0.strength)) }
            guard !apps.isEmpty else { experts.append(expert); continue }
            do {
                let (merged, report) = try expert.merging(apps, precision: precision)
                experts.append(merged)
                bytes += report.ownedBytes - report.replacedMappedBytes
                total.mergedTensors += report.mergedTensors
                total.ownedBytes += report.ownedBytes
                total.replacedMappedBytes += report.replacedMappedBytes
            } catch let error as LoRAError {
                throw EngineError(.badRequest, error.message, path: error.path)
            }
        }
        let mib = { (b: Int) in String(Double(b * 10 / (1 << 20)) / 10) }
        let loadNote = ("LoRAs merged (\(precision.rawValue) dtype) in \(String(Double(Int(clock.lap() * 100)) / 100)) s: \(total.mergedTensors) tensors, "
                     + "\(mib(total.ownedBytes)) MiB held in memory in place of \(mib(total.replacedMappedBytes)) MiB mapped from the model's files")
        var applied: [AppliedLoRA] = []
        for (lora, file) in zip(loras, files) {
            let intoExperts = base.isTwoExpert && lora.expert != .both ? 1 : base.experts.count
            let targets = Set(file.contributions.map(\.target).filter { base.experts[0].weights.contains($0) })
            applied.append(AppliedLoRA(path: lora.path, strength: lora.strength, expert: lora.expert,
                                       sha256: try sha256(lora.path), mergedTensors: targets.count * intoExperts,
                                       skippedKeys: file.imageBranchKeys.count))
            if !file.imageBranchKeys.isEmpty {
                notes.append("LoRA \(lora.path): \(file.imageBranchKeys.count) keys of the Wan2.1 image branch "
                             + "(k_img, v_img, img_emb) skipped: this model has no image branch")
            }
        }
        let set = WanModelSet(sharing: base, experts: experts, residentBytes: bytes)
        return (LoRAModelSet(models: set, applied: applied, notes: notes, loadNote: loadNote), bytes)
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
