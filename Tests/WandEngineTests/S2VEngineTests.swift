import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// Mode s2v through the Engine: what it refuses, with the file or argument named, before any
/// model work. A whole run on a tiny folder is S2VEndToEndTests (WandDaemonTests).
final class S2VEngineTests: XCTestCase {
    func request(_ path: String, audio: [Float]? = [Float](repeating: 0, count: 16_000), image: Bool = true) -> GenerationRequest {
        var r = GenerationRequest(mode: .s2v, modelName: "s2v-14b", modelPath: path, prompt: "a person talks", seed: 1,
                                  width: 64, height: 64, frames: 81, fps: 16, steps: 1, guidance: 4.5)
        r.audio = audio
        if image { r.image = RGBImage(width: 64, height: 64, fill: 128) }
        return r
    }

    func generate(_ r: GenerationRequest) async -> EngineError? {
        do {
            _ = try await Engine(memoryBudgetBytes: 1 << 30, threads: 1).generate(r, progress: { _ in }, isCancelled: { false })
            return nil
        } catch let e as EngineError { return e } catch { XCTFail("untyped \(error)"); return nil }
    }

    func testMissingModelAndInputsGiveClearErrors() async throws {
        let missing = await generate(request("/nonexistent/Wan2.2-S2V-14B"))
        XCTAssertEqual(missing?.kind, .badModelFolder)
        XCTAssertEqual(missing?.path, "/nonexistent/Wan2.2-S2V-14B")

        let dir = NSTemporaryDirectory() + "wand-s2v-engine-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"model_type": "t2v", "dim": 64}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let wrong = await generate(request(dir))
        XCTAssertEqual(wrong?.kind, .badModelFolder)
        XCTAssertTrue(wrong?.message.contains("model_type \"t2v\"") ?? false, "\(String(describing: wrong))")

        try #"{"model_type": "s2v"}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let parts = await generate(request(dir))
        XCTAssertEqual(parts?.path, dir + "/models_t5_umt5-xxl-enc-bf16.pth")

        let noAudio = await generate(request(dir, audio: nil))
        XCTAssertEqual(noAudio?.kind, .badRequest)
        XCTAssertTrue(noAudio?.message.contains("audio") ?? false)
        let noImage = await generate(request(dir, image: false))
        XCTAssertTrue(noImage?.message.contains("reference image") ?? false)
    }

    /// Nothing is merged into the S2V DiT and no few-step S2V model exists: a job asking for
    /// either fails saying so instead of running without it.
    func testLoRAsAndRecipesAreRefusedNotIgnored() async {
        var withLoRA = request("/nonexistent/Wan2.2-S2V-14B")
        withLoRA.loras = [LoRARequest(path: "/loras/style.safetensors", strength: 1, expert: .both)]
        let lora = await generate(withLoRA)
        XCTAssertEqual(lora?.kind, .badRequest)
        XCTAssertTrue(lora?.message.contains("LoRAs are not merged into the S2V DiT") ?? false, "\(String(describing: lora))")
        var withRecipe = request("/nonexistent/Wan2.2-S2V-14B")
        withRecipe.sigmaSchedule = .lightning
        let recipe = await generate(withRecipe)
        XCTAssertTrue(recipe?.message.contains("few-step recipes") ?? false, "\(String(describing: recipe))")
    }
}

/// The official output size rule, on the examples computed with WanS2V.get_size_less_than_area
/// (shared/reference/next-modes.md §A.5).
final class S2VSizeTests: XCTestCase {
    func testOfficialExamples() {
        let cases: [((Int, Int), Int, (Int, Int))] = [
            ((720, 1280), 1024 * 704, (640, 1088)), ((720, 1280), 1280 * 720, (704, 1280)), ((720, 1280), 832 * 480, (448, 832)),
            ((1024, 1024), 1024 * 704, (832, 832)), ((1024, 1024), 1280 * 720, (960, 960)), ((1024, 1024), 832 * 480, (576, 576)),
            ((480, 832), 1024 * 704, (512, 832)), ((480, 832), 1280 * 720, (512, 832)), ((480, 832), 832 * 480, (448, 832)),
        ]
        for ((h, w), area, expected) in cases {
            let got = S2VSize.official(imageHeight: h, imageWidth: w, area: area)
            XCTAssertEqual(got.height, expected.0, "\(h)x\(w) in \(area)")
            XCTAssertEqual(got.width, expected.1, "\(h)x\(w) in \(area)")
        }
        XCTAssertEqual(S2VSize.official(imageHeight: 64, imageWidth: 64, area: 64 * 64).width, 64)
    }
}
