import Foundation
import XCTest
@testable import WandDaemon

final class JobsBareDropRouterTests: XCTestCase {
    private func router(_ mode: InboxMode = .auto, imageDrops: Mode? = nil, in folder: TemporaryFolder) -> BareDropRouter {
        BareDropRouter(config: .standard, inbox: InboxConfig(path: folder.url, mode: mode, imageDrops: imageDrops))
    }

    private func files(_ names: [String], in folder: TemporaryFolder) throws {
        for name in names { try folder.write(name, name.hasSuffix(".txt") ? "  A prompt\n" : "x") }
    }

    private func readyModes(_ decision: BareDropRouter.Decision) -> [Mode]? {
        if case .ready(let jobs) = decision { return jobs.map(\.mode) }
        return nil
    }

    func testRoutingTableWhenSettled() throws {
        let folder = try TemporaryFolder()
        let table: [([String], Mode)] = [
            (["a.txt"], .t2v),
            (["b.png"], .ti2v),
            (["c.JPG", "c.txt"], .ti2v),
            (["d.webp", "d.wav"], .s2v),
            (["e.png", "e.mp3", "e.txt"], .s2v),
            (["f.mp4", "f.txt"], .edit),
            (["g.mov", "g.txt"], .edit),
        ]
        let r = router(in: folder)
        for (names, mode) in table {
            try files(names, in: folder)
            XCTAssertEqual(readyModes(r.route(fileNames: names, in: folder.url, settled: true)), [mode], "\(names)")
        }
        XCTAssertEqual(readyModes(router(imageDrops: .i2v, in: folder).route(fileNames: ["b.png"], in: folder.url, settled: true)), [.i2v])
    }

    func testPromptComesFromTheTextFileAndNameFromTheStem() throws {
        let folder = try TemporaryFolder()
        try files(["beach.png", "beach.txt"], in: folder)
        guard case .ready(let jobs) = router(in: folder).route(fileNames: ["beach.png", "beach.txt"], in: folder.url, settled: true) else {
            return XCTFail("not ready")
        }
        XCTAssertEqual(jobs[0].prompt, "A prompt")
        XCTAssertEqual(jobs[0].output.name, "beach")
        XCTAssertEqual(jobs[0].image?.path, folder.realPath + "/beach.png")
    }

    func testWaitsForPartnersUntilSettled() throws {
        let folder = try TemporaryFolder()
        let r = router(in: folder)
        XCTAssertEqual(r.route(fileNames: ["a.txt"], in: folder.url, settled: false), .waiting(for: [.image, .audio, .video]))
        XCTAssertEqual(r.route(fileNames: ["a.png"], in: folder.url, settled: false), .waiting(for: [.text, .audio]))
        XCTAssertEqual(r.route(fileNames: ["a.png", "a.txt"], in: folder.url, settled: false), .waiting(for: [.audio]))
        XCTAssertEqual(r.route(fileNames: ["a.mp4"], in: folder.url, settled: false), .waiting(for: [.text]))
        try files(["z.png", "z.wav", "z.txt"], in: folder)
        XCTAssertEqual(readyModes(r.route(fileNames: ["z.png", "z.wav", "z.txt"], in: folder.url, settled: false)), [.s2v])
        XCTAssertEqual(r.route(fileNames: ["notes.md"], in: folder.url, settled: true), .ignored)
    }

    func testMissingPartnersAfterSettlingAreErrors() throws {
        let folder = try TemporaryFolder()
        try files(["v.mp4", "s.wav"], in: folder)
        let r = router(in: folder)
        guard case .invalid(let e1) = r.route(fileNames: ["v.mp4"], in: folder.url, settled: true),
              case .invalid(let e2) = r.route(fileNames: ["s.wav"], in: folder.url, settled: true) else {
            return XCTFail("expected invalid")
        }
        XCTAssertEqual(e1.description, folder.url.path + "/v.mp4:1:1: error: edit drop 'v' needs a text file with the same name")
        XCTAssertEqual(e2.description, folder.url.path + "/s.wav:1:1: error: s2v drop 's' needs a image file with the same name")
    }

    func testFixedModeInboxes() throws {
        let folder = try TemporaryFolder()
        try files(["p.png", "p.mp4", "q.txt"], in: folder)
        // Animate needs the preprocessed face crops, which a bare drop cannot name: the drop is refused with what to provide.
        guard case .invalid(let a) = router(.fixed(.animate), in: folder).route(fileNames: ["p.png", "p.mp4"], in: folder.url, settled: true) else {
            return XCTFail("expected invalid")
        }
        XCTAssertTrue(a.diagnostics.map(\.message).first?.hasPrefix("mode animate needs a face_video") == true, "\(a.diagnostics)")
        XCTAssertEqual(readyModes(router(.fixed(.t2v), in: folder).route(fileNames: ["q.txt"], in: folder.url, settled: false)), [.t2v])
        guard case .invalid(let e) = router(.fixed(.t2v), in: folder).route(fileNames: ["p.png"], in: folder.url, settled: true) else {
            return XCTFail("expected invalid")
        }
        XCTAssertEqual(e.diagnostics.map(\.message), ["t2v drop 'p' needs a text file with the same name"])
    }

    func testEmptyPromptFileForT2VIsRefused() throws {
        let folder = try TemporaryFolder()
        try folder.write("e.txt", "\n  \n")
        guard case .invalid(let e) = router(in: folder).route(fileNames: ["e.txt"], in: folder.url, settled: true) else {
            return XCTFail("expected invalid")
        }
        XCTAssertEqual(e.diagnostics.map(\.message), ["mode t2v needs a prompt"])
    }
}
