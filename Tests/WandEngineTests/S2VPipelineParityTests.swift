import Foundation
import WandModels
import WandTensor
import XCTest
@testable import WandEngine

/// Speech-to-video end to end against the official `WanS2V.generate` on tiny random parts
/// (Tools/reference/s2v_fixtures.py pipeline): the audio asks for 4 clips of 8 frames, capped at
/// 2, with 9 motion frames (the official 80 and 73 would cost the debug-build VAE minutes), UniPC
/// 4 steps, CFG 4.5 with
/// the audio zeroed in the unconditional pass, with and without a pose video. Each clip's final
/// latents within 1e-3 relative error; each clip's last decoded frame at >= 40 dB.
final class S2VPipelineParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    static func tensor(_ file: SafetensorsFile, _ name: String) throws -> Tensor {
        let t = try file.tensor(name)
        return try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: t.bytes.baseAddress!, owner: t.file).toTensor()
    }

    static func pipeline(backend: CPUBackend) throws -> S2VPipeline {
        let s2v = fixtures + "/s2v"
        let dit = try WanS2VDiT(config: try WanS2VConfig(configFile: s2v + "/dit/config.json"),
                                weights: try SafetensorsFile(path: s2v + "/dit/diffusion_pytorch_model.safetensors").weights,
                                path: s2v + "/dit", backend: backend)
        let vae = try WanVAE(weights: try WanVAEWeights.load(path: fixtures + "/vae/vae21_official.pth"), backend: backend)
        let audio = try Wav2Vec2Encoder(config: try Wav2Vec2Config(configFile: s2v + "/w2v_stable/config.json"),
                                        weights: try SafetensorsFile(path: s2v + "/w2v_stable/model.safetensors").weights,
                                        path: s2v + "/w2v_stable", backend: backend)
        return S2VPipeline(dit: dit, vae: vae, audioEncoder: audio, framesPerClip: 8, motionFrames: 9)
    }

    /// The fixture script's procedural inputs (integers, so both sides make the same pixels).
    static func referenceImage(_ h: Int, _ w: Int) -> RGBImage {
        var px = [UInt8](repeating: 0, count: h * w * 3)
        for y in 0..<h { for x in 0..<w {
            let i = (y * w + x) * 3
            px[i] = UInt8((4 * x + y) % 256); px[i + 1] = UInt8((4 * y + 3 * x) % 256); px[i + 2] = UInt8((x * y) % 256)
        } }
        return RGBImage(width: w, height: h, pixels: px)
    }

    static func poseFrames(_ n: Int, _ h: Int, _ w: Int) -> [RGBImage] {
        (0..<n).map { f in
            var px = [UInt8](repeating: 0, count: h * w * 3)
            let top = (8 + 2 * f) % (h - 12), left = (20 + f) % (w - 12)
            for y in top..<(top + 12) { for x in left..<(left + 12) {
                let i = (y * w + x) * 3
                px[i] = 255; px[i + 1] = UInt8(200 - 4 * f); px[i + 2] = UInt8(40 + 5 * f)
            } }
            return RGBImage(width: w, height: h, pixels: px)
        }
    }

    func testTwoClipsWithAndWithoutPoseMatchTheOfficialPipeline() async throws {
        let backend = CPUBackend(threads: 2)
        let pipeline = try Self.pipeline(backend: backend)
        let io = try SafetensorsFile(path: Self.fixtures + "/s2v/pipeline.safetensors")
        let audio = try Self.tensor(try SafetensorsFile(path: Self.fixtures + "/s2v/audio.safetensors"), "samples").array
        let reference = try S2VImages.prepare([Self.referenceImage(64, 64)], width: 64, height: 64, padValue: -1)
        let settings = S2VPipeline.Settings(width: 64, height: 64, steps: 4, sampler: .unipc, shift: 3, guidance: 4.5,
                                            seed: 7, clips: 2)
        var report: [String] = []
        for name in ["no_pose", "pose"] {
            let pose = name == "pose" ? try S2VImages.prepare(Self.poseFrames(12, 64, 64), width: 64, height: 64, padValue: 0) : nil
            let out = try await pipeline.run(text: try Self.tensor(io, "context"), negativeText: try Self.tensor(io, "context_null"),
                                             reference: reference, audio: audio, pose: pose, settings: settings)
            XCTAssertEqual(out.latents.count, 2, name)
            XCTAssertEqual(out.audioClips, 4, name)
            XCTAssertEqual(out.video.shape, [3, 5 + 8, 64, 64], name)
            for (r, last) in [(0, 4), (1, 12)] {
                let theirs = try Self.tensor(io, "\(name).clip\(r).latents")
                XCTAssertEqual(out.latents[r].shape, theirs.shape)
                let e = relativeError(flat(out.latents[r]), flat(theirs))
                XCTAssertLessThan(e, 1e-3, "\(name) clip \(r) latents")
                let frame = flat(try out.video.sliced(dim: 1, last..<(last + 1)).contiguous())
                let reference = flat(try Self.tensor(io, "\(name).clip\(r).last_frame"))
                var mse = 0.0
                for (a, b) in zip(frame, reference) { let d = Double(a - b) / 2; mse += d * d }
                let psnr = 10 * log10(1 / max(mse / Double(frame.count), 1e-20))
                XCTAssertGreaterThanOrEqual(psnr, 40, "\(name) clip \(r) frame \(last)")
                report.append("\(name) clip \(r): latents rel. \(e), frame \(last) PSNR \(String(format: "%.1f", psnr)) dB")
            }
        }
        print(report.joined(separator: "\n"))
    }

    func testBadSizeIsRefusedBeforeAnyWork() async throws {
        let pipeline = try Self.pipeline(backend: CPUBackend(threads: 2))
        let reference = try S2VImages.prepare([Self.referenceImage(64, 96)], width: 96, height: 64, padValue: -1)
        let text = Tensor(zeros: [3, 32])
        let settings = S2VPipeline.Settings(width: 96, height: 64, steps: 1, guidance: 1, seed: 1)
        do {
            _ = try await pipeline.run(text: text, negativeText: text, reference: reference, audio: [Float](repeating: 0, count: 8000),
                                       pose: nil, settings: settings)
            XCTFail("96 wide should be refused")
        } catch let error as EngineError {
            XCTAssertTrue(error.message.contains("multiple of 64"), error.message)
        }
    }

    func testReferenceImageIsResizedByItsShorterSideAndCenterCropped() throws {
        // 32x16 (w x h) into 64x64: the shorter side 16 -> 64, the width 128, cropped to the middle 64.
        var px = [UInt8](repeating: 0, count: 32 * 16 * 3)
        for y in 0..<16 { for x in 16..<32 { px[(y * 32 + x) * 3] = 255 } }  // right half red
        let t = try S2VImages.prepare([RGBImage(width: 32, height: 16, pixels: px)], width: 64, height: 64, padValue: -1)
        XCTAssertEqual(t.shape, [3, 1, 64, 64])
        XCTAssertEqual(t[0, 0, 32, 2], -1, accuracy: 1e-3)  // left edge of the crop: from the black half
        XCTAssertEqual(t[0, 0, 32, 61], 1, accuracy: 1e-3)  // right edge: red
        // A square image into a wide frame leaves black bars (torchvision CenterCrop pads).
        let square = try S2VImages.prepare([RGBImage(width: 8, height: 8, fill: 255)], width: 128, height: 64, padValue: -1)
        XCTAssertEqual(square[1, 0, 10, 5], -1)
        XCTAssertEqual(square[1, 0, 10, 64], 1, accuracy: 1e-5)
    }
}
