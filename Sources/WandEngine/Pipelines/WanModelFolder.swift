#if canImport(Glibc)
import Glibc
#endif
import WandModels

// A model folder as users download it: the diffusers layout (model_index.json with transformer/,
// transformer_2/, text_encoder/, tokenizer/, vae/, scheduler/) or the official Wan layout
// (config.json or high_noise_model/ + low_noise_model/, models_t5_umt5-xxl-enc-bf16.pth,
// Wan2.1_VAE.pth or Wan2.2_VAE.pth, google/umt5-xxl/). This finds the parts and the pipeline
// settings; the networks are loaded by WanModelSet.

public struct WanModelFolder: Sendable, Equatable {
    public enum Layout: String, Sendable { case diffusers, official }

    public var path: String
    public var layout: Layout
    /// The high-noise expert (or the only DiT), then the low-noise expert of an A14B model.
    public var transformers: [String]
    public var textEncoder: String
    public var tokenizer: String
    public var vae: String
    public var boundaryRatio: Double?
    /// TI2V-5B: per-token timesteps and first-frame conditioning.
    public var expandTimesteps: Bool
    /// diffusers scheduler_config.json's flow_shift, when present.
    public var schedulerShift: Double?

    public var convention: ScheduleConvention { layout == .diffusers ? .diffusers : .official }

    public static func open(_ path: String) throws -> WanModelFolder {
        let root = path.hasSuffix("/") ? String(path.dropLast()) : path
        guard isDirectory(root) else {
            throw EngineError(.badModelFolder, "not a model folder (no such directory)", path: root)
        }
        if fileExists(root + "/model_index.json") { return try diffusers(root) }
        return try official(root)
    }

    static func diffusers(_ root: String) throws -> WanModelFolder {
        let index = try readJSON(root + "/model_index.json")
        var transformers = [root + "/transformer"]
        if case .array? = index["transformer_2"], isDirectory(root + "/transformer_2") {
            transformers.append(root + "/transformer_2")
        }
        for part in ["transformer", "text_encoder", "tokenizer", "vae"] where !isDirectory(root + "/" + part) {
            throw EngineError(.badModelFolder, "model_index.json names \(part) but the folder has no \(part)/", path: root)
        }
        var shift: Double?
        if fileExists(root + "/scheduler/scheduler_config.json") {
            let s = try readJSON(root + "/scheduler/scheduler_config.json")
            shift = s["flow_shift"]?.doubleValue ?? s["shift"]?.doubleValue
        }
        let tokenizerFile = fileExists(root + "/tokenizer/tokenizer.json")
            ? root + "/tokenizer/tokenizer.json" : root + "/tokenizer/spiece.model"
        return WanModelFolder(path: root, layout: .diffusers, transformers: transformers,
                              textEncoder: root + "/text_encoder", tokenizer: tokenizerFile, vae: root + "/vae",
                              boundaryRatio: index["boundary_ratio"]?.doubleValue,
                              expandTimesteps: try index["expand_timesteps"]?.boolValue ?? isTI2VTransformer(root + "/transformer"),
                              schedulerShift: shift)
    }

    /// A model_index.json without `expand_timesteps` (FastVideo's WanDMDPipeline folders, e.g.
    /// FastWan) is TI2V when its transformer is: 48 latent channels in and out, the TI2V-5B DiT,
    /// which both references run with per-token timesteps.
    static func isTI2VTransformer(_ dir: String) throws -> Bool {
        guard fileExists(dir + "/config.json") else { return false }
        let config = try readJSON(dir + "/config.json")
        return config["in_channels"]?.intValue == 48 && config["out_channels"]?.intValue == 48
    }

    static func official(_ root: String) throws -> WanModelFolder {
        let transformers: [String]
        let modelType: String
        if isDirectory(root + "/high_noise_model"), isDirectory(root + "/low_noise_model") {
            transformers = [root + "/high_noise_model", root + "/low_noise_model"]
            modelType = try readJSON(root + "/high_noise_model/config.json")["model_type"]?.stringValue ?? "t2v"
        } else if fileExists(root + "/config.json") {
            transformers = [root]
            modelType = try readJSON(root + "/config.json")["model_type"]?.stringValue ?? "t2v"
        } else {
            throw EngineError(.badModelFolder,
                              "neither model_index.json (diffusers) nor config.json or high_noise_model/ (official Wan) found",
                              path: root)
        }
        let t5 = root + "/models_t5_umt5-xxl-enc-bf16.pth"
        guard fileExists(t5) else { throw EngineError(.badModelFolder, "missing the umT5 encoder file", path: t5) }
        let vae = [root + "/Wan2.2_VAE.pth", root + "/Wan2.1_VAE.pth"].first(where: fileExists)
        guard let vae else { throw EngineError(.badModelFolder, "missing Wan2.1_VAE.pth or Wan2.2_VAE.pth", path: root) }
        let tokenizer = [root + "/google/umt5-xxl/tokenizer.json", root + "/google/umt5-xxl/spiece.model"].first(where: fileExists)
        guard let tokenizer else { throw EngineError(.badModelFolder, "missing the tokenizer (google/umt5-xxl/)", path: root) }
        let boundary: Double? = transformers.count == 2 ? (modelType == "i2v" ? 0.900 : 0.875) : nil
        return WanModelFolder(path: root, layout: .official, transformers: transformers, textEncoder: t5,
                              tokenizer: tokenizer, vae: vae, boundaryRatio: boundary,
                              expandTimesteps: modelType == "ti2v", schedulerShift: nil)
    }
}

// MARK: - small file helpers (no Foundation in the engine)

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func readFile(_ path: String) throws -> [UInt8] {
    guard let f = fopen(path, "rb") else {
        throw EngineError(.badModelFolder, "cannot open (\(String(cString: strerror(errno))))", path: path)
    }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n > 0 { out.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count { break }
    }
    return out
}

func readJSON(_ path: String) throws -> JSONValue {
    let bytes = try readFile(path)
    do {
        return try JSONParser.parse(bytes)
    } catch {
        throw EngineError(.badModelFolder, "invalid JSON: \(error)", path: path)
    }
}

/// The weights of one component folder (sharded index, a single safetensors file) or file (.pth,
/// .safetensors).
func openWeights(_ path: String) throws -> WeightSet {
    if fileExists(path) {
        return path.hasSuffix(".pth") ? try PyTorchCheckpoint(path: path).weights : try SafetensorsFile(path: path).weights
    }
    guard let dir = opendir(path) else { throw EngineError(.badModelFolder, "cannot read the folder", path: path) }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        names.append(name)
    }
    if let index = names.sorted().first(where: { $0.hasSuffix(".safetensors.index.json") }) {
        return try ShardedSafetensors(indexPath: path + "/" + index).weights
    }
    if let single = names.sorted().first(where: { $0.hasSuffix(".safetensors") }) {
        return try SafetensorsFile(path: path + "/" + single).weights
    }
    throw EngineError(.badModelFolder, "no .safetensors weights (or index) in the folder", path: path)
}
