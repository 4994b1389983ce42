import Glibc
import WandTensor

/// The wav2vec2 encoder of `Wav2Vec2ForCTC` (its `lm_head` is not used), f32 compute, weights in
/// their stored dtype from the mapped file: feature convolutions, feature projection, the
/// weight-normed grouped positional convolution and the transformer layers. It returns every
/// hidden state, as S2V uses them (spec §8.1, next-modes §A.3).
///
/// Hidden states follow transformers 4.x, which the official S2V code was written and trained
/// with: entry 0 is the encoder input (projection plus positional convolution; LayerNorm-ed in
/// the post-LN geometry), entries 1…L the layer outputs, and in the stable-LN geometry the last
/// entry is taken after the encoder's final LayerNorm. (transformers 5.x returns the raw last
/// layer there instead; next-modes §1 item 2.)
public final class Wav2Vec2Encoder: Sendable {
    public let config: Wav2Vec2Config
    public let weights: ModelWeights
    let backend: any ComputeBackend
    /// The positional convolution's weight, g·v/‖v‖ (norm over all but the kernel axis), made once.
    let posConvWeight: Tensor
    /// The feature convolutions in f32 (small next to the transformer; widened once).
    let convWeights: [Tensor]

    /// `weights`: a `Wav2Vec2ForCTC` or `Wav2Vec2Model` file (`wav2vec2.` prefix or none); the
    /// positional convolution as `weight_g`/`weight_v`, transformers 5's
    /// `parametrizations.weight.original0/1`, or an already merged `weight`.
    public init(config: Wav2Vec2Config, weights: WeightSet, path: String, backend: any ComputeBackend) throws(ModelError) {
        let posPrefix = "encoder.pos_conv_embed.conv."
        func rename(_ stored: String) -> String? {
            var name = stored.hasPrefix("wav2vec2.") ? String(stored.dropFirst("wav2vec2.".count)) : stored
            if name == posPrefix + "parametrizations.weight.original0" { name = posPrefix + "weight_g" }
            if name == posPrefix + "parametrizations.weight.original1" { name = posPrefix + "weight_v" }
            return Self.unused(name) ? nil : name
        }
        let merged = weights.names.contains { rename($0) == posPrefix + "weight" }
        var expected = config.parameterShapes
        if merged {
            expected.removeAll { $0.name == posPrefix + "weight_g" || $0.name == posPrefix + "weight_v" }
            expected.append((posPrefix + "weight", [config.hiddenSize, config.hiddenSize / config.posConvGroups,
                                                    config.posConvKernel]))
        }
        let loaded = try ModelWeights(weights, path: path, expected: expected, rename: rename,
                                      ignore: { Self.unused($0.hasPrefix("wav2vec2.") ? String($0.dropFirst(9)) : $0) })
        self.weights = loaded
        self.config = config
        self.backend = backend
        do {
            if merged {
                posConvWeight = try loaded.widened(posPrefix + "weight")
            } else {
                posConvWeight = Self.weightNorm(g: try loaded.widened(posPrefix + "weight_g"),
                                                v: try loaded.widened(posPrefix + "weight_v"))
            }
            convWeights = try (0..<config.convDim.count).map { try loaded.widened("feature_extractor.conv_layers.\($0).conv.weight") }
        } catch {
            throw .unsupported(path: path, detail: "widening the convolution weights: \(error)")
        }
    }

    /// Tensors of the checkpoint that the encoder does not use (the CTC head, pre-training parts).
    static func unused(_ name: String) -> Bool {
        name.hasPrefix("lm_head.") || name == "masked_spec_embed" || name.hasPrefix("quantizer.")
            || name.hasPrefix("project_q.") || name.hasPrefix("project_hid.")
    }

    /// torch weight_norm with dim=2 on [out, in/groups, k]: each kernel tap k is scaled to norm g[k].
    static func weightNorm(g: Tensor, v: Tensor) -> Tensor {
        let v = v.contiguous(), g = g.contiguous()
        let k = v.shape[2], rows = v.shape[0] * v.shape[1]
        var norms = [Double](repeating: 0, count: k)
        for r in 0..<rows { for j in 0..<k { let x = Double(v.data[r * k + j]); norms[j] += x * x } }
        let out = Tensor(uninitialized: v.shape)
        let scale = (0..<k).map { Float(Double(g.data[$0]) / norms[$0].squareRoot()) }
        for r in 0..<rows { for j in 0..<k { out.data[r * k + j] = v.data[r * k + j] * scale[j] } }
        return out
    }

    /// `Wav2Vec2FeatureExtractor` with `do_normalize`: zero mean, unit variance (population
    /// variance + 1e-7), computed in double.
    public static func normalize(_ samples: [Float]) -> [Float] {
        guard !samples.isEmpty else { return [] }
        var mean = 0.0
        for s in samples { mean += Double(s) }
        mean /= Double(samples.count)
        var variance = 0.0
        for s in samples { let d = Double(s) - mean; variance += d * d }
        variance /= Double(samples.count)
        let inv = 1 / (variance + 1e-7).squareRoot()
        return samples.map { Float((Double($0) - mean) * inv) }
    }

    /// All `numLayers + 1` hidden states `[T, hidden]` for normalized 16 kHz input; `body` gets
    /// each in order (index, state), so a caller can reduce them without holding all at once.
    public func forEachHiddenState(_ input: [Float], _ body: (Int, Tensor) throws -> Void) throws {
        let c = config
        guard c.frames(forSamples: input.count) >= 1 else {
            throw ModelError.badInput(argument: "audio", detail: "\(input.count) samples is shorter than one wav2vec2 frame (\(c.minimumSamples))")
        }
        // Feature convolutions on [C, T].
        var x = try Tensor(shape: [1, input.count], values: input)
        for i in 0..<c.convDim.count {
            let p = "feature_extractor.conv_layers.\(i)."
            let bias = c.convBias ? try weights.widened(p + "conv.bias") : nil
            x = try backend.conv1d(x, weight: convWeights[i], bias: bias, stride: c.convStride[i], padding: (0, 0), groups: 1)
            if c.featureNorm == .layer {
                let t = try backend.layerNorm(try x.permuted([1, 0]), weight: try weights.widened(p + "layer_norm.weight"),
                                              bias: try weights.widened(p + "layer_norm.bias"), eps: 1e-5)
                x = try t.permuted([1, 0]).contiguous()
            } else if i == 0 {
                x = try backend.groupNorm(x, groups: c.convDim[0], weight: try weights.widened(p + "layer_norm.weight"),
                                          bias: try weights.widened(p + "layer_norm.bias"), eps: 1e-5)
            }
            x = backend.gelu(x, approximation: .none)
        }
        // Feature projection on [T, C].
        let features = try backend.layerNorm(try x.permuted([1, 0]), weight: try weights.widened("feature_projection.layer_norm.weight"),
                                             bias: try weights.widened("feature_projection.layer_norm.bias"), eps: c.layerNormEps)
        var h = try linear(features, "feature_projection.projection")
        // Positional convolution ("same" padding; an even kernel drops the last output).
        let k = c.posConvKernel
        var pos = try backend.conv1d(try h.permuted([1, 0]), weight: posConvWeight,
                                     bias: try weights.widened("encoder.pos_conv_embed.conv.bias"),
                                     stride: 1, padding: (k / 2, k / 2), groups: c.posConvGroups)
        if k % 2 == 0 { pos = try pos.sliced(dim: 1, 0..<(pos.shape[1] - 1)) }
        pos = backend.gelu(try pos.permuted([1, 0]).contiguous(), approximation: .none)
        h = try backend.add(h, pos)
        if !c.stableLayerNorm { h = try layerNorm(h, "encoder.layer_norm") }
        try body(0, h)
        for n in 0..<c.numLayers {
            h = try layer(n, h)
            if n == c.numLayers - 1 && c.stableLayerNorm {
                try body(n + 1, try layerNorm(h, "encoder.layer_norm"))
            } else {
                try body(n + 1, h)
            }
        }
    }

    /// The same, collected.
    public func hiddenStates(_ input: [Float]) throws -> [Tensor] {
        var states: [Tensor] = []
        try forEachHiddenState(input) { states.append($1) }
        return states
    }

    func layer(_ n: Int, _ x: Tensor) throws -> Tensor {
        let p = "encoder.layers.\(n)."
        if config.stableLayerNorm {
            let attn = try attention(p, try layerNorm(x, p + "layer_norm"))
            let h = try backend.add(x, attn)
            return try backend.add(h, try feedForward(p, try layerNorm(h, p + "final_layer_norm")))
        }
        let h = try layerNorm(try backend.add(x, try attention(p, x)), p + "layer_norm")
        return try layerNorm(try backend.add(h, try feedForward(p, h)), p + "final_layer_norm")
    }

    func attention(_ p: String, _ x: Tensor) throws -> Tensor {
        let c = config, t = x.shape[0]
        let heads = [t, c.numHeads, c.headDim]
        let q = try linear(x, p + "attention.q_proj").reshaped(heads)
        let k = try linear(x, p + "attention.k_proj").reshaped(heads)
        let v = try linear(x, p + "attention.v_proj").reshaped(heads)
        let o = try backend.attention(q: q, k: k, v: v, scale: nil, bias: nil)
        return try linear(try o.reshaped([t, c.hiddenSize]), p + "attention.out_proj")
    }

    func feedForward(_ p: String, _ x: Tensor) throws -> Tensor {
        let hidden = backend.gelu(try linear(x, p + "feed_forward.intermediate_dense"), approximation: .none)
        return try linear(hidden, p + "feed_forward.output_dense")
    }

    func layerNorm(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try backend.layerNorm(x, weight: try weights.widened(prefix + ".weight"), bias: try weights.widened(prefix + ".bias"),
                              eps: config.layerNormEps)
    }

    func linear(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try weights.linear(backend, x, weight: prefix + ".weight", bias: prefix + ".bias")
    }
}
