/// Hyper-parameters of the Wan2.2-Animate DiT (official `WanAnimateModel`, diffusers
/// `WanAnimateTransformer3DModel`; wan-architecture.md §8.2, next-modes.md B.3): a Wan2.1-I2V-style
/// 14B DiT (in_dim 36, CLIP image tokens in every cross-attention) plus a pose patch embedding,
/// a LIA motion encoder over 512² face crops, a causal-conv face encoder and face-adapter blocks
/// after every `faceBlockInterval`-th block.
public struct WanAnimateConfig: Sendable, Equatable {
    /// The backbone (dim, heads, layers, in/out channels, text, eps); `modelType` is `.i2v`.
    public var base: WanDiTConfig
    /// CLIP hidden size the image embedder takes (1280 for ViT-H/14).
    public var imageDim: Int
    /// Face crops are `motionEncoderSize`² (512); the motion encoder's channels per resolution.
    public var motionEncoderSize: Int
    public var motionChannels: [Int: Int]
    public var motionStyleDim: Int
    public var motionDim: Int
    /// Width of a motion vector, the face encoder's input (512).
    public var motionEncoderDim: Int
    public var faceHiddenDim: Int
    public var faceHeads: Int
    public var faceBlockInterval: Int

    public static let defaultMotionChannels: [Int: Int] = [4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128,
                                                           256: 64, 512: 32, 1024: 16]

    public init(base: WanDiTConfig, imageDim: Int = 1280, motionEncoderSize: Int = 512,
                motionChannels: [Int: Int] = WanAnimateConfig.defaultMotionChannels, motionStyleDim: Int = 512,
                motionDim: Int = 20, motionEncoderDim: Int = 512, faceHiddenDim: Int = 1024, faceHeads: Int = 4,
                faceBlockInterval: Int = 5) {
        self.base = base
        self.imageDim = imageDim
        self.motionEncoderSize = motionEncoderSize
        self.motionChannels = motionChannels
        self.motionStyleDim = motionStyleDim
        self.motionDim = motionDim
        self.motionEncoderDim = motionEncoderDim
        self.faceHiddenDim = faceHiddenDim
        self.faceHeads = faceHeads
        self.faceBlockInterval = faceBlockInterval
    }

    /// Animate-14B (wan/configs/wan_animate_14B.py, the diffusers repository's transformer config).
    public static let animate14B = WanAnimateConfig(base: WanDiTConfig(modelType: .i2v, dim: 5120, ffnDim: 13824,
                                                                       numHeads: 40, numLayers: 40, inDim: 36, outDim: 16))

    public var latentChannels: Int { base.outDim }
    public var faceBlocks: Int { base.numLayers / faceBlockInterval }
    /// Resolutions the motion encoder's residual blocks start from: size, size/2, ..., 8.
    public var motionResolutions: [Int] {
        var r: [Int] = [], s = motionEncoderSize
        while s > 4 { r.append(s); s /= 2 }
        return r
    }

    /// diffusers' `transformer/config.json` (`WanAnimateTransformer3DModel`) or the official
    /// `config.json` (`WanAnimateModel`, which fixes the Animate-specific sizes in code).
    public init(json: JSONValue, path: String) throws(ModelError) {
        guard json.objectValue != nil else { throw .badConfig(path: path, key: "", detail: "top level is not an object") }
        func int(_ key: String, default value: Int? = nil) throws(ModelError) -> Int {
            guard let v = json[key], v != .null else {
                if let value { return value }
                throw .badConfig(path: path, key: key, detail: "missing")
            }
            guard let i = v.intValue, i > 0, i < 1 << 31 else {
                throw .badConfig(path: path, key: key, detail: "expected a positive integer")
            }
            return Int(i)
        }
        let eps = json["eps"]?.doubleValue.map(Float.init) ?? 1e-6
        guard eps > 0, eps < 1 else { throw .badConfig(path: path, key: "eps", detail: "expected a small positive number") }
        if let patch = json["patch_size"], patch != .null, patch.arrayValue?.compactMap(\.intValue) != [1, 2, 2] {
            throw .unsupported(path: path, detail: "patch_size other than [1, 2, 2]")
        }
        if json["attention_head_dim"] != nil || json["_class_name"]?.stringValue == "WanAnimateTransformer3DModel" {
            if let qk = json["qk_norm"], qk != .null, qk.stringValue != "rms_norm_across_heads" {
                throw .unsupported(path: path, detail: "qk_norm \(qk)")
            }
            if let pos = json["pos_embed_seq_len"], pos != .null {
                throw .unsupported(path: path, detail: "pos_embed_seq_len (FLF2V image positions)")
            }
            let heads = try int("num_attention_heads"), dim = heads * (try int("attention_head_dim"))
            guard try int("added_kv_proj_dim", default: dim) == dim else {
                throw .unsupported(path: path, detail: "added_kv_proj_dim other than the model width \(dim)")
            }
            let latent = try int("latent_channels", default: 16)
            let inDim = try int("in_channels", default: 2 * latent + 4)
            guard inDim == 2 * latent + 4 else {
                throw .badConfig(path: path, key: "in_channels", detail: "\(inDim), expected 2 x latent_channels + 4")
            }
            var channels = Self.defaultMotionChannels
            if let table = json["motion_encoder_channel_sizes"]?.objectValue {
                channels = [:]
                for (k, v) in table {
                    guard let size = Int(k), let c = v.intValue, c > 0 else {
                        throw .badConfig(path: path, key: "motion_encoder_channel_sizes", detail: "entry \"\(k)\"")
                    }
                    channels[size] = Int(c)
                }
            }
            self.init(base: WanDiTConfig(modelType: .i2v, dim: dim, ffnDim: try int("ffn_dim"), numHeads: heads,
                                         numLayers: try int("num_layers"), inDim: inDim,
                                         outDim: try int("out_channels", default: latent), textDim: try int("text_dim", default: 4096),
                                         freqDim: try int("freq_dim", default: 256), textLen: 512, eps: eps),
                      imageDim: try int("image_dim", default: 1280), motionEncoderSize: try int("motion_encoder_size", default: 512),
                      motionChannels: channels, motionStyleDim: try int("motion_style_dim", default: 512),
                      motionDim: try int("motion_dim", default: 20), motionEncoderDim: try int("motion_encoder_dim", default: 512),
                      faceHiddenDim: try int("face_encoder_hidden_dim", default: 1024),
                      faceHeads: try int("face_encoder_num_heads", default: 4),
                      faceBlockInterval: try int("inject_face_latents_blocks", default: 5))
        } else {
            self.init(base: WanDiTConfig(modelType: .i2v, dim: try int("dim"), ffnDim: try int("ffn_dim"),
                                         numHeads: try int("num_heads"), numLayers: try int("num_layers"),
                                         inDim: try int("in_dim", default: 36), outDim: try int("out_dim", default: 16),
                                         textDim: try int("text_dim", default: 4096), freqDim: try int("freq_dim", default: 256),
                                         textLen: try int("text_len", default: 512), eps: eps),
                      motionEncoderDim: try int("motion_encoder_dim", default: 512))
        }
        try validate(path: path)
    }

    public init(configFile path: String) throws(ModelError) {
        try self.init(json: try readConfigJSON(path), path: path)
    }

    func validate(path: String) throws(ModelError) {
        let b = base
        guard b.dim % b.numHeads == 0, b.headDim % 2 == 0, b.freqDim % 2 == 0 else {
            throw .badConfig(path: path, key: "num_heads", detail: "dim \(b.dim) is not heads x an even head size")
        }
        guard b.numLayers % faceBlockInterval == 0 else {
            throw .badConfig(path: path, key: "inject_face_latents_blocks",
                             detail: "\(b.numLayers) layers are not a multiple of the face-block interval \(faceBlockInterval)")
        }
        var s = motionEncoderSize
        while s > 4, s % 2 == 0 { s /= 2 }
        guard s == 4, motionResolutions.allSatisfy({ motionChannels[$0] != nil }), motionChannels[4] != nil else {
            throw .badConfig(path: path, key: "motion_encoder_size",
                             detail: "\(motionEncoderSize) must be a power of two >= 8 with a channel size for every resolution down to 4")
        }
        guard motionDim <= motionEncoderDim else {
            throw .badConfig(path: path, key: "motion_dim", detail: "\(motionDim) directions cannot be orthonormal in \(motionEncoderDim) dimensions")
        }
    }
}
