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

    public let inbox: DaemonConfig.Inbox
    private var observed: [String: Observation] = [:]
    /// Files handed out as part of a drop; not reported again while they still exist.
    private var handedOut: Set<String> = []

    public init(inbox: DaemonConfig.Inbox) { self.inbox = inbox }

    /// Files seen but not yet settled (the daemon keeps ticking while there are any).
    public private(set) var pendingCount = 0

    public static func isIgnored(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasPrefix("~$") || name.hasSuffix("~") { return true }
        let lower = name.lowercased()
        for suffix in [".part", ".tmp", ".swp", ".crdownload", ".download", ".partial", ".filepart"] where lower.hasSuffix(suffix) { return true }
        return ["thumbs.db", "desktop.ini", "@eadir", "#recycle", "#snapshot"].contains(lower)
    }

    public func scan(now: Double = Date().timeIntervalSince1970) -> [Drop] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: inbox.path) else { pendingCount = 0; return [] }
        var present: Set<String> = []
        var settled: [String] = []
        var pending = 0
        for name in names where !Self.isIgnored(name) {
            let path = inbox.path + "/" + name
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

/// Turns a bare drop (no YAML) into a job, by the file types that share a stem:
/// NAME.txt -> t2v; NAME.png/.jpg/.webp (+ NAME.txt) -> i2v or ti2v; image + NAME.wav/.mp3/.flac/.m4a
/// -> s2v; NAME.mp4/.mov/.webm + NAME.txt -> edit.
public enum BareDropRouter {
    public static let imageTypes = ["png", "jpg", "jpeg", "webp"]
    public static let audioTypes = ["wav", "mp3", "flac", "m4a"]
    public static let videoTypes = ["mp4", "mov", "webm"]

    public struct Routed: Sendable {
        public var mode: GenerationMode
        public var prompt: String
        public var image: String?
        public var audio: String?
        public var video: String?
    }

    public struct RoutingError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static func route(files: [String], inboxMode: GenerationMode?, config: DaemonConfig) throws -> Routed {
        func first(_ types: [String]) -> String? { files.first { types.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) } }
        let text = first(["txt"])
        let prompt = try text.map { try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let image = first(imageTypes), audio = first(audioTypes), video = first(videoTypes)
        let known = [text, image, audio, video].compactMap { $0 }
        if let other = files.first(where: { !known.contains($0) }) {
            throw RoutingError(message: "\(URL(fileURLWithPath: other).lastPathComponent): not a file type Wand takes (job files .yaml; prompts .txt; images \(imageTypes.joined(separator: "/")); audio \(audioTypes.joined(separator: "/")); video \(videoTypes.joined(separator: "/")))")
        }
        if let video {
            guard text != nil, !prompt.isEmpty else {
                throw RoutingError(message: "\(URL(fileURLWithPath: video).lastPathComponent) needs a partner \(URL(fileURLWithPath: video).deletingPathExtension().lastPathComponent).txt with the edit instruction")
            }
            return Routed(mode: inboxMode == .animate ? .animate : .edit, prompt: prompt, image: image, video: video)
        }
        if let image, let audio { return Routed(mode: .s2v, prompt: prompt, image: image, audio: audio) }
        if let audio {
            throw RoutingError(message: "\(URL(fileURLWithPath: audio).lastPathComponent) needs a partner image (NAME.png) for speech-to-video")
        }
        if let image {
            let mode: GenerationMode = inboxMode == .ti2v || inboxMode == .i2v ? inboxMode! : (config.defaults[.i2v] != nil ? .i2v : .ti2v)
            return Routed(mode: mode, prompt: prompt, image: image)
        }
        guard !prompt.isEmpty else { throw RoutingError(message: "the prompt file is empty") }
        return Routed(mode: inboxMode ?? .t2v, prompt: prompt)
    }

    /// The job file a bare drop stands for, so that it gets the same defaults and validation.
    public static func jobYAML(_ r: Routed) -> String {
        var lines = ["wand: 1", "mode: \(r.mode.rawValue)", "prompt: \(yamlQuoted(r.prompt))"]
        if let i = r.image { lines.append("image: \(yamlQuoted(URL(fileURLWithPath: i).lastPathComponent))") }
        if let a = r.audio { lines.append("audio: \(yamlQuoted(URL(fileURLWithPath: a).lastPathComponent))") }
        if let v = r.video { lines.append("video: \(yamlQuoted(URL(fileURLWithPath: v).lastPathComponent))") }
        return lines.joined(separator: "\n") + "\n"
    }
}

func yamlQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02X", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
