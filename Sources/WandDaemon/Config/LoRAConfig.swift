import Foundation

extension ConfigLoader {
    /// `lora_dirs: [folder, ...]`: each must exist; kept symlink-resolved, like input_roots.
    static func readLoRADirs(_ node: YAMLNode, base: URL, reader r: inout SchemaReader) -> [URL] {
        guard let list = node.sequence else {
            r.error("lora_dirs must be a list of folders (got \(node.kindName))", at: node.mark)
            return []
        }
        return list.compactMap { item in
            guard let url = path(item, key: "lora_dirs entry", base: base, reader: &r) else { return nil }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                r.error("lora_dirs entry '\(url.path)' is not a folder", at: item.mark)
                return nil
            }
            return URL(fileURLWithPath: InputConfinement.realPath(url.path) ?? url.path)
        }
    }

    /// A model entry's `loras:` (same entries as a job's); paths are relative to the config's
    /// folder and must exist when the config is read.
    static func readModelLoRAs(_ node: YAMLNode, base: URL, reader r: inout SchemaReader) -> [LoRASpec] {
        guard let fields = LoRAField.readList(node, reader: &r)?.value else { return [] }
        return fields.compactMap { field in
            let p = field.path.value
            let url = (p.hasPrefix("/") ? URL(fileURLWithPath: p) : base.appendingPathComponent(p)).standardizedFileURL
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                r.error("lora file '\(p)' not found (\(url.path))", at: field.path.mark)
                return nil
            }
            return LoRASpec(path: URL(fileURLWithPath: InputConfinement.realPath(url.path) ?? url.path),
                            strength: field.strength, expert: field.expert)
        }
    }
}
