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
    @Option(name: .long, help: "t2v | ti2v | i2v | edit | s2v | animate (default: s2v with --audio or on an S2V model; animate with --pose-video; edit with --video; with --image, i2v on an I2V model, else ti2v; else t2v)") var mode: String?
    @Option(name: .long) var prompt: String
    @Option(name: .long, help: "Default: the official negative prompt (official folders) or none (diffusers folders).") var negativePrompt: String?
    @Option(name: .long, help: "i2v and ti2v: the first frame; s2v: the reference; animate: the character.") var image: String?
    @Option(name: .long, help: "The source video for edit.") var video: String?
    @Option(name: .long) var seed: UInt64?
    @Option(name: .long) var steps: Int?
    @Option(name: .long, help: "WIDTHxHEIGHT (default: the model's first size)") var size: String?
    @Option(name: .long) var frames: Int?
    @Option(name: .long) var fps: Int?
    @Option(name: .long, help: "Guidance of the high-noise expert (or the only model).") var guidance: Float?
    @Option(name: .long, help: "Guidance of the low-noise expert.") var guidanceLow: Float?
    @Option(name: .long) var shift: Double?
    @Option(name: .long, help: "unipc | dpm++ | euler | dmd (default: the recipe's, else the model's, else unipc)") var sampler: String?
    @Option(name: .long, help: "edit: how much of the source is re-generated (0...1; default 0.8).") var strength: Double?
    @Option(name: .long) var out: String
    @Option(name: .long, help: "Also save the final latents (before decoding) as safetensors.") var latentsOut: String?
    @Option(name: .long, help: "Compute threads (default: all cores).") var threads: Int?
    @Option(name: .long, help: "auto (a discrete GPU through Vulkan if there is one, else the CPU) | cpu | vulkan") var device: String = "auto"
    @Option(name: .long, help: "On a Vulkan device: f32, or f16 GEMM and attention operands.") var precision: String = "f32"
    @Option(name: .long, help: "Decode in spatial tiles of this many pixels (e.g. 256) to bound the VAE's memory.") var vaeTile: Int?
    @Option(name: .long, help: "s2v: the speech (WAV, MP3, FLAC, M4A...); --image is the reference, the audio goes into the MP4.") var audio: String?
    @Option(name: .long, help: "s2v: at most this many 5-second clips (1...720, default 12).") var clips: Int?
    @Option(name: .long, help: "animate: the preprocessed pose video (src_pose.mp4), --image is the character; s2v: an optional pose sequence.") var poseVideo: String?
    @Option(name: .long, help: "animate: the 512x512 face crops (src_face.mp4).") var faceVideo: String?
    @Option(name: .long, help: "animate replace: the background video (src_bg.mp4).") var backgroundVideo: String?
    @Option(name: .long, help: "animate replace: the character mask video (src_mask.mp4).") var maskVideo: String?
    @Option(name: .long, help: "animate | replace (default: replace when --background-video is given).") var animateMode: String?
    @Option(name: .long, help: "animate: frames a segment takes from the previous one, 1 or 5 (default 1).") var refertNum: Int = 1
    @Option(name: .long, help: "Merge a LoRA: PATH[:STRENGTH[:high|low|both]] (repeatable).") var lora: [String] = []
    @Option(name: .long, help: "A few-step recipe (lightning-4step | fastwan-3step): its steps, shift, guidance, sampler and schedule where not given.") var recipe: String?

    func run() async throws {
        let card: ModelCard
        do { card = try ModelCard.read(folder: URL(fileURLWithPath: model)) } catch {
            throw ValidationError("\(error)")
        }
        let mode = try chosenMode(card.kind)
        let defaults = GenerateDefaults.resolve(card: card, mode: mode)
        let samplerName = sampler ?? defaults.sampler.rawValue
        guard let samplerKind = SamplerKind(rawValue: samplerName) else { throw ValidationError("--sampler must be unipc, dpm++, euler or dmd") }
        var (width, height) = (defaults.size.width, defaults.size.height)
        if let size {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--size must look like 1280x720") }
            (width, height) = (parts[0], parts[1])
        }
        let recipeNote = recipe.map { "; --recipe \($0) sets the steps, shift, guidance and sampler left out" } ?? ""
        FileHandle.standardError.write(Data("\(defaults.summary)\(recipeNote)\n".utf8))
        var request = GenerationRequest(
            mode: mode, modelName: URL(fileURLWithPath: model).lastPathComponent, modelPath: model, prompt: prompt,
            negativePrompt: negativePrompt ?? defaults.negativePrompt, seed: seed ?? UInt64.random(in: 0...UInt64(Int64.max)),
            width: width, height: height, frames: frames ?? defaults.frames, fps: fps ?? defaults.fps,
            steps: steps ?? defaults.steps, sampler: samplerKind, shift: shift ?? defaults.shift,
            guidance: guidance ?? Float(defaults.guidance.high), guidanceLow: guidanceLow ?? guidance ?? Float(defaults.guidance.low),
            strength: strength ?? defaults.strength)
        request.loras = try lora.map(LoRAOptions.parse)
        if let recipe = try LoRAOptions.recipe(recipe) {
            LoRAOptions.apply(recipe, to: &request, steps: steps, shift: shift, guidance: guidance, guidanceLow: guidanceLow, sampler: self.sampler)
        }
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
        var warnings: [String] = []
        if mode == .s2v {
            guard let audio else { throw ValidationError("s2v needs --audio (and --image, the reference)") }
            guard request.image != nil else { throw ValidationError("s2v needs --image, the reference picture") }
            if let clips, !(1...S2VLimits.maxClips).contains(clips) {
                throw ValidationError("--clips must be from 1 to \(S2VLimits.maxClips)")
            }
            warnings = try S2VInputs.prepare(audio: URL(fileURLWithPath: audio), pose: poseVideo.map { URL(fileURLWithPath: $0) },
                                             clips: clips, size: VideoSize(width: width, height: height), into: &request)
        } else if mode == .animate {
            request.animate = try animateInputs()
        } else if let video {
            let clip = try VideoDecoder.decode(path: video, maxFrames: request.frames)
            request.video = clip.frames.map { RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels) }
        }
        let compute = try EngineDeviceChoice.open(device: device, precision: precision, threads: threads)
        if let note = compute.note { FileHandle.standardError.write(Data("\(note)\n".utf8)) }
        FileHandle.standardError.write(Data("engine: \(compute.description)\n".utf8))
        let memory = compute.memoryBytes.map(Double.init) ?? Double(ProcessInfo.processInfo.physicalMemory)
        let engine = Engine(memoryBudgetBytes: Int(memory * 0.9), threads: threads, device: compute)
        let meter = ProgressMeter()
        let result = try await engine.generate(request, progress: { meter.report($0) }, isCancelled: { false })
        meter.finish()
        for w in warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        // Labelled like the daemon's outputs: visible label, invisible mark (payload from the seed), tags.
        let jobID = "generate-\(request.seed)"
        let clip = VideoFrames(frames: result.frames.map { RGBFrame(width: $0.width, height: $0.height, pixels: $0.pixels) }, fps: result.fps)
        let track = try (mode == .s2v ? audio : nil).map { try S2VInputs.muxTrack(audio: URL(fileURLWithPath: $0), frames: clip.frames.count, fps: clip.fps) }
        let written = try VideoPublisher.publish(
            clip, to: out,
            metadata: MP4Metadata(title: URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent, prompt: prompt,
                                  jobID: jobID, model: request.modelName, seed: request.seed, wandVersion: wandVersion),
            audio: track, options: VideoPublisher.Options(settings: VideoEncoderSettings(fps: result.fps), writeNFO: false, writePoster: false))
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
        for l in result.loras { print("lora \(l.path) strength \(l.strength) expert \(l.expert.rawValue): \(l.mergedTensors) tensors merged, sha256 \(l.sha256)") }
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

/// What `wand generate` fills in for options left out: the model folder's card and detected family
/// (ModelCard), the same sources the daemon uses; a folder whose family cannot be told gets the
/// official defaults of the family that usually runs the mode.
struct GenerateDefaults {
    var size: VideoSize, frames: Int, fps: Int, steps: Int, sampler: Sampler, shift: Double?
    var guidance: Guidance, strength: Double, negativePrompt: String?
    var summary: String

    static func resolve(card: ModelCard, mode: GenerationMode) -> GenerateDefaults {
        let kind = card.kind ?? {
            switch mode {
            case .ti2v: return .ti2v5B
            case .i2v: return .i2vA14B
            case .s2v: return .s2v14B
            case .animate: return .animate14B
            case .t2v, .edit: return .t2vA14B
            }
        }()
        let family = ModelDefaults.of(kind)
        let d = card.defaults
        var g = GenerateDefaults(
            size: d.size ?? card.sizes?.first ?? family.sizes[0], frames: d.frames ?? family.frames,
            fps: d.fps ?? family.fps, steps: d.steps ?? family.steps, sampler: d.sampler ?? family.sampler,
            // nil: the folder's scheduler_config.json shift, else the family's (the engine decides).
            shift: d.shift, guidance: d.guidance ?? family.guidance,
            strength: d.strength ?? ModelDefaults.editStrength, negativePrompt: d.negativePrompt, summary: "")
        let source = card.kindSource.map { $0 == "its configs" ? "read from its configs" : "from \($0)" }
            ?? "not told by the folder; the official \(kind.rawValue) defaults"
        let guidanceText: String
        switch g.guidance {
        case .single(let v): guidanceText = "guidance \(v)"
        case .split(let h, let l): guidanceText = "guidance \(h)/\(l)"
        }
        g.summary = "model \(kind.rawValue) (\(source)): \(g.size), \(g.frames) frames at \(g.fps) fps, "
            + "\(g.steps) steps, \(g.sampler.rawValue), \(guidanceText)\(g.shift.map { ", shift \($0)" } ?? "") unless given"
        return g
    }
}

extension GenerateCommand {
    /// --mode, or what the inputs and the model's family imply.
    func chosenMode(_ kind: ModelKind?) throws -> GenerationMode {
        if let mode {
            guard let m = GenerationMode(rawValue: mode) else {
                throw ValidationError("--mode must be t2v, ti2v, i2v, edit, s2v or animate")
            }
            return m
        }
        if audio != nil || kind == .s2v14B { return .s2v }
        if poseVideo != nil { return .animate }
        if video != nil { return .edit }
        if image != nil { return kind == .i2vA14B ? .i2v : .ti2v }
        return kind == .i2vA14B ? .i2v : .t2v
    }
}

/// Progress on stderr: one line rewritten in place on a terminal, a line per report elsewhere
/// (a log, a pipe), each with the pace and the time left once two steps are in.
final class ProgressMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var pace = StepPace()
    private let tty = isatty(STDERR_FILENO) != 0
    private var lastLength = 0
    private let start = ProcessInfo.processInfo.systemUptime

    func report(_ p: GenerationProgress) {
        lock.lock(); defer { lock.unlock() }
        pace.update(p, now: ProcessInfo.processInfo.systemUptime)
        let line = StepPace.describe(p, pace)
        if tty {
            let pad = String(repeating: " ", count: max(0, lastLength - line.count))
            FileHandle.standardError.write(Data("\r\(line)\(pad)".utf8))
            lastLength = line.count
        } else {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        let total = StepPace.clock(ProcessInfo.processInfo.systemUptime - start)
        FileHandle.standardError.write(Data("\(tty ? "\r" : "")done in \(total)\(String(repeating: " ", count: max(0, lastLength - 12)))\n".utf8))
    }
}

extension GenerateCommand {
    /// The driving videos of --mode animate, every frame decoded.
    func animateInputs() throws -> AnimateInputs {
        func frames(_ path: String?, _ option: String) throws -> [RGBImage] {
            guard let path else {
                throw ValidationError("--mode animate needs \(option) (made by the official preprocessing; see the README's Animate section)")
            }
            return try VideoDecoder.decode(path: path).frames.map { RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels) }
        }
        let kind = try animateMode.map { name -> AnimateMode in
            guard let k = AnimateMode(rawValue: name) else { throw ValidationError("--animate-mode must be animate or replace") }
            return k
        } ?? (backgroundVideo != nil ? .replace : .animate)
        guard image != nil else { throw ValidationError("--mode animate needs --image (the character)") }
        return AnimateInputs(mode: kind, pose: try frames(poseVideo ?? video, "--pose-video"), face: try frames(faceVideo, "--face-video"),
                             background: kind == .replace ? try frames(backgroundVideo, "--background-video") : nil,
                             mask: kind == .replace ? try frames(maskVideo, "--mask-video") : nil, refertNum: refertNum)
    }
}
