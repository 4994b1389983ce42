import Foundation
import XCTest
@testable import WandDaemon

/// A fresh temporary folder per test, removed afterwards.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("wand-jobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file
    }

    var realPath: String { InputConfinement.realPath(url.path)! }
}

enum PackageRoot {
    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Parses `text` as the job file `name` in `folder` and returns the printed diagnostics with the
/// folder prefix removed (so messages read like `job.yaml:4:9: error: ...`).
func jobErrors(_ text: String, name: String = "job.yaml", in folder: TemporaryFolder,
               config: DaemonConfig = .standard, inbox: InboxConfig? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
    let url = try folder.write(name, text)
    do {
        let jobs = try JobFileParser.parse(fileAt: url.path, inbox: inbox, config: config)
        XCTFail("expected errors, got \(jobs.count) jobs", file: file, line: line)
        return []
    } catch {
        let prefix = folder.url.path + "/"
        return error.diagnostics.map { d in
            d.description.hasPrefix(prefix) ? String(d.description.dropFirst(prefix.count)) : d.description
        }
    }
}

func parseJobs(_ text: String, name: String = "job.yaml", in folder: TemporaryFolder,
               config: DaemonConfig = .standard, inbox: InboxConfig? = nil) throws -> [JobSpec] {
    let url = try folder.write(name, text)
    return try JobFileParser.parse(fileAt: url.path, inbox: inbox, config: config)
}
