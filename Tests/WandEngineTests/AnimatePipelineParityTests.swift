import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// End-to-end parity with diffusers' WanAnimatePipeline on a tiny random Animate model (fixtures
/// from Tools/reference/animate_fixtures.py): both modes, two overlapping segments each
/// (animate: 13 frames in segments of 9 with refert 1, CFG 2 with the blank face; replace: 19 frames
/// in segments of 13 with refert 5), padded driving videos, a reference image that needs the
/// letterbox. Every segment's final latents within 1e-3 relative error, frames at >= 40 dB.
final class AnimatePipelineParityTests: XCTestCase {
    struct Case: Decodable {
        let name: String, mode: String, frames: Int, refert_num: Int, guidance: Double, steps: Int, seed: UInt64
        let segments: Int, height: Int, width: Int, segment_frames: Int, shift: Double, output_frames: Int
    }
    struct Cases: Decodable { let prompt: String; let negative_prompt: String; let cases: [Case] }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/animate")

    /// `[N, H, W, 3]` (or `[N, H, W]`, grey) uint8 -> frames.
    static func frames(_ t: WeightTensor, count: Int? = nil) -> [RGBImage] {
        let n = count ?? t.shape[0], h = t.shape[1], w = t.shape[2], c = t.shape.count == 4 ? t.shape[3] : 1
        return (0..<n).map { f in
            let bytes = Array(t.bytes[(f * h * w * c)..<((f + 1) * h * w * c)])
            return RGBImage(width: w, height: h, pixels: c == 3 ? bytes : bytes.flatMap { [$0, $0, $0] })
        }
    }

    func request(_ c: Case, _ cases: Cases, _ io: SafetensorsFile, model: String) throws -> GenerationRequest {
        var r = GenerationRequest(mode: .animate, modelName: "tiny-animate", modelPath: model, prompt: cases.prompt,
                                  negativePrompt: cases.negative_prompt, seed: c.seed, width: c.width, height: c.height,
                                  frames: c.segment_frames, fps: 30, steps: c.steps, sampler: .unipc, shift: c.shift,
                                  guidance: Float(c.guidance))
        r.image = Self.frames(try io.tensor("\(c.name).reference").reshapedAsOneFrame())[0]
        let replace = c.mode == "replace"
        r.animate = AnimateInputs(mode: replace ? .replace : .animate,
                                  pose: Self.frames(try io.tensor("pose"), count: c.frames),
                                  face: Self.frames(try io.tensor("face"), count: c.frames),
                                  background: replace ? Self.frames(try io.tensor("background"), count: c.frames) : nil,
                                  mask: replace ? Self.frames(try io.tensor("mask"), count: c.frames) : nil,
                                  refertNum: c.refert_num)
        return r
    }

    func testAnimateAndReplaceMatchDiffusers() async throws {
        let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: Self.root.appendingPathComponent("pipeline.json")))
        let io = try SafetensorsFile(path: Self.root.appendingPathComponent("pipeline.safetensors").path)
        let model = Self.root.appendingPathComponent("models/tiny-animate").path
        let models = try WanAnimateModelSet(folder: try WanModelFolder.open(model), backend: CPUBackend(threads: 2))
        XCTAssertEqual(models.folder.detectedFamily(), .animate14B)
        XCTAssertEqual(cases.cases.map(\.mode), ["animate", "replace"])
        for c in cases.cases {
            var timings = StageTimings()
            let out = try await WanAnimatePipeline(models: models).run(try request(c, cases, io, model: model), timings: &timings,
                                                                       progress: { _ in }, isCancelled: { false })
            XCTAssertEqual(out.segmentLatents.count, c.segments, c.name)
            for (s, z) in out.segmentLatents.enumerated() {
                let reference = try io.tensor("\(c.name).segment\(s).decoder_input")  // de-normalized, frames 1...
                let ours = try z.sliced(dim: 1, 1..<z.shape[1]).contiguous()
                XCTAssertEqual(ours.shape, reference.shape, "\(c.name) segment \(s)")
                let theirs = try StoredTensor(dtype: reference.dtype, shape: reference.shape, bytes: reference.bytes.baseAddress!,
                                              owner: reference.file).toTensor()
                let err = relativeError(denormalized(ours, models.vae), flat(theirs))
                print("Animate \(c.name) segment \(s): latent rel. error \(err)")
                XCTAssertLessThan(err, 1e-3, "\(c.name) segment \(s): final latents")
            }
            XCTAssertEqual(out.video.shape, [3, c.output_frames, c.height, c.width], c.name)
            if let frames = try? io.tensor("\(c.name).frames") {
                let psnr = Self.psnr(out.video, frames)
                print("Animate \(c.name): frames PSNR \(String(format: "%.1f", psnr)) dB")
                XCTAssertGreaterThanOrEqual(psnr, 40, "\(c.name): frames")
            }
        }
    }

    func testAJobWithoutDrivingVideosSaysWhatToProvide() async throws {
        let model = Self.root.appendingPathComponent("models/tiny-animate").path
        let models = try WanAnimateModelSet(folder: try WanModelFolder.open(model), backend: CPUBackend(threads: 1))
        var r = GenerationRequest(mode: .animate, modelName: "tiny-animate", modelPath: model, prompt: "", seed: 1, width: 32,
                                  height: 32, frames: 9, fps: 30, steps: 1, guidance: 1)
        r.image = RGBImage(width: 32, height: 32, pixels: [UInt8](repeating: 90, count: 32 * 32 * 3))
        var timings = StageTimings()
        do {
            _ = try await WanAnimatePipeline(models: models).run(r, timings: &timings, progress: { _ in }, isCancelled: { false })
            XCTFail("ran without driving videos")
        } catch let e as EngineError {
            XCTAssertEqual(e.kind, .badRequest)
            XCTAssertTrue(e.message.contains("pose and face"), e.message)
        }
        let still = RGBImage(width: 32, height: 32, pixels: [UInt8](repeating: 0, count: 32 * 32 * 3))
        r.animate = AnimateInputs(mode: .replace, pose: [still, still, still], face: [still, still, still])
        do {
            _ = try await WanAnimatePipeline(models: models).run(r, timings: &timings, progress: { _ in }, isCancelled: { false })
            XCTFail("replace ran without background and mask")
        } catch let e as EngineError {
            XCTAssertTrue(e.message.contains("background and mask"), e.message)
        }
    }

    /// The Engine runs animate requests through the Animate pipeline (no "not implemented" refusal)
    /// and returns one frame per driving frame.
    func testEngineRunsAnimateRequests() async throws {
        let io = try SafetensorsFile(path: Self.root.appendingPathComponent("pipeline.safetensors").path)
        let model = Self.root.appendingPathComponent("models/tiny-animate").path
        var r = GenerationRequest(mode: .animate, modelName: "tiny-animate", modelPath: model, prompt: "a dancer", seed: 3,
                                  width: 32, height: 32, frames: 5, fps: 30, steps: 1, guidance: 1)
        r.image = Self.frames(try io.tensor("replace.reference").reshapedAsOneFrame())[0]
        r.animate = AnimateInputs(mode: .animate, pose: Self.frames(try io.tensor("pose"), count: 3),
                                  face: Self.frames(try io.tensor("face"), count: 3))
        let engine = Engine(memoryBudgetBytes: 1 << 30, threads: 2)
        let video = try await engine.generate(r, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(video.frames.count, 3)
        XCTAssertEqual(video.latentShape, [16, 3, 4, 4])  // one segment of 5 frames: 2 latent frames + the reference slot
        XCTAssertTrue(video.notes.contains { $0.contains("animate_mode animate, 1 segment(s)") }, "\(video.notes)")
    }

    /// An official Animate-14B folder: its config.json (WanAnimateModel.save_config) names the class,
    /// not a model_type.
    func testOfficialAnimateFolderIsDetected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wand-animate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("google/umt5-xxl"), withIntermediateDirectories: true)
        for f in ["models_t5_umt5-xxl-enc-bf16.pth", "Wan2.1_VAE.pth", "google/umt5-xxl/spiece.model"] {
            FileManager.default.createFile(atPath: dir.appendingPathComponent(f).path, contents: Data())
        }
        try Data(#"{"_class_name": "WanAnimateModel", "dim": 5120, "num_layers": 40}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        let folder = try WanModelFolder.open(dir.path)
        XCTAssertEqual(folder.layout, .official)
        XCTAssertEqual(folder.detectedFamily(), .animate14B)
        // The stand-in weight files are empty: loading them is an error, never a crash.
        XCTAssertThrowsError(try WanAnimateModelSet(folder: folder, backend: CPUBackend(threads: 1)))
    }

    func testSegmentPlanMatchesTheReferences() {
        // 77-frame segments, refert 1: 100 frames are padded to 1 + 2·76 = 153 (two segments).
        let a = AnimateSegmentPlan(realFrames: 100, segmentFrames: 77, refert: 1)
        XCTAssertEqual([a.targetFrames, a.count], [153, 2])
        let b = AnimateSegmentPlan(realFrames: 77, segmentFrames: 77, refert: 5)
        XCTAssertEqual([b.targetFrames, b.count], [77, 1])
        let c = AnimateSegmentPlan(realFrames: 13, segmentFrames: 9, refert: 1)
        XCTAssertEqual([c.targetFrames, c.count, c.start(1)], [17, 2, 8])
        XCTAssertEqual(AnimateSegmentPlan.pingPong(5, to: 10), [0, 1, 2, 3, 4, 3, 2, 1, 0, 1])
    }

    static func psnr(_ video: Tensor, _ frames: WeightTensor) -> Double {
        let v = flat(video), (t, h, w) = (frames.shape[0], frames.shape[1], frames.shape[2])
        var mse = 0.0
        for i in 0..<(t * h * w) {
            for ch in 0..<3 {
                let a = Double(min(max(v[ch * t * h * w + i] / 2 + 0.5, 0), 1))
                let d = a - Double(frames.bytes[i * 3 + ch]) / 255
                mse += d * d
            }
        }
        return 10 * log10(1 / max(mse / Double(t * h * w * 3), 1e-20))
    }

    func denormalized(_ latents: Tensor, _ vae: WanVAE) -> [Float] {
        var x = flat(latents)
        let c = latents.shape[0], per = x.count / c
        for ch in 0..<c { for i in 0..<per { x[ch * per + i] = x[ch * per + i] * vae.latentStd[ch] + vae.latentMean[ch] } }
        return x
    }
}

private extension WeightTensor {
    /// An image `[H, W, 3]` seen as one frame `[1, H, W, 3]`.
    func reshapedAsOneFrame() -> WeightTensor {
        WeightTensor(name: name, dtype: dtype, shape: [1] + shape, bytes: bytes, file: file)
    }
}
