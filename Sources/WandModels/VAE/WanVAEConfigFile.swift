/// A diffusers `AutoencoderKLWan` config.json: the structure and the latent statistics. Every
/// field of `AutoencoderKLWan.__init__` (diffusers 0.42) is read with its default when absent;
/// a value Wand cannot honour, or that diffusers itself could not build or run, is refused with
/// the field, the value and the file. Keys starting with `_` are metadata; any other unknown key
/// is refused, since what it would change is unknown.
public struct WanVAEConfigFile: Sendable, Equatable {
    public var config: WanVAEConfig
    public var latentsMean: [Float]
    public var latentsStd: [Float]

    public static let knownFields: Set<String> = [
        "base_dim", "decoder_base_dim", "z_dim", "dim_mult", "num_res_blocks", "attn_scales",
        "temperal_downsample", "dropout", "latents_mean", "latents_std", "is_residual", "in_channels",
        "out_channels", "patch_size", "scale_factor_temporal", "scale_factor_spatial", "clip_output",
    ]

    public init(path: String) throws(VAEError) {
        let json: JSONValue
        do {
            json = try readConfigJSON(path)
        } catch {
            throw .badConfig(file: path, field: "", detail: "\(error)")
        }
        try self.init(json: json, path: path)
    }

    public init(json: JSONValue, path: String) throws(VAEError) {
        guard let members = json.objectValue else { throw .badConfig(file: path, field: "", detail: "top level is not an object") }
        let reader = ConfigFieldReader(json: json, path: path)
        if let name = json["_class_name"]?.stringValue, name != "AutoencoderKLWan" {
            throw .unsupportedConfig(file: path, field: "_class_name", value: "\"\(name)\"", reason: "not a Wan VAE (AutoencoderKLWan)")
        }
        for (key, value) in members where !key.hasPrefix("_") && !Self.knownFields.contains(key) {
            throw .unsupportedConfig(file: path, field: key, value: value.compactText,
                                     reason: "not a field of diffusers' AutoencoderKLWan; Wand does not know what it changes")
        }
        let baseDim = try reader.int("base_dim", default: 96)
        let patch = try reader.int("patch_size", default: 1, nullMeans: 1)
        var config = WanVAEConfig(
            baseDim: baseDim, decoderBaseDim: try reader.int("decoder_base_dim", default: baseDim, nullMeans: baseDim),
            zDim: try reader.int("z_dim", default: 16), dimMult: try reader.ints("dim_mult", default: [1, 2, 4, 4]),
            numResBlocks: try reader.int("num_res_blocks", default: 2),
            temporalDownsample: try reader.bools("temperal_downsample", default: [false, true, true]),
            attnScales: try reader.numbers("attn_scales", default: []),
            isResidual: try reader.bool("is_residual", default: false), patchSize: patch)
        config.inChannels = try reader.int("in_channels", default: 3)
        config.outChannels = try reader.int("out_channels", default: 3)
        // Inference never drops out; any rate diffusers accepts builds the same network.
        let dropout = try reader.number("dropout", default: 0)
        guard dropout >= 0, dropout < 1 else {
            throw .unsupportedConfig(file: path, field: "dropout", value: json["dropout"]!.compactText, reason: "expected a rate in [0, 1)")
        }
        // The published Wan2.2 config says `clip_output: false`, but no diffusers release reads the
        // field: decode always clamps to [-1, 1]. Wand does the same, whatever the value.
        _ = try reader.bool("clip_output", default: true)
        try Self.check(config, reader)
        self.config = config

        let scaleSpatial = try reader.optionalInt("scale_factor_spatial", default: 8)
        let scaleTemporal = try reader.optionalInt("scale_factor_temporal", default: 4)
        // The pipelines size latents by these; a value the structure does not produce would make
        // diffusers decode a video of another size than asked.
        if let s = scaleSpatial, s != config.spatialFactor {
            throw .unsupportedConfig(file: path, field: "scale_factor_spatial", value: String(s),
                                     reason: "the structure (patch_size \(patch), \(config.stages - 1) resampling stages) scales by \(config.spatialFactor)")
        }
        if let t = scaleTemporal, t != config.temporalFactor {
            throw .unsupportedConfig(file: path, field: "scale_factor_temporal", value: String(t),
                                     reason: "temperal_downsample \(config.temporalDownsample) scales time by \(config.temporalFactor)")
        }
        latentsMean = try reader.numbers("latents_mean", default: WanVAELatentStats.wan21Mean.map(Double.init)).map(Float.init)
        latentsStd = try reader.numbers("latents_std", default: WanVAELatentStats.wan21Std.map(Double.init)).map(Float.init)
        for (field, values) in [("latents_mean", latentsMean), ("latents_std", latentsStd)] where values.count != config.zDim {
            throw .unsupportedConfig(file: path, field: field, value: "\(values.count) entries",
                                     reason: "z_dim is \(config.zDim)\(json[field] == nil ? " (the field is absent: diffusers' default has 16)" : "")")
        }
        if let zero = latentsStd.firstIndex(of: 0) {
            throw .unsupportedConfig(file: path, field: "latents_std", value: json["latents_std"]?.compactText ?? "",
                                     reason: "entry \(zero) is 0")
        }
    }

    /// The structural rules diffusers' constructors enforce (or crash on), as located refusals.
    static func check(_ c: WanVAEConfig, _ r: ConfigFieldReader) throws(VAEError) {
        let path = r.path
        func refuse(_ field: String, _ reason: String) -> VAEError {
            .unsupportedConfig(file: path, field: field, value: r.json[field]?.compactText ?? "(default)", reason: reason)
        }
        for (field, v) in [("base_dim", c.baseDim), ("decoder_base_dim", c.decoderBaseDim), ("z_dim", c.zDim)] where v == 0 {
            throw refuse(field, "expected a positive integer")
        }
        guard !c.dimMult.isEmpty, c.dimMult.allSatisfy({ $0 > 0 }) else { throw refuse("dim_mult", "expected one or more positive integers") }
        guard c.numResBlocks >= 1 else { throw refuse("num_res_blocks", "a stage needs at least one residual block to change width") }
        guard c.patchSize >= 1 else { throw refuse("patch_size", "expected a positive integer or null") }
        // Bounds far above any real VAE, so that no width or shape computation can overflow.
        let limits: [(String, Int, Int)] = [("num_res_blocks", c.numResBlocks, 64), ("patch_size", c.patchSize, 64),
                                            ("z_dim", c.zDim, 1 << 16), ("dim_mult", c.stages, 16),
                                            ("base_dim", c.baseDim * c.dimMult.max()!, 1 << 20),
                                            ("decoder_base_dim", c.decoderBaseDim * c.dimMult.max()!, 1 << 20)]
        for (field, value, limit) in limits where value > limit {
            throw refuse(field, "larger than Wand supports (\(value) > \(limit))")
        }
        let rgb = 3 * c.patchSize * c.patchSize
        guard c.inChannels == rgb else { throw refuse("in_channels", "Wand encodes RGB video: 3 × patch_size² = \(rgb) channels") }
        guard c.outChannels == rgb else { throw refuse("out_channels", "Wand decodes RGB video: 3 × patch_size² = \(rgb) channels") }
        let resampling = c.stages - 1
        guard c.temporalDownsample.count >= resampling else {
            throw refuse("temperal_downsample", "needs one entry per resampling stage (\(resampling)); diffusers fails to build it")
        }
        let encoder = (0..<resampling).map(c.encoderStageDownsamplesTime)
        let decoder = (0..<resampling).map(c.decoderStageUpsamplesTime)
        guard decoder == Array(encoder.reversed()) else {
            throw refuse("temperal_downsample", "with \(c.temporalDownsample.count) entries for \(resampling) resampling stages the decoder "
                         + "(reversed list) doubles time in other stages than the encoder halves it")
        }
        guard c.isResidual else { return }
        // Wan2.2 stage shortcuts fold space/time into channels and average or repeat them.
        let enc = WanVAEStructure.encoderWidths(c), dec = WanVAEStructure.decoderWidths(c)
        for i in 0..<c.stages {
            let ft = c.encoderStageDownsamplesTime(i) ? 2 : 1, fs = c.stageResamples(i) ? 2 : 1
            guard (enc[i].in * ft * fs * fs) % enc[i].out == 0 else {
                throw refuse("dim_mult", "encoder stage \(i): AvgDown3D cannot average \(enc[i].in)×\(ft * fs * fs) channels down to \(enc[i].out)")
            }
            if c.stageResamples(i) {
                let ut = c.decoderStageUpsamplesTime(i) ? 2 : 1
                guard (dec[i].out * ut * 4) % dec[i].in == 0 else {
                    throw refuse("dim_mult", "decoder stage \(i): DupUp3D cannot spread \(dec[i].in) channels over \(dec[i].out)×\(ut * 4)")
                }
            }
        }
    }
}

/// Typed reads of config.json fields with diffusers' defaults; errors name the field and file.
struct ConfigFieldReader {
    let json: JSONValue
    let path: String

    func value(_ key: String) -> JSONValue? { json[key] }

    func int(_ key: String, default value: Int, nullMeans: Int? = nil) throws(VAEError) -> Int {
        guard let v = json[key] else { return value }
        if v == .null, let nullMeans { return nullMeans }
        guard let i = v.intValue, i >= 0, i < 1 << 31 else { throw .badConfig(file: path, field: key, detail: "expected a non-negative integer, found \(v.compactText)") }
        return Int(i)
    }

    func optionalInt(_ key: String, default value: Int) throws(VAEError) -> Int? {
        guard let v = json[key] else { return value }
        if v == .null { return nil }
        return try int(key, default: value)
    }

    func bool(_ key: String, default value: Bool) throws(VAEError) -> Bool {
        guard let v = json[key] else { return value }
        guard let b = v.boolValue else { throw .badConfig(file: path, field: key, detail: "expected true or false, found \(v.compactText)") }
        return b
    }

    func number(_ key: String, default value: Double) throws(VAEError) -> Double {
        guard let v = json[key] else { return value }
        guard let d = v.doubleValue else { throw .badConfig(file: path, field: key, detail: "expected a number, found \(v.compactText)") }
        return d
    }

    func array(_ key: String) throws(VAEError) -> [JSONValue]? {
        guard let v = json[key] else { return nil }
        guard let a = v.arrayValue else { throw .badConfig(file: path, field: key, detail: "expected a list, found \(v.compactText)") }
        return a
    }

    func ints(_ key: String, default value: [Int]) throws(VAEError) -> [Int] {
        guard let a = try array(key) else { return value }
        var out: [Int] = []
        for e in a {
            guard let i = e.intValue, i >= 0, i < 1 << 31 else { throw .badConfig(file: path, field: key, detail: "expected integers, found \(json[key]!.compactText)") }
            out.append(Int(i))
        }
        return out
    }

    func bools(_ key: String, default value: [Bool]) throws(VAEError) -> [Bool] {
        guard let a = try array(key) else { return value }
        var out: [Bool] = []
        for e in a {
            guard let b = e.boolValue else { throw .badConfig(file: path, field: key, detail: "expected true/false entries, found \(json[key]!.compactText)") }
            out.append(b)
        }
        return out
    }

    func numbers(_ key: String, default value: [Double]) throws(VAEError) -> [Double] {
        guard let a = try array(key) else { return value }
        var out: [Double] = []
        for e in a {
            guard let d = e.doubleValue else { throw .badConfig(file: path, field: key, detail: "expected numbers, found \(json[key]!.compactText)") }
            out.append(d)
        }
        return out
    }
}
