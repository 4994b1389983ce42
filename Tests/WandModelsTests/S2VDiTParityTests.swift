import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// The S2V DiT forward against the official `WanModel_S2V` on a tiny random model
/// (Tools/reference/s2v_fixtures.py dit): a clip with frame-pack motion tokens and a pose video,
/// and a first clip (motion dropped, no pose, audio zeroed as in the CFG pass).
final class S2VDiTParityTests: XCTestCase {
    static let folder = Wav2Vec2ParityTests.s2v("dit")

    static func model() throws -> WanS2VDiT {
        let config = try WanS2VConfig(configFile: folder + "/config.json")
        let weights = try SafetensorsFile(path: folder + "/diffusion_pytorch_model.safetensors").weights
        return try WanS2VDiT(config: config, weights: weights, path: folder, backend: CPUBackend(threads: 2))
    }

    func testForwardMatchesTheOfficialModel() throws {
        let model = try Self.model()
        XCTAssertEqual(model.config.injectLayers, [0, 2])
        XCTAssertEqual(WanS2VConfig.latentFrames(motion: WanS2VConfig.officialMotionFrames), 19)
        let io = try SafetensorsFile(path: Wav2Vec2ParityTests.s2v("dit_io.safetensors"))
        func t(_ name: String) throws -> Tensor { try ReferenceFixtures.tensor(io, name) }
        let text = try model.prepareText(try t("context"))
        let audio = try t("audio")
        let latent = try t("latent"), reference = try t("reference")

        let withMotion = try model.prepareClip(frames: 2, height: 8, width: 8, reference: reference,
                                               motion: try t("motion"), pose: try t("pose"))
        XCTAssertEqual(withMotion.motionTokenCount, 16 + 4 + 4)
        XCTAssertEqual(withMotion.tokenCount, 32 + 16 + 24)
        let a = try model.forward(latent: latent, timestep: 937, text: text, clip: withMotion, audio: try model.prepareAudio(audio))
        let e1 = ReferenceFixtures.relativeError(a, try t("motion_pose.out"))
        XCTAssertLessThan(e1, 1e-4, "clip with motion and pose")

        let first = try model.prepareClip(frames: 2, height: 8, width: 8, reference: reference, motion: nil, pose: nil)
        XCTAssertEqual(first.tokenCount, 48)
        let zeros = Tensor(zeros: audio.shape)
        let b = try model.forward(latent: latent, timestep: 500, text: text, clip: first, audio: try model.prepareAudio(zeros))
        let e2 = ReferenceFixtures.relativeError(b, try t("first_clip_uncond.out"))
        XCTAssertLessThan(e2, 1e-4, "first clip, no pose, zeroed audio")
        print("S2V DiT forward rel. error: motion+pose \(e1), first clip uncond \(e2)")
    }

    func testBadInputsAreRefusedWithTheArgument() throws {
        let model = try Self.model()
        XCTAssertThrowsError(try model.prepareAudio(Tensor(zeros: [8, 24, 16]))) { XCTAssertTrue("\($0)".contains("audio"), "\($0)") }
        // Too few audio frames for the dropped motion frames.
        XCTAssertThrowsError(try model.prepareAudio(Tensor(zeros: [1, 25, 16])))
        XCTAssertThrowsError(try model.prepareClip(frames: 2, height: 6, width: 8, reference: Tensor(zeros: [16, 1, 6, 8]),
                                                   motion: nil, pose: nil)) { XCTAssertTrue("\($0)".contains("multiples of 8"), "\($0)") }
        let clip = try model.prepareClip(frames: 2, height: 8, width: 8, reference: Tensor(zeros: [16, 1, 8, 8]), motion: nil, pose: nil)
        let text = try model.prepareText(Tensor(zeros: [3, 32]))
        let audio = try model.prepareAudio(Tensor(zeros: [12, 25, 16]))  // 3 latent frames, clip has 2
        XCTAssertThrowsError(try model.forward(latent: Tensor(zeros: [16, 2, 8, 8]), timestep: 1, text: text, clip: clip, audio: audio))
    }

    func testConfigRefusesTheMotionerAndReadsTheDefaults() throws {
        let dir = try Fixtures.temporaryDirectory()
        let path = dir + "/config.json"
        try "{\"model_type\": \"s2v\", \"enable_framepack\": true}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WanS2VConfig(configFile: path)) { XCTAssertTrue("\($0)".contains("enable_motioner"), "\($0)") }
        try "{\"model_type\": \"s2v\", \"enable_motioner\": false, \"enable_framepack\": true, \"dim\": 64, \"num_heads\": 2, \"num_layers\": 2}"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WanS2VConfig(configFile: path)) { XCTAssertTrue("\($0)".contains("audio_inject_layers"), "\($0)") }
        try "{\"model_type\": \"i2v\"}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WanS2VConfig(configFile: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
    }
}
