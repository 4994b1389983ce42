import Foundation
import XCTest
@testable import WandDaemon

/// Publishing to outbox/ and filing to failed/ may run twice over the same staged files (a crash
/// midway, or a host that resumes after another finished its publication): the runs converge on
/// one copy, never NAME-2 of the same video.
final class OutboxIdempotencyTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wand-outbox-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/outbox", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let suffixes = [".mp4", ".json", ".nfo"]

    func stage(_ writer: OutboxWriter, _ id: String, base: String) throws -> String {
        let staging = try writer.makeStaging(jobID: id)
        for s in suffixes { try Data("\(id)\(s)".utf8).write(to: URL(fileURLWithPath: staging + "/" + base + s)) }
        return staging
    }

    func listing(_ sub: String = "outbox") throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: dir + "/" + sub).filter { !$0.hasPrefix(".") }.sorted()
    }

    func testAPublishInterruptedAfterOneLinkIsCompletedUnderTheSameName() throws {
        let writer = OutboxWriter(root: dir + "/outbox", folderPerJob: false)
        let staging = try stage(writer, "j1", base: "beach")
        XCTAssertEqual(link(staging + "/beach.mp4", dir + "/outbox/beach.mp4"), 0)  // the crashed run got this far
        XCTAssertEqual(try writer.publish(staging: staging, base: "beach", suffixes: suffixes),
                       suffixes.map { dir + "/outbox/beach" + $0 })
        XCTAssertEqual(try listing(), ["beach.json", "beach.mp4", "beach.nfo"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: staging))
        XCTAssertEqual(try writer.publish(staging: staging, base: "beach", suffixes: suffixes), [], "finished: nothing more to do")
        XCTAssertEqual(try listing(), ["beach.json", "beach.mp4", "beach.nfo"])
    }

    func testConcurrentRunsOfOnePublicationMakeOneCopyBesideAForeignFile() throws {
        for folderPerJob in [false, true] {
            try? FileManager.default.removeItem(atPath: dir + "/outbox")
            try FileManager.default.createDirectory(atPath: dir + "/outbox", withIntermediateDirectories: true)
            let writer = OutboxWriter(root: dir + "/outbox", folderPerJob: folderPerJob)
            // Someone else's file holds the plain name, so every publication has to pick a number.
            if folderPerJob { try FileManager.default.createDirectory(atPath: dir + "/outbox/cat", withIntermediateDirectories: false) }
            else { _ = FileManager.default.createFile(atPath: dir + "/outbox/cat.json", contents: Data("foreign".utf8)) }
            let suffixes = self.suffixes
            for round in 0..<20 {
                let staging = try stage(writer, "r\(round)", base: "cat")
                let results = ResultBox()
                DispatchQueue.concurrentPerform(iterations: 2) { _ in
                    results.add(Result { try writer.publish(staging: staging, base: "cat", suffixes: suffixes) })
                }
                let published = try results.all.map { try $0.get() }.filter { !$0.isEmpty }
                XCTAssertFalse(published.isEmpty, "round \(round): neither run published")
                XCTAssertEqual(Set(published).count, 1, "round \(round): the runs disagree: \(published)")
            }
            let videos = try listing().filter { $0.hasSuffix(".mp4") }
            XCTAssertEqual(videos.count, 20, "layout \(folderPerJob ? "folder-per-job" : "flat"): \(videos)")
            let contents = try Set(videos.map { try String(contentsOfFile: dir + "/outbox/" + $0, encoding: .utf8) })
            XCTAssertEqual(contents.count, 20, "each round's video exactly once")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: writer.stagingRoot), [])
        }
    }

    func testFilingAFailureTwiceMovesEachInputOnceAndWritesOneReport() throws {
        let spool = dir + "/spool/j"
        try FileManager.default.createDirectory(atPath: spool + "/inputs", withIntermediateDirectories: true)
        for name in ["x.yaml", "x.png"] { _ = FileManager.default.createFile(atPath: spool + "/inputs/" + name, contents: Data(name.utf8)) }
        let failed = FailedWriter(root: dir + "/failed")
        let inputs = [spool + "/inputs/x.png", spool + "/inputs/x.yaml"]
        // An older failure of another drop named x is already there: this one is x-2.
        try FileManager.default.createDirectory(atPath: dir + "/failed", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/failed/x.error.txt", contents: Data("older".utf8))
        let results = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            results.add(Result { try failed.record(name: "x", inputs: inputs, stage: "validation", message: "bad", staging: spool + "/report") })
        }
        for r in results.all { _ = try r.get() }
        _ = try failed.record(name: "x", inputs: inputs, stage: "validation", message: "bad", staging: spool + "/report")
        XCTAssertEqual(try listing("failed"), ["x-2.error.json", "x-2.error.txt", "x.error.txt", "x.png", "x.yaml"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/failed/x.error.txt", encoding: .utf8), "older")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spool + "/inputs"), [])
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<[String], Error>] = []
    func add(_ r: Result<[String], Error>) { lock.withLock { results.append(r) } }
    var all: [Result<[String], Error>] { lock.withLock { results } }
}
