import Foundation

/// Puts finished files where people and media servers look, without ever showing a half-written
/// one: everything is written into a hidden staging folder on the same filesystem, fsynced, and
/// then linked into place under a name that does not exist yet (NAME, NAME-2, ...). link() fails
/// rather than replace, so two jobs can never overwrite each other.
///
/// Publishing is idempotent: it may run again over the same staging folder (after a crash, or on
/// another host that took the job over while this one was stalled) and the runs converge. The
/// staged files are hard-linked, never moved, so a name whose files are the same inodes as the
/// staged ones is recognised as this publication's own and completed rather than skipped for
/// NAME-2; the staging folder is removed only once every file is in place, and a run that finds it
/// gone knows another run finished.
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
    /// paths; [] when the staging folder is already gone (another run of this publication finished
    /// it). All of a job's files get the same base name. With `keepStaging` the staged files stay
    /// (the caller removes them once the publication is recorded as done).
    @discardableResult
    public func publish(staging: String, base: String, suffixes: [String], keepStaging: Bool = false) throws -> [String] {
        let sources = suffixes.map { staging + "/" + base + $0 }
        guard FileManager.default.fileExists(atPath: staging) else { return [] }
        do {
            for s in sources { try fsyncFile(s) }
            try fsyncFile(staging)
        } catch let error as NSError where error.domain == NSPOSIXErrorDomain && error.code == Int(ENOENT) {
            return []  // removed under us by a run that finished
        }
        var n = 1
        while true {
            let name = n == 1 ? base : "\(base)-\(n)"
            switch try folderPerJob ? publishFolder(name, sources: sources, suffixes: suffixes)
                                    : publishFlat(name, sources: sources, suffixes: suffixes) {
            case .published(let targets):
                try fsyncFile(root)
                if !keepStaging { try? FileManager.default.removeItem(atPath: staging) }
                return targets
            case .taken: n += 1
            case .finishedElsewhere: return []
            }
        }
    }

    private enum Attempt { case published([String]), taken, finishedElsewhere }

    private func publishFlat(_ name: String, sources: [String], suffixes: [String]) throws -> Attempt {
        let targets = suffixes.map { root + "/" + name + $0 }
        // A name any of whose files exists and is not ours belongs to someone else.
        for (source, target) in zip(sources, targets) where pathExists(target) && !sameFile(source, target) { return .taken }
        var linked: [String] = []
        for (source, target) in zip(sources, targets) {
            if Glibc.link(source, target) == 0 { linked.append(target); continue }
            let code = errno
            if code == EEXIST, sameFile(source, target) { continue }
            for l in linked { unlink(l) }
            if code == EEXIST { return .taken }
            if code == ENOENT, !pathExists(source) { return .finishedElsewhere }
            errno = code
            throw posixError("link", target)
        }
        return .published(targets)
    }

    /// folder-per-job: NAME/NAME.mp4, ... built as hard links in a folder beside the staged files,
    /// then renamed into place whole (rename(2) onto a missing name; a racing job with the same
    /// name makes it fail, not merge).
    private func publishFolder(_ name: String, sources: [String], suffixes: [String]) throws -> Attempt {
        let target = root + "/" + name
        let targets = suffixes.map { target + "/" + name + $0 }
        let ours = { sameFile(sources[0], targets[0]) }
        if pathExists(target) { return ours() ? .published(targets) : .taken }
        let folder = URL(fileURLWithPath: sources[0]).deletingLastPathComponent().path + "/" + name + ".dir"
        if mkdir(folder, 0o777) != 0, errno != EEXIST {
            if errno == ENOENT { return ours() ? .published(targets) : .finishedElsewhere }
            throw posixError("mkdir", folder)
        }
        for (source, suffix) in zip(sources, suffixes) {
            let file = folder + "/" + name + suffix
            if Glibc.link(source, file) == 0 { continue }
            let code = errno
            if code == EEXIST, sameFile(source, file) { continue }
            // A racing run of this publication renamed the folder into place between our link and
            // the check above (the file then stats as missing): the publication is done.
            if code == EEXIST || code == ENOENT, ours() { return .published(targets) }
            if code == ENOENT { return .finishedElsewhere }
            errno = code
            throw posixError("link", file)
        }
        try fsyncFile(folder)
        if Glibc.rename(folder, target) == 0 { return .published(targets) }
        let code = errno
        if code == EEXIST || code == ENOTEMPTY { return ours() ? .published(targets) : .taken }
        if code == ENOENT { return ours() ? .published(targets) : .finishedElsewhere }
        errno = code
        throw posixError("rename", target)
    }
}

/// Whether a path names anything (a dangling symlink counts).
func pathExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

/// Whether two paths are the same file (hard links of one inode).
func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
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
    ///
    /// Safe to run again over the same inputs and `staging` folder (a crash midway, or another
    /// host finishing the filing): an input already moved is gone from its old place and skipped,
    /// and the error files are written once into `staging` and published like outbox files, so a
    /// second run completes the same NAME.error.* pair instead of adding NAME-2.error.*. The
    /// staged pair stays in `staging` (the caller removes it with the job's spool folder once the
    /// filing is recorded), so a run after a finished one recognises it rather than writing anew.
    @discardableResult
    public func record(name: String, inputs: [String], stage: String, message: String,
                       location: SourceLocation? = nil, errors: [String] = [], staging: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var moved: [String] = []
        for input in inputs where FileManager.default.fileExists(atPath: input) {
            if let target = try moveNoReplace(input, toFolder: root) { moved.append(target) }
        }
        let suffixes = [".error.txt", ".error.json"]
        let stagedText = staging + "/" + name + suffixes[0], stagedJSON = staging + "/" + name + suffixes[1]
        if !(pathExists(stagedText) && pathExists(stagedJSON)) {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            let report = Report(job: name, stage: stage, message: message, file: location?.file, line: location?.line,
                                column: location?.column, errors: errors, time: iso8601(Date()))
            var text = "Wand could not make a video from \(name).\n\nStage: \(stage)\n\(message)\n"
            if !errors.isEmpty { text += "\n" + errors.joined(separator: "\n") + "\n" }
            text += "\nThe inputs are beside this file. Fix them and drop them into an inbox again.\n"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try writeOnce(Data(text.utf8), to: stagedText)
            try writeOnce(encoder.encode(report), to: stagedJSON)
        }
        try OutboxWriter(root: root, folderPerJob: false).publish(staging: staging, base: name, suffixes: suffixes, keepStaging: true)
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

/// Moves a file into `folder` under its own name, or NAME-2, NAME-3, ... when that is taken; never
/// replaces anything (link(2), then unlink of the source). Two runs moving the same file (a crash
/// and a retry, or two hosts) end with one copy: a target that is already the same inode counts as
/// done. Returns the new path, or nil when the source was already gone. Across filesystems (or
/// where hard links are refused) it falls back to FileManager's copying move.
@discardableResult
func moveNoReplace(_ source: String, toFolder folder: String) throws -> String? {
    let url = URL(fileURLWithPath: source)
    let ext = url.pathExtension, stem = url.deletingPathExtension().lastPathComponent
    var n = 1
    while true {
        let name = n == 1 ? url.lastPathComponent : (ext.isEmpty ? "\(stem)-\(n)" : "\(stem)-\(n).\(ext)")
        let target = folder + "/" + name
        if Glibc.link(source, target) == 0 { unlink(source); return target }
        switch errno {
        case EEXIST:
            if sameFile(source, target) { unlink(source); return nil }
            n += 1
        case ENOENT where !pathExists(source): return nil
        case EXDEV, EPERM:
            let free = uniquePath(target)
            try FileManager.default.moveItem(atPath: source, toPath: free)
            return free
        default: throw posixError("link", target)
        }
    }
}

/// Writes a file whole or not at all, and only if it does not exist yet (a temporary file linked
/// into place): of two runs writing it at once, the first one's file stays, so both go on to
/// publish the same inode.
func writeOnce(_ data: Data, to path: String) throws {
    let temp = path + ".\(UUID().uuidString.prefix(8)).tmp"
    try data.write(to: URL(fileURLWithPath: temp))
    defer { unlink(temp) }
    if Glibc.link(temp, path) != 0, errno != EEXIST { throw posixError("link", path) }
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

