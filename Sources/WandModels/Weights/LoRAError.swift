/// Why a LoRA file was refused, or could not be merged into a model. Every case names the file
/// and the stored tensor name(s) at fault, so a user can find the key in the file.
public struct LoRAError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file itself could not be opened or parsed.
        case file(WeightError)
        /// Keys whose names are not a LoRA of a Wan DiT in any layout Wand reads.
        case unknownKeys([String])
        /// Keys that name a Wan module this model does not have (e.g. a Wan2.1 model's layer
        /// index past this model's last block).
        case unmatchedKeys([String])
        /// A down (A) matrix without its up (B) matrix, or the other way round.
        case missingPair(String)
        /// The same adapter part stored twice (e.g. under two prefixes).
        case duplicate(String)
        case badShape(expected: String, actual: [Int])
        case badAlpha(String)
        case unsupported(String)
        case badMetadata(String)
        case noAdapters
    }

    public let path: String
    /// The stored tensor name(s) the error is about (empty for file-level errors).
    public let tensors: [String]
    public let kind: Kind

    public init(path: String, tensors: [String] = [], _ kind: Kind) {
        self.path = path
        self.tensors = tensors
        self.kind = kind
    }

    public init(path: String, tensor: String, _ kind: Kind) {
        self.init(path: path, tensors: [tensor], kind)
    }

    public var description: String {
        var where_ = path
        if tensors.count == 1 { where_ += ", tensor \"\(tensors[0])\"" }
        switch kind {
        case let .file(e): return "\(e)"
        case let .unknownKeys(keys):
            return "\(path): \(keys.count) key\(keys.count == 1 ? " is" : "s are") not a Wan DiT LoRA key: \(Self.list(keys))"
        case let .unmatchedKeys(keys):
            return "\(path): \(keys.count) key\(keys.count == 1 ? " targets" : "s target") a module this model does not have: \(Self.list(keys))"
        case let .missingPair(detail): return "\(where_): \(detail)"
        case let .duplicate(other): return "\(where_): the same adapter part is also stored as \"\(other)\""
        case let .badShape(expected, actual): return "\(where_): shape \(actual), expected \(expected)"
        case let .badAlpha(detail): return "\(where_): alpha \(detail)"
        case let .unsupported(detail): return "\(where_): not supported: \(detail)"
        case let .badMetadata(detail): return "\(path): lora_adapter_metadata: \(detail)"
        case .noAdapters: return "\(path): no LoRA tensors in the file"
        }
    }

    /// The description without the leading file path (for errors that carry the path apart).
    public var message: String {
        let d = description
        return d.hasPrefix(path + ": ") ? String(d.dropFirst(path.count + 2)) : d
    }

    /// The first names and how many more, so a 1,200-key mismatch stays one readable line.
    static func list(_ keys: [String]) -> String {
        let shown = keys.prefix(8).map { "\"\($0)\"" }.joined(separator: ", ")
        return keys.count > 8 ? shown + " and \(keys.count - 8) more" : shown
    }
}
