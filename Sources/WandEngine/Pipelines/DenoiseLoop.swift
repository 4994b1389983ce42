// The sampling loop every mode shares (shared/reference/wan-architecture.md 4.7):
//
//   for t in timesteps:
//       pick the expert and its guidance scale for t
//       v = v_uncond + g * (v_cond - v_uncond)        (one pass when g == 1)
//       x = solver.step(v, x)
//       TI2V image-to-video: re-pin the first latent frame to the image latent
//
// The networks are reached through a closure, so the loop is the same for every model and is
// tested without one. Cancellation is checked between steps: a cancelled job stops at a step
// boundary and the daemon re-queues or fails it; nothing half-denoised is ever decoded.

public struct DenoiseStep: Sendable {
    public let index: Int
    public let count: Int
    public let timestep: Double
    public let expert: Expert
}

public struct CancelledError: Error, Sendable, CustomStringConvertible {
    public let completedSteps: Int
    public init(completedSteps: Int) { self.completedSteps = completedSteps }
    public var description: String { "cancelled after \(completedSteps) denoising steps" }
}

/// Replaces the masked-out part of a latent with fixed values after every step
/// (TI2V-5B image-to-video pins latent frame 0 to the encoded image).
public struct LatentPin: Sendable {
    /// Element indices that are pinned, and the values they are pinned to.
    public let indices: [Int]
    public let values: [Float]

    public init(indices: [Int], values: [Float]) {
        precondition(indices.count == values.count, "one value per pinned index")
        self.indices = indices
        self.values = values
    }

    /// Pins the first `frameCount` latent frames of a [C, F, H, W] latent to `frames`
    /// ([C, frameCount, H, W]).
    public static func leadingFrames(channels: Int, frames: Int, height: Int, width: Int,
                                     pinnedFrames: [Float], frameCount: Int = 1) -> LatentPin {
        let plane = height * width
        precondition(pinnedFrames.count == channels * frameCount * plane, "pinned frames have the wrong size")
        var indices: [Int] = []
        indices.reserveCapacity(pinnedFrames.count)
        for c in 0..<channels {
            for f in 0..<frameCount {
                let base = (c * frames + f) * plane
                indices.append(contentsOf: base..<(base + plane))
            }
        }
        return LatentPin(indices: indices, values: pinnedFrames)
    }

    public func apply(_ x: inout [Float]) {
        x.withUnsafeMutableBufferPointer { xs in
            for (k, i) in indices.enumerated() { xs[i] = values[k] }
        }
    }
}

/// Where a first-frame pin applies. The official TI2V loop re-pins the sampler's state after
/// every step; diffusers (expand_timesteps) pins only what the model sees and the final result,
/// leaving the sampler's state unpinned. The two differ numerically, so both are kept.
public enum PinMode: Sendable {
    case stateAfterEachStep
    case modelInputOnly
}

public struct DenoiseLoop: Sendable {
    public typealias Velocity = @Sendable (_ latent: [Float], _ step: DenoiseStep, _ conditional: Bool) async throws -> [Float]

    public let solver: FlowSolver
    public let plan: ExpertPlan
    public let pin: LatentPin?
    public let pinMode: PinMode

    public init(kind: SamplerKind, schedule: FlowSchedule, plan: ExpertPlan, pin: LatentPin? = nil,
                pinMode: PinMode = .stateAfterEachStep, renoise: RenoiseSource? = nil) {
        self.solver = FlowSolver(kind: kind, schedule: schedule, renoise: renoise)
        self.plan = plan
        self.pin = pin
        self.pinMode = pinMode
    }

    /// Runs every step from `initial` and returns the final latent.
    /// `progress` is called after each step; `isCancelled` before each.
    public func run(
        from initial: [Float],
        velocity: Velocity,
        isCancelled: @Sendable () -> Bool = { false },
        progress: @Sendable (DenoiseStep) -> Void = { _ in }
    ) async throws -> [Float] {
        var solver = self.solver
        var x = initial
        let pinState = pinMode == .stateAfterEachStep ? pin : nil
        pinState?.apply(&x)
        let count = solver.schedule.stepCount
        for index in 0..<count {
            if isCancelled() { throw CancelledError(completedSteps: index) }
            let t = solver.currentTimestep
            let step = DenoiseStep(index: index, count: count, timestep: t, expert: plan.expert(at: t))
            var input = x
            if pinMode == .modelInputOnly { pin?.apply(&input) }
            var v = try await velocity(input, step, true)
            if plan.needsUnconditionalPass(at: t) {
                let vUncond = try await velocity(input, step, false)
                applyGuidance(cond: &v, uncond: vUncond, scale: plan.guidance(at: t))
            }
            solver.step(velocity: v, sample: &x)
            pinState?.apply(&x)
            progress(step)
        }
        if pinMode == .modelInputOnly { pin?.apply(&x) }
        return x
    }
}
