// What a job asks for in LoRAs, and what the engine reports it applied (for the sidecar).

/// Which expert of a two-expert (A14B) model a LoRA goes into. diffusers: `load_lora_weights`
/// loads into `transformer` (the high-noise expert), `load_into_transformer_2=True` into the
/// low-noise one; Lightning and lightx2v ship one file per expert.
public enum LoRAExpert: String, Sendable, Hashable, Codable, CaseIterable {
    case high, low, both
}

public struct LoRARequest: Sendable, Hashable, Codable {
    /// An absolute path to a LoRA file (.safetensors, or a PyTorch .pt/.pth).
    public var path: String
    /// Multiplies the LoRA's own scale (alpha / rank, or its PEFT metadata): diffusers'
    /// `set_adapters(weights=)`, ComfyUI's strength_model.
    public var strength: Double
    public var expert: LoRAExpert

    public init(path: String, strength: Double = 1, expert: LoRAExpert = .both) {
        self.path = path
        self.strength = strength
        self.expert = expert
    }
}

/// A LoRA as it was merged: the file's SHA-256 and what the merge did.
public struct AppliedLoRA: Sendable, Equatable, Codable {
    public var path: String
    public var strength: Double
    public var expert: LoRAExpert
    public var sha256: String
    /// Parameters changed, over all experts it went into.
    public var mergedTensors: Int
    /// Wan2.1 image-branch keys skipped (this model has no image branch).
    public var skippedKeys: Int

    public init(path: String, strength: Double, expert: LoRAExpert, sha256: String, mergedTensors: Int, skippedKeys: Int) {
        self.path = path
        self.strength = strength
        self.expert = expert
        self.sha256 = sha256
        self.mergedTensors = mergedTensors
        self.skippedKeys = skippedKeys
    }
}
