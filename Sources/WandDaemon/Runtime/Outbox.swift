import Foundation

/// Puts finished files where people and media servers look, without ever showing a half-written
/// one: everything is written into a hidden staging folder on the same filesystem, fsynced, and
/// then linked into place under a name that does not exist yet (NAME, NAME-2, ...). link() fails
/// rather than replace, so two jobs can never overwrite each other.
public struct OutboxWriter: Sendable {
    public let root: String
    public let folderPerJob: Bool

    public init(root: String, folderPerJob: Bool) {
        self.root = root
        self.folderPerJob = folderPerJob
    }

    public var stagingRoot: String { root + "/.wand-staging" }

    /// A fresh staging folder for one job's files.
    public func makeStaging(jobID: String) throws -> String {
        let dir = stagingRoot + "/" + jobID
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Publishes the staged files named `base` + suffix (".mp4", ".json", ...). Returns the final
    /// paths. All of a job's files get the same base name.
    @discardableResult
    public func publish(staging: String, base: String, suffixes: [String]) throws -> [String] {
        for s in suffixes { try fsyncFile(staging + "/" + base + s) }
        try fsyncFile(staging)
        var n = 1
        while true {
            let name = n == 1 ? base : "\(base)-\(n)"
            if folderPerJob {
                let target = root + "/" + name
                if FileManager.default.fileExists(atPath: target) { n += 1; continue }
                let folder = staging + "/" + name + ".dir"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for s in suffixes { try FileManager.default.moveItem(atPath: staging + "/" + base + s, toPath: folder + "/" + name + s) }
                try fsyncFile(folder)
                // rename(2) onto a missing directory name; a racing job with the same name makes it fail, not merge.
                if Glibc.rename(folder, target) != 0 { if errno == EEXIST || errno == ENOTEMPTY { n += 1; continue }; throw posixError("rename", target) }
                try fsyncFile(root)
                try? FileManager.default.removeItem(atPath: staging)
                return suffixes.map { target + "/" + name + $0 }
            }
            let targets = suffixes.map { root + "/" + name + $0 }
            if targets.contains(where: { FileManager.default.fileExists(atPath: $0) }) { n += 1; continue }
            var linked: [String] = []
            var collided = false
            for (s, target) in zip(suffixes, targets) {
                if Glibc.link(staging + "/" + base + s, target) != 0 {
                    if errno == EEXIST { collided = true; break }
                    for l in linked { unlink(l) }
                    throw posixError("link", target)
                }
                linked.append(target)
            }
            if collided { for l in linked { unlink(l) }; n += 1; continue }
            try fsyncFile(root)
            try? FileManager.default.removeItem(atPath: staging)
            return targets
        }
    }
}

/// failed/: the original inputs plus NAME.error.txt (for people) and NAME.error.json (for tools).
public struct FailedWriter: Sendable {
    public let root: String

    public struct Report: Codable, Sendable {
        public var job: String
        public var stage: String
        public var message: String
        public var file: String?
        public var line: Int?
        public var column: Int?
        public var errors: [String]
        public var time: String
    }

    /// Moves `inputs` into failed/ (renaming on collision) and writes the two error files.
    @discardableResult
    public func record(name: String, inputs: [String], stage: String, message: String,
                       location: SourceLocation? = nil, errors: [String] = []) throws -> [String] {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var moved: [String] = []
        for input in inputs where FileManager.default.fileExists(atPath: input) {
            let target = uniquePath(root + "/" + URL(fileURLWithPath: input).lastPathComponent)
            try FileManager.default.moveItem(atPath: input, toPath: target)
            moved.append(target)
        }
        let base = uniqueBase(root + "/" + name, suffixes: [".error.txt", ".error.json"])
        let report = Report(job: name, stage: stage, message: message, file: location?.file, line: location?.line,
                            column: location?.column, errors: errors, time: iso8601(Date()))
        var text = "Wand could not make a video from \(name).\n\nStage: \(stage)\n\(message)\n"
        if !errors.isEmpty { text += "\n" + errors.joined(separator: "\n") + "\n" }
        text += "\nThe inputs are beside this file. Fix them and drop them into an inbox again.\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: base + ".error.txt"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(report).write(to: URL(fileURLWithPath: base + ".error.json"))
        return moved
    }
}

func uniquePath(_ path: String) -> String {
    guard FileManager.default.fileExists(atPath: path) else { return path }
    let url = URL(fileURLWithPath: path)
    let ext = url.pathExtension, stem = url.deletingPathExtension().path
    var n = 2
    while true {
        let candidate = ext.isEmpty ? "\(stem)-\(n)" : "\(stem)-\(n).\(ext)"
        if !FileManager.default.fileExists(atPath: candidate) { return candidate }
        n += 1
    }
}

func uniqueBase(_ base: String, suffixes: [String]) -> String {
    var n = 1
    while true {
        let b = n == 1 ? base : "\(base)-\(n)"
        if !suffixes.contains(where: { FileManager.default.fileExists(atPath: b + $0) }) { return b }
        n += 1
    }
}

func fsyncFile(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw posixError("open", path) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw posixError("fsync", path) }
}

func posixError(_ call: String, _ path: String) -> NSError {
    NSError(domain: NSPOSIXErrorDomain, code: Int(errno),
            userInfo: [NSLocalizedDescriptionKey: "\(path): \(call) failed: \(String(cString: strerror(errno)))"])
}

func iso8601(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
}

