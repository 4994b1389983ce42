import WandTensor

// FastVideo's DMD sampling for its FastWan checkpoints (fastvideo/pipelines/stages/denoising.py
// DmdDenoisingStage, checked at 2f3d407; shared/reference/next-modes.md C.5): the model sees the
// integer timesteps of the model's `dmd_denoising_steps`, each one's sigma is looked up in a
// FlowMatchEulerDiscreteScheduler(shift=8) training table, and every latent the stage draws is
// [B, T, C, H, W] (LatentPreparationStage(use_btchw_layout=True)), so the same seed gives other
// numbers than a [C, T, H, W] draw would.

extension FlowSchedule {
    /// `dmd_denoising_steps` by step count: FastWan2.1-T2V-1.3B and FastWan2.2-TI2V-5B use 3.
    public static let dmdTimesteps: [Int: [Int]] = [3: [1000, 757, 522]]

    /// The timesteps as the model sees them and, for each, the sigma of the table entry whose
    /// timestep is nearest: the table is diffusers-style FlowMatchEulerDiscreteScheduler(shift)'s
    /// 1000 training sigmas, computed in float32 as torch does (s = t/1000, shift·s/(1 + (shift−1)·s)).
    public static func dmd(timesteps: [Int], shift: Double) -> FlowSchedule {
        precondition(!timesteps.isEmpty, "at least one step")
        let s32 = Float(shift), s32m1 = Float(shift - 1)
        let table: [(timestep: Float, sigma: Float)] = (0..<1000).map { i in
            let s = Float(1000 - i) / 1000
            let sigma = (s32 * s) / (1 + s32m1 * s)
            return (sigma * 1000, sigma)
        }
        let sigmas = timesteps.map { t -> Float in
            var best = 0
            for k in 1..<table.count where abs(Double(table[k].timestep) - Double(t)) < abs(Double(table[best].timestep) - Double(t)) {
                best = k
            }
            return table[best].sigma
        }
        return FlowSchedule(sigmas: sigmas + [0], timesteps: timesteps.map(Double.init))
    }
}

/// The DMD sampler's fresh noise: drawn from the run's generator after its initial noise, each
/// draw the size of the latent, in the layout the run draws its initial noise in.
public struct RenoiseSource: Sendable {
    public var generator: TorchCPUGenerator
    /// [C, F, h, w].
    public let shape: [Int]
    public let frameMajor: Bool

    public init(generator: TorchCPUGenerator, shape: [Int], frameMajor: Bool) {
        self.generator = generator
        self.shape = shape
        self.frameMajor = frameMajor
    }

    public mutating func next() -> [Float] {
        Self.noise(&generator, shape: shape, frameMajor: frameMajor)
    }

    /// torch.randn of a [C, F, h, w] latent; `frameMajor` draws it as [F, C, h, w] (FastVideo's
    /// BTCHW layout) and returns it moved to [C, F, h, w].
    public static func noise(_ generator: inout TorchCPUGenerator, shape: [Int], frameMajor: Bool) -> [Float] {
        precondition(shape.count == 4, "a latent is [C, F, h, w]")
        let (c, f, plane) = (shape[0], shape[1], shape[2] * shape[3])
        let drawn = generator.randn(frameMajor ? [f, c, shape[2], shape[3]] : shape)
        let source = UnsafeBufferPointer(start: drawn.data, count: drawn.count)
        guard frameMajor else { return Array(source) }
        var out = [Float](repeating: 0, count: source.count)
        out.withUnsafeMutableBufferPointer { dst in
            for fi in 0..<f {
                for ci in 0..<c {
                    let from = (fi * c + ci) * plane, to = (ci * f + fi) * plane
                    for k in 0..<plane { dst[to + k] = source[from + k] }
                }
            }
        }
        return out
    }
}
