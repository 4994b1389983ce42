/// Why a tokenizer file was refused; carries the file and, for protobuf/JSON, the byte offset.
public struct TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let offset: Int?
    public let message: String

    public init(path: String, offset: Int? = nil, _ message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    public var description: String {
        if let offset { return "\(path): byte \(offset): \(message)" }
        return "\(path): \(message)"
    }
}
