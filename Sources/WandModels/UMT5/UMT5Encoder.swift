import Glibc
import WandTensor

/// The umT5 encoder (spec §6): relative-position bias per layer, no attention scaling,
/// gated-GELU(tanh) FFN, T5 RMS norms; f32 compute over weights used in their stored dtype.
public final class UMT5Encoder: Sendable {
    public let config: UMT5Config
    public let weights: ModelWeights
    let backend: any ComputeBackend

    /// `weights` in the official (`token_embedding`, `blocks.N.attn...`) or transformers
    /// (`shared`, `encoder.block.N.layer...`) layout.
    public init(config: UMT5Config, weights: WeightSet, path: String, backend: any ComputeBackend) throws(ModelError) {
        let isTransformers = weights.names.contains { $0.hasPrefix("encoder.") || $0 == "shared.weight" }
        self.weights = try ModelWeights(weights, path: path, expected: config.parameterShapes, rename: { name in
            isTransformers ? KeyMapper.umt5TransformersToOfficial(name) : name
        })
        self.config = config
        self.backend = backend
    }

    /// Encoder output for the real tokens only (ids including EOS, no padding): `[n, dim]`.
    /// Equal to the reference's rows `[0, n)` of a padded batch: padded keys are masked out and
    /// the relative bias depends only on offsets, so padding never reaches the real rows.
    public func encode(_ ids: [Int]) throws -> Tensor {
        let c = config, n = ids.count
        guard n > 0 else { throw ModelError.badInput(argument: "ids", detail: "empty") }
        if let bad = ids.first(where: { $0 < 0 || $0 >= c.vocabSize }) {
            throw ModelError.badInput(argument: "ids", detail: "token id \(bad) outside vocabulary of \(c.vocabSize)")
        }
        var x = Tensor(uninitialized: [n, c.dim])
        let table = weights.stored("token_embedding.weight")
        try withExtendedLifetime(table.owner) {
            for (r, id) in ids.enumerated() { try table.widenRows(id, 1, into: x.data + r * c.dim) }
        }
        let buckets = Self.bucketMatrix(length: n, numBuckets: c.numBuckets, maxDistance: c.maxDistance)
        for layer in 0..<c.numLayers {
            x = try block(layer, x, buckets: buckets)
        }
        return try backend.rmsNorm(x, weight: try weights.widened("norm.weight"), eps: c.eps)
    }

    /// What the Wan pipelines hand the DiT (spec §6.3, §2.2): the real rows, zero-padded to
    /// `textLen` rows. Longer inputs are refused: the tokenizer truncates to `textLen` first.
    public func encodePadded(_ ids: [Int], textLen: Int = 512) throws -> Tensor {
        guard ids.count <= textLen else {
            throw ModelError.badInput(argument: "ids", detail: "\(ids.count) tokens for a text length of \(textLen)")
        }
        return try encode(ids).padded([(0, textLen - ids.count), (0, 0)])
    }

    func block(_ n: Int, _ x: Tensor, buckets: [Int32]) throws -> Tensor {
        let c = config, b = "blocks.\(n).", rows = x.shape[0]
        var h = try backend.rmsNorm(x, weight: try weights.widened(b + "norm1.weight"), eps: c.eps)
        let shape = [rows, c.numHeads, c.headDim]
        let q = try linear(h, b + "attn.q").reshaped(shape)
        let k = try linear(h, b + "attn.k").reshaped(shape)
        let v = try linear(h, b + "attn.v").reshaped(shape)
        let bias = try positionBias(b + "pos_embedding.embedding.weight", buckets: buckets, length: rows)
        let attn = try backend.attention(q: q, k: k, v: v, scale: 1, bias: bias)
        let x = try backend.add(x, try linear(try attn.reshaped([rows, c.attentionDim]), b + "attn.o"))

        h = try backend.rmsNorm(x, weight: try weights.widened(b + "norm2.weight"), eps: c.eps)
        let gate = backend.gelu(try linear(h, b + "ffn.gate.0"), approximation: .tanh)
        let up = try linear(h, b + "ffn.fc1")
        return try backend.add(x, try linear(try backend.mul(up, gate), b + "ffn.fc2"))
    }

    /// `[heads, L, L]` bias: `table[bucket(k − q), head]`.
    func positionBias(_ name: String, buckets: [Int32], length: Int) throws -> Tensor {
        let table = try weights.widened(name)  // [numBuckets, heads]
        let heads = config.numHeads
        let out = Tensor(uninitialized: [heads, length, length])
        let t = table.data, o = out.data
        for h in 0..<heads {
            for i in 0..<(length * length) { o[h * length * length + i] = t[Int(buckets[i]) * heads + h] }
        }
        return out
    }

    func linear(_ x: Tensor, _ name: String) throws -> Tensor {
        try weights.linear(backend, x, weight: name + ".weight", bias: nil)
    }

    static func bucketMatrix(length: Int, numBuckets: Int, maxDistance: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: length * length)
        for q in 0..<length {
            for k in 0..<length {
                out[q * length + k] = Int32(relativeBucket(k - q, numBuckets: numBuckets, maxDistance: maxDistance))
            }
        }
        return out
    }

    /// Bidirectional T5 bucket of the offset `key − query` (spec §6.2), with the reference's
    /// float32 arithmetic for the logarithmic part (it decides which bucket a boundary offset
    /// falls in).
    public static func relativeBucket(_ offset: Int, numBuckets: Int = 32, maxDistance: Int = 128) -> Int {
        let half = numBuckets / 2
        let base = offset > 0 ? half : 0
        let a = abs(offset)
        let maxExact = half / 2
        if a < maxExact { return base + a }
        let ratio = Float(a) / Float(maxExact)
        let scale = Float(log(Double(maxDistance) / Double(maxExact)))
        let large = maxExact + Int(logf(ratio) / scale * Float(half - maxExact))
        return base + min(large, half - 1)
    }
}
