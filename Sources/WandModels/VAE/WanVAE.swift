import WandTensor

/// The Wan2.1 / Wan2.2 video VAE (wan-architecture.md §5), f32, in the reference's chunked form:
/// encode runs frames [0], [1..4], [5..8], … through the encoder, decode runs one latent frame at a
/// time; causal-conv histories carry across chunks (`CausalCache`), so decode memory depends on the
/// frame size only, never on the number of frames.
public struct WanVAE: Sendable {
    public let weights: WanVAEWeights
    public let config: WanVAEConfig
    /// The blocks `config` builds, walked by encode and decode.
    public let structure: WanVAEStructure
    public let backend: any ComputeBackend
    /// Latent normalization: z_norm = (mu − mean)·(1/std); defaults to the published constants.
    public let latentMean: [Float]
    public let latentStd: [Float]

    public init(weights: WanVAEWeights, backend: any ComputeBackend,
                latentMean: [Float]? = nil, latentStd: [Float]? = nil) throws {
        let config = try weights.config()
        let mean = latentMean ?? WanVAELatentStats.mean(config.version)
        let std = latentStd ?? WanVAELatentStats.std(config.version)
        guard mean.count == config.zDim, std.count == config.zDim else {
            throw VAEError.badInput(detail: "latent mean/std have \(mean.count)/\(std.count) entries, z_dim is \(config.zDim)")
        }
        self.weights = weights
        self.config = config
        self.structure = WanVAEStructure(config)
        self.backend = backend
        self.latentMean = mean
        self.latentStd = std
    }

    public var version: WanVAEVersion { config.version }
    var layers: VAELayers { VAELayers(backend: backend, weights: weights) }

    // MARK: encode

    /// RGB video [3, T, H, W] in [−1, 1], T = 4n+1, H and W multiples of the spatial factor
    /// (8 for 2.1, 16 for 2.2) -> normalized latent mean [z, 1 + (T−1)/tf, H/f, W/f].
    public func encode(_ video: Tensor) throws -> Tensor {
        let f = config.spatialFactor
        guard video.rank == 4, video.shape[0] == 3, video.shape[1] % 4 == 1,
              video.shape[2] % f == 0, video.shape[3] % f == 0 else {
            throw VAEError.badInput(detail: "encode expects [3, 4n+1, H, W] with H, W multiples of \(f); got \(video.shape)")
        }
        // The reference encodes 4 frames at a time after the first; each temporal stage halves a
        // chunk, and a third would leave a time_conv (kernel 3) fewer frames than it needs.
        guard config.encoderTemporalFactor <= 4 else {
            throw VAEError.badInput(detail: "temperal_downsample \(config.temporalDownsample) halves time \(config.encoderTemporalFactor)× "
                                    + "in the encoder; encoding in 4-frame chunks (as diffusers does) allows at most 4×")
        }
        defer { backend.releaseScratch() }  // the conv buffers kept between chunks
        let x = config.patchSize > 1 ? try VAERearrange.patchify(video, patch: config.patchSize) : video
        let cache = CausalCache()
        var outputs: [Tensor] = []
        var start = 0
        while start < x.shape[1] {
            let end = start == 0 ? 1 : start + 4
            let chunk = try x.sliced(dim: 1, start..<end).contiguous()
            outputs.append(try encoderChunk(chunk, cache: cache))
            start = end
        }
        let features = outputs.count == 1 ? outputs[0] : try Tensor.concat(outputs, dim: 1)
        let moments = try layers.causalConv(features, "conv1", cache: nil)
        let mu = try moments.sliced(dim: 0, 0..<config.zDim).contiguous()
        return try normalize(mu)
    }

    func encoderChunk(_ x: Tensor, cache: CausalCache) throws -> Tensor {
        var x = try layers.causalConv(x, "encoder.conv1", cache: cache)
        for stage in structure.encoderStages {
            let input = x
            x = try run(stage.blocks, x, cache: cache)
            if let s = stage.shortcut {
                x = try backend.add(x, try VAERearrange.avgDown(input, outChannels: s.outDim, ft: s.timeFactor, fs: s.spaceFactor))
            }
        }
        x = try middle(x, "encoder", cache: cache)
        return try head(x, "encoder", cache: cache)
    }

    /// The blocks of one stage, in order, under their official names.
    func run(_ blocks: [WanVAEStructure.Block], _ x: Tensor, cache: CausalCache) throws -> Tensor {
        let l = layers
        var x = x
        for b in blocks {
            switch b.kind {
            case .residual: x = try l.residualBlock(x, b.official, cache: cache)
            case .attention: x = try l.attentionBlock(x, b.official)
            case let .downsample(_, temporal): x = try l.downsample(x, b.official, temporal: temporal, cache: cache)
            case let .upsample(_, _, temporal): x = try l.upsample(x, b.official, temporal: temporal, cache: cache)
            }
        }
        return x
    }

    // MARK: decode

    /// Normalized latents [z, F, h, w] -> RGB [3, tf(F−1)+1, h·f, w·f] clamped to [−1, 1].
    public func decode(_ latents: Tensor) throws -> Tensor {
        var frames: [Tensor] = []
        try decodeStreaming(latents) { frames.append($0) }
        return frames.count == 1 ? frames[0] : try Tensor.concat(frames, dim: 1)
    }

    /// Decodes one latent frame at a time and hands each piece of video ([3, 1, H, W] for latent
    /// frame 0, [3, tf, H, W] for every later one, tf = 4 in the published VAEs) to `emit` before decoding the next, so the whole
    /// video never has to be in memory. `cacheBytes`, if given, receives the streaming state's size
    /// after every latent frame.
    public func decodeStreaming(_ latents: Tensor, cacheBytes: ((Int) -> Void)? = nil,
                                emit: (Tensor) throws -> Void) throws {
        guard latents.rank == 4, latents.shape[0] == config.zDim, latents.shape[1] >= 1 else {
            throw VAEError.badInput(detail: "decode expects [\(config.zDim), F, h, w]; got \(latents.shape)")
        }
        defer { backend.releaseScratch() }  // the conv buffers kept between chunks
        let z = try denormalize(latents)
        let x = try layers.causalConv(z, "conv2", cache: nil)
        let cache = CausalCache()
        for f in 0..<x.shape[1] {
            let frame = try x.sliced(dim: 1, f..<(f + 1)).contiguous()
            var out = try decoderChunk(frame, cache: cache, firstChunk: f == 0)
            if config.patchSize > 1 { out = try VAERearrange.unpatchify(out, patch: config.patchSize) }
            out = backend.clamp(out, lower: -1, upper: 1)
            cacheBytes?(cache.byteCount)
            try emit(out)
        }
    }

    func decoderChunk(_ x: Tensor, cache: CausalCache, firstChunk: Bool) throws -> Tensor {
        try decoderUpsampling(try decoderMiddle(x, cache: cache), cache: cache, firstChunk: firstChunk)
    }

    /// conv1 and the middle blocks, at latent resolution. The middle attention sees the whole
    /// frame, so a tiled decode runs this part untiled (it is small) and tiles only the rest.
    func decoderMiddle(_ x: Tensor, cache: CausalCache) throws -> Tensor {
        try middle(try layers.causalConv(x, "decoder.conv1", cache: cache), "decoder", cache: cache)
    }

    /// The upsampling stages and the head: convolutions only, each output pixel depends on a
    /// bounded neighbourhood of the input.
    func decoderUpsampling(_ x: Tensor, cache: CausalCache, firstChunk: Bool) throws -> Tensor {
        var x = x
        for stage in structure.decoderStages {
            let input = x
            x = try run(stage.blocks, x, cache: cache)
            if let s = stage.shortcut {
                x = try backend.add(x, try VAERearrange.dupUp(input, outChannels: s.outDim, ft: s.timeFactor, fs: s.spaceFactor,
                                                              firstChunk: firstChunk))
            }
        }
        return try head(x, "decoder", cache: cache)
    }

    // MARK: shared pieces

    func middle(_ x: Tensor, _ side: String, cache: CausalCache) throws -> Tensor {
        var x = try layers.residualBlock(x, "\(side).middle.0", cache: cache)
        x = try layers.attentionBlock(x, "\(side).middle.1")
        return try layers.residualBlock(x, "\(side).middle.2", cache: cache)
    }

    func head(_ x: Tensor, _ side: String, cache: CausalCache) throws -> Tensor {
        let h = backend.silu(try layers.rmsNorm(x, "\(side).head.0"))
        return try layers.causalConv(h, "\(side).head.2", cache: cache)
    }

    /// (mu − mean)·(1/std), with 1/std rounded to f32 first as the reference does.
    func normalize(_ mu: Tensor) throws -> Tensor {
        let (mean, inv) = try latentStatTensors(rank: mu.rank)
        return try backend.mul(try backend.sub(mu, mean), inv)
    }

    /// z / (1/std) + mean, the reference's inverse.
    func denormalize(_ z: Tensor) throws -> Tensor {
        let (mean, inv) = try latentStatTensors(rank: z.rank)
        return try backend.add(try backend.div(z, inv), mean)
    }

    /// mean and 1/std as [C, 1, ...] tensors that broadcast over a latent of `rank` dims.
    func latentStatTensors(rank: Int) throws -> (mean: Tensor, inverseStd: Tensor) {
        let shape = [config.zDim] + [Int](repeating: 1, count: Swift.max(rank - 1, 0))
        return (try Tensor(shape: shape, values: latentMean), try Tensor(shape: shape, values: latentStd.map { 1 / $0 }))
    }

    func clampInPlace(_ x: Tensor) {
        let p = x.data
        for i in 0..<x.count { p[i] = Swift.min(1, Swift.max(-1, p[i])) }
    }
}
