import WandModels
import WandTensor

/// The networks of one model folder, loaded and ready: tokenizer, umT5 encoder, one or two DiT
/// experts and the VAE. Weights stay memory-mapped in their stored dtype where the networks allow.
public final class WanModelSet: Sendable {
    public let folder: WanModelFolder
    public let tokenizer: UnigramTokenizer
    public let textEncoder: UMT5Encoder
    public let experts: [WanDiT]
    public let vae: WanVAE
    /// Resident bytes, for the model cache's budget: on the CPU the mapped weights at their file
    /// size, on a device backend the device copies the weights get once used.
    public let residentBytes: Int

    public init(folder: WanModelFolder, backend: any ComputeBackend) throws {
        self.folder = folder
        if folder.tokenizer.hasSuffix(".json") {
            tokenizer = try UnigramTokenizer(tokenizerJSONPath: folder.tokenizer)
        } else {
            tokenizer = try UnigramTokenizer(spieceModelPath: folder.tokenizer)
        }
        var bytes = 0

        let encoderWeights = try openWeights(folder.textEncoder)
        let encoderConfig = folder.layout == .diffusers
            ? try UMT5Config(configFile: folder.textEncoder + "/config.json")
            : try UMT5Config.official(encoderWeights, path: folder.textEncoder)
        textEncoder = try UMT5Encoder(config: encoderConfig, weights: encoderWeights, path: folder.textEncoder, backend: backend)
        bytes += Self.residentBytes(encoderWeights, backend)

        var experts: [WanDiT] = []
        for path in folder.transformers {
            let weights = try openWeights(path)
            let config = try WanDiTConfig(configFile: path + "/config.json")
            experts.append(try WanDiT(config: config, weights: weights, path: path, backend: backend))
            bytes += Self.residentBytes(weights, backend)
        }
        self.experts = experts

        let vaeWeights: WanVAEWeights
        var mean: [Float]?, std: [Float]?
        if folder.layout == .diffusers {
            // The structure (blocks, widths, patch, time/space factors) and the latent statistics
            // come from the AutoencoderKLWan config.json; official files use the published ones.
            let config = try WanVAEConfigFile(path: folder.vae + "/config.json")
            vaeWeights = try WanVAEWeights.fromWeightSet(try openWeights(folder.vae), source: folder.vae, config: config.config)
            mean = config.latentsMean
            std = config.latentsStd
        } else {
            vaeWeights = try WanVAEWeights.load(path: folder.vae)
        }
        vae = try WanVAE(weights: vaeWeights, backend: backend, latentMean: mean, latentStd: std)
        bytes += vaeWeights.tensors.values.reduce(0) { $0 + $1.count * 4 }
        residentBytes = bytes
    }

    /// This folder's tokenizer, encoder and VAE with other DiT experts (LoRA merges of these);
    /// `residentBytes` is the new set's own footprint.
    init(sharing base: WanModelSet, experts: [WanDiT], residentBytes: Int) {
        folder = base.folder
        tokenizer = base.tokenizer
        textEncoder = base.textEncoder
        vae = base.vae
        self.experts = experts
        self.residentBytes = residentBytes
    }

    static func residentBytes(_ set: WeightSet, _ backend: any ComputeBackend) -> Int {
        guard let device = backend as? VulkanBackend else { return set.byteCount }
        return set.tensors.reduce(0) { $0 + device.residentBytes(storedAs: $1.dtype, count: $1.elementCount) }
    }

    public var isTwoExpert: Bool { experts.count == 2 }
    public var latentChannels: Int { experts[0].config.outDim }
    public var acceptsImageChannels: Bool { experts[0].config.inDim > experts[0].config.outDim }
}
