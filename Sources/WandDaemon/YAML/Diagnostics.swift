import Foundation

/// One compiler-style message: `inbox/beach.yaml:7:9: error: frames must be 4n+1 (got 80; try 81)`.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible, Error {
    public enum Severity: String, Sendable { case error, warning }
    public var location: SourceLocation
    public var severity: Severity
    public var message: String

    public init(_ location: SourceLocation, _ message: String, severity: Severity = .error) {
        self.location = location
        self.message = message
        self.severity = severity
    }

    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// All the errors found in one file (Wand reports every error at once, not the first).
public struct Diagnostics: Error, Sendable, CustomStringConvertible {
    public var items: [Diagnostic]
    /// Kept in file order, as a compiler prints them.
    public init(_ items: [Diagnostic]) {
        self.items = items.enumerated().sorted {
            ($0.element.location.file, $0.element.location.line, $0.element.location.column, $0.offset)
                < ($1.element.location.file, $1.element.location.line, $1.element.location.column, $1.offset)
        }.map(\.element)
    }
    public var description: String { items.map(\.description).joined(separator: "\n") }
    public var first: Diagnostic? { items.first }
}

/// Reads a mapping strictly: every key must be known (unknown keys get "did you mean"), each
/// value is checked where it is used, and problems are collected rather than thrown.
struct MappingReader {
    let node: YAMLNode
    let what: String
    private(set) var pairs: [String: (key: YAMLNode, value: YAMLNode)] = [:]

    init(_ node: YAMLNode, what: String, known: [String], into diags: inout [Diagnostic]) {
        self.node = node
        self.what = what
        guard case .mapping(let items, _) = node else {
            diags.append(Diagnostic(node.location, "\(what) must be a mapping of keys to values, found \(node.kindName)"))
            return
        }
        for (key, value) in items {
            guard let name = key.scalarText else {
                diags.append(Diagnostic(key.location, "keys must be plain names"))
                continue
            }
            if pairs[name] != nil {
                diags.append(Diagnostic(key.location, "duplicate key '\(name)'"))
                continue
            }
            if !known.contains(name) {
                var message = "unknown key '\(name)' in \(what)"
                if let near = closest(name, in: known) { message += " (did you mean '\(near)'?)" }
                diags.append(Diagnostic(key.location, message))
                continue
            }
            pairs[name] = (key, value)
        }
    }

    func value(_ key: String) -> YAMLNode? { pairs[key]?.value }
    func has(_ key: String) -> Bool { pairs[key] != nil }

    func string(_ key: String, _ diags: inout [Diagnostic]) -> String? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, _, _) = v else {
            diags.append(Diagnostic(v.location, "\(key) must be text, found \(v.kindName)"))
            return nil
        }
        return s
    }

    func int(_ key: String, _ diags: inout [Diagnostic], range: ClosedRange<Int>? = nil) -> Int? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, let quoted, _) = v, !quoted, let n = Int(s) else {
            diags.append(Diagnostic(v.location, "\(key) must be a whole number, found \(describe(v))"))
            return nil
        }
        if let range, !range.contains(n) {
            diags.append(Diagnostic(v.location, "\(key) must be between \(range.lowerBound) and \(range.upperBound) (got \(n))"))
            return nil
        }
        return n
    }

    func double(_ key: String, _ diags: inout [Diagnostic], range: ClosedRange<Double>? = nil) -> Double? {
        guard let v = value(key) else { return nil }
        return number(v, name: key, &diags, range: range)
    }

    func bool(_ key: String, _ diags: inout [Diagnostic]) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, false, _) = v, ["true", "false", "yes", "no", "on", "off"].contains(s.lowercased()) else {
            diags.append(Diagnostic(v.location, "\(key) must be true or false, found \(describe(v))"))
            return nil
        }
        return ["true", "yes", "on"].contains(s.lowercased())
    }

    func choice(_ key: String, _ options: [String], _ diags: inout [Diagnostic]) -> String? {
        guard let s = string(key, &diags), let v = value(key) else { return nil }
        guard options.contains(s) else {
            var message = "\(key) must be one of \(options.joined(separator: ", ")) (got '\(s)')"
            if let near = closest(s, in: options) { message += "; did you mean '\(near)'?" }
            diags.append(Diagnostic(v.location, message))
            return nil
        }
        return s
    }
}

func number(_ v: YAMLNode, name: String, _ diags: inout [Diagnostic], range: ClosedRange<Double>? = nil) -> Double? {
    guard case .scalar(let s, let quoted, _) = v, !quoted, let x = Double(s), x.isFinite else {
        diags.append(Diagnostic(v.location, "\(name) must be a number, found \(describe(v))"))
        return nil
    }
    if let range, !range.contains(x) {
        diags.append(Diagnostic(v.location, "\(name) must be between \(format(range.lowerBound)) and \(format(range.upperBound)) (got \(format(x)))"))
        return nil
    }
    return x
}

func describe(_ v: YAMLNode) -> String {
    if case .scalar(let s, let quoted, _) = v { return quoted ? "\"\(s)\"" : "'\(s)'" }
    return v.kindName
}

func format(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}

/// The known name closest to `word` by edit distance, if it is close enough to be a typo.
func closest(_ word: String, in candidates: [String]) -> String? {
    let best = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }.min { $0.1 < $1.1 }
    guard let (name, d) = best, d <= max(2, word.count / 3), d < word.count else { return nil }
    return name
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// Durations like `5s`, `300s`, `2m`, `1h`, `500ms`, or a bare number of seconds.
func parseDuration(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces)
    for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where t.hasSuffix(suffix) {
        if let x = Double(t.dropLast(suffix.count)), x >= 0 { return x * scale }
        return nil
    }
    return Double(t).flatMap { $0 >= 0 ? $0 : nil }
}
