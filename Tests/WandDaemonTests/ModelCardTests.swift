import Foundation
import XCTest
@testable import WandDaemon

/// A model's own sizes and defaults: the folder's `wand-model.yaml` and the family its configs
/// show apply when the config and the job say nothing.
final class ModelCardTests: XCTestCase {
    private let pipelines = PackageRoot.url.appendingPathComponent("Tests/Fixtures/pipelines/models")

    func testDemoModelCardGivesItsSizesAndDefaults() throws {
        let card = try ModelCard.read(folder: PackageRoot.url.appendingPathComponent("Samples/models/wand-demo"))
        XCTAssertEqual(card.kind, .ti2v5B)
        XCTAssertEqual(card.sizes, [VideoSize(width: 256, height: 160)])
        XCTAssertEqual(card.defaults.frames, 17)
        XCTAssertEqual(card.defaults.fps, 16)
        XCTAssertEqual(card.defaults.steps, 20)
        XCTAssertEqual(card.defaults.guidance, .single(5))
        XCTAssertEqual(card.defaults.shift, 3)
    }

    func testFamilyIsReadFromDiffusersConfigs() throws {
        XCTAssertEqual(try ModelCard.read(folder: pipelines.appendingPathComponent("tiny-ti2v")).kind, .ti2v5B)
        XCTAssertEqual(try ModelCard.read(folder: pipelines.appendingPathComponent("tiny-t2v-a14b")).kind, .t2vA14B)
        XCTAssertEqual(try ModelCard.read(folder: pipelines.appendingPathComponent("tiny-i2v-a14b")).kind, .i2vA14B)
        // One expert, no expand_timesteps: a Wan2.1-style folder, whose family the configs cannot tell.
        XCTAssertNil(try ModelCard.read(folder: pipelines.appendingPathComponent("tiny-t2v")).kind)
        XCTAssertNil(try ModelCard.read(folder: URL(fileURLWithPath: "/nonexistent/model")).kind)
    }

    func testCardErrorsAreLocatedInTheCard() throws {
        let folder = try TemporaryFolder()
        try folder.write(ModelCard.fileName, """
            wand-model: 1
            kind: ti2v-6b
            sizes: [256x16x]
            defaults: {frames: 16, steps: 20, model: other, colour: red}
            """)
        do {
            _ = try ModelCard.read(folder: folder.url)
            XCTFail("expected errors")
        } catch {
            let lines = error.diagnostics.map { String($0.description.dropFirst(folder.url.path.count + 1)) }
            XCTAssertEqual(lines.count, 5, "\(lines)")
            XCTAssertTrue(lines[0].hasPrefix("wand-model.yaml:2:7: error: kind must be one of"), lines[0])
            XCTAssertTrue(lines[1].hasPrefix("wand-model.yaml:3:9: error: size"), lines[1])
            XCTAssertEqual(lines[2], "wand-model.yaml:4:20: error: frames must be 4n+1 (got 16; try 17)")
            XCTAssertEqual(lines[3], "wand-model.yaml:4:35: error: model is a job's or an inbox's choice, not a model's default")
            XCTAssertTrue(lines[4].hasPrefix("wand-model.yaml:4:49: error: unknown key 'colour' in model card defaults"), lines[4])
        }
    }

    func testConfigTakesKindSizesAndDefaultsFromTheFolder() throws {
        let folder = try TemporaryFolder()
        try folder.write("small/wand-model.yaml", """
            wand-model: 1
            kind: ti2v-5b
            sizes: [256x160, 160x256]
            defaults: {frames: 17, fps: 16, steps: 20, guidance: 5.0, shift: 3.0}
            """)
        try folder.write("wand.yaml", """
            wand-config: 1
            models:
              small: {path: small}
            defaults: {t2v: small, ti2v: small}
            """)
        let config = try ConfigLoader.load(folder.url.path + "/wand.yaml")
        XCTAssertEqual(config.models["small"]?.kind, .ti2v5B)
        XCTAssertEqual(config.models["small"]?.sizes?.first, VideoSize(width: 256, height: 160))

        let job = try XCTUnwrap(parseJobs("wand: 1\nmode: t2v\nprompt: a red circle\n", in: folder, config: config).first)
        XCTAssertEqual(job.size, VideoSize(width: 256, height: 160))
        XCTAssertEqual(job.frames, 17)
        XCTAssertEqual(job.fps, 16)
        XCTAssertEqual(job.steps, 20)
        XCTAssertEqual(job.guidance, .single(5))
        XCTAssertEqual(job.shift, 3)

        // A job's keys and its inbox's defaults still win over the card.
        var inbox = InboxConfig(path: folder.url)
        inbox.defaults.steps = 8
        let own = try XCTUnwrap(parseJobs("wand: 1\nmode: t2v\nprompt: a\nframes: 9\nsize: 160x256\n",
                                          in: folder, config: config, inbox: inbox).first)
        XCTAssertEqual(own.frames, 9)
        XCTAssertEqual(own.steps, 8)
        XCTAssertEqual(own.size, VideoSize(width: 160, height: 256))
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: a\nsize: 1280x704\n", in: folder, config: config),
                       ["job.yaml:4:7: error: size 1280x704 is not supported by small (supported: 256x160, 160x256)"])
    }

    func testAModelWithoutKindOrCardIsAnError() throws {
        let folder = try TemporaryFolder()
        try folder.write("wand.yaml", "wand-config: 1\nmodels:\n  mine: {path: nowhere}\n")
        do {
            _ = try ConfigLoader.load(folder.url.path + "/wand.yaml")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.diagnostics.count, 1)
            XCTAssertTrue(error.diagnostics[0].message.contains("needs kind:"), error.diagnostics[0].message)
            XCTAssertTrue(error.diagnostics[0].message.contains("wand-model.yaml"), error.diagnostics[0].message)
        }
    }
}

extension ModelCardTests {
    /// A recipe fixes the sampling over the card's defaults, as it does over the family's.
    func testRecipeWinsOverTheCardsSampling() throws {
        let folder = try TemporaryFolder()
        try folder.write("small/wand-model.yaml", """
            wand-model: 1
            kind: ti2v-5b
            sizes: [256x160]
            defaults: {frames: 17, steps: 20, guidance: 5.0, shift: 3.0}
            """)
        try folder.write("wand.yaml", """
            wand-config: 1
            models:
              small: {path: small}
              fast: {path: small, recipe: lightning-4step}
            """)
        let config = try ConfigLoader.load(folder.url.path + "/wand.yaml")
        let plain = try XCTUnwrap(parseJobs("wand: 1\nmode: t2v\nmodel: small\nprompt: a\n", in: folder, config: config).first)
        XCTAssertEqual(plain.steps, 20)
        let fast = try XCTUnwrap(parseJobs("wand: 1\nmode: t2v\nmodel: fast\nprompt: a\n", in: folder, config: config).first)
        XCTAssertEqual(fast.recipe, "lightning-4step")
        XCTAssertEqual(fast.steps, 4)
        XCTAssertEqual(fast.guidance, .single(1))
        XCTAssertEqual(fast.shift, 5)
        XCTAssertEqual(fast.frames, 17)  // what the recipe does not fix still comes from the card
        let asked = try XCTUnwrap(parseJobs("wand: 1\nmode: t2v\nmodel: small\nprompt: a\nrecipe: lightning-4step\n",
                                            in: folder, config: config).first)
        XCTAssertEqual(asked.steps, 4)
    }
}
