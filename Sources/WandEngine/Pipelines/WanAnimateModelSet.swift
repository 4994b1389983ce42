import WandModels
import WandTensor

/// The networks of an Animate-14B folder, loaded and ready: tokenizer, umT5 encoder, the CLIP image
/// encoder, the Animate DiT and the Wan2.1 VAE. Diffusers folders (`WanAnimatePipeline`) keep
/// the encoder in `image_encoder/` with its processor settings in `image_processor/`; official
/// folders hold `models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth` next to the DiT.
public final class WanAnimateModelSet: Sendable {
    public static let officialCLIPFile = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"

    public let folder: WanModelFolder
    public let tokenizer: UnigramTokenizer
    public let textEncoder: UMT5Encoder
    public let imageEncoder: CLIPVisionEncoder
    /// diffusers' CLIPImageProcessor: shortest edge and centre crop (224 for ViT-H/14).
    public let clipResize: (shortestEdge: Int, crop: Int)
    public let dit: WanAnimateDiT
    public let vae: WanVAE
    public let residentBytes: Int

    public init(folder: WanModelFolder, backend: any ComputeBackend) throws {
        self.folder = folder
        guard folder.transformers.count == 1 else {
            throw EngineError(.badModelFolder, "an Animate model has one DiT, this folder has \(folder.transformers.count)", path: folder.path)
        }
        tokenizer = folder.tokenizer.hasSuffix(".json")
            ? try UnigramTokenizer(tokenizerJSONPath: folder.tokenizer) : try UnigramTokenizer(spieceModelPath: folder.tokenizer)
        var bytes = 0
        let encoderWeights = try openWeights(folder.textEncoder)
        let encoderConfig = folder.layout == .diffusers ? try UMT5Config(configFile: folder.textEncoder + "/config.json")
            : try UMT5Config.official(encoderWeights, path: folder.textEncoder)
        textEncoder = try UMT5Encoder(config: encoderConfig, weights: encoderWeights, path: folder.textEncoder, backend: backend)
        bytes += encoderWeights.byteCount

        let ditPath = folder.transformers[0]
        let ditWeights = try openWeights(ditPath)
        dit = try WanAnimateDiT(config: try WanAnimateConfig(configFile: ditPath + "/config.json"), weights: ditWeights,
                                path: ditPath, backend: backend)
        bytes += ditWeights.byteCount

        switch folder.layout {
        case .diffusers:
            let dir = folder.path + "/image_encoder"
            guard isDirectory(dir) else {
                throw EngineError(.badModelFolder, "an Animate pipeline needs image_encoder/ (the CLIP vision model)", path: folder.path)
            }
            let weights = try openWeights(dir)
            imageEncoder = try CLIPVisionEncoder(config: try CLIPVisionConfig(configFile: dir + "/config.json"), weights: weights,
                                                 path: dir, backend: backend)
            bytes += weights.byteCount
            clipResize = try Self.processorSizes(folder.path + "/image_processor/preprocessor_config.json",
                                                 default: imageEncoder.config.imageSize)
        case .official:
            let path = folder.path + "/" + Self.officialCLIPFile
            guard fileExists(path) else { throw EngineError(.badModelFolder, "missing the CLIP image encoder", path: path) }
            let weights = try PyTorchCheckpoint(path: path).weights
            imageEncoder = try CLIPVisionEncoder(config: .vitH14, weights: weights, path: path, backend: backend)
            bytes += weights.byteCount
            clipResize = (224, 224)
        }
        guard imageEncoder.config.hiddenSize == dit.config.imageDim else {
            throw EngineError(.badModelFolder, "the image encoder's width \(imageEncoder.config.hiddenSize) is not the DiT's image_dim "
                              + "\(dit.config.imageDim)", path: folder.path)
        }

        let vaeWeights: WanVAEWeights
        var mean: [Float]?, std: [Float]?
        if folder.layout == .diffusers {
            vaeWeights = try WanVAEWeights.fromWeightSet(try openWeights(folder.vae), source: folder.vae)
            let config = try readJSON(folder.vae + "/config.json")
            mean = config["latents_mean"]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) }
            std = config["latents_std"]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) }
        } else {
            vaeWeights = try WanVAEWeights.load(path: folder.vae)
        }
        vae = try WanVAE(weights: vaeWeights, backend: backend, latentMean: mean, latentStd: std)
        guard vae.version == .wan21, vae.config.zDim == dit.config.latentChannels else {
            throw EngineError(.badModelFolder, "Animate needs the Wan2.1 VAE (z 16)", path: folder.vae)
        }
        bytes += vaeWeights.tensors.values.reduce(0) { $0 + $1.count * 4 }
        residentBytes = bytes
    }

    /// `base` with another DiT (its LoRA-merged copy); the other networks are shared.
    init(sharing base: WanAnimateModelSet, dit: WanAnimateDiT, residentBytes: Int) {
        folder = base.folder
        tokenizer = base.tokenizer
        textEncoder = base.textEncoder
        imageEncoder = base.imageEncoder
        clipResize = base.clipResize
        vae = base.vae
        self.dit = dit
        self.residentBytes = residentBytes
    }

    /// `size.shortest_edge` and `crop_size` of a CLIPImageProcessor config (absent: the encoder's size).
    static func processorSizes(_ path: String, default size: Int) throws -> (shortestEdge: Int, crop: Int) {
        guard fileExists(path) else { return (size, size) }
        let json = try readJSON(path)
        let edge = json["size"]?["shortest_edge"]?.intValue.map(Int.init) ?? size
        let crop = json["crop_size"]?["height"]?.intValue.map(Int.init) ?? size
        guard crop == json["crop_size"]?["width"]?.intValue.map(Int.init) ?? crop, crop == size, edge >= crop else {
            throw EngineError(.badModelFolder, "the image processor must centre-crop \(size)x\(size) from a shortest edge of at least "
                              + "\(size) (got size \(edge), crop \(crop))", path: path)
        }
        return (edge, crop)
    }
}
