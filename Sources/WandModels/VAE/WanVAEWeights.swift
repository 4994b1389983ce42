import WandTensor

/// VAE parameters under the official `WanVAE_` names (§5, §9.2). f32 weights (the official .pth
/// files) are used in place from the memory-mapped file; bf16/f16 files are widened to f32 once at
/// load, as every weight is used for every frame.
public struct WanVAEWeights: Sendable {
    public let tensors: [String: Tensor]
    public let version: WanVAEVersion
    public let source: String
    /// The structure the weights were checked against at load (config.json, or the published
    /// structure with the widths of the weights); nil for a hand-built set, whose structure
    /// `config()` reads from the shapes.
    public let structure: WanVAEConfig?

    public init(tensors: [String: Tensor], version: WanVAEVersion, source: String) {
        self.tensors = tensors
        self.version = version
        self.source = source
        self.structure = nil
    }

    init(tensors: [String: Tensor], structure: WanVAEConfig, source: String) {
        self.tensors = tensors
        self.version = structure.version
        self.source = source
        self.structure = structure
    }

    /// Loads an official `.pth` (torch.save state dict), an official-name safetensors (ComfyUI) or a
    /// diffusers `AutoencoderKLWan` safetensors; the layout is recognized from the names. `config`
    /// is the structure from the diffusers config.json; without it the published structure is
    /// assumed, with the widths the weights show.
    public static func load(path: String, config: WanVAEConfig? = nil) throws -> WanVAEWeights {
        let set: WeightSet
        if path.hasSuffix(".pth") || path.hasSuffix(".pt") || path.hasSuffix(".ckpt") {
            set = try PyTorchCheckpoint(path: path).weights
        } else {
            set = try SafetensorsFile(path: path).weights
        }
        return try fromWeightSet(set, source: path, config: config)
    }

    /// Every tensor is checked against the structure's parameter table (name and shape), so a
    /// missing, extra or misshapen tensor is refused here, by the name it has in the file.
    public static func fromWeightSet(_ set: WeightSet, source: String, config: WanVAEConfig? = nil) throws -> WanVAEWeights {
        let names = set.names
        let diffusers = names.contains { $0.hasPrefix("quant_conv.") || $0.hasPrefix("encoder.conv_in.") || $0.hasPrefix("decoder.conv_in.") }
        if !diffusers, !names.contains(where: { $0.hasPrefix("encoder.conv1.") || $0.hasPrefix("decoder.conv1.") }) {
            throw VAEError.unrecognizedLayout(file: source, detail: "neither official (encoder.conv1) nor diffusers (encoder.conv_in) VAE names")
        }
        let structure = try config ?? inferredConfig(set, diffusers: diffusers, source: source)
        var table: [String: WanVAEStructure.Parameter] = [:]
        for p in WanVAEStructure(structure).parameters { table[diffusers ? p.diffusers : p.official] = p }
        var out: [String: Tensor] = [:]
        for w in set.tensors {
            // diffusers keeps latents_mean/std in config.json, not in the weights; nothing is skipped.
            guard let p = table[w.name] else { throw VAEError.unknownWeight(name: w.name, file: source) }
            guard w.shape == p.shape else { throw VAEError.badShape(name: w.name, shape: w.shape, expected: "\(p.shape) (\(source))") }
            guard let base = w.bytes.baseAddress else { throw VAEError.badShape(name: w.name, shape: w.shape, expected: "non-empty") }
            if w.dtype == .f32, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                // f32 in the file (the official .pth files): read in place from the mapping, no copy.
                let storage = TensorStorage(borrowing: UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Float.self)),
                                            count: w.elementCount, owner: w.file)
                out[p.official] = Tensor(storage: storage, shape: w.shape)
            } else {
                out[p.official] = try StoredTensor(dtype: w.dtype, shape: w.shape, bytes: base, owner: w.file).toTensor()
            }
        }
        for (name, p) in table.sorted(by: { $0.key < $1.key }) where out[p.official] == nil {
            throw VAEError.missingWeight(name: name, file: source)
        }
        return WanVAEWeights(tensors: out, structure: structure, source: source)
    }

    /// No config.json (official files, or a lone diffusers file): the published structure of the
    /// style the names show, with the widths and z_dim of the weights.
    static func inferredConfig(_ set: WeightSet, diffusers: Bool, source: String) throws -> WanVAEConfig {
        let names = set.names
        let wan22 = diffusers
            ? names.contains { $0.hasPrefix("encoder.down_blocks.0.resnets.") }
            : names.contains { $0.hasPrefix("encoder.downsamples.0.downsamples.") || $0.hasPrefix("decoder.upsamples.0.upsamples.") }
        func shape(_ official: String, _ diffusersName: String, rank: Int) throws -> [Int] {
            let name = diffusers ? diffusersName : official
            guard let t = set[name] else { throw VAEError.missingWeight(name: name, file: source) }
            guard t.shape.count == rank else { throw VAEError.badShape(name: name, shape: t.shape, expected: "rank \(rank)") }
            return t.shape
        }
        let encIn = try shape("encoder.conv1.weight", "encoder.conv_in.weight", rank: 5)
        let decOut = try shape("decoder.head.2.weight", "decoder.conv_out.weight", rank: 5)
        let post = try shape("conv2.weight", "post_quant_conv.weight", rank: 5)
        return WanVAEConfig(version: wan22 ? .wan22 : .wan21, zDim: post[0], encoderDim: encIn[0], decoderDim: decOut[1])
    }

    public func tensor(_ name: String) throws(VAEError) -> Tensor {
        guard let t = tensors[name] else { throw VAEError.missingWeight(name: name, file: source) }
        return t
    }

    public func has(_ name: String) -> Bool { tensors[name] != nil }

    /// The structure: the one checked at load, else the published one with the widths of the shapes.
    public func config() throws -> WanVAEConfig {
        if let structure { return structure }
        let encIn = try tensor("encoder.conv1.weight"), decOut = try tensor("decoder.head.2.weight")
        let post = try tensor("conv2.weight")
        guard encIn.rank == 5, decOut.rank == 5, post.rank == 5 else {
            throw VAEError.badShape(name: "encoder.conv1.weight", shape: encIn.shape, expected: "[C, Cin, 3, 3, 3]")
        }
        let expectedIn = version == .wan21 ? 3 : 12
        guard encIn.shape[1] == expectedIn, decOut.shape[0] == expectedIn else {
            throw VAEError.badShape(name: "encoder.conv1.weight", shape: encIn.shape, expected: "\(expectedIn) input channels for Wan\(version.rawValue)")
        }
        return WanVAEConfig(version: version, zDim: post.shape[0], encoderDim: encIn.shape[0], decoderDim: decOut.shape[1])
    }
}
