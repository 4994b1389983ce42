/// One loadable unit found under a path: a single file, or shards joined by an index.
public struct WeightGroup: Sendable {
    /// The file opened (the index file for sharded checkpoints).
    public let path: String
    public let weights: WeightSet
    public let verdict: ModelVerdict
    /// Tensors present but not viewable in place (non-contiguous .pth tensors).
    public let unsupported: [WeightError]
    /// `config.json` next to the weights, if any (official `WanModel` or diffusers form).
    public let config: JSONValue?

    /// Which A14B expert, from the official folder names (`high_noise_model/`, `low_noise_model/`)
    /// or diffusers' (`transformer/` is the high-noise expert, `transformer_2/` the low-noise one).
    /// Tensors alone cannot tell the experts apart, nor a T2V-A14B expert from Wan2.1 T2V-14B.
    public var expert: String? {
        switch verdict.model {
        case .t2vA14BExpertOrWan21T2V14B, .i2vA14BExpert: break
        default: return nil
        }
        if path.contains("high_noise_model/") || path.contains("/transformer/") { return "high-noise expert" }
        if path.contains("low_noise_model/") || path.contains("/transformer_2/") { return "low-noise expert" }
        return nil
    }
}

/// Finds and opens weight files under a file or folder path. Folders are searched two levels
/// deep (official repos keep experts in `high_noise_model/`, diffusers repos in `transformer/`,
/// `vae/`, `text_encoder/`); shards listed by an index are opened through it, not on their own.
public enum WeightFolder {
    public struct Contents: Sendable {
        public var groups: [WeightGroup] = []
        /// Files in a folder that were refused; a single-file path throws instead.
        public var failures: [WeightError] = []
    }

    public static func open(_ path: String) throws(WeightError) -> Contents {
        if PathUtil.isDirectory(path) {
            var contents = Contents()
            scan(path, depth: 0, into: &contents)
            return contents
        }
        return Contents(groups: [try openFile(path)], failures: [])
    }

    /// A diffusers pipeline's `model_index.json` at the root of `path` (`_class_name`, `boundary_ratio`,
    /// `expand_timesteps`, component folders), if there is one.
    public static func pipelineIndex(_ path: String) throws(WeightError) -> JSONValue? {
        let indexPath = PathUtil.join(path, "model_index.json")
        guard PathUtil.isDirectory(path), PathUtil.isRegularFile(indexPath) else { return nil }
        let file = try MappedFile(path: indexPath)
        do { return try JSONParser.parse(file.all) } catch { throw WeightError(path: indexPath, .malformedHeader(error)) }
    }

    public static func openFile(_ path: String) throws(WeightError) -> WeightGroup {
        let weights: WeightSet
        var unsupported: [WeightError] = []
        if path.hasSuffix(".index.json") {
            weights = try ShardedSafetensors(indexPath: path).weights
        } else if path.hasSuffix(".safetensors") {
            weights = try SafetensorsFile(path: path).weights
        } else if path.hasSuffix(".pth") || path.hasSuffix(".pt") || path.hasSuffix(".bin") || path.hasSuffix(".ckpt") {
            let ckpt = try PyTorchCheckpoint(path: path)
            weights = ckpt.weights
            unsupported = ckpt.unsupported
        } else {
            throw WeightError(path: path, .unsupported("not a .safetensors, .safetensors.index.json or PyTorch .pth file"))
        }
        let configPath = PathUtil.join(PathUtil.directory(of: path), "config.json")
        var config: JSONValue?
        if PathUtil.isRegularFile(configPath) {
            let file = try MappedFile(path: configPath)
            do { config = try JSONParser.parse(file.all) } catch { throw WeightError(path: configPath, .malformedHeader(error)) }
        }
        return WeightGroup(path: path, weights: weights, verdict: ModelDetector.detect(weights),
                           unsupported: unsupported, config: config)
    }

    private static func scan(_ dir: String, depth: Int, into contents: inout Contents) {
        let names = PathUtil.list(dir)
        var sharded = Set<String>()
        for name in names where name.hasSuffix(".index.json") {
            let indexPath = PathUtil.join(dir, name)
            if let file = try? MappedFile(path: indexPath),
               let map = (try? JSONParser.parse(file.all))?["weight_map"]?.objectValue {
                for (_, shard) in map { if let s = shard.stringValue { sharded.insert(s) } }
            }
            do { contents.groups.append(try openFile(indexPath)) } catch { contents.failures.append(error) }
        }
        for name in names where !sharded.contains(name) {
            let full = PathUtil.join(dir, name)
            if name.hasSuffix(".safetensors") || name.hasSuffix(".pth") {
                do { contents.groups.append(try openFile(full)) } catch { contents.failures.append(error) }
            } else if depth < 2, !name.hasPrefix("."), PathUtil.isDirectory(full) {
                scan(full, depth: depth + 1, into: &contents)
            }
        }
    }
}
