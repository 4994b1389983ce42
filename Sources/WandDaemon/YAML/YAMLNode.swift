import CYAML
import Foundation

/// A position in a file, 1-based, as every Wand diagnostic reports it.
public struct SourceLocation: Sendable, Equatable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// A YAML node with the place it came from. Scalars keep their text and whether they were quoted
/// (a quoted "80" is a string, a plain 80 a number).
public indirect enum YAMLNode: Sendable {
    case scalar(String, quoted: Bool, SourceLocation)
    case sequence([YAMLNode], SourceLocation)
    case mapping([(key: YAMLNode, value: YAMLNode)], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .scalar(_, _, let l), .sequence(_, let l), .mapping(_, let l): return l
        }
    }

    public var scalarText: String? { if case .scalar(let s, _, _) = self { return s }; return nil }

    public var kindName: String {
        switch self {
        case .scalar: return "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public var description: String { "\(location): error: \(message)" }
}

/// Reads YAML through libyaml into nodes with 1-based marks. Anchors, aliases and tags are
/// refused (a job file needs none of them, and aliases are how "billion laughs" files explode);
/// nesting deeper than 64 levels is refused.
public enum YAMLReader {
    public static let maxDepth = 64

    /// Every document of the stream (`---` separates the jobs of a batch).
    public static func documents(_ text: String, file: String) throws(YAMLError) -> [YAMLNode] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(location: SourceLocation(file: file, line: 1, column: 1), message: "cannot start the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(YAMLError) -> [YAMLNode] in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder(file: file)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let mark = parser.problem_mark
                    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                    let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                    throw YAMLError(location: SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1),
                                    message: "invalid YAML: \(context)\(problem)")
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.handle(event)
            }
            return builder.documents
        }
    }

    struct Builder {
        let file: String
        var documents: [YAMLNode] = []
        // Open containers: a sequence's items or a mapping's alternating keys and values.
        var stack: [(isMapping: Bool, items: [YAMLNode], location: SourceLocation)] = []

        init(file: String) { self.file = file }

        func location(_ mark: yaml_mark_t) -> SourceLocation {
            SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
        }

        mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
            let here = location(event.start_mark)
            switch event.type {
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                if s.anchor != nil { throw YAMLError(location: here, message: "anchors (&) are not supported in Wand files") }
                let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
                let quoted = s.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || s.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                    || s.style == YAML_LITERAL_SCALAR_STYLE || s.style == YAML_FOLDED_SCALAR_STYLE
                try add(.scalar(text, quoted: quoted, here))
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard stack.count < YAMLReader.maxDepth else {
                    throw YAMLError(location: here, message: "nesting deeper than \(YAMLReader.maxDepth) levels")
                }
                stack.append((event.type == YAML_MAPPING_START_EVENT, [], here))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let open = stack.removeLast()
                if open.isMapping {
                    var pairs: [(key: YAMLNode, value: YAMLNode)] = []
                    var i = 0
                    while i + 1 < open.items.count { pairs.append((open.items[i], open.items[i + 1])); i += 2 }
                    try add(.mapping(pairs, open.location))
                } else {
                    try add(.sequence(open.items, open.location))
                }
            case YAML_ALIAS_EVENT:
                throw YAMLError(location: here, message: "aliases (*) are not supported in Wand files")
            case YAML_DOCUMENT_END_EVENT, YAML_DOCUMENT_START_EVENT, YAML_STREAM_START_EVENT, YAML_NO_EVENT:
                break
            default:
                break
            }
        }

        mutating func add(_ node: YAMLNode) throws(YAMLError) {
            if stack.isEmpty { documents.append(node) } else { stack[stack.count - 1].items.append(node) }
        }
    }
}
