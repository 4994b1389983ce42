import Foundation
import WandEngine

/// /etc/wand/wand.yaml, resolved: relative paths are made absolute against the config file's folder.
public struct DaemonConfig: Sendable {
    public enum WatchMode: String, Sendable { case auto, inotify, poll }
    public enum AfterSuccess: String, Sendable { case archive, delete, keep }
    public enum Layout: String, Sendable { case flat, folderPerJob = "folder-per-job" }
    public enum DuplicatePolicy: String, Sendable { case skip, run }

    public struct Inbox: Sendable {
        public var path: String
        /// nil: decided per drop (`mode: auto`).
        public var mode: GenerationMode?
        public var watch: WatchMode = .auto
        public var settle: Double = 5
        public var rescan: Double = 300
        public var priority: Int = 0
        /// Job keys applied to every job from this inbox unless the job sets them.
        public var defaults: YAMLNode?
    }

    public struct Model: Sendable {
        public var name: String
        public var path: String
        /// Sizes the model accepts ("1280x720"); empty: any size that is a multiple of `sizeMultiple`.
        public var sizes: [String] = []
        public var sizeMultiple: Int = 16
    }

    public var source: String
    public var stateDir: String
    public var inboxes: [Inbox] = []
    public var outbox: String
    public var failed: String
    public var afterSuccess: AfterSuccess = .archive
    public var layout: Layout = .flat
    public var duplicates: DuplicatePolicy = .skip
    public var models: [String: Model] = [:]
    /// Default model name per mode.
    public var defaults: [GenerationMode: String] = [:]
    public var inputRoots: [String] = []
    public var maxAttempts: Int = 3
    public var retryBackoff: Double = 30
    public var engineThreads: Int?
    public var memoryBudgetFraction: Double = 0.8
    public var keepWarm: [String] = []
    public var codec: String = "h264"
    public var crf: Int = 18
    public var preset: String = "medium"
    public var visibleWatermark = true
    public var watermarkText = "AI-generated"
    public var invisibleWatermark = true
    public var controlSocket: String?

    public var spoolDir: String { stateDir + "/spool" }
    public var journalPath: String { stateDir + "/journal.sqlite" }
    public var socketPath: String { controlSocket ?? stateDir + "/control.sock" }
}

public enum ConfigLoader {
    static let keys = ["wand-config", "state_dir", "inboxes", "outbox", "failed", "after_success", "layout", "duplicates",
                       "models", "defaults", "engine", "output", "watermark", "notify", "input_roots", "max_attempts",
                       "retry_backoff", "control_socket"]

    public static func load(_ path: String) throws(Diagnostics) -> DaemonConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Diagnostics([Diagnostic(SourceLocation(file: path, line: 1, column: 1), "cannot read the config: \(error.localizedDescription)")])
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(Diagnostics) -> DaemonConfig {
        let start = SourceLocation(file: path, line: 1, column: 1)
        let docs: [YAMLNode]
        do { docs = try YAMLReader.documents(text, file: path) } catch {
            throw Diagnostics([Diagnostic(error.location, error.message)])
        }
        guard docs.count == 1, let root = docs.first else {
            throw Diagnostics([Diagnostic(start, docs.isEmpty ? "the config is empty" : "the config must be a single YAML document")])
        }
        var d: [Diagnostic] = []
        let m = MappingReader(root, what: "the config", known: keys, into: &d)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func resolve(_ p: String) -> String {
            let expanded = NSString(string: p).expandingTildeInPath
            return URL(fileURLWithPath: expanded, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
        }
        func required(_ key: String) -> String? {
            if !m.has(key) { d.append(Diagnostic(root.location, "missing required key '\(key)'")); return nil }
            return m.string(key, &d).map(resolve)
        }
        if let version = m.int("wand-config", &d) {
            if version != 1 { d.append(Diagnostic(m.value("wand-config")!.location, "unsupported config version \(version) (this Wand reads version 1)")) }
        } else if !m.has("wand-config") {
            d.append(Diagnostic(root.location, "missing 'wand-config: 1' (the config's schema version)"))
        }
        var config = DaemonConfig(source: path, stateDir: required("state_dir") ?? "/var/lib/wand",
                                  outbox: required("outbox") ?? "", failed: required("failed") ?? "")
        if let s = m.choice("after_success", ["archive", "delete", "keep"], &d) { config.afterSuccess = .init(rawValue: s)! }
        if let s = m.choice("layout", ["flat", "folder-per-job"], &d) { config.layout = .init(rawValue: s)! }
        if let s = m.choice("duplicates", ["skip", "run"], &d) { config.duplicates = .init(rawValue: s)! }
        if let n = m.int("max_attempts", &d, range: 1...100) { config.maxAttempts = n }
        if let v = m.value("retry_backoff") { config.retryBackoff = duration(v, "retry_backoff", &d) ?? config.retryBackoff }
        if let s = m.string("control_socket", &d) { config.controlSocket = resolve(s) }

        if let list = m.value("inboxes") {
            if case .sequence(let items, _) = list {
                for item in items { if let inbox = parseInbox(item, resolve, &d) { config.inboxes.append(inbox) } }
            } else { d.append(Diagnostic(list.location, "inboxes must be a list")) }
        }
        if config.inboxes.isEmpty && d.isEmpty { d.append(Diagnostic(root.location, "at least one inbox is needed (inboxes:)")) }
        if let roots = m.value("input_roots") {
            if case .sequence(let items, _) = roots {
                for r in items { if let s = r.scalarText { config.inputRoots.append(resolve(s)) } else { d.append(Diagnostic(r.location, "input_roots entries must be paths")) } }
            } else { d.append(Diagnostic(roots.location, "input_roots must be a list of paths")) }
        }
        if let models = m.value("models") { parseModels(models, resolve, &config, &d) }
        if let defaults = m.value("defaults") {
            let dm = MappingReader(defaults, what: "defaults", known: GenerationMode.allCases.map(\.rawValue), into: &d)
            for mode in GenerationMode.allCases {
                guard let name = dm.string(mode.rawValue, &d) else { continue }
                if config.models[name] == nil {
                    var message = "defaults.\(mode.rawValue) names model '\(name)', which is not in models:"
                    if let near = closest(name, in: Array(config.models.keys)) { message += " (did you mean '\(near)'?)" }
                    d.append(Diagnostic(dm.value(mode.rawValue)!.location, message))
                } else { config.defaults[mode] = name }
            }
        }
        if let engine = m.value("engine") {
            let e = MappingReader(engine, what: "engine", known: ["device", "memory_budget", "keep_warm", "threads"], into: &d)
            _ = e.choice("device", ["auto", "cpu", "cuda"], &d)
            if let n = e.int("threads", &d, range: 1...1024) { config.engineThreads = n }
            if let b = e.value("memory_budget") {
                if let s = b.scalarText, s.hasSuffix("%"), let p = Double(s.dropLast()), p > 0, p <= 100 {
                    config.memoryBudgetFraction = p / 100
                } else { d.append(Diagnostic(b.location, "memory_budget must be a percentage such as 80% (got \(describe(b)))")) }
            }
            if let k = e.value("keep_warm") {
                if case .sequence(let items, _) = k { config.keepWarm = items.compactMap(\.scalarText) } else { d.append(Diagnostic(k.location, "keep_warm must be a list of model names")) }
            }
        }
        if let output = m.value("output") {
            let o = MappingReader(output, what: "output", known: ["codec", "crf", "preset"], into: &d)
            if let c = o.choice("codec", ["h264", "hevc"], &d) { config.codec = c }
            if let c = o.int("crf", &d, range: 0...51) { config.crf = c }
            if let p = o.choice("preset", ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"], &d) { config.preset = p }
        }
        if let wm = m.value("watermark") {
            let w = MappingReader(wm, what: "watermark", known: ["visible", "invisible"], into: &d)
            if let v = w.value("visible") {
                let vis = MappingReader(v, what: "watermark.visible", known: ["enabled", "text", "position", "opacity", "font"], into: &d)
                if let e = vis.bool("enabled", &d) { config.visibleWatermark = e }
                if let t = vis.string("text", &d) { config.watermarkText = t }
                _ = vis.choice("position", ["top-left", "top-right", "bottom-left", "bottom-right"], &d)
                _ = vis.double("opacity", &d, range: 0...1)
            }
            if let i = w.value("invisible") {
                let inv = MappingReader(i, what: "watermark.invisible", known: ["enabled"], into: &d)
                if let e = inv.bool("enabled", &d) { config.invisibleWatermark = e }
            }
        }
        if let notify = m.value("notify") { _ = MappingReader(notify, what: "notify", known: ["webhooks"], into: &d) }
        if !d.isEmpty { throw Diagnostics(d) }
        return config
    }

    static func parseInbox(_ node: YAMLNode, _ resolve: (String) -> String, _ d: inout [Diagnostic]) -> DaemonConfig.Inbox? {
        let m = MappingReader(node, what: "an inbox", known: ["path", "mode", "watch", "settle", "rescan", "priority", "defaults"], into: &d)
        guard let path = m.string("path", &d) else {
            if m.pairs.count > 0 || node.scalarText == nil { d.append(Diagnostic(node.location, "an inbox needs a path")) }
            return nil
        }
        var inbox = DaemonConfig.Inbox(path: resolve(path))
        if let mode = m.choice("mode", ["auto"] + GenerationMode.allCases.map(\.rawValue), &d) { inbox.mode = GenerationMode(rawValue: mode) }
        if let w = m.choice("watch", ["auto", "inotify", "poll"], &d) { inbox.watch = .init(rawValue: w)! }
        if let v = m.value("settle") { inbox.settle = duration(v, "settle", &d) ?? inbox.settle }
        if let v = m.value("rescan") { inbox.rescan = duration(v, "rescan", &d) ?? inbox.rescan }
        if let p = m.int("priority", &d, range: -1000...1000) { inbox.priority = p }
        if let defaults = m.value("defaults") {
            if case .mapping = defaults { inbox.defaults = defaults } else { d.append(Diagnostic(defaults.location, "defaults must be a mapping of job keys")) }
        }
        return inbox
    }

    static func parseModels(_ node: YAMLNode, _ resolve: (String) -> String, _ config: inout DaemonConfig, _ d: inout [Diagnostic]) {
        guard case .mapping(let items, _) = node else { d.append(Diagnostic(node.location, "models must map names to {path: ...}")); return }
        for (key, value) in items {
            guard let name = key.scalarText else { continue }
            let m = MappingReader(value, what: "model '\(name)'", known: ["path", "sizes", "size_multiple"], into: &d)
            guard let path = m.string("path", &d) else {
                if case .mapping = value { d.append(Diagnostic(value.location, "model '\(name)' needs a path")) }
                continue
            }
            var model = DaemonConfig.Model(name: name, path: resolve(path))
            if let s = m.value("sizes") {
                if case .sequence(let list, _) = s {
                    for item in list {
                        if let t = item.scalarText, parseSize(t) != nil { model.sizes.append(t) } else { d.append(Diagnostic(item.location, "sizes entries look like 1280x720")) }
                    }
                } else { d.append(Diagnostic(s.location, "sizes must be a list such as [1280x720, 720x1280]")) }
            }
            if let k = m.int("size_multiple", &d, range: 1...1024) { model.sizeMultiple = k }
            config.models[name] = model
        }
    }

    static func duration(_ v: YAMLNode, _ name: String, _ d: inout [Diagnostic]) -> Double? {
        guard let s = v.scalarText, let x = parseDuration(s) else {
            d.append(Diagnostic(v.location, "\(name) must be a duration such as 5s, 2m or 1h (got \(describe(v)))"))
            return nil
        }
        return x
    }
}

/// "1280x720" -> (1280, 720).
func parseSize(_ text: String) -> (width: Int, height: Int)? {
    let parts = text.lowercased().split(separator: "x")
    guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
    return (w, h)
}
