import ArgumentParser
import Foundation
import WandEngine

/// `wand generate --lora PATH[:STRENGTH[:EXPERT]]` (repeatable) and `--recipe NAME`.
enum LoRAOptions {
    /// `style.safetensors`, `style.safetensors:0.8`, `high.safetensors:1:high`; a path may itself
    /// hold ':' (the strength and expert are read from the right).
    static func parse(_ spec: String) throws -> LoRARequest {
        var parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var expert = LoRAExpert.both
        var strength = 1.0
        if parts.count > 1, let e = LoRAExpert(rawValue: parts.last!) { expert = e; parts.removeLast() }
        if parts.count > 1, let s = Double(parts.last!) { strength = s; parts.removeLast() }
        let path = parts.joined(separator: ":")
        guard !path.isEmpty else { throw ValidationError("--lora needs a file: PATH[:STRENGTH[:EXPERT]]") }
        guard strength.isFinite, abs(strength) <= 10 else { throw ValidationError("--lora strength must be between -10 and 10 (got \(strength))") }
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("--lora file \(path) not found") }
        return LoRARequest(path: URL(fileURLWithPath: path).standardizedFileURL.path, strength: strength, expert: expert)
    }

    static func recipe(_ name: String?) throws -> FewStepRecipe? {
        guard let name else { return nil }
        guard let recipe = FewStepRecipe.named(name) else {
            throw ValidationError("--recipe must be one of \(FewStepRecipe.all.map(\.name).joined(separator: ", "))")
        }
        return recipe
    }

    /// The recipe's steps, shift, guidance and sampler where the command line gave none, and its schedule.
    static func apply(_ recipe: FewStepRecipe, to r: inout GenerationRequest, steps: Int?, shift: Double?,
                      guidance: Float?, guidanceLow: Float?, sampler: String?) {
        if steps == nil { r.steps = recipe.steps }
        if shift == nil { r.shift = recipe.shift }
        if guidance == nil { r.guidance = recipe.guidance }
        if guidanceLow == nil { r.guidanceLow = guidance ?? recipe.guidance }
        if sampler == nil { r.sampler = recipe.sampler }
        r.sigmaSchedule = recipe.schedule
    }
}
