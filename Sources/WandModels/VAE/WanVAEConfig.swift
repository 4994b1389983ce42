import WandTensor

/// The two block styles of the Wan VAE. Wan2.1 (`is_residual` false) stacks plain residual blocks
/// and resamples; Wan2.2 (`is_residual` true) wraps every stage in a residual stage block with a
/// parameter-free AvgDown3D / DupUp3D shortcut (wan-architecture.md §5.2, §5.3).
public enum WanVAEVersion: String, Sendable, Equatable {
    /// Wan2.1_VAE.pth: 4× temporal, 8×8 spatial, z 16.
    case wan21 = "2.1"
    /// Wan2.2_VAE.pth: 2×2 pixel patchify + 4× temporal, 8×8 spatial (16×16 in all), z 48.
    case wan22 = "2.2"

    /// Pixels per latent along height and width of the published VAE of this style.
    public var spatialFactor: Int { self == .wan21 ? 8 : 16 }
    public var temporalFactor: Int { 4 }
}

/// The structure of one Wan VAE, with the field names and meanings of diffusers'
/// `AutoencoderKLWan` (whose `config.json` sets it; official `.pth` files carry no config and use
/// the published structure with the widths their weight shapes show). Which blocks exist follows
/// from these fields exactly as diffusers builds them; `WanVAEStructure` lists them.
public struct WanVAEConfig: Sendable, Equatable {
    /// Encoder base width (`base_dim`).
    public var baseDim: Int
    /// Decoder base width (`decoder_base_dim`, `base_dim` when null).
    public var decoderBaseDim: Int
    /// Latent channels (`z_dim`).
    public var zDim: Int
    /// Width multiplier of every stage (`dim_mult`); one stage per entry, all but the last resample.
    public var dimMult: [Int]
    /// Residual blocks per encoder stage (`num_res_blocks`); decoder stages have one more.
    public var numResBlocks: Int
    /// `temperal_downsample` (sic): entry i says whether encoder stage i also halves time; the
    /// decoder reads the reversed list.
    public var temporalDownsample: [Bool]
    /// Encoder stage scales (1, 1/2, 1/4, ...) after whose residual blocks an attention block sits
    /// (`attn_scales`, Wan2.1 style only; diffusers' decoder builds none).
    public var attnScales: [Double]
    /// Wan2.2 residual stage blocks (`is_residual`).
    public var isResidual: Bool
    /// Pixel patchify side before the encoder and after the decoder (`patch_size`; 1 when null).
    public var patchSize: Int
    /// Encoder input / decoder output channels (`in_channels`, `out_channels`): RGB times patch².
    public var inChannels: Int
    public var outChannels: Int

    public init(baseDim: Int, decoderBaseDim: Int? = nil, zDim: Int, dimMult: [Int] = [1, 2, 4, 4],
                numResBlocks: Int = 2, temporalDownsample: [Bool] = [false, true, true],
                attnScales: [Double] = [], isResidual: Bool = false, patchSize: Int = 1,
                inChannels: Int? = nil, outChannels: Int? = nil) {
        self.baseDim = baseDim
        self.decoderBaseDim = decoderBaseDim ?? baseDim
        self.zDim = zDim
        self.dimMult = dimMult
        self.numResBlocks = numResBlocks
        self.temporalDownsample = temporalDownsample
        self.attnScales = attnScales
        self.isResidual = isResidual
        self.patchSize = patchSize
        self.inChannels = inChannels ?? 3 * patchSize * patchSize
        self.outChannels = outChannels ?? 3 * patchSize * patchSize
    }

    /// The published structure of `version` with the given widths (what an official file holds).
    public init(version: WanVAEVersion, zDim: Int, encoderDim: Int, decoderDim: Int) {
        self.init(baseDim: encoderDim, decoderBaseDim: decoderDim, zDim: zDim,
                  isResidual: version == .wan22, patchSize: version == .wan22 ? 2 : 1)
    }

    /// The block style.
    public var version: WanVAEVersion { isResidual ? .wan22 : .wan21 }
    public var encoderDim: Int { baseDim }
    public var decoderDim: Int { decoderBaseDim }
    public var stages: Int { dimMult.count }

    /// Stage i changes spatial resolution (all but the last).
    public func stageResamples(_ i: Int) -> Bool { i < stages - 1 }
    /// Encoder stage i halves time: `temperal_downsample[i]`, never in the last stage.
    public func encoderStageDownsamplesTime(_ i: Int) -> Bool {
        stageResamples(i) && i < temporalDownsample.count && temporalDownsample[i]
    }
    /// Decoder stage i doubles time: the reversed list's entry i, never in the last stage.
    public func decoderStageUpsamplesTime(_ i: Int) -> Bool {
        stageResamples(i) && i < temporalDownsample.count && temporalDownsample[temporalDownsample.count - 1 - i]
    }

    /// Pixels per latent along height and width: the patch times one halving per resampling stage.
    public var spatialFactor: Int { patchSize << (stages - 1) }
    /// Pixel frames per latent frame after the first, on the way in and on the way out.
    public var encoderTemporalFactor: Int {
        (0..<stages).reduce(1) { $0 * (encoderStageDownsamplesTime($1) ? 2 : 1) }
    }
    public var decoderTemporalFactor: Int {
        (0..<stages).reduce(1) { $0 * (decoderStageUpsamplesTime($1) ? 2 : 1) }
    }
    /// The temporal factor (a config.json whose encoder and decoder disagree is refused).
    public var temporalFactor: Int { decoderTemporalFactor }
}
