// Flow-matching noise schedules, built exactly as the reference schedulers build them.
//
// The official Wan code (wan22: FlowUniPCMultistepScheduler, FlowDPMSolverMultistepScheduler)
// and diffusers (UniPC / DPM-Solver with flow sigmas, FlowMatchEulerDiscrete) each lay out
// the sigma grid a little differently; a seed only reproduces another tool's video if the
// grid is the same, so every convention is kept. See shared/reference/wan-architecture.md 4.5-4.6.

/// The solver family a job asks for (`sampler:` in a job file).
public enum SamplerKind: String, Sendable, CaseIterable, Codable {
    case unipc
    case dpmpp = "dpm++"
    case euler
    /// Distribution-matching distillation (FastVideo's DmdDenoisingStage, the FastWan models):
    /// each step predicts x0 and re-noises it to the next sigma with fresh noise from the run's
    /// generator; the last step returns x0. Reached through the `fastwan-3step` recipe.
    case dmd
}

/// Whose sigma grid to reproduce: the official Wan scripts or diffusers' pipelines.
public enum ScheduleConvention: String, Sendable {
    case official
    case diffusers
}

public struct FlowSchedule: Sendable, Equatable {
    /// N+1 sigmas in float32 as the solver uses them; the last one is 0.
    public var sigmas: [Float]
    /// N timesteps as the model sees them (0...1000 scale). Integers except for diffusers' Euler.
    public var timesteps: [Double]

    public var stepCount: Int { timesteps.count }

    public init(sigmas: [Float], timesteps: [Double]) {
        precondition(sigmas.count == timesteps.count + 1, "a schedule has one more sigma than timesteps")
        self.sigmas = sigmas
        self.timesteps = timesteps
    }

    /// The schedule a sampler uses under a convention.
    public static func make(_ kind: SamplerKind, convention: ScheduleConvention, steps: Int, shift: Double) -> FlowSchedule {
        precondition(steps >= 1, "at least one step")
        switch (kind, convention) {
        case (.unipc, .official): return officialUniPC(steps: steps, shift: shift)
        case (.dpmpp, .official): return officialDPM(steps: steps, shift: shift)
        case (.unipc, .diffusers): return diffusersUniPC(steps: steps, shift: shift)
        case (.dpmpp, .diffusers): return diffusersDPM(steps: steps, shift: shift)
        // The official scripts have no Euler solver; both conventions use diffusers' grid.
        case (.euler, _): return diffusersEuler(steps: steps, shift: shift)
        // DMD has a grid of its own (FlowSchedule.dmd); on a model grid it walks Euler's.
        case (.dmd, _): return diffusersEuler(steps: steps, shift: shift)
        }
    }

    /// wan22 FlowUniPCMultistepScheduler(shift=1).set_timesteps(N, shift=s).
    public static func officialUniPC(steps: Int, shift: Double) -> FlowSchedule {
        let sigmaMax = Double(Float(0.999))  // the float32 training sigma the scheduler starts from
        let grid = Array(linspace(sigmaMax, 0, steps + 1).prefix(steps)).map { shifted($0, shift) }
        return integerSchedule(grid)
    }

    /// wan22 get_sampling_sigmas(N, s) passed to FlowDPMSolverMultistepScheduler: starts at sigma 1.
    public static func officialDPM(steps: Int, shift: Double) -> FlowSchedule {
        let grid = Array(linspace(1, 0, steps + 1).prefix(steps)).map { shifted($0, shift) }
        return integerSchedule(grid)
    }

    /// diffusers UniPCMultistepScheduler(use_flow_sigmas=True, flow_shift=s).
    public static func diffusersUniPC(steps: Int, shift: Double) -> FlowSchedule {
        var grid = Array(linspace(1, 1.0 / 1000, steps + 1).prefix(steps)).map { shifted($0, shift) }
        if abs(grid[0] - 1) < 1e-6 { grid[0] -= 1e-6 }  // diffusers avoids log(0) this way
        return integerSchedule(grid)
    }

    /// diffusers DPMSolverMultistepScheduler(use_flow_sigmas=True, flow_shift=s).
    public static func diffusersDPM(steps: Int, shift: Double) -> FlowSchedule {
        let ascending = linspace(1, 1.0 / 1000, steps + 1).map { shifted(1 - $0, shift) }
        return integerSchedule(Array(ascending.reversed().prefix(steps)))
    }

    /// diffusers FlowMatchEulerDiscreteScheduler(shift=s): the training grid is shifted once in
    /// float32, its ends are spaced linearly, and the result is shifted again (as diffusers does).
    public static func diffusersEuler(steps: Int, shift: Double) -> FlowSchedule {
        let s = Float(shift)
        func shifted32(_ x: Float) -> Float { s * x / (1 + Float(shift - 1) * x) }
        let sigmaMax = Double(shifted32(1.0))
        let sigmaMin = Double(shifted32(Float(1) / 1000))
        let grid = linspace(sigmaMax * 1000, sigmaMin * 1000, steps).map { shifted($0 / 1000, shift) }
        let sigmas = grid.map { Float($0) }
        return FlowSchedule(sigmas: sigmas + [0], timesteps: sigmas.map { Double($0 * 1000) })
    }

    /// For video-to-video edits (diffusers WanVideoToVideoPipeline.get_timesteps): keep the last
    /// int(N * strength) steps. Returns the kept schedule; strength 1 keeps every step.
    public func keepingLast(strength: Double) -> FlowSchedule {
        let n = stepCount
        let kept = min(Int(Double(n) * strength), n)
        let start = max(n - kept, 0)
        return FlowSchedule(sigmas: Array(sigmas[start...]), timesteps: Array(timesteps[start...]))
    }

    static func shifted(_ sigma: Double, _ shift: Double) -> Double {
        shift * sigma / (1 + (shift - 1) * sigma)
    }

    /// Timesteps truncated toward zero from the float64 sigmas; sigmas stored as float32.
    static func integerSchedule(_ grid: [Double]) -> FlowSchedule {
        let timesteps = grid.map { Double(Int64($0 * 1000)) }
        return FlowSchedule(sigmas: grid.map { Float($0) } + [0], timesteps: timesteps)
    }
}

/// numpy.linspace(start, stop, num) with endpoint: start + i*step, last element exactly stop.
func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
    guard num > 1 else { return num == 1 ? [start] : [] }
    let step = (stop - start) / Double(num - 1)
    var out = (0..<num).map { Double($0) * step + start }
    out[num - 1] = stop
    return out
}
