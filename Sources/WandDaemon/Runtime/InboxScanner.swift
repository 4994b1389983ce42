import Foundation
import WandEngine

/// What a set of files in an inbox amounts to once they have settled.
public enum Drop: Sendable, Equatable {
    /// A YAML job file.
    case jobFile(String)
    /// Files sharing a stem with no job file: routed by their types (see BareDropRouter).
    case bare(stem: String, files: [String])
}

/// Watches one inbox folder's top level by scanning it: a file is ready once its size and mtime
/// have not changed for the inbox's settle time. Temp and system files are never touched.
public final class InboxScanner: @unchecked Sendable {
    struct Observation { var size: Int64; var mtime: Double; var lastChange: Double }

    public let inbox: InboxConfig
    private var observed: [String: Observation] = [:]
    /// Files handed out as part of a drop; not reported again while they still exist.
    private var handedOut: Set<String> = []

    public init(inbox: InboxConfig) { self.inbox = inbox }

    /// Files seen but not yet settled (the daemon keeps ticking while there are any).
    public private(set) var pendingCount = 0

    public static func isIgnored(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasPrefix("~$") || name.hasSuffix("~") { return true }
        let lower = name.lowercased()
        for suffix in [".part", ".tmp", ".swp", ".crdownload", ".download", ".partial", ".filepart"] where lower.hasSuffix(suffix) { return true }
        // Weights (LoRAs a job names, say) are never a drop: they stay where they are and are read there.
        for suffix in [".safetensors", ".pt", ".pth", ".ckpt", ".gguf"] where lower.hasSuffix(suffix) { return true }
        return ["thumbs.db", "desktop.ini", "@eadir", "#recycle", "#snapshot"].contains(lower)
    }

    public func scan(now: Double = Date().timeIntervalSince1970) -> [Drop] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: inbox.path.path) else { pendingCount = 0; return [] }
        var present: Set<String> = []
        var settled: [String] = []
        var pending = 0
        for name in names where !Self.isIgnored(name) {
            let path = inbox.path.path + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            present.insert(path)
            if handedOut.contains(path) { continue }
            let size = Int64(st.st_size)
            let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) * 1e-9
            if var o = observed[path] {
                if o.size != size || o.mtime != mtime { o = Observation(size: size, mtime: mtime, lastChange: now) }
                observed[path] = o
                if now - o.lastChange >= inbox.settle, now - mtime >= min(inbox.settle, 1) { settled.append(path) } else { pending += 1 }
            } else {
                observed[path] = Observation(size: size, mtime: mtime, lastChange: now)
                pending += 1
            }
        }
        observed = observed.filter { present.contains($0.key) }
        handedOut = handedOut.intersection(present)
        pendingCount = pending

        var drops: [Drop] = []
        var byStem: [String: [String]] = [:]
        for path in settled.sorted() {
            let url = URL(fileURLWithPath: path)
            if ["yaml", "yml"].contains(url.pathExtension.lowercased()) {
                drops.append(.jobFile(path))
            } else {
                byStem[url.deletingPathExtension().lastPathComponent, default: []].append(path)
            }
        }
        // A stem with unsettled partners waits for them; a stem that has a job file belongs to it.
        let unsettledStems = Set(observed.keys.filter { !settled.contains($0) && !handedOut.contains($0) }
            .map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent })
        let jobStems = Set(drops.compactMap { if case .jobFile(let p) = $0 { return URL(fileURLWithPath: p).deletingPathExtension().lastPathComponent }; return nil })
        for (stem, files) in byStem.sorted(by: { $0.key < $1.key }) where !unsettledStems.contains(stem) && !jobStems.contains(stem) {
            drops.append(.bare(stem: stem, files: files))
        }
        for drop in drops {
            switch drop {
            case .jobFile(let p): handedOut.insert(p)
            case .bare(_, let files): handedOut.formUnion(files)
            }
        }
        return drops
    }

    /// Lets a file be reported again (after a drop was put back, say).
    public func forget(_ path: String) { handedOut.remove(path); observed[path] = nil }
    /// Marks files as taken by a job file that references them.
    public func claimPartners(_ paths: [String]) { handedOut.formUnion(paths) }
}

