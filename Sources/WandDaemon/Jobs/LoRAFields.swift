import Foundation
import WandEngine

/// One entry of a `loras:` list as written (job file or model entry), not yet resolved:
///
///     loras:
///       - {path: lightning/high_noise_model.safetensors, strength: 1.0, expert: high}
///       - path: style.safetensors          # strength 1, expert both
///       - detail.safetensors               # a bare path
struct LoRAField: Sendable {
    var path: Located<String>
    var strength: Double
    var expert: LoRAExpert

    static let strengthRange = -10.0...10.0

    static func readList(_ node: YAMLNode, reader r: inout SchemaReader) -> Located<[LoRAField]>? {
        guard let items = node.sequence else {
            r.error("loras must be a list of {path, strength, expert} (got \(node.kindName))", at: node.mark)
            return nil
        }
        var out: [LoRAField] = []
        for item in items {
            if item.mapping == nil {
                if let p = r.string(item, key: "each entry of loras") { out.append(LoRAField(path: p, strength: 1, expert: .both)) }
                continue
            }
            let keys = r.mapping(item, allowed: ["path", "strength", "expert"], context: "lora")
            guard let p = keys["path"] else { r.error("a lora needs a path", at: item.mark); continue }
            guard let path = r.string(p.value, key: "path") else { continue }
            var field = LoRAField(path: path, strength: 1, expert: .both)
            if let s = keys["strength"] {
                guard let v = r.double(s.value, key: "strength", range: strengthRange) else { continue }
                field.strength = v.value
            }
            if let e = keys["expert"] {
                guard let v = r.choice(e.value, key: "expert", as: LoRAExpert.self) else { continue }
                field.expert = v.value
            }
            out.append(field)
        }
        return Located(value: out, mark: node.mark)
    }

    /// A recipe name (FewStepRecipe), or `none`.
    static func readRecipe(_ node: YAMLNode, reader r: inout SchemaReader) -> Located<String>? {
        guard let s = r.string(node, key: "recipe") else { return nil }
        let names = FewStepRecipe.all.map(\.name) + ["none"]
        guard names.contains(s.value) else {
            r.error("recipe must be one of \(names.joined(separator: ", ")) (got '\(s.value)')\(DidYouMean.hint(s.value, among: names))", at: node.mark)
            return nil
        }
        return s
    }

    /// The job's LoRA files, confined like its other inputs: a relative path is looked up in the
    /// job's folder, then in each of the config's `lora_dirs`; the file must lie (after symlinks)
    /// inside the job's folder, an input root or a LoRA folder.
    static func resolve(_ fields: [LoRAField], jobFolder: URL, config: DaemonConfig, reader r: inout SchemaReader) -> [LoRASpec] {
        let confinement = InputConfinement(jobFolder: jobFolder, inputRoots: config.inputRoots + config.loraDirs)
        var out: [LoRASpec] = []
        for field in fields {
            let p = field.path.value
            var candidates = [p]
            if !p.hasPrefix("/") { candidates += config.loraDirs.map { $0.path + "/" + p } }
            var firstFailure: InputConfinement.Failure?
            var found: URL?
            for c in candidates {
                switch confinement.resolve(c) {
                case .success(let url): found = url
                case .failure(let f): if firstFailure == nil || firstFailure == .missing { firstFailure = f }
                }
                if found != nil { break }
            }
            if let found {
                out.append(LoRASpec(path: found, strength: field.strength, expert: field.expert))
                continue
            }
            let at = field.path.mark
            switch firstFailure ?? .missing {
            case .escapes: r.error("lora path '\(p)' leaves the job's folder, the input roots and the lora_dirs", at: at)
            case .symlinkEscapes: r.error("lora path '\(p)' is a symlink leading outside the job's folder, the input roots and the lora_dirs", at: at)
            case .notAFile: r.error("lora path '\(p)' is not a regular file", at: at)
            case .missing:
                let whereLooked = config.loraDirs.isEmpty || p.hasPrefix("/") ? "" : " (looked in the job's folder and the lora_dirs)"
                r.error("lora file '\(p)' not found\(whereLooked)", at: at)
            }
        }
        return out
    }
}
