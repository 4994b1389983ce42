// A YAML node tree that remembers where every node started (1-based line and column).

public struct YAMLMark: Sendable, Hashable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
}

public struct YAMLPair: Sendable, Hashable {
    public var key: YAMLNode
    public var value: YAMLNode
}

public indirect enum YAMLValue: Sendable, Hashable {
    /// `quoted` is true for single/double-quoted and block scalars: those are always strings.
    case scalar(String, quoted: Bool)
    case sequence([YAMLNode])
    case mapping([YAMLPair])
}

public struct YAMLNode: Sendable, Hashable {
    public var value: YAMLValue
    public var mark: YAMLMark

    public init(_ value: YAMLValue, mark: YAMLMark) { self.value = value; self.mark = mark }

    /// What kind of node this is, for "expected X, got Y" messages.
    public var kindName: String {
        switch value {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar(let s, let quoted):
            if quoted { return "a string" }
            if isNull { return "nothing" }
            if YAMLNode.plainBool(s) != nil { return "a boolean" }
            if YAMLNode.plainInt(s) != nil { return "an integer" }
            if YAMLNode.plainDouble(s) != nil { return "a number" }
            return "a string"
        }
    }

    public var isNull: Bool {
        if case .scalar(let s, false) = value { return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" }
        return false
    }

    /// Any scalar's text (numbers included), nil for null, lists and mappings.
    public var string: String? {
        if case .scalar(let s, _) = value, !isNull { return s }
        return nil
    }

    public var int: Int? {
        if case .scalar(let s, false) = value { return YAMLNode.plainInt(s) }
        return nil
    }

    public var double: Double? {
        if case .scalar(let s, false) = value { return YAMLNode.plainInt(s).map(Double.init) ?? YAMLNode.plainDouble(s) }
        return nil
    }

    public var bool: Bool? {
        if case .scalar(let s, false) = value { return YAMLNode.plainBool(s) }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    public var mapping: [YAMLPair]? {
        if case .mapping(let pairs) = value { return pairs }
        return nil
    }

    static func plainInt(_ s: String) -> Int? {
        var t = Substring(s)
        if t.hasPrefix("+") { t = t.dropFirst() }
        return Int(t.replacingOccurrences(of: "_", with: ""))
    }

    static func plainDouble(_ s: String) -> Double? {
        guard let first = s.first, first.isNumber || first == "-" || first == "+" || first == "." else { return nil }
        guard let d = Double(s), d.isFinite else { return nil }
        return d
    }

    static func plainBool(_ s: String) -> Bool? {
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }
}

extension Substring {
    fileprivate func replacingOccurrences(of target: Character, with replacement: String) -> String {
        String(self.filter { $0 != target })
    }
}

/// A YAML syntax problem, located (1-based).
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var mark: YAMLMark
    public init(_ message: String, at mark: YAMLMark) { self.message = message; self.mark = mark }
    public var description: String { "\(mark.line):\(mark.column): \(message)" }
}
