/// Why a DiT or umT5 model could not be configured, loaded or run. Every case names where:
/// the file (config or weights), the tensor, or the input argument at fault.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A config.json that lacks a field, or holds one with the wrong type or an unusable value.
    case badConfig(path: String, key: String, detail: String)
    /// A config the format allows but this engine does not implement (e.g. Wan2.1 I2V image tokens).
    case unsupported(path: String, detail: String)
    case missingWeight(path: String, tensor: String)
    case unexpectedWeight(path: String, tensor: String)
    case weightShape(path: String, tensor: String, expected: [Int], actual: [Int])
    /// A forward-pass argument that does not fit the model (channels, grid, text rows...).
    case badInput(argument: String, detail: String)

    public var description: String {
        switch self {
        case let .badConfig(path, key, detail): return "\(path): config key \"\(key)\": \(detail)"
        case let .unsupported(path, detail): return "\(path): not implemented: \(detail)"
        case let .missingWeight(path, tensor): return "\(path): missing tensor \"\(tensor)\""
        case let .unexpectedWeight(path, tensor): return "\(path): unexpected tensor \"\(tensor)\""
        case let .weightShape(path, tensor, expected, actual):
            return "\(path): tensor \"\(tensor)\" has shape \(actual), expected \(expected)"
        case let .badInput(argument, detail): return "argument \(argument): \(detail)"
        }
    }
}
