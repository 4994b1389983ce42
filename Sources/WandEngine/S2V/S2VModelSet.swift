#if canImport(Glibc)
import Glibc
#endif
import WandModels
import WandTensor

/// An official Wan2.2-S2V-14B folder: `config.json` (`model_type: s2v`) with the DiT shards and
/// their index beside it, `models_t5_umt5-xxl-enc-bf16.pth`, `Wan2.1_VAE.pth`, `google/umt5-xxl/`
/// and `wav2vec2-large-xlsr-53-english/` (config.json + model.safetensors or pytorch_model.bin).
/// Every missing part is named.
public struct S2VModelFolder: Sendable, Equatable {
    public var path: String
    public var textEncoder: String
    public var tokenizer: String
    public var vae: String
    public var wav2vec2: String
    public var wav2vec2Weights: String

    public static let wav2vec2Folder = "wav2vec2-large-xlsr-53-english"

    public static func open(_ path: String) throws -> S2VModelFolder {
        let root = path.hasSuffix("/") ? String(path.dropLast()) : path
        guard isDirectory(root) else { throw EngineError(.badModelFolder, "not a model folder (no such directory)", path: root) }
        guard fileExists(root + "/config.json") else {
            throw EngineError(.badModelFolder, "no config.json: an S2V model is the official Wan2.2-S2V-14B folder", path: root)
        }
        let type = try readJSON(root + "/config.json")["model_type"]?.stringValue ?? "t2v"
        guard type == "s2v" else {
            throw EngineError(.badModelFolder, "config.json says model_type \"\(type)\"; mode s2v needs Wan2.2-S2V-14B",
                              path: root + "/config.json")
        }
        let t5 = root + "/models_t5_umt5-xxl-enc-bf16.pth"
        guard fileExists(t5) else { throw EngineError(.badModelFolder, "missing the umT5 encoder file", path: t5) }
        let vae = root + "/Wan2.1_VAE.pth"
        guard fileExists(vae) else { throw EngineError(.badModelFolder, "missing Wan2.1_VAE.pth (S2V uses the Wan2.1 VAE)", path: vae) }
        let tokenizer = [root + "/google/umt5-xxl/tokenizer.json", root + "/google/umt5-xxl/spiece.model"].first(where: fileExists)
        guard let tokenizer else { throw EngineError(.badModelFolder, "missing the tokenizer (google/umt5-xxl/)", path: root) }
        let w2v = root + "/" + wav2vec2Folder
        guard fileExists(w2v + "/config.json") else {
            throw EngineError(.badModelFolder, "missing the wav2vec2 audio encoder (\(wav2vec2Folder)/config.json)", path: w2v)
        }
        let weights = [w2v + "/model.safetensors", w2v + "/pytorch_model.bin"].first(where: fileExists)
        guard let weights else {
            throw EngineError(.badModelFolder, "missing the wav2vec2 weights (model.safetensors or pytorch_model.bin)", path: w2v)
        }
        return S2VModelFolder(path: root, textEncoder: t5, tokenizer: tokenizer, vae: vae, wav2vec2: w2v, wav2vec2Weights: weights)
    }
}

/// The networks of an S2V folder, loaded: tokenizer, umT5, the S2V DiT (weights mapped in their
/// stored dtype), the Wan2.1 VAE and the wav2vec2 encoder.
public final class S2VModelSet: Sendable {
    public let folder: S2VModelFolder
    public let tokenizer: UnigramTokenizer
    public let textEncoder: UMT5Encoder
    public let pipeline: S2VPipeline
    public let residentBytes: Int

    /// The warm cache's key for the S2V networks of `path`: not the bare path, under which the
    /// cache may hold the other pipelines' model set for the same folder.
    public static func cacheKey(_ path: String) -> String { "s2v:" + path }

    public init(folder: S2VModelFolder, backend: any ComputeBackend) throws {
        self.folder = folder
        tokenizer = folder.tokenizer.hasSuffix(".json")
            ? try UnigramTokenizer(tokenizerJSONPath: folder.tokenizer) : try UnigramTokenizer(spieceModelPath: folder.tokenizer)
        let t5 = try openWeights(folder.textEncoder)
        textEncoder = try UMT5Encoder(config: try UMT5Config.official(t5, path: folder.textEncoder), weights: t5,
                                      path: folder.textEncoder, backend: backend)
        let ditWeights = try openWeights(folder.path)
        let dit = try WanS2VDiT(config: try WanS2VConfig(configFile: folder.path + "/config.json"), weights: ditWeights,
                                path: folder.path, backend: backend)
        let vaeWeights = try WanVAEWeights.load(path: folder.vae)
        let vae = try WanVAE(weights: vaeWeights, backend: backend)
        guard vae.version == .wan21 else {
            throw EngineError(.badModelFolder, "Wan2.1_VAE.pth holds a Wan2.2 VAE", path: folder.vae)
        }
        let w2vWeights = try openWeights(folder.wav2vec2Weights)
        let audio = try Wav2Vec2Encoder(config: try Wav2Vec2Config(configFile: folder.wav2vec2 + "/config.json"),
                                        weights: w2vWeights, path: folder.wav2vec2, backend: backend)
        guard audio.config.hiddenSize == dit.config.audioDim, audio.config.numLayers + 1 == dit.config.audioLayers else {
            throw EngineError(.badModelFolder, "the wav2vec2 encoder (\(audio.config.numLayers) layers of \(audio.config.hiddenSize)) "
                              + "does not feed this DiT (\(dit.config.audioLayers) states of \(dit.config.audioDim))", path: folder.wav2vec2)
        }
        pipeline = S2VPipeline(dit: dit, vae: vae, audioEncoder: audio)
        residentBytes = t5.byteCount + ditWeights.byteCount + w2vWeights.byteCount
            + vaeWeights.tensors.values.reduce(0) { $0 + $1.count * 4 }
    }
}
