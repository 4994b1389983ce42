import WandModels

/// The published Wan2.2 family a model folder belongs to, read from its configs alone (no weights
/// are opened), so that callers can take the family's sizes and defaults without being told.
public enum WanModelFamily: String, Sendable, CaseIterable {
    case t2vA14B = "t2v-a14b"
    case i2vA14B = "i2v-a14b"
    case ti2v5B = "ti2v-5b"
    case s2v14B = "s2v-14b"
    case animate14B = "animate-14b"
}

extension WanModelFolder {
    /// nil when the configs do not say (a Wan2.1 single-model folder, an unknown pipeline class).
    /// Diffusers folders: the pipeline class, `expand_timesteps` and the number of experts;
    /// official folders: `model_type` of the (first) expert's config.json.
    public func detectedFamily() -> WanModelFamily? {
        switch layout {
        case .diffusers:
            let index = try? readJSON(path + "/model_index.json")
            switch index?["_class_name"]?.stringValue {
            case "WanAnimatePipeline"?: return .animate14B
            case "WanSpeechToVideoPipeline"?: return .s2v14B
            default: break
            }
            if expandTimesteps { return .ti2v5B }
            guard transformers.count == 2 else { return nil }
            return (try? readJSON(transformers[0] + "/config.json"))
                .flatMap { $0["in_channels"]?.doubleValue }
                .map { $0 > 16 ? .i2vA14B : .t2vA14B }
        case .official:
            let config = try? readJSON(transformers[0] + "/config.json")
            // WanAnimateModel's config.json (from_pretrained) names its class, not a model_type.
            if config?["_class_name"]?.stringValue == "WanAnimateModel" { return .animate14B }
            let type = config?["model_type"]?.stringValue
            switch type {
            case "ti2v"?: return .ti2v5B
            case "s2v"?: return .s2v14B
            case "animate"?: return .animate14B
            case "t2v"? where transformers.count == 2: return .t2vA14B
            case "i2v"? where transformers.count == 2: return .i2vA14B
            default: return nil
            }
        }
    }
}
