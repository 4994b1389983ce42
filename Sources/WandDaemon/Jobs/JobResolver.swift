import Foundation

/// Combines a job's own keys with the inbox's `defaults:`, the config and the model's official
/// defaults, checks what only makes sense together (size vs model, inputs vs mode), confines
/// input paths, and expands `seeds:`.
struct JobResolver {
    let config: DaemonConfig
    let inbox: InboxConfig?
    /// The job file (or bare drop) as shown in diagnostics, and its folder on disk.
    let displayFile: String
    let jobFolder: URL

    func resolve(_ f: JobFields, document: Int, defaultName: String, reader r: inout SchemaReader,
                 requireVersion: Bool = true) -> [JobSpec] {
        let at = f.document
        let errorsBefore = r.diagnostics.filter { $0.severity == .error }.count
        if requireVersion {
            if let v = f.version {
                if v.value != 1 { r.error("unsupported job schema version \(v.value) (this wand reads wand: 1)", at: v.mark) }
            } else if !f.presentKeys.contains("wand") {
                r.error("missing 'wand: 1' (the job file schema version)", at: at)
            }
        }
        let inboxDefaults = inbox?.defaults ?? JobDefaults()
        var mode = f.mode?.value
        if mode == nil, case .fixed(let fixed)? = inbox?.mode { mode = fixed }
        guard let mode else {
            if !f.presentKeys.contains("mode") { r.error("missing 'mode' (one of \(Mode.allCases.map(\.rawValue).joined(separator: ", ")))", at: at) }
            return []
        }
        if case .fixed(let fixed)? = inbox?.mode, let m = f.mode, m.value != fixed {
            r.error("mode \(m.value.rawValue) in an inbox fixed to \(fixed.rawValue)", at: m.mark)
        }

        // The model and its family.
        let modelName = f.model?.value ?? inboxDefaults.model ?? config.defaultModels[mode] ?? ""
        let modelMark = f.model?.mark ?? f.mode?.mark ?? at
        let known = Set(config.models.keys).union(ModelKind.allCases.map(\.rawValue)).sorted()
        guard let kind = config.models[modelName]?.kind ?? ModelKind(rawValue: modelName) else {
            r.error("unknown model '\(modelName)'\(DidYouMean.hint(modelName, among: known))", at: modelMark)
            return []
        }
        var official = ModelDefaults.of(kind)
        if let sizes = config.models[modelName]?.sizes, !sizes.isEmpty { official.sizes = sizes }
        // The model folder's card (its own sizes and defaults) sits under the inbox's defaults. A
        // recipe (job, inbox, card or model entry) fixes the sampling: the card's steps, shift,
        // guidance and sampler then give way to it, as the family's do.
        var card = config.models[modelName]?.defaults ?? JobDefaults()
        var defaults = inboxDefaults
        if defaults.recipe == nil { defaults.recipe = card.recipe }
        let recipe = Self.applyRecipe(job: f.recipe?.value, defaults: &defaults, model: config.models[modelName], official: &official)
        if recipe != nil { card.steps = nil; card.shift = nil; card.guidance = nil; card.sampler = nil }
        defaults = defaults.overlaid(on: card)
        if !official.modes.contains(mode) {
            let runs = Mode.allCases.filter { official.modes.contains($0) }.map(\.rawValue).joined(separator: ", ")
            r.error("model \(modelName) cannot run mode \(mode.rawValue) (it runs \(runs))", at: modelMark)
        }

        // Prompt and inputs per mode.
        let prompt = f.prompt?.value ?? ""
        if (mode == .t2v || mode == .edit) && prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            r.error("mode \(mode.rawValue) needs a prompt", at: f.prompt?.mark ?? at)
        }
        let needs: [Mode: (required: [String], optional: [String])] = [
            .t2v: ([], []), .i2v: (["image"], []), .ti2v: ([], ["image"]), .s2v: (["image", "audio"], ["pose_video"]),
            .animate: (["image"], ["video"]), .edit: (["video"], []),
        ]
        let rule = needs[mode]!
        let confinement = InputConfinement(jobFolder: jobFolder, inputRoots: config.inputRoots)
        func input(_ key: String, _ value: Located<String>?) -> URL? {
            guard let value else {
                if rule.required.contains(key) { r.error("mode \(mode.rawValue) needs \(key == "video" ? "a" : "an") \(key) file", at: at) }
                return nil
            }
            guard rule.required.contains(key) || rule.optional.contains(key) else {
                r.error("\(key) is not used by mode \(mode.rawValue)", at: value.mark)
                return nil
            }
            return confined(key, value)
        }
        func confined(_ key: String, _ value: Located<String>) -> URL? {
            switch confinement.resolve(value.value) {
            case .success(let url): return url
            case .failure(.escapes):
                r.error("\(key) path '\(value.value)' leaves the job's folder and the input roots", at: value.mark)
            case .failure(.symlinkEscapes):
                r.error("\(key) path '\(value.value)' is a symlink leading outside the job's folder and the input roots", at: value.mark)
            case .failure(.missing):
                r.error("\(key) file '\(value.value)' not found", at: value.mark)
            case .failure(.notAFile):
                r.error("\(key) path '\(value.value)' is not a regular file", at: value.mark)
            }
            return nil
        }
        let image = input("image", f.image), audio = input("audio", f.audio)
        var video = input("video", f.video)
        // pose_video: optional for s2v here; animate's driving videos are read by animateInputs.
        let poseVideo = mode == .s2v ? input("pose_video", f.poseVideo) : nil
        if let clips = f.clips, mode != .s2v { r.error("clips is only used by mode s2v", at: clips.mark) }
        func fail(_ message: String, _ mark: YAMLMark) { r.error(message, at: mark) }
        let animate = animateInputs(f, mode: mode, at: at, fail: fail, confined: confined)
        if mode == .animate { video = video ?? animate.pose }
        let loras = (config.models[modelName]?.loras ?? [])
            + LoRAField.resolve(f.loras?.value ?? [], jobFolder: jobFolder, config: config, reader: &r)

        let size = f.size?.value ?? defaults.size ?? official.sizes[0]
        if !official.sizes.contains(size) {
            let from = f.size != nil ? "" : inboxDefaults.size != nil ? " (from the inbox defaults)" : " (from the model's card)"
            r.error("size \(size) is not supported by \(modelName)\(from) (supported: \(official.sizes.map(\.description).joined(separator: ", ")))",
                    at: f.size?.mark ?? modelMark)
        }
        let guidance = f.guidance?.value ?? defaults.guidance ?? official.guidance
        if case .split = guidance, kind != .t2vA14B, kind != .i2vA14B {
            r.error("guidance {high, low} needs a two-expert model (\(modelName) has one expert; give one number)",
                    at: f.guidance?.mark ?? modelMark)
        }
        var strength = f.strength?.value ?? (mode == .edit ? defaults.strength : nil)
        if mode == .edit {
            strength = strength ?? ModelDefaults.editStrength
        } else if let s = f.strength {
            r.error("strength is only used by mode edit", at: s.mark)
        }
        if let s = f.seed, let ss = f.seeds {
            r.error("give either seed or seeds, not both", at: s.mark.line > ss.mark.line ? s.mark : ss.mark)
        }

        if kind != .t2vA14B, kind != .i2vA14B, let l = f.loras, l.value.contains(where: { $0.expert != .both }) {
            r.error("expert high/low needs a two-expert model (\(modelName) has one DiT; use expert: both or leave it out)", at: l.mark)
        }
        if mode == .s2v {
            // Nothing is merged into the S2V DiT and no few-step S2V model exists (the engine refuses both too).
            if !loras.isEmpty {
                r.error("loras are not supported by mode s2v yet" + (f.loras == nil ? " (from the model entry \(modelName))" : ""),
                        at: f.loras?.mark ?? modelMark)
            }
            if let recipe {
                r.error("recipe \(recipe) is not made for mode s2v" + (f.recipe == nil ? " (from the inbox defaults or the model entry)" : ""),
                        at: f.recipe?.mark ?? modelMark)
            }
        }
        let errorsAfter = r.diagnostics.filter { $0.severity == .error }.count
        guard errorsAfter == errorsBefore else { return [] }

        let name = f.outputName?.value ?? defaultName
        let location = SourceLocation(file: displayFile, line: at.line, column: at.column, document: document)
        var base = JobSpec(
            mode: mode, model: modelName, modelKind: kind, prompt: prompt,
            negativePrompt: f.negativePrompt?.value ?? defaults.negativePrompt,
            seed: f.seed.map { UInt64($0.value) }, size: size,
            frames: f.frames?.value ?? defaults.frames ?? official.frames,
            fps: f.fps?.value ?? defaults.fps ?? official.fps,
            steps: f.steps?.value ?? defaults.steps ?? official.steps,
            sampler: f.sampler?.value ?? defaults.sampler ?? official.sampler,
            shift: f.shift?.value ?? defaults.shift ?? official.shift,
            guidance: guidance, image: image, audio: audio, video: video, strength: strength,
            priority: (f.priority?.value ?? defaults.priority ?? 0) + (inbox?.priority ?? 0),
            output: OutputSpec(name: name, codec: f.codec?.value ?? defaults.codec ?? config.output.codec,
                               crf: f.crf?.value ?? defaults.crf ?? config.output.crf),
            tags: f.tags?.value ?? defaults.tags ?? [], source: location)
        if mode == .animate {
            base.faceVideo = animate.face; base.backgroundVideo = animate.background; base.maskVideo = animate.mask
            base.animateMode = f.animateMode?.value ?? .animate
            base.refertNum = f.refertNum?.value ?? 1
        }
        base.poseVideo = poseVideo
        base.clips = f.clips?.value
        base.loras = loras.isEmpty ? nil : loras
        base.recipe = recipe
        guard let seeds = f.seeds?.value, !seeds.isEmpty else { return [base] }
        return seeds.map { seed in
            var job = base
            job.seed = UInt64(seed.value)
            job.output.name = "\(name)-seed\(seed.value)"
            return job
        }
    }
}
