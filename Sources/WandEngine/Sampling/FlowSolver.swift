#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Multistep solvers for flow-matching video models: UniPC (bh2, order 2, the Wan default),
// DPM-Solver++ 2M (midpoint) and plain Euler. The algebra follows the reference schedulers
// term for term, with float32 coefficients as they compute them, so trajectories match to
// float rounding (shared/reference/wan-architecture.md 4.4-4.5.1).
//
// The model predicts a velocity v = eps - x0; the solvers work on the x0-prediction
// m = x - sigma * v, with alpha = 1 - sigma and lambda = ln(alpha) - ln(sigma).

public struct FlowSolver: Sendable {
    public let kind: SamplerKind
    public let schedule: FlowSchedule
    public private(set) var stepIndex = 0

    /// The last two x0-predictions, oldest first.
    private var history: [[Float]] = []
    /// UniPC: the (corrected) sample the previous predictor started from.
    private var lastSample: [Float]?
    private var lowerOrderNums = 0
    private var thisOrder = 0
    /// DMD: where its fresh noise comes from (nil for the deterministic solvers).
    private var renoise: RenoiseSource?

    public init(kind: SamplerKind, schedule: FlowSchedule, renoise: RenoiseSource? = nil) {
        precondition(kind != .dmd || renoise != nil, "the DMD sampler needs a source of fresh noise")
        self.kind = kind
        self.schedule = schedule
        self.renoise = renoise
    }

    public var isFinished: Bool { stepIndex >= schedule.stepCount }

    /// The timestep the model should see for the next step.
    public var currentTimestep: Double { schedule.timesteps[stepIndex] }

    /// Advances `sample` by one step given the model's (guided) velocity at it.
    public mutating func step(velocity: [Float], sample: inout [Float]) {
        precondition(!isFinished, "the schedule has no steps left")
        precondition(velocity.count == sample.count, "velocity and sample differ in size")
        switch kind {
        case .euler: eulerStep(velocity, &sample)
        case .dpmpp: dpmStep(velocity, &sample)
        case .unipc: uniPCStep(velocity, &sample)
        case .dmd: dmdStep(velocity, &sample)
        }
        stepIndex += 1
    }

    // MARK: - Euler

    private func eulerStep(_ v: [Float], _ x: inout [Float]) {
        let dt = schedule.sigmas[stepIndex + 1] - schedule.sigmas[stepIndex]
        axpy(dt, v, &x)
    }

    // MARK: - DMD (FastVideo DmdDenoisingStage)

    private mutating func dmdStep(_ v: [Float], _ x: inout [Float]) {
        let i = stepIndex
        // pred_noise_to_pred_video: x0 = x - sigma * v in float64, rounded to float32.
        let sigma = Double(schedule.sigmas[i])
        x.withUnsafeMutableBufferPointer { xs in
            v.withUnsafeBufferPointer { vs in
                for k in 0..<xs.count { xs[k] = Float(Double(xs[k]) - sigma * Double(vs[k])) }
            }
        }
        guard i < schedule.stepCount - 1 else { return }  // the last step returns x0
        // scheduler.add_noise: (1 - sigma') * x0 + sigma' * eps, in float32.
        let next = schedule.sigmas[i + 1], keep = 1 - next
        let eps = renoise!.next()
        x.withUnsafeMutableBufferPointer { xs in
            eps.withUnsafeBufferPointer { es in
                for k in 0..<xs.count { xs[k] = keep * xs[k] + next * es[k] }
            }
        }
    }

    // MARK: - DPM-Solver++ 2M (midpoint)

    private mutating func dpmStep(_ v: [Float], _ x: inout [Float]) {
        let i = stepIndex
        let sigma = schedule.sigmas
        let m = x0Prediction(x, v, sigma[i])
        push(m)
        let isLast = i == schedule.stepCount - 1
        let sigmaT = sigma[i + 1], sigmaS0 = sigma[i]
        let alphaT = 1 - sigmaT
        let h = lambda(sigmaT) - lambda(sigmaS0)
        let phi = alphaT * (expf(-h) - 1)
        let ratio = sigmaT / sigmaS0
        if lowerOrderNums < 1 || isLast {
            // x = ratio*x - phi*m
            combine(&x, ratio, [(m, -phi)])
        } else {
            let m1 = history[history.count - 2]
            let r0 = (lambda(sigmaS0) - lambda(sigma[i - 1])) / h
            // D1 = (m - m1) / r0 ; x = ratio*x - phi*m - 0.5*phi*D1
            let c = 0.5 * phi / r0
            combine(&x, ratio, [(m, -phi - c), (m1, c)])
        }
        lowerOrderNums = min(lowerOrderNums + 1, 2)
    }

    // MARK: - UniPC (bh2) predictor-corrector

    private mutating func uniPCStep(_ v: [Float], _ x: inout [Float]) {
        let i = stepIndex
        let n = schedule.stepCount
        let sigma = schedule.sigmas
        let m = x0Prediction(x, v, sigma[i])

        if i > 0, let last = lastSample {
            x = uniCorrected(last: last, current: m, order: thisOrder)
        }
        push(m)
        thisOrder = min(min(2, n - i), lowerOrderNums + 1)
        lastSample = x

        if i == n - 1 {
            x = m  // sigma_N = 0: the predictor lands on the x0-prediction
        } else {
            let sigmaT = sigma[i + 1], sigmaS0 = sigma[i]
            let alphaT = 1 - sigmaT
            let h = lambda(sigmaT) - lambda(sigmaS0)
            let bh = expm1f(-h)  // B(h) for bh2, also phi_1
            let ratio = sigmaT / sigmaS0
            if thisOrder == 1 {
                combine(&x, ratio, [(m, -alphaT * bh)])
            } else {
                let m1 = history[history.count - 2]
                let rk = (lambda(sigma[i - 1]) - lambda(sigmaS0)) / h
                // D1 = (m1 - m)/rk ; x = ratio*x - alphaT*bh*m - alphaT*bh*0.5*D1
                let c = alphaT * bh * 0.5 / rk
                combine(&x, ratio, [(m, -alphaT * bh + c), (m1, -c)])
            }
        }
        lowerOrderNums = min(lowerOrderNums + 1, 2)
    }

    /// UniC: corrects the current sample using the new x0-prediction `current` (history holds
    /// the earlier ones, newest last).
    private func uniCorrected(last: [Float], current m: [Float], order: Int) -> [Float] {
        let i = stepIndex
        let sigma = schedule.sigmas
        let sigmaT = sigma[i], sigmaS0 = sigma[i - 1]
        let alphaT = 1 - sigmaT
        let lambdaS0 = lambda(sigmaS0)
        let h = lambda(sigmaT) - lambdaS0
        let hh = -h
        let phi1 = expm1f(hh)
        let bh = phi1
        let m0 = history[history.count - 1]
        let ratio = sigmaT / sigmaS0
        var out = last
        if order == 1 {
            // x = ratio*last - alphaT*phi1*m0 - alphaT*bh*0.5*(m - m0)
            let c = alphaT * bh * 0.5
            combine(&out, ratio, [(m0, -alphaT * phi1 + c), (m, -c)])
        } else {
            let mPrev = history[history.count - 2]
            let rk = (lambda(sigma[i - 2]) - lambdaS0) / h
            let k1 = phi1 / hh - 1
            let k2 = k1 / hh - 0.5
            let b0 = k1 / bh, b1 = 2 * k2 / bh
            // Solve [[1, 1], [rk, 1]] * rho = [b0, b1].
            let rho0 = (b0 - b1) / (1 - rk)
            let rho1 = b0 - rho0
            // D = (mPrev - m0)/rk ; x = ratio*last - alphaT*phi1*m0 - alphaT*bh*(rho0*D + rho1*(m - m0))
            let cD = alphaT * bh * rho0 / rk
            let cM = alphaT * bh * rho1
            combine(&out, ratio, [(m0, -alphaT * phi1 + cD + cM), (mPrev, -cD), (m, -cM)])
        }
        return out
    }

    // MARK: - Helpers

    private mutating func push(_ m: [Float]) {
        history.append(m)
        if history.count > 2 { history.removeFirst() }
    }

    private func lambda(_ sigma: Float) -> Float { logf(1 - sigma) - logf(sigma) }

    private func x0Prediction(_ x: [Float], _ v: [Float], _ sigma: Float) -> [Float] {
        var m = x
        axpy(-sigma, v, &m)
        return m
    }
}

/// y += a * x
func axpy(_ a: Float, _ x: [Float], _ y: inout [Float]) {
    x.withUnsafeBufferPointer { xs in
        y.withUnsafeMutableBufferPointer { ys in
            for k in 0..<ys.count { ys[k] += a * xs[k] }
        }
    }
}

/// y = scale * y + sum(c * term) over the given terms, in one pass.
func combine(_ y: inout [Float], _ scale: Float, _ terms: [([Float], Float)]) {
    y.withUnsafeMutableBufferPointer { ys in
        for k in 0..<ys.count { ys[k] *= scale }
        for (term, c) in terms {
            term.withUnsafeBufferPointer { ts in
                for k in 0..<ys.count { ys[k] += c * ts[k] }
            }
        }
    }
}
