/// Hyper-parameters of the official `WanModel_S2V` (wan/modules/s2v/model_s2v.py), read from the
/// config.json its `save_config` writes. Keys the file leaves out take `WanModel_S2V.__init__`'s
/// defaults, as the official loader does. Supported: the published S2V-14B design (frame-pack
/// motion, the audio injector with or without AdaIN). The transformer motioner
/// (`enable_motioner`) is refused with a clear error.
public struct WanS2VConfig: Sendable, Equatable {
    public enum FramePackDrop: String, Sendable { case padd, drop }

    /// The backbone (the 14B T2V geometry in the published model; in/out 16 channels).
    public var dit: WanDiTConfig
    /// Channels of the pose latents fed to `cond_encoder`; 0 = no pose encoder.
    public var condDim: Int
    /// Width of the wav2vec2 features (1024 for XLSR-53 large).
    public var audioDim: Int
    /// wav2vec2 hidden states averaged by `CausalAudioEncoder` (fixed at 25 in the official code).
    public var audioLayers: Int
    /// Audio tokens per latent frame from the local branch (a learned padding token is added).
    public var audioTokens: Int
    /// Blocks after which the audio injector runs.
    public var injectLayers: [Int]
    public var enableAdain: Bool
    /// Reference and motion tokens are modulated with timestep 0.
    public var zeroTimestep: Bool
    public var framePackDrop: FramePackDrop
    public var addLastMotion: Bool

    public init(dit: WanDiTConfig, condDim: Int = 16, audioDim: Int = 1024, audioLayers: Int = 25,
                audioTokens: Int = 4, injectLayers: [Int], enableAdain: Bool = true, zeroTimestep: Bool = true,
                framePackDrop: FramePackDrop = .padd, addLastMotion: Bool = true) {
        self.dit = dit; self.condDim = condDim; self.audioDim = audioDim; self.audioLayers = audioLayers
        self.audioTokens = audioTokens; self.injectLayers = injectLayers; self.enableAdain = enableAdain
        self.zeroTimestep = zeroTimestep; self.framePackDrop = framePackDrop; self.addLastMotion = addLastMotion
    }

    /// The published Wan2.2-S2V-14B (wan/configs/wan_s2v_14B.py).
    public static let s2v14B = WanS2VConfig(
        dit: WanDiTConfig(modelType: .t2v, dim: 5120, ffnDim: 13824, numHeads: 40, numLayers: 40, inDim: 16, outDim: 16),
        injectLayers: [0, 4, 8, 12, 16, 20, 24, 27, 30, 33, 36, 39])

    /// Pixel frames of motion context the official pipeline keeps between clips (its config's
    /// `transformer.motion_frames`, passed to every forward; not part of the DiT's config.json).
    public static let officialMotionFrames = 73
    /// Latent frames of `motionFrames` pixel frames: (motion_frames + 3) / 4 (19 for 73).
    public static func latentFrames(motion motionFrames: Int) -> Int { (motionFrames + 3) / 4 }
    /// FramePack buckets, newest first: 1 latent at full, 2 at half, 16 at quarter resolution.
    public static let zipFrameBuckets = [1, 2, 16]

    public init(json: JSONValue, path: String) throws(ModelError) {
        guard json.objectValue != nil else { throw .badConfig(path: path, key: "", detail: "top level is not an object") }
        func int(_ key: String, _ fallback: Int, allowZero: Bool = false) throws(ModelError) -> Int {
            guard let v = json[key], v != .null else { return fallback }
            guard let i = v.intValue, i >= (allowZero ? 0 : 1), i < 1 << 24 else {
                throw .badConfig(path: path, key: key, detail: "expected a positive integer")
            }
            return Int(i)
        }
        func bool(_ key: String, _ fallback: Bool) throws(ModelError) -> Bool {
            guard let v = json[key], v != .null else { return fallback }
            guard let b = v.boolValue else { throw .badConfig(path: path, key: key, detail: "expected true or false") }
            return b
        }
        let type = json["model_type"]?.stringValue ?? "s2v"
        guard type == "s2v" else { throw .badConfig(path: path, key: "model_type", detail: "expected \"s2v\", got \"\(type)\"") }
        if let patch = json["patch_size"], patch != .null, patch.arrayValue?.compactMap(\.intValue) != [1, 2, 2] {
            throw .unsupported(path: path, detail: "patch_size other than [1, 2, 2]")
        }
        if try bool("enable_motioner", true) {
            throw .unsupported(path: path, detail: "enable_motioner (the transformer motioner; S2V-14B uses enable_framepack)")
        }
        guard try bool("enable_framepack", false) else {
            throw .unsupported(path: path, detail: "motion frames without enable_framepack")
        }
        if try bool("enable_adain", false), let mode = json["adain_mode"]?.stringValue, mode != "attn_norm" {
            throw .unsupported(path: path, detail: "adain_mode \"\(mode)\" (only attn_norm)")
        }
        let dropName = json["framepack_drop_mode"]?.stringValue ?? "drop"
        guard let drop = FramePackDrop(rawValue: dropName) else {
            throw .badConfig(path: path, key: "framepack_drop_mode", detail: "expected padd or drop, got \"\(dropName)\"")
        }
        var layers: [Int] = [0, 4, 8, 12, 16, 20, 24, 27]
        if let list = json["audio_inject_layers"], list != .null {
            guard let values = list.arrayValue?.compactMap(\.intValue), values.count == list.arrayValue?.count,
                  values.allSatisfy({ $0 >= 0 }) else {
                throw .badConfig(path: path, key: "audio_inject_layers", detail: "expected a list of block indices")
            }
            layers = values.map(Int.init)
        }
        let eps = json["eps"]?.doubleValue ?? 1e-6
        let dit = WanDiTConfig(modelType: .t2v, dim: try int("dim", 2048), ffnDim: try int("ffn_dim", 8192),
                               numHeads: try int("num_heads", 16), numLayers: try int("num_layers", 32),
                               inDim: try int("in_dim", 16), outDim: try int("out_dim", 16),
                               textDim: try int("text_dim", 4096), freqDim: try int("freq_dim", 256),
                               textLen: try int("text_len", 512), eps: Float(eps))
        self.init(dit: dit, condDim: try int("cond_dim", 0, allowZero: true), audioDim: try int("audio_dim", 5120),
                  audioTokens: try int("num_audio_token", 4), injectLayers: layers,
                  enableAdain: try bool("enable_adain", false), zeroTimestep: try bool("zero_timestep", false),
                  framePackDrop: drop, addLastMotion: try bool("add_last_motion", true))
        let d = dit.dim
        guard d % dit.numHeads == 0, dit.headDim % 2 == 0, d % 4 == 0 else {
            throw .badConfig(path: path, key: "dim", detail: "dim \(d) must be heads x an even head size and a multiple of 4")
        }
        if let bad = injectLayers.first(where: { $0 >= dit.numLayers }) {
            throw .badConfig(path: path, key: "audio_inject_layers", detail: "block \(bad) of a \(dit.numLayers)-block model")
        }
    }

    public init(configFile path: String) throws(ModelError) {
        try self.init(json: try readConfigJSON(path), path: path)
    }

    /// The S2V-only tensors (official names), after the backbone's.
    public var extraParameterShapes: [(name: String, shape: [Int])] {
        let d = dit.dim, q = d / 4
        var table: [(String, [Int])] = []
        if condDim > 0 { table += [("cond_encoder.weight", [d, condDim, 1, 2, 2]), ("cond_encoder.bias", [d])] }
        table.append(("trainable_cond_mask.weight", [3, d]))
        let a = "casual_audio_encoder."
        table.append((a + "weights", [1, audioLayers, 1, 1]))
        table += [(a + "encoder.conv1_local.conv.weight", [q * audioTokens, audioDim, 3]),
                  (a + "encoder.conv1_local.conv.bias", [q * audioTokens])]
        if enableAdain {
            table += [(a + "encoder.conv1_global.conv.weight", [q, audioDim, 3]), (a + "encoder.conv1_global.conv.bias", [q])]
        }
        table += [(a + "encoder.conv2.conv.weight", [d / 2, q, 3]), (a + "encoder.conv2.conv.bias", [d / 2]),
                  (a + "encoder.conv3.conv.weight", [d, d / 2, 3]), (a + "encoder.conv3.conv.bias", [d])]
        if enableAdain { table += [(a + "encoder.final_linear.weight", [d, d]), (a + "encoder.final_linear.bias", [d])] }
        table.append((a + "encoder.padding_tokens", [1, 1, 1, d]))
        for i in 0..<injectLayers.count {
            let p = "audio_injector.injector.\(i)."
            for proj in ["q", "k", "v", "o"] { table += [(p + proj + ".weight", [d, d]), (p + proj + ".bias", [d])] }
            table += [(p + "norm_q.weight", [d]), (p + "norm_k.weight", [d])]
        }
        if enableAdain {
            for i in 0..<injectLayers.count {
                let p = "audio_injector.injector_adain_layers.\(i).linear."
                table += [(p + "weight", [2 * d, d]), (p + "bias", [2 * d])]
            }
        }
        table += [("frame_packer.proj.weight", [d, 16, 1, 2, 2]), ("frame_packer.proj.bias", [d]),
                  ("frame_packer.proj_2x.weight", [d, 16, 2, 4, 4]), ("frame_packer.proj_2x.bias", [d]),
                  ("frame_packer.proj_4x.weight", [d, 16, 4, 8, 8]), ("frame_packer.proj_4x.bias", [d])]
        return table
    }

    public var parameterShapes: [(name: String, shape: [Int])] { dit.parameterShapes + extraParameterShapes }
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
