// Typed, located reads out of a YAML tree. Every problem becomes a Diagnostic and reading goes on,
// so that one pass reports all errors of a file at once.

struct Located<T> {
    var value: T
    var mark: YAMLMark
}

extension Located: Sendable where T: Sendable {}

struct SchemaReader {
    let file: String
    var diagnostics: [Diagnostic] = []

    init(file: String) { self.file = file }

    mutating func error(_ message: String, at mark: YAMLMark) {
        diagnostics.append(Diagnostic(file: file, line: mark.line, column: mark.column, message: message))
    }

    mutating func warning(_ message: String, at mark: YAMLMark) {
        diagnostics.append(Diagnostic(file: file, line: mark.line, column: mark.column, severity: .warning, message: message))
    }

    /// The keys of a mapping, checked against `allowed`: unknown keys (with a suggestion) and
    /// duplicates are errors. `context` names the mapping in messages ("job", "inbox", ...).
    mutating func mapping(_ node: YAMLNode, allowed: [String], context: String) -> [String: YAMLPair] {
        guard let pairs = node.mapping else {
            error("\(context) must be a mapping (got \(node.kindName))", at: node.mark)
            return [:]
        }
        var result: [String: YAMLPair] = [:]
        for pair in pairs {
            guard let key = pair.key.string, pair.key.mapping == nil, pair.key.sequence == nil else {
                error("keys must be plain words (got \(pair.key.kindName))", at: pair.key.mark)
                continue
            }
            if result[key] != nil {
                error("duplicate key '\(key)'", at: pair.key.mark)
                continue
            }
            if !allowed.contains(key) {
                error("unknown key '\(key)' in \(context)\(DidYouMean.hint(key, among: allowed))", at: pair.key.mark)
                continue
            }
            result[key] = pair
        }
        return result
    }

    mutating func string(_ node: YAMLNode, key: String) -> Located<String>? {
        guard let s = node.string, node.mapping == nil, node.sequence == nil else {
            error("\(key) must be a string (got \(node.kindName))", at: node.mark)
            return nil
        }
        return Located(value: s, mark: node.mark)
    }

    mutating func int(_ node: YAMLNode, key: String, range: ClosedRange<Int>) -> Located<Int>? {
        guard let v = node.int else {
            error("\(key) must be an integer (got \(Self.describe(node)))", at: node.mark)
            return nil
        }
        guard range.contains(v) else {
            error("\(key) must be between \(range.lowerBound) and \(range.upperBound) (got \(v))", at: node.mark)
            return nil
        }
        return Located(value: v, mark: node.mark)
    }

    mutating func double(_ node: YAMLNode, key: String, range: ClosedRange<Double>) -> Located<Double>? {
        guard let v = node.double else {
            error("\(key) must be a number (got \(Self.describe(node)))", at: node.mark)
            return nil
        }
        guard range.contains(v) else {
            error("\(key) must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound)) (got \(Self.format(v)))", at: node.mark)
            return nil
        }
        return Located(value: v, mark: node.mark)
    }

    mutating func bool(_ node: YAMLNode, key: String) -> Located<Bool>? {
        guard let v = node.bool else {
            error("\(key) must be true or false (got \(Self.describe(node)))", at: node.mark)
            return nil
        }
        return Located(value: v, mark: node.mark)
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, key: String, as: E.Type) -> Located<E>?
    where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        guard let s = node.string, node.mapping == nil, node.sequence == nil else {
            error("\(key) must be one of \(names.joined(separator: ", ")) (got \(node.kindName))", at: node.mark)
            return nil
        }
        guard let v = E(rawValue: s) else {
            error("\(key) must be one of \(names.joined(separator: ", ")) (got '\(s)')\(DidYouMean.hint(s, among: names))", at: node.mark)
            return nil
        }
        return Located(value: v, mark: node.mark)
    }

    mutating func stringList(_ node: YAMLNode, key: String) -> Located<[String]>? {
        guard let items = node.sequence else {
            error("\(key) must be a list (got \(node.kindName))", at: node.mark)
            return nil
        }
        var out: [String] = []
        for item in items {
            if let s = string(item, key: "each entry of \(key)") { out.append(s.value) }
        }
        return Located(value: out, mark: node.mark)
    }

    /// `5s`, `300s`, `2m`, `1h`, `250ms` or a bare number of seconds.
    mutating func duration(_ node: YAMLNode, key: String) -> Located<Double>? {
        if let d = node.double, d >= 0 { return Located(value: d, mark: node.mark) }
        guard let s = node.string, let seconds = Self.parseDuration(s) else {
            error("\(key) must be a duration like 5s, 300s, 2m or 1h (got \(node.string.map { "'\($0)'" } ?? node.kindName))", at: node.mark)
            return nil
        }
        return Located(value: seconds, mark: node.mark)
    }

    /// `80%` (or a fraction 0 < x <= 1) as a fraction.
    mutating func percentage(_ node: YAMLNode, key: String) -> Located<Double>? {
        if let d = node.double, d > 0, d <= 1 { return Located(value: d, mark: node.mark) }
        if let s = node.string, s.hasSuffix("%"), let p = Double(s.dropLast()), p > 0, p <= 100 {
            return Located(value: p / 100, mark: node.mark)
        }
        error("\(key) must be a percentage like 80% (got \(node.string.map { "'\($0)'" } ?? node.kindName))", at: node.mark)
        return nil
    }

    static func parseDuration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if let v = Double(number), v.isFinite, v >= 0, number.first?.isNumber == true { return v * scale }
            return nil
        }
        return nil
    }

    /// `'text'` for a non-null scalar, else its kind ("a list", "nothing").
    static func describe(_ node: YAMLNode) -> String {
        if let s = node.string, node.mapping == nil, node.sequence == nil { return "'\(s)'" }
        return node.kindName
    }

    /// 4.0 -> "4", 0.75 -> "0.75".
    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
