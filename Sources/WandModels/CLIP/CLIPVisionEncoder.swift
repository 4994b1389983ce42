import Glibc
import WandTensor

/// The CLIP ViT image encoder of Wan's image-conditioned models, f32 compute over weights used in
/// their stored dtype. Its output is the hidden state of the penultimate block: the official code
/// runs 31 of the 32 blocks (`use_31_block=True`, no post-norm, no head) and diffusers takes
/// `hidden_states[-2]` of transformers' `CLIPVisionModel`, which is the same tensor.
public final class CLIPVisionEncoder: Sendable {
    public enum Layout: String, Sendable { case openCLIP = "open-clip", transformers }

    public let config: CLIPVisionConfig
    public let layout: Layout
    public let weights: ModelWeights
    let backend: any ComputeBackend

    /// `weights`: the open-clip checkpoint (`visual.*`, the text tower is skipped) or a
    /// transformers CLIP vision model (with or without the `vision_model.` prefix).
    public init(config: CLIPVisionConfig, weights: WeightSet, path: String, backend: any ComputeBackend) throws(ModelError) {
        let names = weights.names
        let fused = names.contains("visual.transformer.0.attn.to_qkv.weight")
        let transformers = !fused && names.contains { $0.hasSuffix("encoder.layers.0.self_attn.q_proj.weight") }
        guard fused || transformers else {
            throw .unsupported(path: path, detail: "no CLIP vision tower (neither open-clip visual.transformer.* nor "
                               + "transformers encoder.layers.* tensors)")
        }
        self.weights = try ModelWeights(weights, path: path, expected: config.parameterShapes(fusedQKV: fused), rename: { name in
            if KeyMapper.isUnusedCLIPTensor(name) { return nil }
            return fused ? (name.hasPrefix("visual.") ? name : nil) : KeyMapper.clipTransformersToOpenCLIP(name)
        }, ignore: KeyMapper.isUnusedCLIPTensor)
        self.config = config
        self.layout = fused ? .openCLIP : .transformers
        self.backend = backend
    }

    /// `pixels` `[3, S, S]`, normalized with the CLIP mean and std (CLIPImagePreprocessing).
    /// Returns `[1 + (S/p)², hidden]`: the class token, then the patches in row-major order.
    public func penultimateHiddenState(_ pixels: Tensor) throws -> Tensor {
        let c = config, d = c.hiddenSize
        guard pixels.shape == [3, c.imageSize, c.imageSize] else {
            throw ModelError.badInput(argument: "pixels", detail: "shape \(pixels.shape), expected [3, \(c.imageSize), \(c.imageSize)]")
        }
        let patches = try weights.linear(backend, Self.patchify(pixels, patch: c.patchSize), weight: "visual.patch_embedding.weight",
                                         bias: nil, weightShape: [d, 3 * c.patchSize * c.patchSize])
        let cls = try weights.widened("visual.cls_embedding").reshaped([1, d])
        var x = try Tensor.concat([cls, patches], dim: 0)
        let pos = try weights.widened("visual.pos_embedding")
        for i in 0..<x.count { x.data[i] += pos.data[i] }
        x = try backend.layerNorm(x, weight: try weights.widened("visual.pre_norm.weight"),
                                  bias: try weights.widened("visual.pre_norm.bias"), eps: c.eps)
        for n in 0..<(c.numLayers - 1) {
            x = try block(n, x)
        }
        return x
    }

    func block(_ n: Int, _ x: Tensor) throws -> Tensor {
        let c = config, d = c.hiddenSize, b = "visual.transformer.\(n)."
        let tokens = x.shape[0]
        var h = try backend.layerNorm(x, weight: try weights.widened(b + "norm1.weight"),
                                      bias: try weights.widened(b + "norm1.bias"), eps: c.eps)
        let (q, k, v) = try projections(b, h)
        let heads = [tokens, c.numHeads, c.headDim]
        let attn = try backend.attention(q: try q.reshaped(heads), k: try k.reshaped(heads), v: try v.reshaped(heads),
                                         scale: nil, bias: nil)
        let out = try linear(try attn.reshaped([tokens, d]), b + "attn.proj")
        for i in 0..<x.count { x.data[i] += out.data[i] }
        h = try backend.layerNorm(x, weight: try weights.widened(b + "norm2.weight"),
                                  bias: try weights.widened(b + "norm2.bias"), eps: c.eps)
        h = try linear(h, b + "mlp.0")
        h = c.activation == .gelu ? backend.gelu(h, approximation: .none) : Self.quickGELU(h)
        let mlp = try linear(h, b + "mlp.2")
        for i in 0..<x.count { x.data[i] += mlp.data[i] }
        return x
    }

    /// q, k, v `[tokens, hidden]`: three Linears, or the row thirds of open-clip's fused one.
    func projections(_ b: String, _ h: Tensor) throws -> (Tensor, Tensor, Tensor) {
        guard layout == .openCLIP else {
            return (try linear(h, b + "attn.to_q"), try linear(h, b + "attn.to_k"), try linear(h, b + "attn.to_v"))
        }
        let d = config.hiddenSize
        let fused = weights.stored(b + "attn.to_qkv.weight")
        let bias = try weights.widened(b + "attn.to_qkv.bias")
        var out: [Tensor] = []
        for part in 0..<3 {
            let rows = StoredTensor(dtype: fused.dtype, shape: [d, d], bytes: fused.bytes + part * d * d * fused.dtype.size,
                                    owner: fused.owner)
            let partBias = try Tensor(shape: [d], values: Array(UnsafeBufferPointer(start: bias.data + part * d, count: d)))
            out.append(try backend.linear(h, weight: rows, bias: partBias))
        }
        return (out[0], out[1], out[2])
    }

    func linear(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try weights.linear(backend, x, weight: prefix + ".weight", bias: prefix + ".bias")
    }

    /// `[3, S, S]` -> `[(S/p)², 3·p·p]`, patches row-major, features (channel, row, column) like
    /// the Conv2d weight `[hidden, 3, p, p]` flattened.
    static func patchify(_ x: Tensor, patch p: Int) -> Tensor {
        let x = x.contiguous()
        let s = x.shape[1], n = s / p
        let out = Tensor(uninitialized: [n * n, 3 * p * p])
        let src = x.data, dst = out.data
        for i in 0..<n {
            for j in 0..<n {
                let row = dst + (i * n + j) * 3 * p * p
                for ch in 0..<3 {
                    for a in 0..<p {
                        (row + (ch * p + a) * p).update(from: src + (ch * s + i * p + a) * s + j * p, count: p)
                    }
                }
            }
        }
        return out
    }

    /// `x · sigmoid(1.702 x)` (OpenAI CLIP's activation).
    static func quickGELU(_ x: Tensor) -> Tensor {
        let x = x.contiguous()
        let out = Tensor(uninitialized: x.shape)
        for i in 0..<x.count { let v = x.data[i]; out.data[i] = v / (1 + expf(-1.702 * v)) }
        return out
    }
}
