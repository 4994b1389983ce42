/// Hyper-parameters of one Wan DiT (`WanModel` / diffusers `WanTransformer3DModel`), spec §1.
/// Fields that the published official config.json leaves out (patch size, qk/cross-attn norms,
/// text_dim, window) take the defaults every Wan2.x DiT uses. `WanDiTConfig+JSON.swift` reads
/// config.json.
public struct WanDiTConfig: Sendable, Equatable {
    public enum ModelType: String, Sendable { case t2v, i2v, ti2v }

    public var modelType: ModelType
    public var dim: Int
    public var ffnDim: Int
    public var numHeads: Int
    public var numLayers: Int
    public var inDim: Int
    public var outDim: Int
    public var textDim: Int
    public var freqDim: Int
    /// Rows the text context is zero-padded to (512 in every pipeline). Diffusers keeps it out of
    /// the transformer config (it is the pipeline's max_sequence_length), so it stays settable.
    public var textLen: Int
    public var eps: Float
    /// Patch (frames, height, width) of the patch embedding and the head (`patch_size`).
    public var patchSize: [Int]
    /// The affine LayerNorm before cross-attention (`cross_attn_norm`; identity when false).
    public var crossAttnNorm: Bool
    /// RMS norms on queries and keys (`qk_norm`). diffusers always builds them.
    public var qkNorm: Bool
    /// Positions per axis the RoPE tables cover (`rope_max_seq_len`).
    public var ropeMaxSeqLen: Int

    public static let ropeTheta = 10_000.0
    /// The published patch, and the RoPE length of every published model.
    public static let publishedPatchSize = [1, 2, 2]
    public static let ropeMaxPositions = 1024

    public init(modelType: ModelType, dim: Int, ffnDim: Int, numHeads: Int, numLayers: Int,
                inDim: Int, outDim: Int, textDim: Int = 4096, freqDim: Int = 256,
                textLen: Int = 512, eps: Float = 1e-6, patchSize: [Int] = WanDiTConfig.publishedPatchSize,
                crossAttnNorm: Bool = true, qkNorm: Bool = true, ropeMaxSeqLen: Int = WanDiTConfig.ropeMaxPositions) {
        self.modelType = modelType
        self.dim = dim
        self.ffnDim = ffnDim
        self.numHeads = numHeads
        self.numLayers = numLayers
        self.inDim = inDim
        self.outDim = outDim
        self.textDim = textDim
        self.freqDim = freqDim
        self.textLen = textLen
        self.eps = eps
        self.patchSize = patchSize
        self.crossAttnNorm = crossAttnNorm
        self.qkNorm = qkNorm
        self.ropeMaxSeqLen = ropeMaxSeqLen
    }

    public var headDim: Int { dim / numHeads }
    /// Latent values per token (pt·ph·pw).
    public var patchVolume: Int { patchSize.reduce(1, *) }

    // Published sizes (spec §1).
    public static let ti2v5B = WanDiTConfig(modelType: .ti2v, dim: 3072, ffnDim: 14336, numHeads: 24,
                                            numLayers: 30, inDim: 48, outDim: 48)
    public static let t2vA14BExpert = WanDiTConfig(modelType: .t2v, dim: 5120, ffnDim: 13824, numHeads: 40,
                                                   numLayers: 40, inDim: 16, outDim: 16)
    public static let i2vA14BExpert = WanDiTConfig(modelType: .i2v, dim: 5120, ffnDim: 13824, numHeads: 40,
                                                   numLayers: 40, inDim: 36, outDim: 16)
    public static let wan21T2V1_3B = WanDiTConfig(modelType: .t2v, dim: 1536, ffnDim: 8960, numHeads: 12,
                                                  numLayers: 30, inDim: 16, outDim: 16)

    /// Every parameter tensor in official names with its shape (spec §2.10), in checkpoint order.
    public var parameterShapes: [(name: String, shape: [Int])] {
        let d = dim
        var table: [(String, [Int])] = [
            ("patch_embedding.weight", [d, inDim] + patchSize), ("patch_embedding.bias", [d]),
            ("text_embedding.0.weight", [d, textDim]), ("text_embedding.0.bias", [d]),
            ("text_embedding.2.weight", [d, d]), ("text_embedding.2.bias", [d]),
            ("time_embedding.0.weight", [d, freqDim]), ("time_embedding.0.bias", [d]),
            ("time_embedding.2.weight", [d, d]), ("time_embedding.2.bias", [d]),
            ("time_projection.1.weight", [6 * d, d]), ("time_projection.1.bias", [6 * d]),
        ]
        for n in 0..<numLayers {
            let b = "blocks.\(n)."
            table.append((b + "modulation", [1, 6, d]))
            for attn in ["self_attn", "cross_attn"] {
                for p in ["q", "k", "v", "o"] {
                    table.append((b + "\(attn).\(p).weight", [d, d]))
                    table.append((b + "\(attn).\(p).bias", [d]))
                }
                if qkNorm {
                    table.append((b + "\(attn).norm_q.weight", [d]))
                    table.append((b + "\(attn).norm_k.weight", [d]))
                }
            }
            if crossAttnNorm { table += [(b + "norm3.weight", [d]), (b + "norm3.bias", [d])] }
            table += [(b + "ffn.0.weight", [ffnDim, d]), (b + "ffn.0.bias", [ffnDim]),
                      (b + "ffn.2.weight", [d, ffnDim]), (b + "ffn.2.bias", [d])]
        }
        table += [("head.modulation", [1, 2, d]), ("head.head.weight", [patchVolume * outDim, d]),
                  ("head.head.bias", [patchVolume * outDim])]
        return table
    }

    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
