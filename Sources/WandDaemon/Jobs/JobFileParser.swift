import Foundation
import WandEngine

/// Parses job files (`*.yaml` / `*.yml`): versioned, strict, every error located, all errors
/// reported at once. Several documents (`---`) make a batch; `seeds: [..]` makes one job per seed.
public enum JobFileParser {
    static let keys = ["wand", "mode", "model", "prompt", "negative_prompt", "seed", "seeds", "size", "frames", "fps",
                       "steps", "sampler", "shift", "guidance", "image", "audio", "video", "strength", "priority",
                       "output", "tags"]

    public static func parse(fileAt path: String, inbox: DaemonConfig.Inbox?, config: DaemonConfig) throws(Diagnostics) -> [JobSpec] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Diagnostics([Diagnostic(SourceLocation(file: path, line: 1, column: 1), "cannot read the job file (is it UTF-8 text?)")])
        }
        return try parse(text, path: path, inbox: inbox, config: config)
    }

    public static func parse(_ text: String, path: String, inbox: DaemonConfig.Inbox?, config: DaemonConfig) throws(Diagnostics) -> [JobSpec] {
        let docs: [YAMLNode]
        do { docs = try YAMLReader.documents(text, file: path) } catch {
            throw Diagnostics([Diagnostic(error.location, error.message)])
        }
        guard !docs.isEmpty else { throw Diagnostics([Diagnostic(SourceLocation(file: path, line: 1, column: 1), "the job file is empty")]) }
        var jobs: [JobSpec] = []
        var diags: [Diagnostic] = []
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        for (index, doc) in docs.enumerated() {
            let name = docs.count > 1 ? "\(stem)-\(index + 1)" : stem
            jobs += parseDocument(doc, path: path, defaultName: name, inbox: inbox, config: config, &diags)
        }
        if !diags.isEmpty { throw Diagnostics(diags) }
        return jobs
    }

    static func parseDocument(_ doc: YAMLNode, path: String, defaultName: String, inbox: DaemonConfig.Inbox?,
                              config: DaemonConfig, _ d: inout [Diagnostic]) -> [JobSpec] {
        let before = d.count
        let m = MappingReader(doc, what: "a job", known: keys, into: &d)
        guard case .mapping = doc else { return [] }
        // Inbox defaults fill in keys the job does not set.
        var defaults: MappingReader?
        if let inboxDefaults = inbox?.defaults {
            var ignored: [Diagnostic] = []
            defaults = MappingReader(inboxDefaults, what: "the inbox defaults", known: keys, into: &ignored)
        }
        func pick(_ key: String) -> MappingReader? { m.has(key) ? m : (defaults?.has(key) == true ? defaults : nil) }

        if let v = m.value("wand") {
            if m.int("wand", &d) != 1, v.scalarText.flatMap(Int.init) != nil {
                d.append(Diagnostic(v.location, "unsupported job schema version \(v.scalarText!) (this Wand reads 'wand: 1')"))
            }
        } else { d.append(Diagnostic(doc.location, "missing 'wand: 1' (the job file's schema version)")) }

        var mode = inbox?.mode
        if let r = pick("mode"), let s = r.choice("mode", GenerationMode.allCases.map(\.rawValue), &d) { mode = GenerationMode(rawValue: s) }
        guard let mode else {
            if !m.has("mode") { d.append(Diagnostic(doc.location, "missing 'mode' (one of \(GenerationMode.allCases.map(\.rawValue).joined(separator: ", ")))")) }
            return []
        }
        let official = ModeDefaults.official(mode)

        var modelName = config.defaults[mode]
        if let r = pick("model"), let s = r.string("model", &d) {
            if config.models[s] == nil {
                var message = "unknown model '\(s)' (models in the config: \(config.models.keys.sorted().joined(separator: ", ")))"
                if let near = closest(s, in: Array(config.models.keys)) { message = "unknown model '\(s)' (did you mean '\(near)'?)" }
                d.append(Diagnostic(r.value("model")!.location, message))
            } else { modelName = s }
        } else if modelName == nil {
            d.append(Diagnostic(doc.location, "no model for mode \(mode.rawValue): set 'model:' or defaults.\(mode.rawValue) in the config"))
        }
        let model = modelName.flatMap { config.models[$0] }

        let prompt = pick("prompt")?.string("prompt", &d)
        if prompt == nil || prompt!.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, ![.animate].contains(mode) {
            if !m.has("prompt") && defaults?.has("prompt") != true { d.append(Diagnostic(doc.location, "missing 'prompt'")) }
            else if let v = pick("prompt")?.value("prompt"), prompt != nil { d.append(Diagnostic(v.location, "prompt is empty")) }
        }

        var size: (width: Int, height: Int) = official.size
        if let sizes = model?.sizes, let first = sizes.first, let s = parseSize(first) { size = s }
        if let r = pick("size"), let v = r.value("size") {
            if let text = v.scalarText, let s = parseSize(text) {
                size = s
                if let model {
                    if !model.sizes.isEmpty, !model.sizes.contains("\(s.width)x\(s.height)") {
                        d.append(Diagnostic(v.location, "size \(text) is not supported by model '\(model.name)' (supported: \(model.sizes.joined(separator: ", ")))"))
                    } else if model.sizes.isEmpty, s.width % model.sizeMultiple != 0 || s.height % model.sizeMultiple != 0 {
                        d.append(Diagnostic(v.location, "size \(text): width and height must be multiples of \(model.sizeMultiple) for model '\(model.name)'"))
                    }
                }
            } else { d.append(Diagnostic(v.location, "size must look like 1280x720 (WIDTHxHEIGHT), got \(describe(v))")) }
        }

        var frames = official.frames
        if let r = pick("frames"), let n = r.int("frames", &d, range: 1...1001) {
            if n % 4 != 1 {
                let lower = n - (n - 1) % 4, upper = lower + 4
                let suggestion = lower >= 1 && n - lower < upper - n ? lower : upper
                d.append(Diagnostic(r.value("frames")!.location, "frames must be 4n+1 (got \(n); try \(suggestion))"))
            } else { frames = n }
        }
        let fps = pick("fps")?.int("fps", &d, range: 1...120) ?? official.fps
        let steps = pick("steps")?.int("steps", &d, range: 1...200) ?? official.steps
        var sampler = SamplerKind.unipc
        if let r = pick("sampler"), let s = r.choice("sampler", SamplerKind.allCases.map(\.rawValue), &d) { sampler = SamplerKind(rawValue: s)! }
        let shift = pick("shift")?.double("shift", &d, range: 0.01...100)

        var high = official.guidanceHigh, low = official.guidanceLow
        if let r = pick("guidance"), let g = r.value("guidance") {
            if case .mapping = g {
                let gm = MappingReader(g, what: "guidance", known: ["high", "low"], into: &d)
                if let h = gm.double("high", &d, range: 0...50) { high = h }
                if let l = gm.double("low", &d, range: 0...50) { low = l }
            } else if let x = number(g, name: "guidance", &d, range: 0...50) { high = x; low = x }
        }
        let strength = pick("strength")?.double("strength", &d, range: 0...1) ?? 0.8
        let priority = pick("priority")?.int("priority", &d, range: -1000...1000) ?? inbox?.priority ?? 0

        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func input(_ key: String) -> String? {
            guard let r = pick(key), let s = r.string(key, &d) else { return nil }
            return confine(s, jobFolder: folder, roots: config.inputRoots, at: r.value(key)!.location, &d)
        }
        let image = input("image"), audio = input("audio"), video = input("video")
        switch mode {
        case .i2v where image == nil && !m.has("image"): d.append(Diagnostic(doc.location, "mode i2v needs 'image'"))
        case .s2v where (image == nil && !m.has("image")) || (audio == nil && !m.has("audio")):
            d.append(Diagnostic(doc.location, "mode s2v needs 'image' and 'audio'"))
        case .animate where (image == nil && !m.has("image")) || (video == nil && !m.has("video")):
            d.append(Diagnostic(doc.location, "mode animate needs 'image' (the character) and 'video' (the driving motion)"))
        case .edit where video == nil && !m.has("video"): d.append(Diagnostic(doc.location, "mode edit needs 'video'"))
        default: break
        }

        var outputName = defaultName, codec = config.codec, crf = config.crf
        if let o = m.value("output") {
            let om = MappingReader(o, what: "output", known: ["name", "codec", "crf"], into: &d)
            if let n = om.string("name", &d) {
                if n.isEmpty || n.contains("/") || n.hasPrefix(".") {
                    d.append(Diagnostic(om.value("name")!.location, "output.name must be a plain file name without '/' or a leading dot"))
                } else { outputName = n }
            }
            if let c = om.choice("codec", ["h264", "hevc"], &d) { codec = c }
            if let c = om.int("crf", &d, range: 0...51) { crf = c }
        }
        var tags: [String] = []
        if let t = m.value("tags") {
            if case .sequence(let items, _) = t { tags = items.compactMap(\.scalarText) } else { d.append(Diagnostic(t.location, "tags must be a list")) }
        }

        var seeds: [UInt64?] = [nil]
        if m.has("seed") && m.has("seeds") {
            d.append(Diagnostic(m.value("seeds")!.location, "give either 'seed' or 'seeds', not both"))
        } else if let v = m.value("seed") {
            if let s = v.scalarText, let n = UInt64(s) { seeds = [n] } else { d.append(Diagnostic(v.location, "seed must be a whole number >= 0, found \(describe(v))")) }
        } else if let v = m.value("seeds") {
            if case .sequence(let items, _) = v, !items.isEmpty {
                seeds = items.map { item in
                    guard let s = item.scalarText, let n = UInt64(s) else {
                        d.append(Diagnostic(item.location, "seeds entries must be whole numbers >= 0, found \(describe(item))"))
                        return nil
                    }
                    return n
                }
            } else { d.append(Diagnostic(v.location, "seeds must be a non-empty list such as [1, 2, 3]")) }
        }
        guard d.count == before else { return [] }
        return seeds.map { seed in
            JobSpec(mode: mode, model: modelName ?? "", prompt: prompt ?? "",
                    negativePrompt: pick("negative_prompt")?.string("negative_prompt", &d), seed: seed,
                    width: size.width, height: size.height, frames: frames, fps: fps, steps: steps, sampler: sampler,
                    shift: shift, guidanceHigh: high, guidanceLow: low, image: image, audio: audio, video: video,
                    strength: strength, priority: priority,
                    outputName: seeds.count > 1 ? "\(outputName)-seed\(seed ?? 0)" : outputName,
                    codec: codec, crf: crf, tags: tags, source: doc.location)
        }
    }

    /// A job may read only files under its own folder or a configured input root: `..` and
    /// symlinks that lead elsewhere are refused.
    static func confine(_ relative: String, jobFolder: String, roots: [String], at location: SourceLocation,
                        _ d: inout [Diagnostic]) -> String? {
        let candidate = relative.hasPrefix("/") ? relative : jobFolder + "/" + relative
        guard let real = realpath(candidate, nil) else {
            d.append(Diagnostic(location, "file not found: \(relative)"))
            return nil
        }
        defer { free(real) }
        let resolved = String(cString: real)
        let allowed = ([jobFolder] + roots).compactMap { root -> String? in
            guard let r = realpath(root, nil) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        guard allowed.contains(where: { resolved == $0 || resolved.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            d.append(Diagnostic(location, "\(relative) resolves to \(resolved), outside the job's folder and the configured input_roots"))
            return nil
        }
        return resolved
    }
}
