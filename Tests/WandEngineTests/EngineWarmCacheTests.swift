import Foundation
import XCTest
@testable import WandEngine

final class EngineWarmCacheTests: XCTestCase {
    /// A second job on the same model skips loading, and the frames come out at the asked size.
    func testSecondJobIsWarm() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/pipelines/models/tiny-t2v").path
        let engine = Engine(memoryBudgetBytes: 1 << 30)
        let request = GenerationRequest(mode: .t2v, modelName: "tiny-t2v", modelPath: folder, prompt: "a red circle",
                                        seed: 1, width: 48, height: 32, frames: 5, fps: 16, steps: 2, guidance: 4)
        let first = try await engine.generate(request, progress: { _ in }, isCancelled: { false })
        let second = try await engine.generate(request, progress: { _ in }, isCancelled: { false })
        XCTAssertFalse(first.timings.modelWasWarm)
        XCTAssertGreaterThan(first.timings.load, 0)
        XCTAssertTrue(second.timings.modelWasWarm)
        XCTAssertEqual(second.timings.load, 0)
        XCTAssertEqual(first.frames.count, 5)
        XCTAssertEqual(first.frames[0].width, 48)
        XCTAssertEqual(first.latents, second.latents)  // same seed, same result
    }

    func testUnsupportedModesFailClearly() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/pipelines/models/tiny-t2v").path
        let engine = Engine(memoryBudgetBytes: 1 << 30)
        let request = GenerationRequest(mode: .animate, modelName: "tiny-t2v", modelPath: folder, prompt: "x",
                                        seed: 1, width: 48, height: 32, frames: 5, fps: 16, steps: 2, guidance: 4)
        // animate runs now (AnimatePipelineParityTests), but only on an Animate folder: a t2v one is
        // refused with the file that says why.
        do {
            _ = try await engine.generate(request, progress: { _ in }, isCancelled: { false })
            XCTFail("animate on a t2v folder must fail")
        } catch {
            XCTAssertTrue("\(error)".contains(folder), "\(error)")
        }
        // s2v runs now (S2VPipelineParityTests), but only on an S2V folder: a t2v one is refused by name.
        var s2v = request
        s2v.mode = .s2v
        s2v.image = RGBImage(width: 48, height: 32, fill: 0)
        s2v.audio = [Float](repeating: 0, count: 16_000)
        do {
            _ = try await engine.generate(s2v, progress: { _ in }, isCancelled: { false })
            XCTFail("s2v on a t2v folder must fail")
        } catch let e as EngineError {
            XCTAssertEqual(e.kind, .badModelFolder)
            XCTAssertTrue(e.message.contains("S2V"), e.message)
            XCTAssertEqual(e.path, folder)
        }
    }

    func testMissingModelFolderIsLocated() async throws {
        let engine = Engine(memoryBudgetBytes: 1 << 30)
        let request = GenerationRequest(mode: .t2v, modelName: "nope", modelPath: "/nonexistent/model", prompt: "x",
                                        seed: 1, width: 48, height: 32, frames: 5, fps: 16, steps: 2, guidance: 4)
        do {
            _ = try await engine.generate(request, progress: { _ in }, isCancelled: { false })
            XCTFail("expected an error")
        } catch let e as EngineError {
            XCTAssertEqual(e.path, "/nonexistent/model")
        }
    }
}
