import XCTest
@testable import WandEngine

final class StepPaceTests: XCTestCase {
    func testPaceAndTimeLeftFromStepsSoFar() {
        var pace = StepPace()
        pace.update(GenerationProgress(stage: .loading), now: 0)
        pace.update(GenerationProgress(stage: .denoising, step: 1, totalSteps: 40), now: 30)
        // The first step only starts the clock: the time before it holds loading and encoding.
        XCTAssertNil(pace.secondsLeft)
        XCTAssertEqual(StepPace.describe(GenerationProgress(stage: .denoising, step: 1, totalSteps: 40), pace), "denoising 1/40")
        pace.update(GenerationProgress(stage: .denoising, step: 2, totalSteps: 40), now: 32)
        pace.update(GenerationProgress(stage: .denoising, step: 3, totalSteps: 40), now: 34)
        XCTAssertEqual(pace.secondsPerStep, 2)
        XCTAssertEqual(pace.secondsLeft, 74)
        XCTAssertEqual(StepPace.describe(GenerationProgress(stage: .denoising, step: 3, totalSteps: 40), pace),
                       "denoising 3/40, 2.0 s/step, 1:14 left")
        // A new stage forgets the old pace.
        pace.update(GenerationProgress(stage: .decoding), now: 120)
        XCTAssertNil(pace.secondsLeft)
        XCTAssertEqual(StepPace.describe(GenerationProgress(stage: .decoding), pace), "decoding")
    }

    func testClockFormat() {
        XCTAssertEqual(StepPace.clock(9), "0:09")
        XCTAssertEqual(StepPace.clock(247), "4:07")
        XCTAssertEqual(StepPace.clock(3909), "1:05:09")
    }
}
