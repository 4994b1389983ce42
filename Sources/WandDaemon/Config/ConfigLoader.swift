import Foundation

/// Reads and checks a daemon config (`wand-config: 1`). Relative paths are resolved against the
/// folder holding the config file (not the working directory), so a config can travel with its
/// spool. Every problem is reported at once, located like job-file errors.
public enum ConfigLoader {
    static let topKeys = ["wand-config", "state_dir", "inboxes", "outbox", "failed", "after_success", "layout",
                          "duplicates", "image_drops", "models", "defaults", "engine", "output", "watermark",
                          "notify", "input_roots", "lora_dirs", "max_attempts", "retry_backoff", "queue"]

    public static func load(_ path: String) throws(ConfigErrors) -> DaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigErrors([Diagnostic(file: path, line: 1, column: 1, message: "cannot read the config file")])
        }
        return try load(bytes: [UInt8](data), file: path)
    }

    public static func load(bytes: [UInt8], file: String) throws(ConfigErrors) -> DaemonConfig {
        let root = try singleDocument(bytes, file: file, what: "config file")
        let base = URL(fileURLWithPath: file).deletingLastPathComponent().standardizedFileURL
        var r = SchemaReader(file: file)
        let config = read(root, base: base, file: file, reader: &r)
        let errors = r.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { throw ConfigErrors(r.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) }) }
        return config
    }

    /// The one YAML document of a config file or a model card, or its located syntax error.
    static func singleDocument(_ bytes: [UInt8], file: String, what: String) throws(ConfigErrors) -> YAMLNode {
        let documents: [YAMLNode]
        do {
            documents = try YAMLReader.parse(bytes: bytes)
        } catch {
            throw ConfigErrors([Diagnostic(file: file, line: error.mark.line, column: error.mark.column, message: error.message)])
        }
        guard documents.count == 1, let root = documents.first else {
            let line = documents.count > 1 ? documents[1].mark.line : 1
            throw ConfigErrors([Diagnostic(file: file, line: line, column: 1,
                                           message: documents.isEmpty ? "empty \(what)" : "a \(what) holds one YAML document")])
        }
        return root
    }

    static func path(_ node: YAMLNode, key: String, base: URL, reader r: inout SchemaReader) -> URL? {
        guard let s = r.string(node, key: key) else { return nil }
        if s.value.isEmpty { r.error("\(key) must not be empty", at: node.mark); return nil }
        let url = s.value.hasPrefix("/") ? URL(fileURLWithPath: s.value) : base.appendingPathComponent(s.value)
        return url.standardizedFileURL
    }

    static func read(_ root: YAMLNode, base: URL, file: String, reader r: inout SchemaReader) -> DaemonConfig {
        var c = DaemonConfig.standard
        c.file = file
        let keys = r.mapping(root, allowed: topKeys, context: "config")
        if root.mapping != nil {
            if let v = keys["wand-config"] {
                if let n = r.int(v.value, key: "wand-config", range: Int.min...Int.max), n.value != 1 {
                    r.error("unsupported config schema version \(n.value) (this wand reads wand-config: 1)", at: v.value.mark)
                }
            } else {
                r.error("missing 'wand-config: 1' (the config schema version)", at: root.mark)
            }
        }
        if let v = keys["state_dir"], let u = path(v.value, key: "state_dir", base: base, reader: &r) { c.stateDir = u }
        if let v = keys["outbox"], let u = path(v.value, key: "outbox", base: base, reader: &r) { c.outbox = u }
        if let v = keys["failed"], let u = path(v.value, key: "failed", base: base, reader: &r) { c.failed = u }
        if let v = keys["after_success"], let e = r.choice(v.value, key: "after_success", as: AfterSuccess.self) { c.afterSuccess = e.value }
        if let v = keys["layout"], let e = r.choice(v.value, key: "layout", as: OutputLayout.self) { c.layout = e.value }
        if let v = keys["duplicates"], let e = r.choice(v.value, key: "duplicates", as: DuplicatePolicy.self) { c.duplicates = e.value }
        if let v = keys["image_drops"], let m = imageDrops(v.value, reader: &r) { c.imageDrops = m }
        if let v = keys["max_attempts"], let n = r.int(v.value, key: "max_attempts", range: 1...100) { c.maxAttempts = n.value }
        if let v = keys["retry_backoff"], let d = r.duration(v.value, key: "retry_backoff") { c.retryBackoff = d.value }
        if let v = keys["input_roots"], let list = v.value.sequence {
            c.inputRoots = list.compactMap { node in
                path(node, key: "input_roots entry", base: base, reader: &r).map {
                    URL(fileURLWithPath: InputConfinement.realPath($0.path) ?? $0.path)
                }
            }
        } else if let v = keys["input_roots"] {
            r.error("input_roots must be a list of folders (got \(v.value.kindName))", at: v.value.mark)
        }
        if let v = keys["lora_dirs"] { c.loraDirs = readLoRADirs(v.value, base: base, reader: &r) }

        // Models first: defaults and keep_warm refer to them.
        var modelMarks: [String: YAMLMark] = [:]
        if let v = keys["models"] {
            if let pairs = v.value.mapping {
                c.models = [:]
                for pair in pairs {
                    guard let name = pair.key.string else { r.error("model names must be words", at: pair.key.mark); continue }
                    if modelMarks[name] != nil { r.error("duplicate model '\(name)'", at: pair.key.mark); continue }
                    modelMarks[name] = pair.key.mark
                    let mk = r.mapping(pair.value, allowed: ["path", "kind", "sizes", "recipe", "loras"], context: "model \(name)")
                    guard pair.value.mapping != nil else { continue }
                    guard let p = mk["path"] else { r.error("model '\(name)' needs a path", at: pair.key.mark); continue }
                    // The folder's own card and configs, under what the config says.
                    var card = ModelCard()
                    let folder = path(p.value, key: "path", base: base, reader: &r)
                    if let folder {
                        do { card = try ModelCard.read(folder: folder) } catch { r.diagnostics += error.diagnostics }
                    }
                    var kind = card.kind ?? ModelKind(rawValue: name)
                    if let k = mk["kind"] { kind = r.choice(k.value, key: "kind", as: ModelKind.self)?.value }
                    else if kind == nil {
                        r.error("model '\(name)' needs kind: (one of \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))); its folder has no \(ModelCard.fileName) and its configs do not say", at: pair.key.mark)
                    }
                    var sizes = card.sizes
                    if let list = mk["sizes"] {
                        if let items = list.value.sequence, !items.isEmpty {
                            sizes = items.compactMap { JobFields.readSize($0, reader: &r)?.value }
                        } else {
                            r.error("sizes must be a non-empty list like [1280x704] (got \(list.value.kindName))", at: list.value.mark)
                        }
                    }
                    let recipe = mk["recipe"].flatMap { LoRAField.readRecipe($0.value, reader: &r)?.value }
                    let loras = mk["loras"].map { readModelLoRAs($0.value, base: base, reader: &r) } ?? []
                    if let kind, kind != .t2vA14B, kind != .i2vA14B, let m = mk["loras"], loras.contains(where: { $0.expert != .both }) {
                        r.error("expert high/low needs a two-expert model (\(kind.rawValue) has one DiT)", at: m.value.mark)
                    }
                    if let folder, let kind {
                        c.models[name] = ModelConfig(name: name, path: folder, kind: kind, sizes: sizes, defaults: card.defaults,
                                                     recipe: recipe == "none" ? nil : recipe, loras: loras)
                    }
                }
            } else {
                r.error("models must be a mapping of names to {path, kind} (got \(v.value.kindName))", at: v.value.mark)
            }
        }
        let modelNames = c.models.isEmpty ? ModelKind.allCases.map(\.rawValue) : Array(c.models.keys).sorted()
        func checkModel(_ node: YAMLNode, key: String) -> String? {
            guard let name = r.string(node, key: key) else { return nil }
            if c.models[name.value] == nil && !(c.models.isEmpty && ModelKind(rawValue: name.value) != nil) {
                r.error("\(key) names unknown model '\(name.value)'\(DidYouMean.hint(name.value, among: modelNames))", at: node.mark)
                return nil
            }
            return name.value
        }
        if let v = keys["defaults"] {
            let dk = r.mapping(v.value, allowed: Mode.allCases.map(\.rawValue), context: "defaults (mode: model)")
            for (modeName, pair) in dk {
                if let name = checkModel(pair.value, key: "defaults.\(modeName)") { c.defaultModels[Mode(rawValue: modeName)!] = name }
            }
        }
        if let v = keys["engine"] {
            let ek = r.mapping(v.value, allowed: ["device", "precision", "memory_budget", "keep_warm", "threads", "vae_tiling", "lora_merge"], context: "engine")
            if let m = ek["lora_merge"], let e = r.choice(m.value, key: "lora_merge", as: LoRAMergeDType.self) { c.engine.loraMerge = e.value }
            if let d = ek["device"], let e = r.choice(d.value, key: "device", as: EngineDevice.self) { c.engine.device = e.value }
            if let d = ek["precision"], let e = r.choice(d.value, key: "precision", as: EnginePrecision.self) { c.engine.precision = e.value }
            if let m = ek["memory_budget"], let p = r.percentage(m.value, key: "memory_budget") { c.engine.memoryBudget = p.value }
            if let t = ek["threads"] {
                if t.value.string == "auto" { c.engine.threads = nil }
                else if let n = r.int(t.value, key: "threads", range: 1...1024) { c.engine.threads = n.value }
            }
            if let t = ek["vae_tiling"] {
                if t.value.string == "off" { c.engine.vaeTilePixels = nil }
                else if let n = t.value.int, (64...4096).contains(n), n % 16 == 0 { c.engine.vaeTilePixels = n }
                else { r.error("vae_tiling must be off or a tile size in pixels, a multiple of 16 from 64 to 4096, e.g. 256 (got \(t.value.string ?? t.value.kindName))", at: t.value.mark) }
            }
            if let k = ek["keep_warm"] {
                if let list = k.value.sequence { c.engine.keepWarm = list.compactMap { checkModel($0, key: "keep_warm") } }
                else { r.error("keep_warm must be a list of model names (got \(k.value.kindName))", at: k.value.mark) }
            }
        }
        if let v = keys["output"] {
            let ok = r.mapping(v.value, allowed: ["codec", "crf", "preset"], context: "output")
            if let x = ok["codec"], let e = r.choice(x.value, key: "codec", as: VideoCodec.self) { c.output.codec = e.value }
            if let x = ok["crf"], let n = r.int(x.value, key: "crf", range: 0...51) { c.output.crf = n.value }
            if let x = ok["preset"], let s = r.string(x.value, key: "preset") {
                let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
                if presets.contains(s.value) { c.output.preset = s.value }
                else { r.error("preset must be one of \(presets.joined(separator: ", ")) (got '\(s.value)')\(DidYouMean.hint(s.value, among: presets))", at: x.value.mark) }
            }
        }
        if let v = keys["watermark"] { readWatermark(v.value, into: &c.watermark, base: base, reader: &r) }
        if let v = keys["notify"] { c.notify = readNotify(v.value, reader: &r) }
        if let v = keys["queue"] { c.queue = readQueue(v.value, base: base, reader: &r) }
        if let v = keys["inboxes"] {
            if let list = v.value.sequence {
                c.inboxes = list.compactMap { readInbox($0, base: base, reader: &r) }
                for node in list {
                    guard let defaults = node.mapping?.first(where: { $0.key.string == "defaults" })?.value,
                          let model = defaults.mapping?.first(where: { $0.key.string == "model" })?.value,
                          model.string != nil else { continue }
                    _ = checkModel(model, key: "defaults.model")
                }
                var seen: [String: Bool] = [:]
                for (inbox, node) in zip(c.inboxes, list) {
                    if seen[inbox.path.path] != nil { r.error("inbox \(inbox.path.path) is listed twice", at: node.mark) }
                    seen[inbox.path.path] = true
                    if inbox.path == c.outbox || inbox.path == c.failed {
                        r.error("an inbox cannot be the outbox or the failed folder", at: node.mark)
                    }
                }
            } else {
                r.error("inboxes must be a list (got \(v.value.kindName))", at: v.value.mark)
            }
        }
        return c
    }

    static func imageDrops(_ node: YAMLNode, reader r: inout SchemaReader) -> Mode? {
        guard let m = r.choice(node, key: "image_drops", as: Mode.self) else { return nil }
        guard m.value == .i2v || m.value == .ti2v else {
            r.error("image_drops must be i2v or ti2v (got '\(m.value.rawValue)')", at: node.mark)
            return nil
        }
        return m.value
    }

    static func readInbox(_ node: YAMLNode, base: URL, reader r: inout SchemaReader) -> InboxConfig? {
        let k = r.mapping(node, allowed: ["path", "mode", "watch", "settle", "rescan", "priority", "image_drops", "defaults"],
                          context: "inbox")
        guard node.mapping != nil else { return nil }
        guard let p = k["path"] else { r.error("an inbox needs a path", at: node.mark); return nil }
        guard let url = path(p.value, key: "path", base: base, reader: &r) else { return nil }
        var inbox = InboxConfig(path: url)
        if let v = k["mode"], let s = r.string(v.value, key: "mode") {
            if s.value == "auto" { inbox.mode = .auto }
            else if let m = Mode(rawValue: s.value) { inbox.mode = .fixed(m) }
            else {
                let names = ["auto"] + Mode.allCases.map(\.rawValue)
                r.error("mode must be one of \(names.joined(separator: ", ")) (got '\(s.value)')\(DidYouMean.hint(s.value, among: names))", at: v.value.mark)
            }
        }
        if let v = k["watch"], let e = r.choice(v.value, key: "watch", as: WatchMode.self) { inbox.watch = e.value }
        if let v = k["settle"], let d = r.duration(v.value, key: "settle") { inbox.settle = d.value }
        if let v = k["rescan"], let d = r.duration(v.value, key: "rescan") {
            if d.value < 1 { r.error("rescan must be at least 1s", at: v.value.mark) } else { inbox.rescan = d.value }
        }
        if let v = k["priority"], let n = r.int(v.value, key: "priority", range: -1000...1000) { inbox.priority = n.value }
        if let v = k["image_drops"] { inbox.imageDrops = imageDrops(v.value, reader: &r) }
        if let v = k["defaults"], !v.value.isNull {
            inbox.defaults = JobFields.read(v.value, forDefaults: true, reader: &r).asDefaults
        }
        return inbox
    }

    static func readWatermark(_ node: YAMLNode, into w: inout WatermarkConfig, base: URL, reader r: inout SchemaReader) {
        let k = r.mapping(node, allowed: ["visible", "invisible"], context: "watermark")
        if let v = k["visible"] {
            let vk = r.mapping(v.value, allowed: ["enabled", "text", "position", "opacity", "font"], context: "watermark.visible")
            if let x = vk["enabled"], let b = r.bool(x.value, key: "enabled") { w.visible.enabled = b.value }
            if let x = vk["text"], let s = r.string(x.value, key: "text") { w.visible.text = s.value }
            if let x = vk["position"], let e = r.choice(x.value, key: "position", as: WatermarkPosition.self) { w.visible.position = e.value }
            if let x = vk["opacity"], let d = r.double(x.value, key: "opacity", range: 0...1) { w.visible.opacity = d.value }
            if let x = vk["font"] { w.visible.font = path(x.value, key: "font", base: base, reader: &r) }
        }
        if let v = k["invisible"] {
            let ik = r.mapping(v.value, allowed: ["enabled"], context: "watermark.invisible")
            if let x = ik["enabled"], let b = r.bool(x.value, key: "enabled") { w.invisible.enabled = b.value }
        }
    }

    static func readNotify(_ node: YAMLNode, reader r: inout SchemaReader) -> NotifyConfig {
        var notify = NotifyConfig(webhooks: [])
        let k = r.mapping(node, allowed: ["webhooks"], context: "notify")
        guard let hooks = k["webhooks"] else { return notify }
        guard let list = hooks.value.sequence else {
            r.error("webhooks must be a list (got \(hooks.value.kindName))", at: hooks.value.mark)
            return notify
        }
        for item in list {
            let hk = r.mapping(item, allowed: ["url", "events"], context: "webhook")
            guard item.mapping != nil else { continue }
            guard let u = hk["url"] else { r.error("a webhook needs a url", at: item.mark); continue }
            guard let s = r.string(u.value, key: "url") else { continue }
            guard let url = URL(string: s.value), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil else {
                r.error("url must be an http:// or https:// address (got '\(s.value)')", at: u.value.mark)
                continue
            }
            var events = NotifyEvent.allCases
            if let e = hk["events"] {
                if let names = e.value.sequence {
                    events = names.compactMap { r.choice($0, key: "event", as: NotifyEvent.self)?.value }
                } else {
                    r.error("events must be a list (got \(e.value.kindName))", at: e.value.mark)
                }
            }
            notify.webhooks.append(Webhook(url: url, events: events))
        }
        return notify
    }
}
