import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// End-to-end parity with the diffusers Wan pipelines on tiny random models, same seed and CPU
/// noise (fixtures from Tools/reference/pipeline_fixtures.py): final latents within 1e-3 relative
/// error, decoded frames at >= 40 dB PSNR, for t2v (one and two experts), ti2v (text and image),
/// i2v (A14B-style) and edit, with UniPC, DPM++ and Euler.
final class PipelineParityTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let sampler: String
        let shift: Double
        let steps: Int
        let seed: UInt64
        let args: [String: Double]
    }
    struct Cases: Decodable {
        let prompt: String
        let negative_prompt: String
        let cases: [Case]
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pipelines")

    static func image(_ t: WeightTensor, frame: Int = 0) -> RGBImage {
        let (h, w) = (t.shape[t.shape.count - 3], t.shape[t.shape.count - 2])
        let n = h * w * 3
        let bytes = Array(t.bytes[(frame * n)..<((frame + 1) * n)])
        return RGBImage(width: w, height: h, pixels: bytes)
    }

    func testEveryModeAndSamplerMatchesDiffusers() async throws {
        let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: Self.root.appendingPathComponent("cases.json")))
        let inputs = try SafetensorsFile(path: Self.root.appendingPathComponent("inputs.safetensors").path)
        XCTAssertEqual(cases.cases.count, 18)
        var loaded: [String: WanModelSet] = [:]
        var report: [String] = []
        for c in cases.cases {
            let (folderName, mode): (String, GenerationMode) = {
                if c.name.hasPrefix("t2v-a14b") { return ("tiny-t2v-a14b", .t2v) }
                if c.name.hasPrefix("t2v") { return ("tiny-t2v", .t2v) }
                if c.name.hasPrefix("ti2v") { return ("tiny-ti2v", .ti2v) }
                if c.name.hasPrefix("i2v") { return ("tiny-i2v-a14b", .i2v) }
                return ("tiny-t2v", .edit)
            }()
            let folderPath = Self.root.appendingPathComponent("models/\(folderName)").path
            if loaded[folderName] == nil {
                loaded[folderName] = try WanModelSet(folder: try WanModelFolder.open(folderPath), backend: CPUBackend())
            }
            let models = loaded[folderName]!
            var request = GenerationRequest(
                mode: mode, modelName: folderName, modelPath: folderPath, prompt: cases.prompt,
                negativePrompt: cases.negative_prompt, seed: c.seed,
                width: Int(c.args["width"]!), height: Int(c.args["height"]!),
                frames: Int(c.args["num_frames"] ?? 9), fps: 16, steps: c.steps,
                sampler: SamplerKind(rawValue: c.sampler)!, shift: c.shift,
                guidance: Float(c.args["guidance_scale"]!), guidanceLow: c.args["guidance_scale_2"].map(Float.init),
                strength: c.args["strength"] ?? 0.8)
            if c.name.hasPrefix("ti2v-i2v") { request.image = Self.image(try inputs.tensor("ti2v_image")) }
            if c.name.hasPrefix("i2v") { request.image = Self.image(try inputs.tensor("i2v_image")) }
            if c.name.hasPrefix("edit") {
                let source = try inputs.tensor("edit_source")
                request.video = (0..<source.shape[0]).map { Self.image(source, frame: $0) }
            }

            var timings = StageTimings()
            let (latents, video) = try await WanVideoPipeline(models: models).run(
                request, timings: &timings, progress: { _ in }, isCancelled: { false })

            let expected = try SafetensorsFile(path: Self.root.appendingPathComponent("\(c.name).safetensors").path)
            let reference = try expected.tensor("\(c.name).decoder_input")
            XCTAssertEqual(reference.shape, latents.shape, c.name)
            let ours = denormalized(latents, models.vae)
            let theirs = try StoredTensor(dtype: reference.dtype, shape: reference.shape, bytes: reference.bytes.baseAddress!,
                                          owner: reference.file).toTensor()
            let latentError = relativeError(ours, flat(theirs))
            XCTAssertLessThan(latentError, 1e-3, "\(c.name): final latents")
            var line = "\(c.name): latent rel. error \(latentError)"

            if let frames = try? expected.tensor("\(c.name).frames") {
                let ref = flat(try StoredTensor(dtype: frames.dtype, shape: frames.shape, bytes: frames.bytes.baseAddress!,
                                                owner: frames.file).toTensor())  // [T, H, W, 3] in [0, 1]
                let v = flat(video)  // [3, T, H, W] in [-1, 1]
                let (t, hh, ww) = (frames.shape[0], frames.shape[1], frames.shape[2])
                XCTAssertEqual(video.shape, [3, t, hh, ww], c.name)
                var mse = 0.0
                for i in 0..<(t * hh * ww) {
                    for ch in 0..<3 {
                        let a = Double(min(max(v[ch * t * hh * ww + i] / 2 + 0.5, 0), 1))
                        let d = a - Double(ref[i * 3 + ch])
                        mse += d * d
                    }
                }
                let psnr = 10 * log10(1 / max(mse / Double(ref.count), 1e-20))
                XCTAssertGreaterThanOrEqual(psnr, 40, "\(c.name): decoded frames PSNR")
                line += ", frames PSNR \(String(format: "%.1f", psnr)) dB"
            }
            report.append(line)
        }
        print(report.joined(separator: "\n"))
    }

    func denormalized(_ latents: Tensor, _ vae: WanVAE) -> [Float] {
        var x = flat(latents)
        let c = latents.shape[0], per = x.count / c
        for ch in 0..<c { for i in 0..<per { x[ch * per + i] = x[ch * per + i] * vae.latentStd[ch] + vae.latentMean[ch] } }
        return x
    }
}
