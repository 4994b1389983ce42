import ArgumentParser
import Foundation
import WandDaemon
import WandEngine
import WandMedia
import WandTensor

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Make one video without the daemon, on the same engine code path as the daemon's jobs.")

    @Option(name: .long, help: "A model folder (official Wan layout or diffusers).") var model: String
    @Option(name: .long, help: "t2v | ti2v | i2v | edit") var mode: String = "t2v"
    @Option(name: .long) var prompt: String
    @Option(name: .long, help: "Default: the official negative prompt (official folders) or none (diffusers folders).") var negativePrompt: String?
    @Option(name: .long, help: "An image for i2v and ti2v.") var image: String?
    @Option(name: .long, help: "The source video for edit.") var video: String?
    @Option(name: .long) var seed: UInt64?
    @Option(name: .long) var steps: Int?
    @Option(name: .long, help: "WIDTHxHEIGHT") var size: String?
    @Option(name: .long) var frames: Int?
    @Option(name: .long) var fps: Int?
    @Option(name: .long, help: "Guidance of the high-noise expert (or the only model).") var guidance: Float?
    @Option(name: .long, help: "Guidance of the low-noise expert.") var guidanceLow: Float?
    @Option(name: .long) var shift: Double?
    @Option(name: .long, help: "unipc | dpm++ | euler") var sampler: String = "unipc"
    @Option(name: .long, help: "edit: how much of the source is re-generated (0...1).") var strength: Double = 0.8
    @Option(name: .long) var out: String
    @Option(name: .long, help: "Also save the final latents (before decoding) as safetensors.") var latentsOut: String?
    @Option(name: .long, help: "Compute threads (default: all cores).") var threads: Int?
    @Option(name: .long, help: "auto (a discrete GPU through Vulkan if there is one, else the CPU) | cpu | vulkan") var device: String = "auto"
    @Option(name: .long, help: "On a Vulkan device: f32, or f16 GEMM and attention operands.") var precision: String = "f32"
    @Option(name: .long, help: "Decode in spatial tiles of this many pixels (e.g. 256) to bound the VAE's memory.") var vaeTile: Int?

    func run() async throws {
        guard let mode = GenerationMode(rawValue: mode), [.t2v, .ti2v, .i2v, .edit].contains(mode) else {
            throw ValidationError("--mode must be t2v, ti2v, i2v or edit")
        }
        guard let sampler = SamplerKind(rawValue: sampler) else { throw ValidationError("--sampler must be unipc, dpm++ or euler") }
        let defaults = GenerateDefaults.official(mode)
        var (width, height) = defaults.size
        if let size {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--size must look like 1280x720") }
            (width, height) = (parts[0], parts[1])
        }
        var request = GenerationRequest(
            mode: mode, modelName: URL(fileURLWithPath: model).lastPathComponent, modelPath: model, prompt: prompt,
            negativePrompt: negativePrompt, seed: seed ?? UInt64.random(in: 0...UInt64(Int64.max)),
            width: width, height: height, frames: frames ?? defaults.frames, fps: fps ?? defaults.fps,
            steps: steps ?? defaults.steps, sampler: sampler, shift: shift,
            guidance: guidance ?? Float(defaults.guidanceHigh), guidanceLow: guidanceLow ?? guidance.map { $0 } ?? Float(defaults.guidanceLow),
            strength: strength)
        if let vaeTile {
            guard (64...4096).contains(vaeTile), vaeTile % 16 == 0 else {
                throw ValidationError("--vae-tile must be a multiple of 16 from 64 to 4096")
            }
            request.vaeTilePixels = vaeTile
        }
        if let image {
            let frame = try ImageDecoder.decode(path: image)
            request.image = RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels)
        }
        if let video {
            let clip = try VideoDecoder.decode(path: video, maxFrames: request.frames)
            request.video = clip.frames.map { RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels) }
        }
        let compute = try EngineDeviceChoice.open(device: device, precision: precision, threads: threads)
        if let note = compute.note { FileHandle.standardError.write(Data("\(note)\n".utf8)) }
        FileHandle.standardError.write(Data("engine: \(compute.description)\n".utf8))
        let memory = compute.memoryBytes.map(Double.init) ?? Double(ProcessInfo.processInfo.physicalMemory)
        let engine = Engine(memoryBudgetBytes: Int(memory * 0.9), threads: threads, device: compute)
        let result = try await engine.generate(request, progress: { p in
            let step = p.totalSteps > 0 ? " \(p.step)/\(p.totalSteps)" : ""
            FileHandle.standardError.write(Data("\(p.stage.rawValue)\(step)\n".utf8))
        }, isCancelled: { false })
        // Labelled like the daemon's outputs: visible label, invisible mark (payload from the seed), tags.
        let jobID = "generate-\(request.seed)"
        let clip = VideoFrames(frames: result.frames.map { RGBFrame(width: $0.width, height: $0.height, pixels: $0.pixels) }, fps: result.fps)
        let written = try VideoPublisher.publish(
            clip, to: out,
            metadata: MP4Metadata(title: URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent, prompt: prompt,
                                  jobID: jobID, model: request.modelName, seed: request.seed, wandVersion: wandVersion),
            options: VideoPublisher.Options(settings: VideoEncoderSettings(fps: result.fps), writeNFO: false, writePoster: false))
        if let payload = written.payloadHex { print("invisible watermark payload \(payload) (job id \(jobID))") }
        if let latentsOut { try writeSafetensors(name: "latents", shape: result.latentShape, values: result.latents, to: latentsOut) }
        if let vk = compute.backend as? VulkanBackend, !vk.kernelProfile.isEmpty {
            // WAND_VULKAN_PROFILE=1: where the device time went.
            for k in vk.kernelProfile {
                FileHandle.standardError.write(Data(String(format: "kernel %@: %d dispatches, %.3f s\n", k.kernel, k.count, k.seconds).utf8))
            }
        }
        let t = result.timings
        print("wrote \(out): \(result.frames.count) frames \(result.width)x\(result.height) @ \(result.fps) fps, seed \(request.seed)")
        print(String(format: "timings: load %.2fs, text %.2fs, inputs %.2fs, denoise %.2fs, decode %.2fs", t.load, t.textEncode, t.inputEncode, t.denoise, t.decode))
    }
}

/// A one-tensor safetensors file (F32).
func writeSafetensors(name: String, shape: [Int], values: [Float], to path: String) throws {
    var header = "{\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[0,\(values.count * 4)]}}"
    while header.utf8.count % 8 != 0 { header += " " }
    var data = Data()
    var length = UInt64(header.utf8.count).littleEndian
    data.append(Data(bytes: &length, count: 8))
    data.append(Data(header.utf8))
    values.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
    try data.write(to: URL(fileURLWithPath: path))
}

/// The official per-mode defaults `wand generate` starts from (shared/reference/wan-architecture.md 3.2).
struct GenerateDefaults {
    var steps: Int, frames: Int, fps: Int, size: (Int, Int), guidanceHigh: Double, guidanceLow: Double
    static func official(_ mode: GenerationMode) -> GenerateDefaults {
        switch mode {
        case .ti2v: return GenerateDefaults(steps: 50, frames: 121, fps: 24, size: (1280, 704), guidanceHigh: 5, guidanceLow: 5)
        case .i2v: return GenerateDefaults(steps: 40, frames: 81, fps: 16, size: (1280, 720), guidanceHigh: 3.5, guidanceLow: 3.5)
        default: return GenerateDefaults(steps: 40, frames: 81, fps: 16, size: (1280, 720), guidanceHigh: 4, guidanceLow: 3)
        }
    }
}
