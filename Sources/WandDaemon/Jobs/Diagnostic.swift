// Located, compiler-style diagnostics shared by job files, bare drops and the config.

/// Where something came from: a file, a 1-based line and column, and which YAML document
/// (0-based) of a multi-document batch.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var document: Int

    public init(file: String, line: Int, column: Int, document: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
        self.document = document
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public enum Severity: String, Sendable, Hashable, Codable {
    case error, warning
}

/// One message, printed as `inbox/beach.yaml:7:9: error: frames must be 4n+1 (got 80; try 81)`.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var severity: Severity
    public var message: String

    public init(file: String, line: Int, column: Int, severity: Severity = .error, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message
    }

    public init(at location: SourceLocation, severity: Severity = .error, _ message: String) {
        self.init(file: location.file, line: location.line, column: location.column,
                  severity: severity, message: message)
    }

    public var description: String { "\(file):\(line):\(column): \(severity.rawValue): \(message)" }
}

/// Everything wrong with one job file or drop, reported at once (sorted by position).
public struct JobErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Everything wrong with a config file, reported at once.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
