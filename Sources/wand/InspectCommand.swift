import ArgumentParser
import WandModels

/// `wand inspect PATH`: what a weight file or folder holds, read from headers only.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a weight file or folder and say which model and key layout it holds."
    )

    @Argument(help: "A .safetensors, .safetensors.index.json or .pth file, or a folder holding them.")
    var path: String

    @Flag(help: "Print only the verdict (model, layout, parameter count), not the tensor list.")
    var summary = false

    func run() throws {
        let contents: WeightFolder.Contents
        do {
            contents = try WeightFolder.open(path)
        } catch {
            print("error: \(error)")
            throw ExitCode.failure
        }
        let groups = contents.groups
        if let index = try? WeightFolder.pipelineIndex(path) {
            let fields = ["_class_name", "boundary_ratio", "expand_timesteps"].compactMap { key in index[key].map { "\(key)=\(render($0))" } }
            print("model_index.json: " + fields.joined(separator: " "))
        }
        for failure in contents.failures { print("refused: \(failure)") }
        if groups.isEmpty {
            print("error: \(path): no weight files found")
            throw ExitCode.failure
        }
        var total = 0
        for g in groups {
            print("\(g.path)")
            print("  \(g.verdict.summary)")
            if let expert = g.expert { print("  \(expert) (from the folder name)") }
            if let config = g.config {
                let fields = ["_class_name", "model_type", "dim", "num_layers", "in_dim", "in_channels", "num_attention_heads"]
                    .compactMap { key in config[key].map { "\(key)=\(render($0))" } }
                if !fields.isEmpty { print("  config.json: " + fields.joined(separator: " ")) }
            }
            print("  \(g.weights.tensors.count) tensors, \(grouped(g.verdict.parameterCount)) parameters, \(grouped(g.weights.byteCount)) bytes")
            for e in g.unsupported { print("  warning: \(e)") }
            total += g.verdict.parameterCount
            if summary { continue }
            let width = g.weights.tensors.map(\.name.count).max() ?? 0
            for t in g.weights.tensors {
                let name = t.name + String(repeating: " ", count: width - t.name.count)
                let dtype = t.dtype.safetensorsName + String(repeating: " ", count: max(0, 8 - t.dtype.safetensorsName.count))
                print("  \(name)  \(dtype)  \(t.shape)  \(t.byteCount)")
            }
        }
        if groups.count > 1 { print("total: \(grouped(total)) parameters in \(groups.count) files") }
        if !contents.failures.isEmpty { throw ExitCode.failure }
    }

    private func render(_ v: JSONValue) -> String {
        switch v {
        case let .string(s): return s
        case let .integer(i): return String(i)
        case let .number(d): return String(d)
        case let .bool(b): return String(b)
        default: return "…"
        }
    }

    private func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
