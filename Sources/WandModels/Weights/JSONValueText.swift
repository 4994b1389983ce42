extension JSONValue {
    /// The value as compact JSON text, for error messages that quote a config field.
    public var compactText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.compactText).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.map { "\"\($0.0)\": \($0.1.compactText)" }.joined(separator: ", ") + "}"
        }
    }
}
