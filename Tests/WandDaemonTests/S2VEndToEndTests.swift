import Foundation
import WandEngine
import WandMedia
import XCTest
@testable import WandDaemon

/// Mode s2v through the whole product on a tiny official-layout S2V folder: a bare drop
/// (NAME.png + NAME.wav) on the daemon with the real Engine, to an MP4 with the speech muxed in.
/// The folder is the fixtures' tiny parts under the official names (Tools/reference/
/// s2v_folder_fixture.py): the S2V DiT, a umT5 `.pth` with no config (sized from its shapes),
/// the Wan2.1 VAE, wav2vec2 and the tokenizer. The numbers are checked against the official
/// pipeline in S2VPipelineParityTests; this checks that the parts meet.
final class S2VEndToEndTests: XCTestCase {
    static let fixtures = PackageRoot.url.appendingPathComponent("Tests/Fixtures")

    /// Links the tiny parts into an official Wan2.2-S2V folder at `dir`.
    static func tinyS2VFolder(at dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/google/umt5-xxl", withIntermediateDirectories: true)
        let links = [
            ("config.json", "s2v/dit/config.json"),
            ("diffusion_pytorch_model.safetensors", "s2v/dit/diffusion_pytorch_model.safetensors"),
            ("models_t5_umt5-xxl-enc-bf16.pth", "s2v/folder/models_t5_umt5-xxl-enc-bf16.pth"),
            ("Wan2.1_VAE.pth", "vae/vae21_official.pth"),
            (S2VModelFolder.wav2vec2Folder, "s2v/w2v_stable"),
            ("google/umt5-xxl/tokenizer.json", "tokenizer/spiece.tokenizer.json"),
        ]
        for (name, target) in links {
            try fm.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: fixtures.appendingPathComponent(target).path)
        }
    }

    func testBareDropRunsOnTheEngineWithTheSpeechMuxed() async throws {
        let dir = NSTemporaryDirectory() + "wand-s2v-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try Self.tinyS2VFolder(at: dir + "/model")
        try Data("""
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes:
              - path: inbox
                settle: 0.2s
                defaults: {steps: 2}
            models:
              talk: {path: model, kind: s2v-14b, sizes: [64x64]}
            defaults: {s2v: talk}
            engine: {device: cpu}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            """.utf8).write(to: URL(fileURLWithPath: dir + "/wand.yaml"))
        let config = try ConfigLoader.load(dir + "/wand.yaml")
        let samples = PackageRoot.url.appendingPathComponent("Samples")
        try FileManager.default.copyItem(atPath: samples.appendingPathComponent("person.png").path, toPath: dir + "/inbox/talk.png")
        try FileManager.default.copyItem(atPath: samples.appendingPathComponent("speech.wav").path, toPath: dir + "/inbox/talk.wav")
        let speech = try AudioDecoder.decode(path: dir + "/inbox/talk.wav", sampleRate: 16_000)

        let daemon = try Daemon(config: config, generator: Engine(memoryBudgetBytes: 1 << 30, threads: 2), log: { _ in })
        try await daemon.run(exitWhenIdle: true)
        let failed = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/failed")) ?? []
        let why = failed.filter { $0.hasSuffix(".error.txt") }.compactMap { try? String(contentsOfFile: dir + "/failed/" + $0, encoding: .utf8) }
        XCTAssertEqual(failed, [], "\(why)")
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/outbox/talk.json"))) as! [String: Any]
        XCTAssertEqual(sidecar["mode"] as? String, "s2v")
        XCTAssertEqual((sidecar["audio"] as? [String: String])?["file"], "talk.wav")
        // Clips of 80 frames until the speech ends, the video cut at its end.
        XCTAssertEqual(sidecar["frames"] as? Int, Int((speech.seconds * 16).rounded(.up)))

        let clip = try VideoDecoder.decode(path: dir + "/outbox/talk.mp4", maxFrames: 1000)
        XCTAssertEqual(clip.frames.count, sidecar["frames"] as? Int)
        let pixels = clip.frames[clip.frames.count / 2].pixels
        XCTAssertGreaterThan(Set(pixels).count, 8, "a generated frame, not a flat fill")
        let track = try AudioDecoder.decode(path: dir + "/outbox/talk.mp4", sampleRate: 16_000)
        XCTAssertEqual(track.seconds, Double(clip.frames.count) / 16, accuracy: 1.0 / 16, "the speech is muxed and cut at the video's end")
    }
}
