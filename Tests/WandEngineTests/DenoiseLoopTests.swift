import Synchronization
import XCTest
@testable import WandEngine

final class DenoiseLoopTests: XCTestCase {
    final class Calls: @unchecked Sendable {
        private let lock = Mutex<[(Int, Expert, Bool)]>([])
        func add(_ c: (Int, Expert, Bool)) { lock.withLock { $0.append(c) } }
        var all: [(Int, Expert, Bool)] { lock.withLock { $0 } }
    }

    func testTwoExpertsWithGuidanceCallTheRightNetworks() async throws {
        let schedule = FlowSchedule.officialUniPC(steps: 40, shift: 12)
        let loop = DenoiseLoop(kind: .unipc, schedule: schedule,
                               plan: ExpertPlan(boundaryRatio: 0.875, guidanceHigh: 4, guidanceLow: 3))
        let calls = Calls()
        _ = try await loop.run(from: [Float](repeating: 0.5, count: 8)) { x, step, cond in
            calls.add((step.index, step.expert, cond))
            return x.map { cond ? $0 * 0.5 : $0 * 0.4 }
        }
        let all = calls.all
        XCTAssertEqual(all.count, 80)  // cond + uncond at every step
        XCTAssertEqual(all.filter { $0.1 == .highNoise }.count, 52)
        XCTAssertEqual(all.filter { $0.1 == .lowNoise }.count, 28)
        XCTAssertTrue(all.prefix(52).allSatisfy { $0.1 == .highNoise })
    }

    /// Guided result equals the solver run on the hand-combined velocity.
    func testGuidanceIsAppliedBeforeTheSolverStep() async throws {
        let schedule = FlowSchedule.officialUniPC(steps: 6, shift: 5)
        let loop = DenoiseLoop(kind: .unipc, schedule: schedule, plan: .singleModel(guidance: 5))
        let start: [Float] = [0.3, -1.2, 0.7, 2.0]
        let out = try await loop.run(from: start) { x, _, cond in x.map { cond ? sinf($0) : 0.5 * $0 } }

        var solver = FlowSolver(kind: .unipc, schedule: schedule)
        var x = start
        while !solver.isFinished {
            let v = x.map { 0.5 * $0 + 5 * (sinf($0) - 0.5 * $0) }
            solver.step(velocity: v, sample: &x)
        }
        for (a, b) in zip(out, x) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testPinnedFrameStaysTheImageLatent() async throws {
        // [C=2, F=3, H=1, W=2]: frame 0 of each channel is pinned.
        let pin = LatentPin.leadingFrames(channels: 2, frames: 3, height: 1, width: 2, pinnedFrames: [9, 8, 7, 6])
        XCTAssertEqual(pin.indices, [0, 1, 6, 7])
        let loop = DenoiseLoop(kind: .euler, schedule: .diffusersEuler(steps: 4, shift: 3),
                               plan: .singleModel(guidance: 1), pin: pin)
        let out = try await loop.run(from: [Float](repeating: 1, count: 12)) { x, _, _ in x.map { $0 + 1 } }
        XCTAssertEqual([out[0], out[1], out[6], out[7]], [9, 8, 7, 6])
        XCTAssertNotEqual(out[2], 1)
    }

    func testCancellationStopsBetweenSteps() async throws {
        let loop = DenoiseLoop(kind: .euler, schedule: .diffusersEuler(steps: 10, shift: 3), plan: .singleModel(guidance: 1))
        let calls = Calls()
        do {
            _ = try await loop.run(from: [0, 0], velocity: { x, step, c in calls.add((step.index, step.expert, c)); return x },
                                   isCancelled: { calls.all.count >= 3 })
            XCTFail("expected cancellation")
        } catch let e as CancelledError {
            XCTAssertEqual(e.completedSteps, 3)
        }
    }
}
