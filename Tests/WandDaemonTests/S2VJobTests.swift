import Foundation
import XCTest
@testable import WandDaemon
import WandEngine
import WandMedia

/// Speech-to-video jobs: the keys (`pose_video`, `clips`; the bare drop image + audio is in
/// JobsBareDropRouterTests) and the daemon's side of a run: bounded audio into the request, the audio muxed into the MP4 (ffprobe:
/// a stream as long as the video within one frame) and recorded in the sidecar with its SHA-256.
final class S2VJobTests: XCTestCase {
    let samples = PackageRoot.url.appendingPathComponent("Samples")

    func testKeysAreValidatedWithTheirPositions() throws {
        let folder = try TemporaryFolder()
        for name in ["person.png", "speech.wav", "pose.mp4"] {
            try FileManager.default.copyItem(at: samples.appendingPathComponent(name), to: folder.url.appendingPathComponent(name))
        }
        let jobs = try parseJobs("wand: 1\nmode: s2v\nimage: person.png\naudio: speech.wav\npose_video: pose.mp4\nclips: 3\n", in: folder)
        XCTAssertEqual(jobs.first?.clips, 3)
        XCTAssertEqual(jobs.first?.poseVideo?.lastPathComponent, "pose.mp4")
        XCTAssertEqual(jobs.first?.inputFiles.map(\.lastPathComponent), ["person.png", "speech.wav", "pose.mp4"])
        let errors = try jobErrors("wand: 1\nmode: t2v\nprompt: x\nclips: 2\npose_video: pose.mp4\n", in: folder)
        XCTAssertTrue(errors.contains { $0.contains(":4:8: error: clips is only used by mode s2v") }, "\(errors)")
        XCTAssertTrue(errors.contains { $0.contains(":5:13: error: pose_video is only used by modes s2v and animate") }, "\(errors)")
        let range = try jobErrors("wand: 1\nmode: s2v\nimage: person.png\naudio: speech.wav\nclips: 0\n", in: folder)
        XCTAssertTrue(range.contains { $0.contains(":5:8: error: clips") }, "\(range)")
        let missing = try jobErrors("wand: 1\nmode: s2v\nimage: person.png\naudio: speech.wav\npose_video: nope.mp4\n", in: folder)
        XCTAssertTrue(missing.contains { $0.contains("pose_video file 'nope.mp4' not found") }, "\(missing)")
        try Data("x".utf8).write(to: folder.url.appendingPathComponent("style.safetensors"))
        let fast = try jobErrors("wand: 1\nmode: s2v\nimage: person.png\naudio: speech.wav\nloras: [style.safetensors]\nrecipe: lightning-4step\n", in: folder)
        XCTAssertTrue(fast.contains { $0.contains(":5:8: error: loras are not supported by mode s2v") }, "\(fast)")
        XCTAssertTrue(fast.contains { $0.contains(":6:9: error: recipe lightning-4step is not made for mode s2v") }, "\(fast)")
    }

    /// Stands in for the engine: checks what the daemon hands over, returns ceil(audio s · 16) frames.
    struct S2VCheckingEngine: VideoGenerator {
        func generate(_ request: GenerationRequest, progress: @escaping @Sendable (GenerationProgress) -> Void,
                      isCancelled: @escaping @Sendable () -> Bool) async throws -> GeneratedVideo {
            guard request.mode == .s2v, let audio = request.audio, request.image != nil else {
                throw EngineError(.badRequest, "the daemon did not pass the s2v inputs")
            }
            guard request.clips == 1, request.poseVideo == nil else { throw EngineError(.badRequest, "clips/pose not as asked") }
            let frames = Int((Double(audio.count) / 16_000 * 16).rounded(.up))
            let images = (0..<frames).map { f in RGBImage(width: 64, height: 64, pixels: (0..<(64 * 64 * 3)).map { UInt8(($0 + f * 9) % 256) }) }
            return GeneratedVideo(width: 64, height: 64, fps: 16, frames: images, latents: [], latentShape: [],
                                  timings: StageTimings(), device: "test", notes: ["\(audio.count) samples"])
        }
    }

    func testJobRunsWithTheAudioMuxedAndRecorded() async throws {
        let dir = NSTemporaryDirectory() + "wand-s2v-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/inbox", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = """
            wand-config: 1
            state_dir: state
            outbox: outbox
            failed: failed
            inboxes:
              - path: inbox
                settle: 0.2s
                defaults: {size: 64x64, steps: 1}
            models:
              talk: {path: /nonexistent/s2v, kind: s2v-14b, sizes: [64x64]}
            defaults: {s2v: talk}
            watermark: {visible: {enabled: false}, invisible: {enabled: false}}
            """
        FileManager.default.createFile(atPath: dir + "/wand.yaml", contents: Data(yaml.utf8))
        let config = try ConfigLoader.load(dir + "/wand.yaml")
        // The 1 s sample speech with a job asking for one clip.
        let wav = try Data(contentsOf: samples.appendingPathComponent("speech.wav"))
        let speech = try AudioDecoder.decode(path: samples.appendingPathComponent("speech.wav").path, sampleRate: 16_000)
        XCTAssertGreaterThan(wav.count, 1000)
        try FileManager.default.copyItem(atPath: samples.appendingPathComponent("person.png").path, toPath: dir + "/inbox/talk.png")
        try FileManager.default.copyItem(atPath: samples.appendingPathComponent("speech.wav").path, toPath: dir + "/inbox/talk.wav")
        FileManager.default.createFile(atPath: dir + "/inbox/talk.yaml", contents: Data("wand: 1\nmode: s2v\nimage: talk.png\naudio: talk.wav\nclips: 1\n".utf8))
        let daemon = try Daemon(config: config, generator: S2VCheckingEngine(), log: { _ in })
        try await daemon.run(exitWhenIdle: true)
        let outbox = ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/outbox")) ?? []).sorted()
        XCTAssertTrue(outbox.contains("talk.mp4"), "outbox \(outbox), failed \((try? FileManager.default.contentsOfDirectory(atPath: dir + "/failed")) ?? [])")
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/outbox/talk.json"))) as! [String: Any]
        let audio = try XCTUnwrap(sidecar["audio"] as? [String: String])
        XCTAssertEqual(audio["file"], "talk.wav")
        XCTAssertEqual(audio["sha256"], SHA256.hex(wav))
        XCTAssertEqual(sidecar["clips"] as? Int, 1)
        let frames = Int((speech.seconds * 16).rounded(.up))
        XCTAssertEqual(sidecar["frames"] as? Int, frames)

        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffprobe") else { throw XCTSkip("ffprobe CLI not installed") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        p.arguments = ["-v", "error", "-show_entries", "stream=codec_type,codec_name,duration", "-of", "json", dir + "/outbox/talk.mp4"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let streams = (try JSONSerialization.jsonObject(with: data) as! [String: Any])["streams"] as! [[String: Any]]
        let v = try XCTUnwrap(streams.first { $0["codec_type"] as? String == "video" })
        let a = try XCTUnwrap(streams.first { $0["codec_type"] as? String == "audio" })
        XCTAssertEqual(a["codec_name"] as? String, "aac")
        let vd = Double(v["duration"] as? String ?? "") ?? -1, ad = Double(a["duration"] as? String ?? "") ?? -2
        XCTAssertEqual(ad, vd, accuracy: 1.0 / 16, "audio \(ad) s vs video \(vd) s")
    }
}
