import WandTensor

/// Which Wan VAE a checkpoint holds. The layer structure of both is fixed by the reference
/// (wan-architecture.md §5.2, §5.3); only channel widths and z_dim vary, and those are read
/// from the weight shapes.
public enum WanVAEVersion: String, Sendable, Equatable {
    /// Wan2.1_VAE.pth: 4× temporal, 8×8 spatial, z 16.
    case wan21 = "2.1"
    /// Wan2.2_VAE.pth: 2×2 pixel patchify + 4× temporal, 8×8 spatial (16×16 in all), z 48.
    case wan22 = "2.2"

    /// Pixels per latent along height and width.
    public var spatialFactor: Int { self == .wan21 ? 8 : 16 }
    public var temporalFactor: Int { 4 }
}

/// Errors of the VAE, each naming the weight or the shape at fault.
public enum VAEError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingWeight(name: String, file: String)
    case unknownWeight(name: String, file: String)
    case unrecognizedLayout(file: String, detail: String)
    case badShape(name: String, shape: [Int], expected: String)
    case badInput(detail: String)

    public var description: String {
        switch self {
        case .missingWeight(let n, let f): return "\(f): VAE weight \(n) is missing"
        case .unknownWeight(let n, let f): return "\(f): tensor \(n) is not a Wan VAE weight"
        case .unrecognizedLayout(let f, let d): return "\(f): not a Wan VAE checkpoint: \(d)"
        case .badShape(let n, let s, let e): return "VAE weight \(n) has shape \(s), expected \(e)"
        case .badInput(let d): return "VAE input: \(d)"
        }
    }
}

/// Latent normalization constants (§5.2, §5.3): z_norm = (mu − mean)/std.
public enum WanVAELatentStats {
    public static let wan21Mean: [Float] = [
        -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
        0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
    public static let wan21Std: [Float] = [
        2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
        3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]
    public static let wan22Mean: [Float] = [
        -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557,
        -0.1382, 0.0542, 0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825,
        -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
        -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230,
        -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
        0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667]
    public static let wan22Std: [Float] = [
        0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013,
        0.8158, 1.0344, 0.5894, 1.0901, 0.6885, 0.6165, 0.8454, 0.4978,
        0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
        0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093,
        0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887,
        0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744]

    public static func mean(_ v: WanVAEVersion) -> [Float] { v == .wan21 ? wan21Mean : wan22Mean }
    public static func std(_ v: WanVAEVersion) -> [Float] { v == .wan21 ? wan21Std : wan22Std }
}

/// The shape facts the forward pass needs, read from the weights.
public struct WanVAEConfig: Sendable, Equatable {
    public var version: WanVAEVersion
    /// Latent channels (16 for 2.1, 48 for 2.2).
    public var zDim: Int
    /// Encoder base width (96 / 160 for the published files).
    public var encoderDim: Int
    /// Decoder base width (96 / 256 for the published files).
    public var decoderDim: Int
    /// Stages per side; [1, 2, 4, 4] in every published file.
    public var stages: Int { 4 }
    public var resBlocksPerEncoderStage: Int { 2 }
    public var resBlocksPerDecoderStage: Int { 3 }
    /// temperal_downsample [False, True, True]: stages 1 and 2 halve time in the encoder; in the
    /// decoder the order is reversed (stages 0 and 1 double time).
    public func encoderStageDownsamplesTime(_ i: Int) -> Bool { i == 1 || i == 2 }
    public func decoderStageUpsamplesTime(_ i: Int) -> Bool { i == 0 || i == 1 }
    /// Stage i (0..<3) changes spatial resolution; the last stage does not.
    public func stageResamples(_ i: Int) -> Bool { i < stages - 1 }
}
