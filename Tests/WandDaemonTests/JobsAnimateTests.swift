import Foundation
import XCTest
@testable import WandDaemon

/// The animate job keys: the preprocessed driving videos (confined like every input),
/// animate_mode and refert_num; a job that lacks the videos is told what to provide and how.
final class JobsAnimateTests: XCTestCase {
    func folder() throws -> TemporaryFolder {
        let f = try TemporaryFolder()
        for name in ["ref.png", "pose.mp4", "face.mp4", "bg.mp4", "mask.mp4"] { try f.write(name, "x") }
        return f
    }

    func testAnimateAndReplaceJobsResolve() throws {
        let f = try folder()
        let animate = try parseJobs("wand: 1\nmode: animate\nimage: ref.png\npose_video: pose.mp4\nface_video: face.mp4\n", in: f)[0]
        XCTAssertEqual(animate.video?.path, f.realPath + "/pose.mp4")
        XCTAssertEqual(animate.faceVideo?.path, f.realPath + "/face.mp4")
        XCTAssertEqual(animate.animateMode, .animate)
        XCTAssertEqual(animate.refertNum, 1)
        XCTAssertNil(animate.backgroundVideo)
        XCTAssertEqual(animate.inputFiles.map(\.lastPathComponent), ["ref.png", "pose.mp4", "face.mp4"])

        let replace = try parseJobs("""
            wand: 1
            mode: animate
            animate_mode: replace
            image: ref.png
            video: pose.mp4
            face_video: face.mp4
            background_video: bg.mp4
            mask_video: mask.mp4
            refert_num: 5
            """, in: f)[0]
        XCTAssertEqual(replace.animateMode, .replace)
        XCTAssertEqual(replace.refertNum, 5)
        XCTAssertEqual(replace.inputFiles.map(\.lastPathComponent), ["ref.png", "pose.mp4", "face.mp4", "bg.mp4", "mask.mp4"])
        // The spool's jobs.json round-trips the new fields.
        let back = try JSONDecoder().decode(JobSpec.self, from: try JSONEncoder().encode(replace))
        XCTAssertEqual(back, replace)
    }

    func testMissingVideosSayWhatToProvideAndHow() throws {
        let f = try folder()
        let errors = try jobErrors("wand: 1\nmode: animate\nimage: ref.png\n", in: f)
        XCTAssertEqual(errors.count, 2)
        XCTAssertTrue(errors[0].hasPrefix("job.yaml:1:1: error: mode animate needs a pose_video (the driving video rendered as pose skeletons); "
                                          + "make them with the official preprocessing (wan/modules/animate/preprocess/preprocess_data.py"), errors[0])
        XCTAssertTrue(errors[1].hasPrefix("job.yaml:1:1: error: mode animate needs a face_video (the driving video's face, cropped to 512x512"),
                      errors[1])
        let replace = try jobErrors("wand: 1\nmode: animate\nanimate_mode: replace\nimage: ref.png\npose_video: pose.mp4\nface_video: face.mp4\n",
                                    in: f)
        XCTAssertEqual(replace.map { String($0.prefix(while: { $0 != "(" })) },
                       ["job.yaml:3:15: error: animate_mode replace needs a background_video ",
                        "job.yaml:3:15: error: animate_mode replace needs a mask_video "])
        XCTAssertTrue(replace[1].contains("--replace_flag src_bg.mp4 and src_mask.mp4"), replace[1])
    }

    func testKeysOutOfPlaceAndBadValues() throws {
        let f = try folder()
        XCTAssertEqual(try jobErrors("wand: 1\nmode: animate\nimage: ref.png\npose_video: pose.mp4\nvideo: pose.mp4\nface_video: face.mp4\n"
                                     + "background_video: bg.mp4\nrefert_num: 3\nanimate_mode: swap\n", in: f), [
            "job.yaml:5:8: error: give the pose video as pose_video or video, not both",
            "job.yaml:7:19: error: background_video is only used with animate_mode: replace",
            "job.yaml:8:13: error: refert_num must be 1 or 5 (the frames a segment takes from the one before; got 3)",
            "job.yaml:9:15: error: animate_mode must be one of animate, replace (got 'swap')",
        ])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: t2v\nprompt: p\nface_video: face.mp4\nrefert_num: 5\n", in: f), [
            "job.yaml:4:13: error: face_video is only used by mode animate",
            "job.yaml:5:13: error: refert_num is only used by mode animate",
        ])
    }

    func testDrivingVideosAreConfined() throws {
        let f = try folder()
        XCTAssertEqual(try jobErrors("wand: 1\nmode: animate\nimage: ref.png\npose_video: pose.mp4\nface_video: ../../etc/face.mp4\n", in: f),
                       ["job.yaml:5:13: error: face_video path '../../etc/face.mp4' leaves the job's folder and the input roots"])
        XCTAssertEqual(try jobErrors("wand: 1\nmode: animate\nimage: ref.png\npose_video: nope.mp4\nface_video: face.mp4\n", in: f),
                       ["job.yaml:4:13: error: pose_video file 'nope.mp4' not found"])
    }

    /// The daemon decodes every frame of the driving videos into the engine's AnimateInputs.
    func testDaemonDecodesTheSampleVideos() throws {
        let sample = PackageRoot.url.appendingPathComponent("Samples/animate.yaml").path
        let jobs = try JobFileParser.parse(fileAt: sample, inbox: nil, config: .standard)
        XCTAssertEqual(jobs.map(\.animateMode), [.animate, .replace])
        let inputs = try Daemon.animateInputs(jobs[1])
        XCTAssertEqual(inputs.mode, .replace)
        XCTAssertEqual(inputs.refertNum, 5)
        XCTAssertEqual([inputs.pose.count, inputs.face.count, inputs.background?.count, inputs.mask?.count], [9, 9, 9, 9])
        XCTAssertEqual([inputs.face[0].width, inputs.face[0].height], [512, 512])
        XCTAssertEqual([inputs.mask![0].width, inputs.pose[0].width], [64, 64])
        XCTAssertNil(try Daemon.animateInputs(jobs[0]).background)
    }
}
