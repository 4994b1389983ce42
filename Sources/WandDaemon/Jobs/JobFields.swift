import WandEngine

// The keys of a job file (and of an inbox's `defaults:`), read with their positions but not yet
// combined with defaults. See JobResolver for what happens next.

struct JobFields {
    var document: YAMLMark
    /// Keys present in the document, valid or not (so a bad value is not also reported as missing).
    var presentKeys: Set<String> = []
    var version: Located<Int>?
    var mode: Located<Mode>?
    var model: Located<String>?
    var prompt: Located<String>?
    var negativePrompt: Located<String>?
    var seed: Located<Int>?
    var seeds: Located<[Located<Int>]>?
    var size: Located<VideoSize>?
    var frames: Located<Int>?
    var fps: Located<Int>?
    var steps: Located<Int>?
    var sampler: Located<Sampler>?
    var shift: Located<Double>?
    var guidance: Located<Guidance>?
    var image: Located<String>?
    var audio: Located<String>?
    var video: Located<String>?
    var clips: Located<Int>?
    var strength: Located<Double>?
    var priority: Located<Int>?
    var outputName: Located<String>?
    var codec: Located<VideoCodec>?
    var crf: Located<Int>?
    var tags: Located<[String]>?
    /// animate: the preprocessed driving videos, animate or replace, and the frames carried over
    /// between segments (`video` is accepted for the pose video); s2v: an optional pose video.
    var poseVideo: Located<String>?
    var faceVideo: Located<String>?
    var backgroundVideo: Located<String>?
    var maskVideo: Located<String>?
    var animateMode: Located<AnimateMode>?
    var refertNum: Located<Int>?
    var loras: Located<[LoRAField]>?
    var recipe: Located<String>?

    init(document: YAMLMark) { self.document = document }

    static let animateKeys = ["pose_video", "face_video", "background_video", "mask_video", "animate_mode", "refert_num"]
    static let jobKeys = ["wand", "mode", "model", "prompt", "negative_prompt", "seed", "seeds", "size",
                          "frames", "fps", "steps", "sampler", "shift", "guidance", "image", "audio", "video",
                          "clips", "strength", "priority", "output", "tags", "loras", "recipe"] + animateKeys
    static let defaultsKeys = ["model", "negative_prompt", "size", "frames", "fps", "steps", "sampler", "shift",
                               "guidance", "strength", "priority", "output", "tags", "recipe"]

    /// Reads a job document (`forDefaults: false`) or an inbox's (or a model card's) `defaults:`
    /// mapping; `context` names it in messages.
    static func read(_ node: YAMLNode, forDefaults: Bool, reader r: inout SchemaReader,
                     context: String? = nil) -> JobFields {
        var f = JobFields(document: node.mark)
        let keys = r.mapping(node, allowed: forDefaults ? defaultsKeys : jobKeys,
                             context: context ?? (forDefaults ? "inbox defaults" : "job"))
        for (key, pair) in keys {
            let v = pair.value
            f.presentKeys.insert(key)
            switch key {
            case "wand": f.version = r.int(v, key: "wand", range: Int.min...Int.max)
            case "mode": f.mode = r.choice(v, key: "mode", as: Mode.self)
            case "model": f.model = r.string(v, key: "model")
            case "prompt": f.prompt = r.string(v, key: "prompt")
            case "negative_prompt":
                f.negativePrompt = v.isNull ? Located(value: "", mark: v.mark) : r.string(v, key: "negative_prompt")
            case "seed": f.seed = r.int(v, key: "seed", range: 0...Int.max)
            case "seeds":
                if let items = v.sequence {
                    let seeds = items.compactMap { r.int($0, key: "each seed", range: 0...Int.max) }
                    if items.isEmpty { r.error("seeds must list at least one seed", at: v.mark) }
                    f.seeds = Located(value: seeds, mark: v.mark)
                } else {
                    r.error("seeds must be a list of integers (got \(v.kindName))", at: v.mark)
                }
            case "size": f.size = readSize(v, reader: &r)
            case "frames":
                if let n = r.int(v, key: "frames", range: 1...1601) {
                    if (n.value - 1) % 4 != 0 {
                        let suggestion = (n.value + 1) / 4 * 4 + 1
                        r.error("frames must be 4n+1 (got \(n.value); try \(suggestion))", at: v.mark)
                    } else {
                        f.frames = n
                    }
                }
            case "fps": f.fps = r.int(v, key: "fps", range: 1...120)
            case "steps": f.steps = r.int(v, key: "steps", range: 1...1000)
            case "sampler": f.sampler = r.choice(v, key: "sampler", as: Sampler.self)
            case "shift": f.shift = r.double(v, key: "shift", range: 0...100)
            case "guidance": f.guidance = readGuidance(v, reader: &r)
            case "image": f.image = r.string(v, key: "image")
            case "audio": f.audio = r.string(v, key: "audio")
            case "video": f.video = r.string(v, key: "video")
            case "clips": f.clips = r.int(v, key: "clips", range: 1...S2VLimits.maxClips)
            case "strength": f.strength = r.double(v, key: "strength", range: 0...1)
            case "priority": f.priority = r.int(v, key: "priority", range: -1000...1000)
            case "tags": f.tags = r.stringList(v, key: "tags")
            case "pose_video": f.poseVideo = r.string(v, key: "pose_video")
            case "face_video": f.faceVideo = r.string(v, key: "face_video")
            case "background_video": f.backgroundVideo = r.string(v, key: "background_video")
            case "mask_video": f.maskVideo = r.string(v, key: "mask_video")
            case "animate_mode": f.animateMode = r.choice(v, key: "animate_mode", as: AnimateMode.self)
            case "refert_num":
                if let n = r.int(v, key: "refert_num", range: 1...5) {
                    if n.value == 1 || n.value == 5 { f.refertNum = n } else {
                        r.error("refert_num must be 1 or 5 (the frames a segment takes from the one before; got \(n.value))", at: v.mark)
                    }
                }
            case "loras": f.loras = LoRAField.readList(v, reader: &r)
            case "recipe": f.recipe = LoRAField.readRecipe(v, reader: &r)
            case "output":
                let outKeys = r.mapping(v, allowed: forDefaults ? ["codec", "crf"] : ["name", "codec", "crf"],
                                        context: "output")
                if let n = outKeys["name"] { f.outputName = readOutputName(n.value, reader: &r) }
                if let c = outKeys["codec"] { f.codec = r.choice(c.value, key: "codec", as: VideoCodec.self) }
                if let c = outKeys["crf"] { f.crf = r.int(c.value, key: "crf", range: 0...51) }
            default: break
            }
        }
        return f
    }

    static func readSize(_ node: YAMLNode, reader r: inout SchemaReader) -> Located<VideoSize>? {
        if let s = node.string {
            let parts = s.split(separator: "x", omittingEmptySubsequences: false)
            if parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 {
                return Located(value: VideoSize(width: w, height: h), mark: node.mark)
            }
        }
        r.error("size must be WIDTHxHEIGHT like 1280x720 (got \(node.string.map { "'\($0)'" } ?? node.kindName))", at: node.mark)
        return nil
    }

    static func readGuidance(_ node: YAMLNode, reader r: inout SchemaReader) -> Located<Guidance>? {
        if node.mapping != nil {
            let keys = r.mapping(node, allowed: ["high", "low"], context: "guidance")
            let high = keys["high"].flatMap { r.double($0.value, key: "guidance.high", range: 0...50) }
            let low = keys["low"].flatMap { r.double($0.value, key: "guidance.low", range: 0...50) }
            if keys["high"] == nil || keys["low"] == nil {
                r.error("guidance needs both high and low (or one number)", at: node.mark)
                return nil
            }
            guard let h = high, let l = low else { return nil }
            return Located(value: .split(high: h.value, low: l.value), mark: node.mark)
        }
        guard let g = r.double(node, key: "guidance", range: 0...50) else { return nil }
        return Located(value: .single(g.value), mark: node.mark)
    }

    static func readOutputName(_ node: YAMLNode, reader r: inout SchemaReader) -> Located<String>? {
        guard let name = r.string(node, key: "output.name") else { return nil }
        if name.value.isEmpty || name.value.contains("/") || name.value.hasPrefix(".") || name.value.contains("\0") {
            r.error("output.name must be a plain file name without '/' or a leading '.' (got '\(name.value)')", at: node.mark)
            return nil
        }
        return name
    }

    /// The inbox-defaults subset as the public JobDefaults.
    var asDefaults: JobDefaults {
        var d = JobDefaults()
        d.model = model?.value; d.negativePrompt = negativePrompt?.value; d.size = size?.value
        d.frames = frames?.value; d.fps = fps?.value; d.steps = steps?.value; d.sampler = sampler?.value
        d.shift = shift?.value; d.guidance = guidance?.value; d.strength = strength?.value
        d.priority = priority?.value; d.codec = codec?.value; d.crf = crf?.value; d.tags = tags?.value
        d.recipe = recipe?.value
        return d
    }
}
