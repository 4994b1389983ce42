import Foundation
import XCTest
@testable import WandDaemon
import WandEngine

/// A job with LoRAs and a recipe, end to end through the daemon: the engine gets them, the sidecar
/// records them with the files' SHA-256, and a LoRA file in the inbox stays where it is.
final class DaemonLoRATests: XCTestCase {
    final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var requests: [GenerationRequest] = []
    }

    struct RecordingEngine: VideoGenerator {
        let recorder: Recorder
        func generate(_ request: GenerationRequest, progress: @escaping @Sendable (GenerationProgress) -> Void,
                      isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
            recorder.lock.withLock { recorder.requests.append(request) }
            let frames = (0..<request.frames).map { _ in
                RGBImage(width: request.width, height: request.height, pixels: [UInt8](repeating: 90, count: request.width * request.height * 3))
            }
            var video = GeneratedVideo(width: request.width, height: request.height, fps: request.fps, frames: frames, latents: [],
                                       latentShape: [], timings: StageTimings(), device: "test", notes: [])
            video.loras = request.loras.map {
                AppliedLoRA(path: $0.path, strength: $0.strength, expert: $0.expert, sha256: String(repeating: "a", count: 64),
                            mergedTensors: 3, skippedKeys: 0)
            }
            return video
        }
    }

    func testLoRAsAndRecipeReachTheEngineAndTheSidecar() async throws {
        let dir = NSTemporaryDirectory() + "wand-daemon-lora-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try Data("""
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes: [{path: inbox, settle: 0.2s}]
            models:
              tiny: {path: /nonexistent/tiny, kind: t2v-a14b, sizes: [32x32]}
            defaults: {t2v: tiny}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            """.utf8).write(to: URL(fileURLWithPath: dir + "/wand.yaml"))
        let cfg = try ConfigLoader.load(dir + "/wand.yaml")
        try Data("not really weights".utf8).write(to: URL(fileURLWithPath: dir + "/inbox/style.safetensors"))
        try Data("""
            wand: 1
            mode: t2v
            prompt: a red circle
            size: 32x32
            frames: 5
            seed: 1
            recipe: lightning-4step
            loras: [{path: style.safetensors, strength: 0.7, expert: low}]
            """.utf8).write(to: URL(fileURLWithPath: dir + "/inbox/fast.yaml"))
        let recorder = Recorder()
        let daemon = try Daemon(config: cfg, generator: RecordingEngine(recorder: recorder), log: { _ in })
        try await daemon.run(exitWhenIdle: true)

        let request = try XCTUnwrap(recorder.requests.first)
        let real = InputConfinement.realPath(dir + "/inbox/style.safetensors")!
        XCTAssertEqual(request.loras, [LoRARequest(path: real, strength: 0.7, expert: .low)])
        XCTAssertEqual(request.sigmaSchedule, .lightning)
        XCTAssertEqual([request.steps], [4])
        XCTAssertEqual(request.guidance, 1)
        XCTAssertEqual(request.sampler, .euler)
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/outbox/fast.json"))) as! [String: Any]
        XCTAssertEqual(sidecar["recipe"] as? String, "lightning-4step")
        let loras = try XCTUnwrap(sidecar["loras"] as? [[String: Any]])
        XCTAssertEqual(loras.first?["path"] as? String, real)
        XCTAssertEqual(loras.first?["expert"] as? String, "low")
        XCTAssertEqual(loras.first?["strength"] as? Double, 0.7)
        XCTAssertEqual(loras.first?["sha256"] as? String, String(repeating: "a", count: 64))
        // The LoRA was read in place: not a drop, not moved into the spool or failed/.
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/inbox/style.safetensors"))
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: dir + "/failed")) ?? [], [])
    }
}
