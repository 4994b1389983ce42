import Foundation
import XCTest
@testable import WandEngine

/// Trajectories of the reference schedulers (Tools/reference/sampler_fixtures.py, torch 2.15 +
/// wan22 2.2.11 + diffusers 0.42.1) against ours, driven by the same fake velocity model.
final class SamplerParityTests: XCTestCase {
    struct Case: Decodable {
        let flavour: String
        let steps: Int
        let shift: Double
        let timesteps: [Double]
        let sigmas: [Double]
        let trajectory: [[Float]]
    }
    struct Fixture: Decodable { let cases: [Case] }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/samplers/trajectories.json")
        let data = try! Data(contentsOf: url)
        return try! JSONDecoder().decode(Fixture.self, from: data)
    }()

    /// Must stay identical to fake_velocity() in the fixture script.
    static func fakeVelocity(_ x: [Float], t: Double) -> [Float] {
        let phase = Float(0.002 * t)
        return x.map { Float(0.6) * sinf(Float(1.3) * $0 + phase) - Float(0.25) * $0 }
    }

    static func solver(for c: Case) -> FlowSolver {
        let parts = c.flavour.split(separator: "-", maxSplits: 1).map(String.init)
        let convention = ScheduleConvention(rawValue: parts[0])!
        let kind = SamplerKind(rawValue: parts[1])!
        return FlowSolver(kind: kind, schedule: .make(kind, convention: convention, steps: c.steps, shift: c.shift))
    }

    func testSchedulesMatchTheReference() {
        for c in Self.fixture.cases {
            let s = Self.solver(for: c).schedule
            XCTAssertEqual(s.timesteps.count, c.timesteps.count, c.flavour)
            for (a, b) in zip(s.timesteps, c.timesteps) {
                XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(b)) * 1e-3, "\(c.flavour) \(c.steps)/\(c.shift) timesteps")
            }
            for (a, b) in zip(s.sigmas, c.sigmas) {
                XCTAssertEqual(Double(a), b, accuracy: 1e-6, "\(c.flavour) \(c.steps)/\(c.shift) sigmas")
            }
        }
    }

    func testTrajectoriesMatchTheReference() {
        for c in Self.fixture.cases {
            var solver = Self.solver(for: c)
            var x = c.trajectory[0]
            var worst: Float = 0
            for i in 0..<c.steps {
                let v = Self.fakeVelocity(x, t: solver.currentTimestep)
                solver.step(velocity: v, sample: &x)
                worst = max(worst, relativeError(x, c.trajectory[i + 1]))
            }
            XCTAssertTrue(solver.isFinished)
            XCTAssertLessThan(worst, 1e-5, "\(c.flavour) \(c.steps) steps shift \(c.shift): worst relative error \(worst)")
        }
    }

    /// The default schedules of spec section 4.6, typed in from the spec (computed there with
    /// the reference scheduler), including the expert split at the boundary.
    func testSpecDefaultTimestepTables() {
        let t2v: [Double] = [999, 997, 995, 993, 990, 988, 985, 982, 979, 976, 972, 969, 965, 961, 956, 952, 947, 941, 936, 929,
                             922, 915, 907, 898, 888, 877, 865, 852, 837, 819, 799, 776, 749, 717, 678, 631, 571, 492, 386, 235]
        let i2v: [Double] = [999, 994, 989, 983, 978, 972, 965, 959, 952, 944, 937, 929, 920, 911, 902, 892, 882, 870, 859, 846,
                             833, 818, 803, 786, 768, 749, 728, 706, 681, 654, 624, 591, 555, 514, 468, 416, 356, 288, 208, 113]
        let ti2v: [Double] = [999, 995, 991, 987, 982, 978, 973, 968, 963, 957, 952, 946, 940, 934, 927, 920, 913, 906, 898, 890,
                              882, 873, 863, 854, 843, 833, 821, 809, 796, 783, 768, 753, 737, 720, 701, 681, 660, 636, 611, 584,
                              555, 522, 487, 448, 405, 356, 302, 241, 172, 92]
        XCTAssertEqual(FlowSchedule.officialUniPC(steps: 40, shift: 12).timesteps, t2v)
        XCTAssertEqual(FlowSchedule.officialUniPC(steps: 40, shift: 5).timesteps, i2v)
        XCTAssertEqual(FlowSchedule.officialUniPC(steps: 50, shift: 5).timesteps, ti2v)
        XCTAssertEqual(FlowSchedule.officialUniPC(steps: 40, shift: 12).timesteps.filter { $0 >= 875 }.count, 26)
        XCTAssertEqual(FlowSchedule.officialUniPC(steps: 40, shift: 5).timesteps.filter { $0 >= 900 }.count, 15)
        XCTAssertEqual(FlowSchedule.officialDPM(steps: 40, shift: 12).timesteps.first, 1000)
    }

    func testStrengthKeepsTheLastSteps() {
        let full = FlowSchedule.diffusersUniPC(steps: 10, shift: 5)
        let kept = full.keepingLast(strength: 0.7)
        XCTAssertEqual(kept.timesteps, Array(full.timesteps.suffix(7)))
        XCTAssertEqual(kept.sigmas.last, 0)
        XCTAssertEqual(full.keepingLast(strength: 1).timesteps, full.timesteps)
    }
}

func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    var num: Float = 0, den: Float = 0
    for (x, y) in zip(a, b) { num += (x - y) * (x - y); den += y * y }
    return (num / max(den, 1e-30)).squareRoot()
}
