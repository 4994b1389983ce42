import Foundation
import PackagePlugin

/// Compiles a target's GLSL compute shaders (`*.comp`) to SPIR-V with Debian's `glslc` at build
/// time, one generated Swift file per shader holding the words as a `[UInt32]`
/// (`extension VulkanSPIRV { static let <name>: [UInt32] }`, name = file name without `.comp`).
/// `*.glsl` files next to them are `#include`d pieces: every shader is rebuilt when one changes.
@main
struct SPIRVShaders: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let files = target.sourceFiles.map(\.url)
        let shaders = files.filter { $0.pathExtension == "comp" }.sorted { $0.path < $1.path }
        let includes = files.filter { $0.pathExtension == "glsl" }
        let outDir = context.pluginWorkDirectoryURL
        return shaders.map { shader in
            let name = shader.deletingPathExtension().lastPathComponent
            let output = outDir.appending(path: "\(name).spirv.swift")
            let words = outDir.appending(path: "\(name).spv.txt")
            // -O: glslc's performance passes; vulkan1.1 for subgroup operations.
            let script = """
                set -e
                command -v glslc >/dev/null || { echo "error: glslc not found: install the Debian package glslc (make deps)" >&2; exit 1; }
                glslc --target-env=vulkan1.1 -O -fshader-stage=compute -I "$2" -mfmt=num -o "$3" "$1"
                { printf 'extension VulkanSPIRV {\\n    static let %s: [UInt32] = [\\n' "$4"; cat "$3"; printf '\\n    ]\\n}\\n'; } > "$5"
                """
            return .buildCommand(
                displayName: "glslc \(name).comp",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "glslc-swift", shader.path, shader.deletingLastPathComponent().path,
                            words.path, name, output.path],
                inputFiles: [shader] + includes,
                outputFiles: [output])
        }
    }
}
