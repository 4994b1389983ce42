import Foundation
import XCTest
@testable import WandDaemon

final class JobsConfinementTests: XCTestCase {
    func testDotDotEscapeIsRefused() throws {
        let outer = try TemporaryFolder()
        try outer.write("secret.png", "x")
        try outer.write("jobs/.keep", "")
        let errors = try jobErrors("wand: 1\nmode: i2v\nimage: ../secret.png\n", name: "jobs/job.yaml", in: outer)
        XCTAssertEqual(errors, ["jobs/job.yaml:3:8: error: image path '../secret.png' leaves the job's folder and the input roots"])
        // Absolute paths outside are refused the same way.
        let abs = try jobErrors("wand: 1\nmode: i2v\nimage: \(outer.url.path)/secret.png\n", name: "jobs/job.yaml", in: outer)
        XCTAssertEqual(abs, ["jobs/job.yaml:3:8: error: image path '\(outer.url.path)/secret.png' leaves the job's folder and the input roots"])
    }

    func testSymlinkLeadingOutsideIsRefused() throws {
        let outer = try TemporaryFolder()
        try outer.write("secret.png", "x")
        try outer.write("jobs/.keep", "")
        try FileManager.default.createSymbolicLink(atPath: outer.url.path + "/jobs/link.png",
                                                   withDestinationPath: outer.url.path + "/secret.png")
        let errors = try jobErrors("wand: 1\nmode: i2v\nimage: link.png\n", name: "jobs/job.yaml", in: outer)
        XCTAssertEqual(errors, ["jobs/job.yaml:3:8: error: image path 'link.png' is a symlink leading outside the job's folder and the input roots"])
    }

    func testSymlinksInsideAndInputRootsAreAllowed() throws {
        let outer = try TemporaryFolder()
        try outer.write("jobs/pics/real.png", "x")
        try outer.write("library/voice.wav", "x")
        try FileManager.default.createSymbolicLink(atPath: outer.url.path + "/jobs/alias.png",
                                                   withDestinationPath: "pics/real.png")
        var config = DaemonConfig.standard
        config.inputRoots = [outer.url.appendingPathComponent("library")]
        let jobs = try parseJobs("wand: 1\nmode: s2v\nimage: alias.png\naudio: ../library/voice.wav\n",
                                 name: "jobs/job.yaml", in: outer, config: config)
        XCTAssertEqual(jobs[0].image?.path, outer.realPath + "/jobs/pics/real.png")
        XCTAssertEqual(jobs[0].audio?.path, outer.realPath + "/library/voice.wav")
        // Without the input root the same audio path is refused.
        let errors = try jobErrors("wand: 1\nmode: s2v\nimage: alias.png\naudio: ../library/voice.wav\n",
                                   name: "jobs/job.yaml", in: outer)
        XCTAssertEqual(errors, ["jobs/job.yaml:4:8: error: audio path '../library/voice.wav' leaves the job's folder and the input roots"])
    }

    func testAFolderIsNotAnInput() throws {
        let folder = try TemporaryFolder()
        try folder.write("dir.png/x", "")
        XCTAssertEqual(try jobErrors("wand: 1\nmode: i2v\nimage: dir.png\n", in: folder),
                       ["job.yaml:3:8: error: image path 'dir.png' is not a regular file"])
    }
}
