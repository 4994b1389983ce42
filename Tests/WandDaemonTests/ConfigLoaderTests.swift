import Foundation
import XCTest
@testable import WandDaemon

final class ConfigLoaderTests: XCTestCase {
    private func load(_ text: String, in folder: TemporaryFolder) throws(ConfigErrors) -> DaemonConfig {
        try ConfigLoader.load(bytes: Array(text.utf8), file: folder.url.path + "/wand.yaml")
    }

    private func errors(_ text: String, in folder: TemporaryFolder) -> [String] {
        do {
            _ = try load(text, in: folder)
            XCTFail("expected errors")
            return []
        } catch {
            return error.diagnostics.map { String($0.description.dropFirst(folder.url.path.count + 1)) }
        }
    }

    func testAnnotatedDefaultConfigLoadsAsDocumented() throws {
        let config = try ConfigLoader.load(PackageRoot.url.appendingPathComponent("Config/wand.yaml").path)
        XCTAssertEqual(config.stateDir.path, "/var/lib/wand")
        XCTAssertEqual(config.inboxes.count, 1)
        let inbox = config.inboxes[0]
        XCTAssertEqual(inbox.path.path, "/srv/wand/inbox")
        XCTAssertEqual(inbox.mode, .auto)
        XCTAssertEqual(inbox.watch, .auto)
        XCTAssertEqual(inbox.settle, 5)
        XCTAssertEqual(inbox.rescan, 300)
        XCTAssertEqual(config.afterSuccess, .archive)
        XCTAssertEqual(config.layout, .flat)
        XCTAssertEqual(config.duplicates, .skip)
        XCTAssertEqual(config.models["t2v-a14b"]?.path.path, "/srv/models/Wan2.2-T2V-A14B")
        XCTAssertEqual(config.models["t2v-a14b"]?.kind, .t2vA14B)
        XCTAssertEqual(config.defaultModels[.ti2v], "ti2v-5b")
        XCTAssertEqual(config.engine.memoryBudget, 0.8)
        XCTAssertNil(config.engine.threads)
        XCTAssertNil(config.engine.vaeTilePixels)
        XCTAssertEqual(config.output, OutputDefaults(codec: .h264, crf: 18, preset: "medium"))
        XCTAssertEqual(config.watermark.visible.position, .bottomRight)
        XCTAssertEqual(config.watermark.visible.opacity, 0.7)
        XCTAssertTrue(config.watermark.invisible.enabled)
        XCTAssertEqual(config.maxAttempts, 3)
        XCTAssertEqual(config.retryBackoff, 30)
    }

    func testDemoConfigPathsAreRelativeToTheConfigFile() throws {
        let config = try ConfigLoader.load(PackageRoot.url.appendingPathComponent("Config/demo.yaml").path)
        let root = PackageRoot.url.standardizedFileURL.path
        XCTAssertEqual(config.stateDir.path, root + "/demo-spool/state")
        XCTAssertEqual(config.inboxes.map(\.path.path), [root + "/demo-spool/inbox"])
        XCTAssertEqual(config.outbox.path, root + "/demo-spool/outbox")
        XCTAssertEqual(config.models["wand-demo"]?.path.path, root + "/Samples/models/wand-demo")
        XCTAssertEqual(config.inboxes[0].settle, 1)
    }

    func testDurationsPercentagesAndInboxDefaults() throws {
        let folder = try TemporaryFolder()
        let config = try load("""
        wand-config: 1
        inboxes:
          - path: in
            mode: t2v
            settle: 250ms
            rescan: 2m
            defaults: {size: 832x480, steps: 20, guidance: {high: 4, low: 3}, output: {crf: 30}}
        engine: {memory_budget: 55%, threads: 4, device: cpu, vae_tiling: 256}
        retry_backoff: 1h
        notify:
          webhooks: [{url: "http://127.0.0.1:8096/hook", events: [done, failed]}]
        """, in: folder)
        let inbox = config.inboxes[0]
        XCTAssertEqual(inbox.path.path, folder.url.path + "/in")
        XCTAssertEqual(inbox.mode, .fixed(.t2v))
        XCTAssertEqual(inbox.settle, 0.25, accuracy: 1e-9)
        XCTAssertEqual(inbox.rescan, 120)
        XCTAssertEqual(inbox.defaults.size, VideoSize(width: 832, height: 480))
        XCTAssertEqual(inbox.defaults.steps, 20)
        XCTAssertEqual(inbox.defaults.guidance, .split(high: 4, low: 3))
        XCTAssertEqual(inbox.defaults.crf, 30)
        XCTAssertEqual(config.engine.memoryBudget, 0.55, accuracy: 1e-9)
        XCTAssertEqual(config.engine.threads, 4)
        XCTAssertEqual(config.engine.device, .cpu)
        XCTAssertEqual(config.engine.vaeTilePixels, 256)
        XCTAssertEqual(config.retryBackoff, 3600)
        XCTAssertEqual(config.notify.webhooks, [Webhook(url: URL(string: "http://127.0.0.1:8096/hook")!, events: [.done, .failed])])
    }

    func testEngineDeviceAndPrecision() throws {
        let folder = try TemporaryFolder()
        let vulkan = try load("wand-config: 1\ninboxes: [{path: in, mode: t2v}]\nengine: {device: vulkan, precision: f16}\n", in: folder)
        XCTAssertEqual(vulkan.engine.device, .vulkan)
        XCTAssertEqual(vulkan.engine.precision, .f16)
        let defaults = try load("wand-config: 1\ninboxes: [{path: in, mode: t2v}]\n", in: folder)
        XCTAssertEqual(defaults.engine.device, .auto)
        XCTAssertEqual(defaults.engine.precision, .f32)
        // cuda still parses (wand serve refuses it with a pointer to vulkan); a wrong precision is located.
        XCTAssertEqual(try load("wand-config: 1\ninboxes: [{path: in, mode: t2v}]\nengine: {device: cuda}\n", in: folder).engine.device, .cuda)
        XCTAssertThrowsError(try load("wand-config: 1\ninboxes: [{path: in, mode: t2v}]\nengine: {precision: bf16}\n", in: folder)) { error in
            XCTAssertTrue("\(error)".contains("precision must be one of f32, f16"), "\(error)")
            XCTAssertTrue("\(error)".contains(":3:"), "\(error)")
        }
    }

    func testAllConfigErrorsAtOnce() throws {
        let folder = try TemporaryFolder()
        let text = """
        wand-config: 1
        state_dri: /x
        inboxes:
          - path: in
            settle: soon
            watch: inotfy
            defaults: {frames: 80, colour: red}
          - mode: t2v
        layout: folder_per_job
        models:
          mine: {path: /m}
        defaults: {t2v: t2v-a41b}
        engine: {memory_budget: 180%, vae_tiling: 250}
        output: {preset: slwo}
        watermark: {visible: {opacity: 2, enabled: yes}}
        notify: {webhooks: [{url: "ftp://x"}]}
        """
        XCTAssertEqual(errors(text, in: folder), [
            "wand.yaml:2:1: error: unknown key 'state_dri' in config; did you mean 'state_dir'?",
            "wand.yaml:5:13: error: settle must be a duration like 5s, 300s, 2m or 1h (got 'soon')",
            "wand.yaml:6:12: error: watch must be one of auto, inotify, poll (got 'inotfy'); did you mean 'inotify'?",
            "wand.yaml:7:24: error: frames must be 4n+1 (got 80; try 81)",
            "wand.yaml:7:28: error: unknown key 'colour' in inbox defaults",
            "wand.yaml:8:5: error: an inbox needs a path",
            "wand.yaml:9:9: error: layout must be one of flat, folder-per-job (got 'folder_per_job'); did you mean 'folder-per-job'?",
            "wand.yaml:11:3: error: model 'mine' needs kind: (one of t2v-a14b, i2v-a14b, ti2v-5b, s2v-14b, animate-14b); its folder has no wand-model.yaml and its configs do not say",
            "wand.yaml:12:17: error: defaults.t2v names unknown model 't2v-a41b'; did you mean 't2v-a14b'?",
            "wand.yaml:13:25: error: memory_budget must be a percentage like 80% (got '180%')",
            "wand.yaml:13:43: error: vae_tiling must be off or a tile size in pixels, a multiple of 16 from 64 to 4096, e.g. 256 (got 250)",
            "wand.yaml:14:18: error: preset must be one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow (got 'slwo'); did you mean 'slow'?",
            "wand.yaml:15:32: error: opacity must be between 0 and 1 (got 2)",
            "wand.yaml:15:44: error: enabled must be true or false (got 'yes')",
            "wand.yaml:16:27: error: url must be an http:// or https:// address (got 'ftp://x')",
        ])
    }

    func testVersionRequiredAndOneDocument() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(errors("state_dir: /x\n", in: folder), ["wand.yaml:1:1: error: missing 'wand-config: 1' (the config schema version)"])
        XCTAssertEqual(errors("wand-config: 2\n", in: folder), ["wand.yaml:1:14: error: unsupported config schema version 2 (this wand reads wand-config: 1)"])
        XCTAssertEqual(errors("wand-config: 1\n---\nwand-config: 1\n", in: folder), ["wand.yaml:3:1: error: a config file holds one YAML document"])
    }

    func testInboxDefaultsModelMustBeKnown() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(errors("wand-config: 1\ninboxes:\n  - path: in\n    defaults: {model: ti2v-6b}\n", in: folder),
                       ["wand.yaml:4:23: error: defaults.model names unknown model 'ti2v-6b'; did you mean 'ti2v-5b'?"])
    }

    func testModelSizesOverride() throws {
        let folder = try TemporaryFolder()
        let config = try load("wand-config: 1\nmodels:\n  tiny: {path: m, kind: ti2v-5b, sizes: [256x256, 128x256]}\n", in: folder)
        XCTAssertEqual(config.models["tiny"]?.sizes, [VideoSize(width: 256, height: 256), VideoSize(width: 128, height: 256)])
        XCTAssertEqual(config.models["tiny"]?.path.path, folder.url.path + "/m")
        XCTAssertEqual(errors("wand-config: 1\nmodels:\n  tiny: {path: m, kind: ti2v-5b, sizes: [256]}\n", in: folder),
                       ["wand.yaml:3:42: error: size must be WIDTHxHEIGHT like 1280x720 (got '256')"])
    }
}
