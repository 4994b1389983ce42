import Foundation

/// The daemon's configuration (`wand-config: 1`), fully resolved: paths absolute, durations in
/// seconds, every default filled in. Built by `ConfigLoader`; `DaemonConfig.standard` is what
/// `wand validate` uses when no config is given.
public struct DaemonConfig: Sendable, Hashable {
    /// The file this came from (nil for the built-in standard config).
    public var file: String?
    public var stateDir: URL
    public var inboxes: [InboxConfig]
    public var outbox: URL
    public var failed: URL
    public var afterSuccess: AfterSuccess
    public var layout: OutputLayout
    public var duplicates: DuplicatePolicy
    /// Bare image drops in an `auto` inbox become this mode (i2v or ti2v).
    public var imageDrops: Mode
    public var models: [String: ModelConfig]
    /// The model name used for each mode when a job names none.
    public var defaultModels: [Mode: String]
    public var engine: EngineConfig
    public var output: OutputDefaults
    public var watermark: WatermarkConfig
    public var notify: NotifyConfig
    /// Extra folders (absolute, symlink-resolved) jobs may read inputs from besides their own folder.
    public var inputRoots: [URL]
    /// Folders a job's `loras:` may name files in (by a path relative to the folder) besides its
    /// own folder and the input roots; absolute and symlink-resolved.
    public var loraDirs: [URL] = []
    /// Attempts per job before it is quarantined to failed/.
    public var maxAttempts: Int
    /// Seconds before the first retry; doubled per attempt.
    public var retryBackoff: Double
    /// The journal: SQLite under state_dir (one machine), or PostgreSQL shared by several hosts.
    public var queue = QueueConfig()

    public init(file: String?, stateDir: URL, inboxes: [InboxConfig], outbox: URL, failed: URL,
                afterSuccess: AfterSuccess, layout: OutputLayout, duplicates: DuplicatePolicy,
                imageDrops: Mode, models: [String: ModelConfig], defaultModels: [Mode: String],
                engine: EngineConfig, output: OutputDefaults, watermark: WatermarkConfig,
                notify: NotifyConfig, inputRoots: [URL], maxAttempts: Int, retryBackoff: Double) {
        self.file = file; self.stateDir = stateDir; self.inboxes = inboxes; self.outbox = outbox
        self.failed = failed; self.afterSuccess = afterSuccess; self.layout = layout
        self.duplicates = duplicates; self.imageDrops = imageDrops; self.models = models
        self.defaultModels = defaultModels; self.engine = engine; self.output = output
        self.watermark = watermark; self.notify = notify; self.inputRoots = inputRoots
        self.maxAttempts = maxAttempts; self.retryBackoff = retryBackoff
    }

    /// The built-in defaults (what Config/wand.yaml documents), with no inboxes and no model paths.
    public static let standard = DaemonConfig(
        file: nil,
        stateDir: URL(fileURLWithPath: "/var/lib/wand"),
        inboxes: [],
        outbox: URL(fileURLWithPath: "/srv/wand/outbox"),
        failed: URL(fileURLWithPath: "/srv/wand/failed"),
        afterSuccess: .archive, layout: .flat, duplicates: .skip, imageDrops: .ti2v,
        models: [:],
        defaultModels: [.t2v: "t2v-a14b", .i2v: "i2v-a14b", .ti2v: "ti2v-5b", .s2v: "s2v-14b",
                        .animate: "animate-14b", .edit: "ti2v-5b"],
        engine: EngineConfig(device: .auto, memoryBudget: 0.8, keepWarm: [], threads: nil),
        output: OutputDefaults(codec: .h264, crf: 18, preset: "medium"),
        watermark: WatermarkConfig(
            visible: VisibleWatermark(enabled: true, text: "AI-generated", position: .bottomRight,
                                      opacity: 0.7, font: nil),
            invisible: InvisibleWatermark(enabled: true)),
        notify: NotifyConfig(webhooks: []),
        inputRoots: [], maxAttempts: 3, retryBackoff: 30)

    /// The config of the inbox holding `url` (longest matching path), if any.
    public func inbox(containing url: URL) -> InboxConfig? {
        let path = url.standardizedFileURL.path
        return inboxes
            .filter { path == $0.path.path || path.hasPrefix($0.path.path + "/") }
            .max { $0.path.path.count < $1.path.path.count }
    }
}

public enum AfterSuccess: String, Sendable, Hashable, Codable, CaseIterable { case archive, delete, keep }
public enum OutputLayout: String, Sendable, Hashable, Codable, CaseIterable {
    case flat
    case folderPerJob = "folder-per-job"
}
public enum DuplicatePolicy: String, Sendable, Hashable, Codable, CaseIterable { case skip, run }
public enum WatchMode: String, Sendable, Hashable, Codable, CaseIterable { case auto, inotify, poll }

/// `mode: auto` routes bare drops by their files; a fixed mode turns every drop into that mode.
public enum InboxMode: Sendable, Hashable {
    case auto
    case fixed(Mode)
}

public struct InboxConfig: Sendable, Hashable {
    public var path: URL
    public var mode: InboxMode
    public var watch: WatchMode
    /// Seconds a file must stay unchanged before it is claimed (also how long a bare drop waits
    /// for its partner files).
    public var settle: Double
    /// Seconds between full rescans.
    public var rescan: Double
    /// Added to each job's own priority.
    public var priority: Int
    /// Bare image drops here become this mode (overrides the config's `image_drops`).
    public var imageDrops: Mode?
    /// Job keys applied to every job from this inbox unless the job sets them.
    public var defaults: JobDefaults

    public init(path: URL, mode: InboxMode = .auto, watch: WatchMode = .auto, settle: Double = 5,
                rescan: Double = 300, priority: Int = 0, imageDrops: Mode? = nil,
                defaults: JobDefaults = JobDefaults()) {
        self.path = path; self.mode = mode; self.watch = watch; self.settle = settle
        self.rescan = rescan; self.priority = priority; self.imageDrops = imageDrops
        self.defaults = defaults
    }
}

/// The job keys an inbox's `defaults:` may set (same names and checks as in a job file).
public struct JobDefaults: Sendable, Hashable {
    public var model: String?
    public var negativePrompt: String?
    public var size: VideoSize?
    public var frames: Int?
    public var fps: Int?
    public var steps: Int?
    public var sampler: Sampler?
    public var shift: Double?
    public var guidance: Guidance?
    public var strength: Double?
    public var priority: Int?
    public var codec: VideoCodec?
    public var crf: Int?
    public var tags: [String]?
    /// A few-step recipe name, or "none" to switch off the model's.
    public var recipe: String?
    public init() {}
}

public struct ModelConfig: Sendable, Hashable {
    public var name: String
    /// The weights folder (absolute).
    public var path: URL
    /// Which family the weights are (defaults, sizes): the config's `kind`, else the folder's card
    /// or configs (ModelCard), else the name when it is a kind name.
    public var kind: ModelKind
    /// Sizes these weights accept, when they differ from the family's official ones (a small demo
    /// model, a fine-tune): the config's `sizes`, else the folder's card; the first is the default.
    public var sizes: [VideoSize]?
    /// Job defaults from the folder's card (`wand-model.yaml`), under a job's and its inbox's.
    public var defaults: JobDefaults
    /// A few-step recipe (FewStepRecipe name) whose steps, shift, guidance, sampler and sigma
    /// schedule replace the family's defaults, e.g. for a Lightning LoRA or a distilled model.
    public var recipe: String?
    /// LoRAs merged into these weights for every job on this model (absolute paths).
    public var loras: [LoRASpec] = []
    public init(name: String, path: URL, kind: ModelKind, sizes: [VideoSize]? = nil, defaults: JobDefaults = JobDefaults(),
                recipe: String? = nil, loras: [LoRASpec] = []) {
        self.name = name; self.path = path; self.kind = kind; self.sizes = sizes; self.defaults = defaults
        self.recipe = recipe; self.loras = loras
    }
}

/// `engine.lora_merge`: keep merged weights in the model's stored dtype (memory as before, rounded
/// once like ComfyUI's merge) or in f32 (exact, up to twice the memory of a bf16 model's merged tensors).
public enum LoRAMergeDType: String, Sendable, Hashable, Codable, CaseIterable { case stored, f32 }

/// `engine.device`. auto: a discrete GPU through Vulkan when there is one, else the CPU; vulkan:
/// the best Vulkan device (a CPU one such as lavapipe included). cuda is accepted for configs that
/// name it and refused by `wand serve` (there is no CUDA backend: NVIDIA GPUs run Vulkan).
public enum EngineDevice: String, Sendable, Hashable, Codable, CaseIterable { case auto, cpu, vulkan, cuda }

/// `engine.precision` on a Vulkan device: f32, or f16 GEMM/attention operands (f32 sums).
public enum EnginePrecision: String, Sendable, Hashable, Codable, CaseIterable { case f32, f16 }

public struct EngineConfig: Sendable, Hashable {
    public var device: EngineDevice
    public var precision: EnginePrecision = .f32
    /// Fraction (0...1] of RAM (CPU) or device memory the engine may use; written `80%`.
    public var memoryBudget: Double
    /// Model names kept loaded between jobs.
    public var keepWarm: [String]
    /// CPU threads; nil: one per core.
    public var threads: Int?
    /// VAE decode in spatial tiles of this many pixels (`vae_tiling: 256`); nil (`off`): whole frames.
    public var vaeTilePixels: Int?
    /// The dtype LoRA-merged weights are kept in (`lora_merge`): the stored one, or f32.
    public var loraMerge: LoRAMergeDType = .stored
    public init(device: EngineDevice, memoryBudget: Double, keepWarm: [String], threads: Int?, vaeTilePixels: Int? = nil) {
        self.device = device; self.memoryBudget = memoryBudget; self.keepWarm = keepWarm; self.threads = threads
        self.vaeTilePixels = vaeTilePixels
    }
}

public struct OutputDefaults: Sendable, Hashable {
    public var codec: VideoCodec
    public var crf: Int
    /// x264/x265 preset name (ultrafast ... veryslow).
    public var preset: String
    public init(codec: VideoCodec, crf: Int, preset: String) { self.codec = codec; self.crf = crf; self.preset = preset }
}

public enum WatermarkPosition: String, Sendable, Hashable, Codable, CaseIterable {
    case topLeft = "top-left", topRight = "top-right", bottomLeft = "bottom-left", bottomRight = "bottom-right"
}

public struct VisibleWatermark: Sendable, Hashable {
    public var enabled: Bool
    public var text: String
    public var position: WatermarkPosition
    /// 0...1.
    public var opacity: Double
    /// A font file (absolute); nil: the built-in bitmap font.
    public var font: URL?
    public init(enabled: Bool, text: String, position: WatermarkPosition, opacity: Double, font: URL?) {
        self.enabled = enabled; self.text = text; self.position = position; self.opacity = opacity; self.font = font
    }
}

public struct InvisibleWatermark: Sendable, Hashable {
    public var enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }
}

public struct WatermarkConfig: Sendable, Hashable {
    public var visible: VisibleWatermark
    public var invisible: InvisibleWatermark
    public init(visible: VisibleWatermark, invisible: InvisibleWatermark) { self.visible = visible; self.invisible = invisible }
}

public enum NotifyEvent: String, Sendable, Hashable, Codable, CaseIterable { case queued, started, done, failed }

public struct Webhook: Sendable, Hashable {
    public var url: URL
    public var events: [NotifyEvent]
    public init(url: URL, events: [NotifyEvent]) { self.url = url; self.events = events }
}

public struct NotifyConfig: Sendable, Hashable {
    public var webhooks: [Webhook]
    public init(webhooks: [Webhook]) { self.webhooks = webhooks }
}
