import XCTest
@testable import WandEngine

final class ExpertPlanTests: XCTestCase {
    func testT2VA14BSwitchesAfter26Steps() {
        let plan = ExpertPlan(boundaryRatio: 0.875, guidanceHigh: 4.0, guidanceLow: 3.0)
        let t = FlowSchedule.officialUniPC(steps: 40, shift: 12).timesteps
        let experts = t.map { plan.expert(at: $0) }
        XCTAssertEqual(experts.prefix(26).filter { $0 == .highNoise }.count, 26)
        XCTAssertEqual(experts.suffix(14).filter { $0 == .lowNoise }.count, 14)
        XCTAssertEqual(plan.guidance(at: t[25]), 4.0)
        XCTAssertEqual(plan.guidance(at: t[26]), 3.0)
    }

    func testI2VA14BSwitchesAfter15Steps() {
        let plan = ExpertPlan(boundaryRatio: 0.9, guidanceHigh: 3.5, guidanceLow: 3.5)
        let t = FlowSchedule.officialUniPC(steps: 40, shift: 5).timesteps
        XCTAssertEqual(t.filter { plan.expert(at: $0) == .highNoise }.count, 15)
        XCTAssertEqual(plan.expert(at: 900), .highNoise)
        XCTAssertEqual(plan.expert(at: 899), .lowNoise)
    }

    func testSingleModelAlwaysUsesOneNetwork() {
        let plan = ExpertPlan.singleModel(guidance: 5)
        XCTAssertEqual(plan.expert(at: 0), .highNoise)
        XCTAssertEqual(plan.guidance(at: 999), 5)
        XCTAssertFalse(ExpertPlan.singleModel(guidance: 1).needsUnconditionalPass(at: 500))
    }

    func testGuidanceCombination() {
        var cond: [Float] = [1, 2, -3]
        applyGuidance(cond: &cond, uncond: [0.5, 2, 1], scale: 4)
        XCTAssertEqual(cond, [0.5 + 4 * 0.5, 2, 1 + 4 * -4])
    }
}
