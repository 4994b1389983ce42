import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// The fastwan-3step recipe against FastVideo's DMD sampling (DmdDenoisingStage, run by
/// Tools/reference/dmd_fixtures.py on a FastVideo checkout) on the tiny t2v (Wan2.1-style, as
/// FastWan2.1-T2V-1.3B) and TI2V-5B-style pipeline folders, same seed and CPU noise.
final class DMDParityTests: XCTestCase {
    struct Case: Decodable {
        let name: String, model: String, prompt: String
        let seed: UInt64, height: Int, width: Int, frames: Int
        let timesteps: [Int]
    }
    struct Cases: Decodable {
        let table_shift: Double
        let timesteps: [Int]
        let sigmas: [Float]
        let cases: [Case]
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func load() throws -> (Cases, SafetensorsFile) {
        let dir = Self.root.appendingPathComponent("fewstep")
        let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: dir.appendingPathComponent("dmd.json")))
        return (cases, try SafetensorsFile(path: dir.appendingPathComponent("dmd.safetensors").path))
    }

    func values(_ file: SafetensorsFile, _ name: String) throws -> [Float] {
        let t = try file.tensor(name)
        return flat(try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: t.bytes.baseAddress!, owner: t.file).toTensor())
    }

    func testTheScheduleIsFastVideosTableLookup() throws {
        let (cases, _) = try load()
        let recipe = try XCTUnwrap(FewStepRecipe.named("fastwan-3step"))
        XCTAssertEqual(recipe.steps, cases.timesteps.count)
        XCTAssertEqual(recipe.shift, cases.table_shift)
        XCTAssertEqual(recipe.guidance, 1)
        XCTAssertEqual(FlowSchedule.dmdTimesteps[recipe.steps], cases.timesteps)
        let schedule = FlowSchedule.dmd(timesteps: cases.timesteps, shift: recipe.shift)
        XCTAssertEqual(schedule.timesteps, cases.timesteps.map(Double.init))
        XCTAssertEqual(Array(schedule.sigmas.dropLast()), cases.sigmas)  // bit for bit: 1, 0.7567567, 0.5217391
        XCTAssertEqual(schedule.sigmas.last, 0)
    }

    func testFrameMajorNoiseIsFastVideosBTCHWDraw() throws {
        let (cases, file) = try load()
        for c in cases.cases {
            let expected = try values(file, "\(c.name).initial")
            let shape = try file.tensor("\(c.name).initial").shape
            var generator = TorchCPUGenerator(seed: c.seed)
            XCTAssertEqual(RenoiseSource.noise(&generator, shape: shape, frameMajor: true), expected, c.name)
            var plain = TorchCPUGenerator(seed: c.seed)
            XCTAssertNotEqual(RenoiseSource.noise(&plain, shape: shape, frameMajor: false), expected, "\(c.name): the layout matters")
        }
    }

    func testFastWanRecipeMatchesFastVideo() async throws {
        let (cases, file) = try load()
        let recipe = try XCTUnwrap(FewStepRecipe.named("fastwan-3step"))
        var report: [String] = []
        for c in cases.cases {
            let path = Self.root.appendingPathComponent("pipelines/models/\(c.model)").path
            let models = try WanModelSet(folder: try WanModelFolder.open(path), backend: CPUBackend())
            var request = GenerationRequest(mode: .t2v, modelName: c.model, modelPath: path, prompt: c.prompt, seed: c.seed,
                                            width: c.width, height: c.height, frames: c.frames, fps: 16, steps: recipe.steps,
                                            sampler: recipe.sampler, shift: recipe.shift, guidance: recipe.guidance)
            request.sigmaSchedule = recipe.schedule
            var timings = StageTimings()
            let (latents, _) = try await WanVideoPipeline(models: models).run(request, timings: &timings,
                                                                              progress: { _ in }, isCancelled: { false })
            let expected = try values(file, "\(c.name).final")
            let error = relativeError(flat(latents), expected)
            XCTAssertLessThan(error, 1e-3, "\(c.name): final latents")
            report.append("\(c.name): latent rel. error \(error)")

            // Without the re-noising (Euler on the same grid) the result is far off: the test can fail.
            request.sampler = .euler
            let (euler, _) = try await WanVideoPipeline(models: models).run(request, timings: &timings,
                                                                            progress: { _ in }, isCancelled: { false })
            XCTAssertGreaterThan(relativeError(flat(euler), expected), 1e-2, "\(c.name): Euler instead of DMD")
        }
        print(report.joined(separator: "\n"))
    }

    func testOtherStepCountsAreRefusedWithTheKnownOnes() async throws {
        let path = Self.root.appendingPathComponent("pipelines/models/tiny-t2v").path
        let models = try WanModelSet(folder: try WanModelFolder.open(path), backend: CPUBackend())
        var request = GenerationRequest(mode: .t2v, modelName: "tiny-t2v", modelPath: path, prompt: "a circle", seed: 1,
                                        width: 48, height: 32, frames: 5, fps: 16, steps: 4, sampler: .dmd, shift: 8, guidance: 1)
        request.sigmaSchedule = .dmd
        var timings = StageTimings()
        do {
            _ = try await WanVideoPipeline(models: models).run(request, timings: &timings, progress: { _ in }, isCancelled: { false })
            XCTFail("4 DMD steps ran")
        } catch {
            XCTAssertTrue("\(error)".contains("3 steps (1000, 757, 522)"), "\(error)")
            XCTAssertTrue("\(error)".contains("not for 4"), "\(error)")
        }
    }
}
