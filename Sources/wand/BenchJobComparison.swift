import Foundation
import WandEngine

/// `wand bench step --compare-jobs MODEL [--lora FILE]`: the per-job time of a few-step recipe
/// (lightning-4step: 4 DiT passes) against the same job at 40 guided steps (80 DiT passes), whole
/// jobs through the engine as the daemon runs them (text encoding, denoising, VAE decode), the
/// model warm for both so loading is not counted.
enum BenchJobComparison {
    struct Row {
        var label: String
        var steps: Int
        var passes: Int
        var denoise: Double
        var total: Double
    }

    static func run(model: String, lora: String?, size: (Int, Int), frames: Int, threads: Int?, json: Bool) async throws {
        let engine = Engine(memoryBudgetBytes: Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8), threads: threads)
        let recipe = FewStepRecipe.lightning4Step
        func request(fast: Bool) -> GenerationRequest {
            var r = GenerationRequest(mode: .t2v, modelName: "bench", modelPath: model,
                                      prompt: "a red circle moves left on a blue background", seed: 1,
                                      width: size.0, height: size.1, frames: frames, fps: 16,
                                      steps: fast ? recipe.steps : 40, sampler: fast ? recipe.sampler : .unipc,
                                      shift: fast ? recipe.shift : nil, guidance: fast ? recipe.guidance : 5,
                                      guidanceLow: fast ? recipe.guidance : 4)
            if fast {
                r.sigmaSchedule = recipe.schedule
                if let lora { r.loras = [LoRARequest(path: lora)] }
            }
            return r
        }
        var rows: [Row] = []
        for fast in [false, true] {
            let r = request(fast: fast)
            _ = try await engine.generate(r, progress: { _ in }, isCancelled: { false })  // load, warm up
            let started = Date()
            let video = try await engine.generate(r, progress: { _ in }, isCancelled: { false })
            let total = Date().timeIntervalSince(started)
            let passes = fast ? r.steps : 2 * r.steps
            rows.append(Row(label: fast ? "\(recipe.name)\(lora == nil ? "" : " + LoRA")" : "40 steps, guidance 5 (UniPC)",
                            steps: r.steps, passes: passes, denoise: video.timings.denoise, total: total))
        }
        let speedup = rows[0].total / max(rows[1].total, 1e-9)
        if json {
            for row in rows {
                print("{\"job\": \"\(row.label)\", \"steps\": \(row.steps), \"dit_passes\": \(row.passes), "
                      + "\"denoise_s\": \(row.denoise), \"job_s\": \(row.total)}")
            }
            return
        }
        print("wand bench step --compare-jobs — \(model), t2v \(size.0)x\(size.1), \(frames) frames, warm model")
        for row in rows {
            print(String(format: "%@: %d steps, %d DiT passes: denoise %.2f s, job %.2f s",
                         row.label, row.steps, row.passes, row.denoise, row.total))
        }
        print(String(format: "per-job speed-up: %.1fx (denoise %.1fx)", speedup, rows[0].denoise / max(rows[1].denoise, 1e-9)))
    }
}
