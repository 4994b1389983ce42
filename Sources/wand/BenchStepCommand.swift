import ArgumentParser
import Foundation
import WandEngine
import WandModels
import WandTensor

/// `wand bench step DIR`: time per denoising step (two DiT passes with guidance + a UniPC step),
/// on the folder Tools/bench/dit.py prepares; Tools/bench/step.py runs diffusers the same way.
struct BenchStep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time one denoising step with guidance (compare: Tools/bench/step.py).")

    @Argument(help: "Folder written by `Tools/bench/dit.py prepare` (not with --compare-jobs).") var dir: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Instead: time a whole lightning-4step job (4 DiT passes) against a 40-step guided one on this model folder.")
    var compareJobs: String?
    @Option(help: "With --compare-jobs: a LoRA merged for the 4-step job.") var lora: String?
    @Option(help: "With --compare-jobs: WIDTHxHEIGHT.") var size = "256x160"
    @Option(help: "With --compare-jobs: frames.") var frames = 17
    @Option(help: "Steps to run; the first is a warm-up.") var steps = 4
    @Flag(help: "One JSON line.") var json = false

    func run() async throws {
        if let compareJobs {
            let wh = size.split(separator: "x").compactMap { Int($0) }
            guard wh.count == 2 else { throw ValidationError("--size must look like 256x160") }
            try await BenchJobComparison.run(model: compareJobs, lora: lora, size: (wh[0], wh[1]), frames: frames,
                                             threads: threads, json: json)
            return
        }
        guard let dir else { throw ValidationError("give the folder from Tools/bench/dit.py prepare, or --compare-jobs MODEL") }
        let backend = CPUBackend(threads: threads)
        let transformer = dir + "/transformer/"
        var config = try WanDiTConfig(configFile: transformer + "config.json")
        config.textLen = 512
        let weightsPath = transformer + "diffusion_pytorch_model.safetensors"
        let model = try WanDiT(config: config, weights: try SafetensorsFile(path: weightsPath).weights, path: weightsPath, backend: backend)
        let io = try SafetensorsFile(path: dir + "/io.safetensors")
        func load(_ name: String) throws -> Tensor {
            let t = try io.tensor(name)
            return try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: t.bytes.baseAddress!, owner: t.file).toTensor()
        }
        let x = try load("x"), context = try load("context")
        let shape = x.shape
        // Once per job, as the pipelines do: the text MLP and every block's cross-attention K/V.
        let clock = ContinuousClock()
        var cond: DiTTextContext?, uncond: DiTTextContext?
        let prepare = try clock.measure {
            cond = try model.prepareText(context)
            let negative = try backend.mul(try context.sliced(dim: 0, 0..<20).contiguous(), Tensor(filled: 0.5, shape: [1]))
            uncond = try model.prepareText(negative)
        }
        let texts = (cond!, uncond!)
        let loop = DenoiseLoop(kind: .unipc, schedule: .diffusersUniPC(steps: steps, shift: 5), plan: .singleModel(guidance: 5))
        let stamps = StepStamps()
        stamps.mark()
        let final = try await loop.run(from: x.array, velocity: { latent, step, conditional in
            try model.forward(latent: try Tensor(shape: shape, values: latent), timesteps: .scalar(step.timestep),
                              text: conditional ? texts.0 : texts.1).array
        }, progress: { _ in stamps.mark() })
        let times = stamps.intervals()
        let mean = times.dropFirst().reduce(0, +) / Double(max(1, times.count - 1))
        let prepareS = Double(prepare.components.seconds) + Double(prepare.components.attoseconds) * 1e-18
        if json {
            print("{\"side\": \"wand\", \"threads\": \(backend.threads), \"steps\": \(steps), \"step_s\": \(mean), "
                  + "\"first_step_s\": \(times.first ?? 0), \"text_prepare_s\": \(prepareS), \"latents\": \(Array(final.prefix(8)))}")
        } else {
            print("wand bench step — \(backend.name), dim \(config.dim), \(config.numLayers) layers, \(steps) steps")
            print("text contexts (once per job): \(prepareS) s")
            print("time per step (mean after the first): \(mean) s")
        }
    }
}

final class StepStamps: @unchecked Sendable {
    private let lock = NSLock()
    private var stamps: [Double] = []
    func mark() { lock.withLock { stamps.append(Date().timeIntervalSinceReferenceDate) } }
    func intervals() -> [Double] { lock.withLock { zip(stamps.dropFirst(), stamps).map { $0 - $1 } } }
}
