import Foundation
import XCTest
@testable import WandDaemon

final class JobFileParserTests: XCTestCase {
    func testMinimalT2VGetsOfficialDefaults() throws {
        let folder = try TemporaryFolder()
        let jobs = try parseJobs("wand: 1\nmode: t2v\nprompt: \"A cat\"\n", name: "beach.yaml", in: folder)
        XCTAssertEqual(jobs.count, 1)
        let job = jobs[0]
        XCTAssertEqual(job.mode, .t2v)
        XCTAssertEqual(job.model, "t2v-a14b")
        XCTAssertEqual(job.modelKind, .t2vA14B)
        XCTAssertEqual(job.prompt, "A cat")
        XCTAssertNil(job.negativePrompt)
        XCTAssertNil(job.seed)
        XCTAssertEqual(job.size, VideoSize(width: 1280, height: 720))
        XCTAssertEqual(job.frames, 81)
        XCTAssertEqual(job.fps, 16)
        XCTAssertEqual(job.steps, 40)
        XCTAssertEqual(job.shift, 12.0)
        XCTAssertEqual(job.sampler, .unipc)
        XCTAssertEqual(job.guidance, .split(high: 4.0, low: 3.0))
        XCTAssertNil(job.strength)
        XCTAssertEqual(job.output, OutputSpec(name: "beach", codec: .h264, crf: 18))
        XCTAssertEqual(job.source.line, 1)
        XCTAssertEqual(job.source.column, 1)
    }

    func testPerModelDefaults() throws {
        let folder = try TemporaryFolder()
        try folder.write("a.png", "x")
        try folder.write("v.mp4", "x")
        try folder.write("s.wav", "x")
        let ti2v = try parseJobs("wand: 1\nmode: ti2v\nprompt: p\n", in: folder)[0]
        XCTAssertEqual([ti2v.steps, ti2v.frames, ti2v.fps], [50, 121, 24])
        XCTAssertEqual(ti2v.shift, 5.0)
        XCTAssertEqual(ti2v.guidance, .single(5.0))
        XCTAssertEqual(ti2v.size, VideoSize(width: 1280, height: 704))
        let i2v = try parseJobs("wand: 1\nmode: i2v\nimage: a.png\n", in: folder)[0]
        XCTAssertEqual(i2v.guidance, .split(high: 3.5, low: 3.5))
        XCTAssertEqual([i2v.steps, i2v.frames], [40, 81])
        XCTAssertEqual(i2v.shift, 5.0)
        XCTAssertEqual(i2v.image?.path, folder.realPath + "/a.png")
        let s2v = try parseJobs("wand: 1\nmode: s2v\nimage: a.png\naudio: s.wav\n", in: folder)[0]
        XCTAssertEqual(s2v.shift, 3.0)
        XCTAssertEqual(s2v.guidance, .single(4.5))
        let animate = try parseJobs("wand: 1\nmode: animate\nimage: a.png\nvideo: v.mp4\nface_video: v.mp4\n", in: folder)[0]
        XCTAssertEqual([animate.steps, animate.frames, animate.fps], [20, 77, 30])
        XCTAssertEqual(animate.guidance, .single(1.0))
        let edit = try parseJobs("wand: 1\nmode: edit\nprompt: watercolor\nvideo: v.mp4\n", in: folder)[0]
        XCTAssertEqual(edit.strength, 0.8)
        XCTAssertEqual(edit.model, "ti2v-5b")
    }

    func testEveryKeyOfTheDraftIsRead() throws {
        let folder = try TemporaryFolder()
        try folder.write("cat.png", "x")
        let text = """
        wand: 1
        mode: ti2v
        model: ti2v-5b
        prompt: "A cat"
        negative_prompt: ""
        seed: 42
        size: 704x1280
        frames: 41
        fps: 12
        steps: 30
        sampler: dpm++
        shift: 7.5
        guidance: 6
        image: cat.png
        priority: 3
        output:
          name: beach-cat
          codec: hevc
          crf: 20
        tags: [holiday, cats]
        """
        let job = try parseJobs(text, in: folder)[0]
        XCTAssertEqual(job.negativePrompt, "")
        XCTAssertEqual(job.seed, 42)
        XCTAssertEqual(job.size, VideoSize(width: 704, height: 1280))
        XCTAssertEqual([job.frames, job.fps, job.steps, job.priority], [41, 12, 30, 3])
        XCTAssertEqual(job.sampler, .dpmpp)
        XCTAssertEqual(job.shift, 7.5)
        XCTAssertEqual(job.guidance, .single(6))
        XCTAssertEqual(job.output, OutputSpec(name: "beach-cat", codec: .hevc, crf: 20))
        XCTAssertEqual(job.tags, ["holiday", "cats"])
    }

    func testFramesMustBe4nPlus1() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: p\nframes: 80\n", in: folder),
                       ["job.yaml:4:9: error: frames must be 4n+1 (got 80; try 81)"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: p\nframes: 83\n", in: folder),
                       ["job.yaml:4:9: error: frames must be 4n+1 (got 83; try 85)"])
    }

    func testAllErrorsAtOnceInFileOrder() throws {
        let folder = try TemporaryFolder()
        let text = """
        wand: 1
        mode: ti2v
        model: ti2v-5b
        promt: hi
        size: 1280x720
        steps: -3
        fps: fast
        shift: 101
        sampler: unpic
        strength: 2
        output: {codec: av1, crf: 52, nme: x}
        tags: 5
        """
        XCTAssertEqual(try jobErrors(text, in: folder), [
            "job.yaml:4:1: error: unknown key 'promt' in job; did you mean 'prompt'?",
            "job.yaml:5:7: error: size 1280x720 is not supported by ti2v-5b (supported: 1280x704, 704x1280)",
            "job.yaml:6:8: error: steps must be between 1 and 1000 (got -3)",
            "job.yaml:7:6: error: fps must be an integer (got 'fast')",
            "job.yaml:8:8: error: shift must be between 0 and 100 (got 101)",
            "job.yaml:9:10: error: sampler must be one of unipc, dpm++, euler, dmd (got 'unpic'); did you mean 'unipc'?",
            "job.yaml:10:11: error: strength must be between 0 and 1 (got 2)",
            "job.yaml:11:17: error: codec must be one of h264, hevc (got 'av1')",
            "job.yaml:11:27: error: crf must be between 0 and 51 (got 52)",
            "job.yaml:11:31: error: unknown key 'nme' in output; did you mean 'name'?",
            "job.yaml:12:7: error: tags must be a list (got an integer)",
        ])
    }

    func testVersionModeAndModelErrors() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(try jobErrors("mode: t2v\nprompt: p\n", in: folder),
                       ["job.yaml:1:1: error: missing 'wand: 1' (the job file schema version)"])
        XCTAssertEqual(try jobErrors("wand: 2\nmode: t2v\nprompt: p\n", in: folder),
                       ["job.yaml:1:7: error: unsupported job schema version 2 (this wand reads wand: 1)"])
        XCTAssertEqual(try jobErrors("wand: 1\nprompt: p\n", in: folder),
                       ["job.yaml:1:1: error: missing 'mode' (one of t2v, i2v, ti2v, s2v, animate, edit)"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2x\nprompt: p\n", in: folder),
                       ["job.yaml:2:7: error: mode must be one of t2v, i2v, ti2v, s2v, animate, edit (got 't2x'); did you mean 't2v'?"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nmodel: t2v-a41b\nprompt: p\n", in: folder),
                       ["job.yaml:3:8: error: unknown model 't2v-a41b'; did you mean 't2v-a14b'?"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nmodel: s2v-14b\nprompt: p\n", in: folder),
                       ["job.yaml:3:8: error: model s2v-14b cannot run mode t2v (it runs s2v)"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: \"  \"\n", in: folder),
                       ["job.yaml:3:9: error: mode t2v needs a prompt"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: p\nprompt: q\n", in: folder),
                       ["job.yaml:4:1: error: duplicate key 'prompt'"])
        XCTAssertEqual(try jobErrors("- wand: 1\n", in: folder),
                       ["job.yaml:1:1: error: job must be a mapping (got a list)"])
        XCTAssertEqual(try jobErrors("", in: folder),
                       ["job.yaml:1:1: error: empty job file (expected at least 'wand: 1' and 'mode')"])
    }

    func testInputsPerMode() throws {
        let folder = try TemporaryFolder()
        try folder.write("a.png", "x")
        XCTAssertEqual(try jobErrors("wand: 1\nmode: s2v\nimage: a.png\n", in: folder),
                       ["job.yaml:1:1: error: mode s2v needs an audio file"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: edit\nprompt: p\n", in: folder),
                       ["job.yaml:1:1: error: mode edit needs a video file"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: p\nimage: a.png\n", in: folder),
                       ["job.yaml:4:8: error: image is not used by mode t2v"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: i2v\nimage: b.png\n", in: folder),
                       ["job.yaml:3:8: error: image file 'b.png' not found"])
    }

    func testGuidanceForms() throws {
        let folder = try TemporaryFolder()
        let split = try parseJobs("wand: 1\nmode: t2v\nprompt: p\nguidance: {high: 5, low: 2.5}\n", in: folder)[0]
        XCTAssertEqual(split.guidance, .split(high: 5, low: 2.5))
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: p\nguidance: {high: 5}\n", in: folder),
                       ["job.yaml:4:11: error: guidance needs both high and low (or one number)"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: ti2v\nprompt: p\nguidance: {high: 5, low: 2}\n", in: folder),
                       ["job.yaml:4:11: error: guidance {high, low} needs a two-expert model (ti2v-5b has one expert; give one number)"])
    }

    func testBatchMakesOneJobPerDocument() throws {
        let folder = try TemporaryFolder()
        let jobs = try parseJobs("wand: 1\nmode: t2v\nprompt: a\n---\nwand: 1\nmode: t2v\nprompt: b\npriority: 2\n",
                                 name: "night.yaml", in: folder)
        XCTAssertEqual(jobs.map(\.prompt), ["a", "b"])
        XCTAssertEqual(jobs.map(\.output.name), ["night-1", "night-2"])
        XCTAssertEqual(jobs.map(\.source.document), [0, 1])
        XCTAssertEqual(jobs.map(\.source.line), [1, 5])
        XCTAssertEqual(jobs.map(\.priority), [0, 2])
        // An error in the second document is located there and fails the whole file.
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: a\n---\nwand: 1\nmode: t2v\nprompt: b\nframes: 10\n", in: folder),
                       ["job.yaml:8:9: error: frames must be 4n+1 (got 10; try 9)"])
    }

    func testSeedsExpandToOneJobEach() throws {
        let folder = try TemporaryFolder()
        let jobs = try parseJobs("wand: 1\nmode: t2v\nprompt: fox\nseeds: [1, 2, 3]\noutput: {name: fox}\n", in: folder)
        XCTAssertEqual(jobs.map(\.seed), [1, 2, 3])
        XCTAssertEqual(jobs.map(\.output.name), ["fox-seed1", "fox-seed2", "fox-seed3"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: fox\nseeds: []\n", in: folder),
                       ["job.yaml:4:8: error: seeds must list at least one seed"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: fox\nseeds: [1, x]\n", in: folder),
                       ["job.yaml:4:12: error: each seed must be an integer (got 'x')"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: fox\nseed: 4\nseeds: [1]\n", in: folder),
                       ["job.yaml:5:8: error: give either seed or seeds, not both"])
    }

    func testInboxDefaultsAndFixedMode() throws {
        let folder = try TemporaryFolder()
        var defaults = JobDefaults()
        defaults.size = VideoSize(width: 832, height: 480)
        defaults.steps = 20
        defaults.tags = ["overnight"]
        let inbox = InboxConfig(path: folder.url, mode: .fixed(.t2v), priority: 5, defaults: defaults)
        let job = try parseJobs("wand: 1\nprompt: p\nsteps: 30\npriority: 1\n", in: folder, inbox: inbox)[0]
        XCTAssertEqual(job.mode, .t2v)
        XCTAssertEqual(job.size, VideoSize(width: 832, height: 480))
        XCTAssertEqual(job.steps, 30)
        XCTAssertEqual(job.priority, 6)
        XCTAssertEqual(job.tags, ["overnight"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: ti2v\nprompt: p\n", in: folder, inbox: inbox), [
            "job.yaml:2:7: error: mode ti2v in an inbox fixed to t2v",
            "job.yaml:2:7: error: size 832x480 is not supported by ti2v-5b (from the inbox defaults) (supported: 1280x704, 704x1280)",
        ])
    }

    func testYAMLSyntaxErrorIsLocated() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: \"open\n", in: folder),
                       ["job.yaml:4:1: error: found unexpected end of stream (while scanning a quoted scalar that starts at 3:9)"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: &m t2v\nprompt: *m\n", in: folder),
                       ["job.yaml:3:9: error: aliases (*name) are not supported"])
    }

    func testDidYouMeanDistance() {
        XCTAssertEqual(DidYouMean.distance("promt", "prompt"), 1)
        XCTAssertEqual(DidYouMean.distance("", "abc"), 3)
        XCTAssertEqual(DidYouMean.distance("kitten", "sitting"), 3)
        XCTAssertEqual(DidYouMean.suggest("negative_promt", among: JobFields.jobKeys), "negative_prompt")
        XCTAssertNil(DidYouMean.suggest("colour", among: JobFields.jobKeys))
    }

    func testConfiguredModelWithItsOwnSizes() throws {
        let folder = try TemporaryFolder()
        var config = DaemonConfig.standard
        config.models["tiny"] = ModelConfig(name: "tiny", path: folder.url, kind: .ti2v5B,
                                            sizes: [VideoSize(width: 256, height: 256)])
        let job = try parseJobs("wand: 1\nmode: t2v\nmodel: tiny\nprompt: p\n", in: folder, config: config)[0]
        XCTAssertEqual(job.size, VideoSize(width: 256, height: 256))
        XCTAssertEqual(job.modelKind, .ti2v5B)
        XCTAssertEqual(job.steps, 50)
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nmodel: tiny\nprompt: p\nsize: 1280x704\n", in: folder, config: config),
                       ["job.yaml:5:7: error: size 1280x704 is not supported by tiny (supported: 256x256)"])
    }
}
