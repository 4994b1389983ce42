import ArgumentParser
import Glibc
import WandModels
import WandTensor

/// `wand bench dit DIR`: one DiT forward on the folder Tools/bench/dit.py prepares (diffusers
/// layout, f32, mapped), timed like the PyTorch side: load, a warm-up, the best of N.
struct BenchDiT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dit",
        abstract: "Time one Wan DiT forward and report peak memory (compare: Tools/bench/dit.py)."
    )

    @Argument(help: "Folder written by `Tools/bench/dit.py prepare` (transformer/ + io.safetensors).")
    var dir: String
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "cpu | vulkan | auto (see wand generate --device).") var device = "cpu"
    @Option(help: "On a Vulkan device: f32 | f16.") var precision = "f32"
    @Option(help: "Timed repetitions; the best is reported.") var repeats = 2
    @Flag(help: "One JSON line, for Tools/bench/dit.py all.") var json = false

    func run() throws {
        let compute = try EngineDeviceChoice.open(device: device, precision: precision, threads: threads)
        let backend = compute.backend
        let transformer = dir + "/transformer/"
        var config = try WanDiTConfig(configFile: transformer + "config.json")
        config.textLen = 512
        let weightsPath = transformer + "diffusion_pytorch_model.safetensors"
        let file = try SafetensorsFile(path: weightsPath)
        let model = try WanDiT(config: config, weights: file.weights, path: weightsPath, backend: backend)
        let io = try SafetensorsFile(path: dir + "/io.safetensors")
        func load(_ name: String) throws -> Tensor {
            let t = try io.tensor(name)
            return try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: t.bytes.baseAddress!, owner: t.file).toTensor()
        }
        let x = try load("x"), context = try load("context"), expected = try load("out")
        let t = Double(try load("t").array[0])

        // Like for like with diffusers: the text MLP and cross-attention K/V are part of each forward.
        // A device backend queues its work: the clock stops when it has run.
        func full() throws -> Tensor {
            let out = try model.forward(latent: x, timesteps: .scalar(t), text: try model.prepareText(context))
            try backend.synchronize()
            return out
        }
        let clock = ContinuousClock()
        let warm = try clock.measure { _ = try full() }   // on a device: uploads the weights too
        var best = Double.infinity, bestStep = Double.infinity
        var out = Tensor(zeros: [1])
        for _ in 0..<max(1, repeats) {
            let d = try clock.measure { out = try full() }
            best = min(best, seconds(d))
        }
        // Steady state inside a sampling loop: the text context is prepared once per job.
        let text = try model.prepareText(context)
        for _ in 0..<max(1, repeats) {
            let d = try clock.measure {
                _ = try model.forward(latent: x, timesteps: .scalar(t), text: text)
                try backend.synchronize()
            }
            bestStep = min(bestStep, seconds(d))
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let rssMB = Double(usage.ru_maxrss) / 1024
        let rel = relativeError(out, expected)
        if json {
            print("{\"side\": \"wand\", \"device\": \"\(compute.description)\", \"forward_s\": \(best), "
                  + "\"forward_cached_text_s\": \(bestStep), \"first_forward_s\": \(seconds(warm)), "
                  + "\"peak_rss_mb\": \(rssMB), \"rel_err\": \(rel)}")
        } else {
            print("wand bench dit — \(backend.name), dim \(config.dim), \(config.numLayers) layers, "
                  + "\(x.shape[1] * x.shape[2] / 2 * x.shape[3] / 2) tokens, best of \(repeats)")
            print("forward (with text MLP + cross K/V): \(best) s")
            print("forward (text context cached):       \(bestStep) s")
            print("peak RSS: \(rssMB) MB; relative error vs PyTorch output: \(rel)")
        }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        let x = a.array, y = b.array
        guard x.count == y.count else { return .infinity }
        var num = 0.0, den = 0.0
        for i in 0..<x.count {
            num += Double(x[i] - y[i]) * Double(x[i] - y[i])
            den += Double(y[i]) * Double(y[i])
        }
        return (num / max(den, 1e-300)).squareRoot()
    }
}
