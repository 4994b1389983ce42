import ArgumentParser
import Foundation
import WandModels
import WandTensor

/// `wand bench vae`: streaming decode time and peak resident memory of a Wan VAE at several latent
/// frame counts. Tools/bench/vae.py runs the official PyTorch VAE with the same weights, sizes and
/// threads and joins both tables (it calls this command with --tsv).
struct BenchVAE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Time the VAE's streaming decode and record peak RSS per latent frame count."
    )

    @Option(help: "VAE weights: official .pth or diffusers/ComfyUI .safetensors.") var weights: String
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(parsing: .upToNextOption, help: "Latent frame counts to decode.") var latentFrames: [Int] = [5, 9, 17]
    @Option(parsing: .upToNextOption, help: "Latent height and width.") var latentSize: [Int] = [8, 8]
    @Option(help: "Seed of the random latents (torch CPU randn stream).") var seed: UInt64 = 0
    @Option(help: "Decode in spatial tiles of this many latent pixels (a quarter overlapping), tile after tile as vae_tiling does; the video comes out whole at the end.") var tile: Int?
    @Flag(help: "Machine-readable lines: frames<TAB>seconds<TAB>median_seconds_per_latent<TAB>peak_rss_bytes.") var tsv = false

    func run() throws {
        guard latentSize.count == 2 else { throw ValidationError("--latent-size takes two numbers: h w") }
        let backend = CPUBackend(threads: threads)
        let vae = try WanVAE(weights: WanVAEWeights.load(path: weights), backend: backend)
        let tiling = tile.map { VAETiling(tileHeight: $0, tileWidth: $0, overlap: Swift.max(1, $0 / 4)) }
        func decode(_ z: Tensor, cacheBytes: ((Int) -> Void)? = nil, emit: (Tensor) throws -> Void) throws {
            // Tiles go through all frames one after another: the video comes out whole, at the end.
            if let tiling { try emit(try vae.decodeTiled(z, tiling: tiling)) }
            else { try vae.decodeStreaming(z, cacheBytes: cacheBytes, emit: emit) }
        }
        var rows: [(Int, Double, Double, Int, Int)] = []
        // Warm-up: faults the mapped weights in and starts OpenBLAS's threads, as torch's first call does.
        try decode(Tensor(zeros: [vae.config.zDim, 2, latentSize[0], latentSize[1]])) { _ in }
        for frames in latentFrames {
            var g = TorchCPUGenerator(seed: seed)
            let z = g.randn([vae.config.zDim, frames, latentSize[0], latentSize[1]])
            resetPeakRSS()
            var maxCache = 0, produced = 0
            var perFrame: [Double] = []
            let clock = ContinuousClock()
            let start = clock.now
            var last = start
            // Pieces are dropped as they come, as a video writer consuming them would.
            try decode(z, cacheBytes: { maxCache = max(maxCache, $0) }) { piece in
                let now = clock.now
                if produced > 0 { perFrame.append(seconds(now - last)) }
                last = now
                produced += piece.shape[1]
            }
            let s = seconds(clock.now - start)
            perFrame.sort()
            rows.append((frames, s, perFrame.isEmpty ? .nan : perFrame[perFrame.count / 2], peakRSS(), maxCache))
            precondition(produced == vae.config.decoderTemporalFactor * (frames - 1) + 1)
        }
        if tsv {
            for (f, s, median, rss, _) in rows { print("\(f)\t\(s)\t\(median)\t\(rss)") }
            return
        }
        print("wand bench vae — Wan\(vae.version.rawValue) VAE, \(backend.name), latent \(latentSize[0])x\(latentSize[1])"
              + (tiling.map { ", tiles \($0.tileHeight) overlap \($0.overlap)" } ?? ""))
        print("latent_frames  video_frames  seconds   median_s/latent  peak_rss_MiB  cache_MiB")
        for (f, s, median, rss, cache) in rows {
            print("\(f)\t\t\(4 * (f - 1) + 1)\t\t\(String(format: "%.3f", s))\t\(String(format: "%.3f", median))\t\t\(String(format: "%.1f", Double(rss) / 1048576))\t\t\(String(format: "%.2f", Double(cache) / 1048576))")
        }
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// Linux: writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS.
func resetPeakRSS() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// VmHWM of /proc/self/status in bytes (0 where it cannot be read).
func peakRSS() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
