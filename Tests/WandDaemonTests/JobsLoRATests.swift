import Foundation
import XCTest
@testable import WandDaemon

/// `loras:` and `recipe:` in job files, inbox defaults and model entries.
final class JobsLoRATests: XCTestCase {
    func errors(_ text: String, in folder: TemporaryFolder, config: DaemonConfig = .standard) -> [String] {
        do {
            _ = try parseJobs(text, in: folder, config: config)
            return []
        } catch {
            return (error as? JobErrors)?.diagnostics.map(\.description) ?? ["\(error)"]
        }
    }

    func testLoRAsAreResolvedAndConfined() throws {
        let folder = try TemporaryFolder()
        try folder.write("high.safetensors", "x")
        try folder.write("sub/low.safetensors", "x")
        let job = try parseJobs("""
        wand: 1
        mode: t2v
        prompt: p
        loras:
          - {path: high.safetensors, strength: 0.8, expert: high}
          - path: sub/low.safetensors
            expert: low
          - high.safetensors
        """, in: folder)[0]
        XCTAssertEqual(job.loras, [LoRASpec(path: URL(fileURLWithPath: folder.realPath + "/high.safetensors"), strength: 0.8, expert: .high),
                                   LoRASpec(path: URL(fileURLWithPath: folder.realPath + "/sub/low.safetensors"), strength: 1, expert: .low),
                                   LoRASpec(path: URL(fileURLWithPath: folder.realPath + "/high.safetensors"))])
        XCTAssertNil(try parseJobs("wand: 1\nmode: t2v\nprompt: p\n", in: folder)[0].loras)

        let bad = errors("""
        wand: 1
        mode: t2v
        prompt: p
        loras:
          - {path: ../../etc/passwd}
          - {path: nope.safetensors, strength: 11}
          - {path: high.safetensors, expert: middle}
          - {strength: 1}
          - {path: missing.safetensors}
        """, in: folder)
        XCTAssertEqual(bad.map { $0.replacingOccurrences(of: folder.url.path, with: "F").replacingOccurrences(of: folder.realPath, with: "F") }, [
            "F/job.yaml:5:12: error: lora path '../../etc/passwd' leaves the job's folder, the input roots and the lora_dirs",
            "F/job.yaml:6:40: error: strength must be between -10 and 10 (got 11)",
            "F/job.yaml:7:38: error: expert must be one of high, low, both (got 'middle')",
            "F/job.yaml:8:5: error: a lora needs a path",
            "F/job.yaml:9:12: error: lora file 'missing.safetensors' not found",
        ])
    }

    func testLoRADirsAndModelEntries() throws {
        let folder = try TemporaryFolder()
        try folder.write("loras/style.safetensors", "x")
        try folder.write("models/lightning/high.safetensors", "x")
        try folder.write("jobs/placeholder", "")
        let config = try ConfigLoader.load(bytes: Array("""
        wand-config: 1
        lora_dirs: [loras]
        models:
          fast: {path: models/base, kind: t2v-a14b, recipe: lightning-4step,
                 loras: [{path: models/lightning/high.safetensors, expert: high}]}
          slow: {path: models/base, kind: t2v-a14b}
        """.utf8), file: folder.url.appendingPathComponent("wand.yaml").path)
        XCTAssertEqual(config.loraDirs.map(\.path), [folder.realPath + "/loras"])
        XCTAssertEqual(config.models["fast"]?.recipe, "lightning-4step")
        let jobFolder = try TemporaryFolder()
        let job = try parseJobs("wand: 1\nmode: t2v\nmodel: fast\nprompt: p\nloras: [style.safetensors]\n", in: jobFolder, config: config)[0]
        XCTAssertEqual(job.loras?.map(\.path.lastPathComponent), ["high.safetensors", "style.safetensors"])
        XCTAssertEqual(job.loras?.first?.expert, .high)
        XCTAssertEqual(job.recipe, "lightning-4step")
        XCTAssertEqual([job.steps], [4])
        XCTAssertEqual(job.shift, 5)
        XCTAssertEqual(job.guidance, .single(1))
        XCTAssertEqual(job.sampler, .euler)
        // The job's own keys win over the recipe; `recipe: none` switches the model's off.
        let own = try parseJobs("wand: 1\nmode: t2v\nmodel: fast\nprompt: p\nsteps: 8\n", in: jobFolder, config: config)[0]
        XCTAssertEqual(own.steps, 8)
        XCTAssertEqual(own.sampler, .euler)
        let none = try parseJobs("wand: 1\nmode: t2v\nmodel: fast\nprompt: p\nrecipe: none\n", in: jobFolder, config: config)[0]
        XCTAssertNil(none.recipe)
        XCTAssertEqual([none.steps], [40])
        // A job's recipe on a plain model, over inbox defaults.
        var inbox = InboxConfig(path: jobFolder.url)
        inbox.defaults.steps = 30
        let fromJob = try parseJobs("wand: 1\nmode: t2v\nmodel: slow\nprompt: p\nrecipe: lightning-4step\n", in: jobFolder,
                                    config: config, inbox: inbox)[0]
        XCTAssertEqual(fromJob.steps, 4)
        XCTAssertEqual(try parseJobs("wand: 1\nmode: t2v\nmodel: slow\nprompt: p\n", in: jobFolder, config: config, inbox: inbox)[0].steps, 30)
        // FastWan's recipe: 3 DMD steps on the shift-8 table, unguided.
        let dmd = try parseJobs("wand: 1\nmode: t2v\nmodel: slow\nprompt: p\nrecipe: fastwan-3step\n", in: jobFolder,
                                config: config, inbox: inbox)[0]
        XCTAssertEqual([dmd.steps], [3])
        XCTAssertEqual(dmd.shift, 8)
        XCTAssertEqual(dmd.guidance, .single(1))
        XCTAssertEqual(dmd.sampler, .dmd)
    }

    func testBadRecipesAndExpertsOnOneDiTModelsAreLocated() throws {
        let folder = try TemporaryFolder()
        try folder.write("l.safetensors", "x")
        XCTAssertEqual(errors("wand: 1\nmode: t2v\nprompt: p\nrecipe: lightning\n", in: folder).map { String($0.split(separator: " ", maxSplits: 1)[1]) },
                       ["error: recipe must be one of lightning-4step, fastwan-3step, none (got 'lightning')"])
        XCTAssertEqual(errors("wand: 1\nmode: ti2v\nprompt: p\nloras: [{path: l.safetensors, expert: low}]\n", in: folder)
            .map { String($0.split(separator: " ", maxSplits: 1)[1]) },
                       ["error: expert high/low needs a two-expert model (ti2v-5b has one DiT; use expert: both or leave it out)"])
        do {
            _ = try ConfigLoader.load(bytes: Array("wand-config: 1\nmodels:\n  x: {path: m, kind: ti2v-5b, loras: [missing.safetensors]}\nengine: {lora_merge: f16}\n".utf8),
                                      file: folder.url.appendingPathComponent("wand.yaml").path)
            XCTFail("expected errors")
        } catch {
            let messages = error.diagnostics.map(\.message)
            XCTAssertEqual(messages.count, 2, "\(messages)")
            XCTAssertTrue(messages[0].hasPrefix("lora file 'missing.safetensors' not found"), messages[0])
            XCTAssertEqual(messages[1], "lora_merge must be one of stored, f32 (got 'f16'); did you mean 'f32'?")
        }
    }
}
