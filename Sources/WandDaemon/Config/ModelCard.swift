import Foundation
import WandEngine

/// What a model folder says about itself, so that a model's own sizes and defaults apply without a
/// config saying them: its family, detected from its configs (WanModelFolder.detectedFamily), and
/// Wand's card `wand-model.yaml`, for weights whose configs cannot say what they were trained for
/// (the demo model, a fine-tune at other sizes):
///
///     wand-model: 1
///     kind: ti2v-5b                 # the family whose code paths and defaults apply
///     sizes: [256x160]              # accepted sizes, the first is the default
///     defaults: {frames: 17, fps: 16, steps: 20, guidance: 5.0, shift: 3.0}
///
/// `defaults:` takes the keys of an inbox's `defaults:` that describe a video (not model, priority,
/// output or tags). A job's own keys and its inbox's defaults still win over the card.
public struct ModelCard: Sendable, Hashable {
    public static let fileName = "wand-model.yaml"

    public var kind: ModelKind?
    public var sizes: [VideoSize]?
    public var defaults = JobDefaults()
    /// Where the kind came from, for messages: the card's path, or "its configs".
    public var kindSource: String?

    public init(kind: ModelKind? = nil, sizes: [VideoSize]? = nil, defaults: JobDefaults = JobDefaults()) {
        self.kind = kind; self.sizes = sizes; self.defaults = defaults
    }

    /// The card of `folder` and its detected family (the card's `kind` wins). A folder that does not
    /// exist, or has neither card nor recognisable configs, gives an empty card. Errors in the card
    /// are located in the card file.
    public static func read(folder: URL) throws(ConfigErrors) -> ModelCard {
        var card = ModelCard()
        let file = folder.appendingPathComponent(fileName).path
        if let data = FileManager.default.contents(atPath: file) {
            card = try parse(bytes: [UInt8](data), file: file)
        }
        if card.kind == nil, let folderInfo = try? WanModelFolder.open(folder.path),
           let family = folderInfo.detectedFamily(), let kind = ModelKind(rawValue: family.rawValue) {
            card.kind = kind
            card.kindSource = "its configs"
        }
        return card
    }

    public static func parse(bytes: [UInt8], file: String) throws(ConfigErrors) -> ModelCard {
        let root = try ConfigLoader.singleDocument(bytes, file: file, what: "model card")
        var r = SchemaReader(file: file)
        var card = ModelCard()
        let keys = r.mapping(root, allowed: ["wand-model", "kind", "sizes", "defaults"], context: "model card")
        if root.mapping != nil {
            if let v = keys["wand-model"] {
                if let n = r.int(v.value, key: "wand-model", range: Int.min...Int.max), n.value != 1 {
                    r.error("unsupported model card version \(n.value) (this wand reads wand-model: 1)", at: v.value.mark)
                }
            } else {
                r.error("missing 'wand-model: 1' (the model card schema version)", at: root.mark)
            }
        }
        if let k = keys["kind"], let kind = r.choice(k.value, key: "kind", as: ModelKind.self) {
            card.kind = kind.value
            card.kindSource = file
        }
        if let list = keys["sizes"] {
            if let items = list.value.sequence, !items.isEmpty {
                card.sizes = items.compactMap { JobFields.readSize($0, reader: &r)?.value }
            } else {
                r.error("sizes must be a non-empty list like [1280x704] (got \(list.value.kindName))", at: list.value.mark)
            }
        }
        if let d = keys["defaults"], !d.value.isNull {
            let fields = JobFields.read(d.value, forDefaults: true, reader: &r, context: "model card defaults")
            for key in ["model", "priority", "output", "tags"] {
                if let pair = d.value.mapping?.first(where: { $0.key.string == key }) {
                    r.error("\(key) is a job's or an inbox's choice, not a model's default", at: pair.key.mark)
                }
            }
            card.defaults = fields.asDefaults
        }
        let errors = r.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { throw ConfigErrors(r.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) }) }
        return card
    }
}

extension JobDefaults {
    /// These defaults, with `base` filling what they leave out (an inbox's defaults over a model card's).
    func overlaid(on base: JobDefaults) -> JobDefaults {
        var d = self
        d.model = model ?? base.model
        d.negativePrompt = negativePrompt ?? base.negativePrompt
        d.size = size ?? base.size
        d.frames = frames ?? base.frames
        d.fps = fps ?? base.fps
        d.steps = steps ?? base.steps
        d.sampler = sampler ?? base.sampler
        d.shift = shift ?? base.shift
        d.guidance = guidance ?? base.guidance
        d.strength = strength ?? base.strength
        d.priority = priority ?? base.priority
        d.codec = codec ?? base.codec
        d.crf = crf ?? base.crf
        d.tags = tags ?? base.tags
        d.recipe = recipe ?? base.recipe
        return d
    }
}
