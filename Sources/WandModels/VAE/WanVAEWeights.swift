import WandTensor

/// VAE parameters under the official `WanVAE_` names (§5, §9.2). f32 weights (the official .pth
/// files) are used in place from the memory-mapped file; bf16/f16 files are widened to f32 once at
/// load, as every weight is used for every frame.
public struct WanVAEWeights: Sendable {
    public let tensors: [String: Tensor]
    public let version: WanVAEVersion
    public let source: String

    public init(tensors: [String: Tensor], version: WanVAEVersion, source: String) {
        self.tensors = tensors
        self.version = version
        self.source = source
    }

    /// Loads an official `.pth` (torch.save state dict), an official-name safetensors (ComfyUI) or a
    /// diffusers `AutoencoderKLWan` safetensors; the layout is recognized from the names.
    public static func load(path: String) throws -> WanVAEWeights {
        let set: WeightSet
        if path.hasSuffix(".pth") || path.hasSuffix(".pt") || path.hasSuffix(".ckpt") {
            set = try PyTorchCheckpoint(path: path).weights
        } else {
            set = try SafetensorsFile(path: path).weights
        }
        return try fromWeightSet(set, source: path)
    }

    public static func fromWeightSet(_ set: WeightSet, source: String) throws -> WanVAEWeights {
        let names = set.names
        let diffusers = names.contains { $0.hasPrefix("quant_conv.") || $0.hasPrefix("encoder.conv_in.") || $0.hasPrefix("decoder.conv_in.") }
        let version: WanVAEVersion
        if diffusers {
            version = names.contains { $0.hasPrefix("encoder.down_blocks.0.resnets.") } ? .wan22 : .wan21
        } else {
            guard names.contains(where: { $0.hasPrefix("encoder.conv1.") || $0.hasPrefix("decoder.conv1.") }) else {
                throw VAEError.unrecognizedLayout(file: source, detail: "neither official (encoder.conv1) nor diffusers (encoder.conv_in) VAE names")
            }
            version = names.contains { $0.hasPrefix("encoder.downsamples.0.downsamples.") || $0.hasPrefix("decoder.upsamples.0.upsamples.") } ? .wan22 : .wan21
        }
        var out: [String: Tensor] = [:]
        for w in set.tensors {
            let name: String
            if diffusers {
                // diffusers keeps latents_mean/std in config.json, not in the weights; nothing else is skipped.
                guard let mapped = KeyMapper.vaeDiffusersToOfficial(w.name, version: version == .wan21 ? .wan21 : .wan22) else {
                    throw VAEError.unknownWeight(name: w.name, file: source)
                }
                name = mapped
            } else {
                name = w.name
            }
            guard let base = w.bytes.baseAddress else { throw VAEError.badShape(name: w.name, shape: w.shape, expected: "non-empty") }
            if w.dtype == .f32, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                // f32 in the file (the official .pth files): read in place from the mapping, no copy.
                let storage = TensorStorage(borrowing: UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Float.self)),
                                            count: w.elementCount, owner: w.file)
                out[name] = Tensor(storage: storage, shape: w.shape)
            } else {
                out[name] = try StoredTensor(dtype: w.dtype, shape: w.shape, bytes: base, owner: w.file).toTensor()
            }
        }
        return WanVAEWeights(tensors: out, version: version, source: source)
    }

    public func tensor(_ name: String) throws(VAEError) -> Tensor {
        guard let t = tensors[name] else { throw VAEError.missingWeight(name: name, file: source) }
        return t
    }

    public func has(_ name: String) -> Bool { tensors[name] != nil }

    /// Widths and z_dim from the weight shapes.
    public func config() throws -> WanVAEConfig {
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
