// Which network runs a denoising step, and with which guidance scale.
//
// Wan2.2 A14B models are two complete DiTs: the high-noise expert runs while the integer
// timestep is at or above boundary_ratio * 1000 (0.875 for t2v, 0.900 for i2v), the low-noise
// expert afterwards; each has its own guidance scale. The same comparison is used by the
// official scripts and by diffusers (transformer / transformer_2). Single-model checkpoints
// (TI2V-5B, Wan2.1) have no boundary and one scale.

public enum Expert: String, Sendable {
    case highNoise = "high_noise"
    case lowNoise = "low_noise"
}

public struct ExpertPlan: Sendable, Equatable {
    /// nil for a single-model checkpoint.
    public let boundaryRatio: Double?
    public let guidanceHigh: Float
    public let guidanceLow: Float

    public init(boundaryRatio: Double?, guidanceHigh: Float, guidanceLow: Float) {
        self.boundaryRatio = boundaryRatio
        self.guidanceHigh = guidanceHigh
        self.guidanceLow = guidanceLow
    }

    public static func singleModel(guidance: Float) -> ExpertPlan {
        ExpertPlan(boundaryRatio: nil, guidanceHigh: guidance, guidanceLow: guidance)
    }

    public func expert(at timestep: Double) -> Expert {
        guard let ratio = boundaryRatio else { return .highNoise }
        return timestep >= ratio * 1000 ? .highNoise : .lowNoise
    }

    public func guidance(at timestep: Double) -> Float {
        expert(at: timestep) == .highNoise ? guidanceHigh : guidanceLow
    }

    /// Guidance of 1 needs no unconditional pass (the result would be the conditional one).
    public func needsUnconditionalPass(at timestep: Double) -> Bool {
        guidance(at: timestep) != 1
    }
}

/// Classifier-free guidance: v = v_uncond + g * (v_cond - v_uncond), written into `cond`.
public func applyGuidance(cond: inout [Float], uncond: [Float], scale: Float) {
    precondition(cond.count == uncond.count, "guidance inputs differ in size")
    cond.withUnsafeMutableBufferPointer { c in
        uncond.withUnsafeBufferPointer { u in
            for k in 0..<c.count { c[k] = u[k] + scale * (c[k] - u[k]) }
        }
    }
}
