// Few-step presets: the settings distilled Wan2.2 models and LoRAs were trained for, exactly as
// their authors run them (shared/reference/next-modes.md C.4-C.5).

/// Where the sigmas of a run come from.
public enum SigmaSchedule: String, Sendable, Hashable, Codable, CaseIterable {
    /// The sampler's own grid under the model folder's convention (FlowSchedule.make).
    case model
    /// Wan2.2-Lightning's EulerScheduler grid: t = linspace(1000, 0, N+1), sigma = shift(t/1000),
    /// the model sees 1000·sigma as a float (1000, 937.5, 833.33, 625 for 4 steps at shift 5).
    /// LightX2V's Wan22StepDistillScheduler ([1000, 750, 500, 250] on the shift-5 table) gives
    /// the same sigmas and timesteps.
    case lightning
    /// FastVideo's DMD grid (FlowSchedule.dmd): the integer timesteps of the FastWan configs
    /// (1000, 757, 522 for 3 steps), sigmas from the shift-8 training table.
    case dmd
}

public struct FewStepRecipe: Sendable, Hashable {
    public let name: String
    public let steps: Int
    public let shift: Double
    /// 1: classifier-free guidance off, one DiT pass per step.
    public let guidance: Float
    public let sampler: SamplerKind
    public let schedule: SigmaSchedule
    /// What it is for, for docs and `wand validate`.
    public let summary: String

    /// Wan2.2-Lightning (T2V/I2V-A14B, one LoRA per expert) and lightx2v's Wan2.2 4-step
    /// distill LoRAs and models: 4 Euler steps, 2 on each expert at the usual boundary.
    public static let lightning4Step = FewStepRecipe(
        name: "lightning-4step", steps: 4, shift: 5, guidance: 1, sampler: .euler, schedule: .lightning,
        summary: "Wan2.2-Lightning / lightx2v 4-step: Euler on the Lightning grid, shift 5, guidance 1")

    /// FastVideo's FastWan checkpoints (FastWan2.2-TI2V-5B, FastWan2.1-T2V-1.3B), distilled with
    /// DMD: 3 steps at t = 1000, 757, 522, each predicting x0 and re-noising it with fresh noise,
    /// guidance 1. The shift is that of the DMD stage's sigma table (8), not the pipeline's.
    public static let fastwan3Step = FewStepRecipe(
        name: "fastwan-3step", steps: 3, shift: 8, guidance: 1, sampler: .dmd, schedule: .dmd,
        summary: "FastVideo FastWan (DMD): 3 steps at t = 1000, 757, 522, re-noised between steps, guidance 1")

    public static let all = [lightning4Step, fastwan3Step]

    public static func named(_ name: String) -> FewStepRecipe? { all.first { $0.name == name } }
}

extension FlowSchedule {
    /// Wan2.2-Lightning `wan/utils/fm_solvers_euler.py` (get_timesteps + timestep_shift), in
    /// float32 as there: sigma_i = shift·s/(1 + (shift−1)·s), s = t_i/1000, t_i from
    /// linspace(1000, 0, N+1); timesteps 1000·sigma_i for i < N; sigma_N = 0.
    public static func lightning(steps: Int, shift: Double) -> FlowSchedule {
        precondition(steps >= 1, "at least one step")
        let s32 = Float(shift)
        let sigmas = linspace(1000, 0, steps + 1).map { t -> Float in
            let s = Float(t) / 1000
            return s32 * s / (1 + (s32 - 1) * s)
        }
        return FlowSchedule(sigmas: sigmas, timesteps: sigmas.dropLast().map { Double($0 * 1000) })
    }
}
