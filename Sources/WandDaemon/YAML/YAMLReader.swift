import CYAML

/// Reads YAML text into node trees with libyaml's event parser. Every document of a `---` stream
/// becomes one root node. Aliases are refused (a job file has no use for them and they open the
/// door to "billion laughs" blow-ups); nesting deeper than `maxDepth` is refused. Never traps.
public enum YAMLReader {
    public static let maxDepth = 64

    public static func parse(_ text: String) throws(YAMLError) -> [YAMLNode] {
        var bytes = Array(text.utf8)
        return try parse(bytes: &bytes)
    }

    public static func parse(bytes input: [UInt8]) throws(YAMLError) -> [YAMLNode] {
        var bytes = input
        return try parse(bytes: &bytes)
    }

    private static func parse(bytes: inout [UInt8]) throws(YAMLError) -> [YAMLNode] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else {
            throw YAMLError("cannot initialise the YAML parser", at: YAMLMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }
        let count = bytes.count
        let result: Result<[YAMLNode], YAMLError> = bytes.withUnsafeMutableBufferPointer { buffer in
            // libyaml keeps the pointer; the buffer outlives the parser inside this closure.
            guard let base = buffer.baseAddress else { return .success([]) }
            yaml_parser_set_input_string(&parser, base, count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var builder = TreeBuilder()
            do throws(YAMLError) {
                try builder.run(&parser)
                return .success(builder.documents)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

private struct TreeBuilder {
    enum Frame {
        case sequence(YAMLMark, [YAMLNode])
        case mapping(YAMLMark, [YAMLPair], pendingKey: YAMLNode?)
    }

    var documents: [YAMLNode] = []
    var stack: [Frame] = []
    var root: YAMLNode?

    mutating func run(_ parser: inout yaml_parser_t) throws(YAMLError) {
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) != 0 else {
                let mark = YAMLMark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
                var message = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                if let context = parser.context {
                    let start = parser.context_mark
                    message += " (\(String(cString: context)) that starts at \(start.line + 1):\(start.column + 1))"
                }
                throw YAMLError(message, at: mark)
            }
            defer { yaml_event_delete(&event) }
            let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return
            case YAML_DOCUMENT_START_EVENT:
                root = nil
            case YAML_DOCUMENT_END_EVENT:
                documents.append(root ?? YAMLNode(.scalar("", quoted: false), mark: mark))
            case YAML_ALIAS_EVENT:
                throw YAMLError("aliases (*name) are not supported", at: mark)
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text: String
                if let value = s.value {
                    let buffer = UnsafeBufferPointer(start: value, count: Int(s.length))
                    text = String(decoding: buffer, as: UTF8.self)
                } else {
                    text = ""
                }
                let quoted = s.style != YAML_PLAIN_SCALAR_STYLE && s.style != YAML_ANY_SCALAR_STYLE
                try add(YAMLNode(.scalar(text, quoted: quoted), mark: mark))
            case YAML_SEQUENCE_START_EVENT:
                try push(.sequence(mark, []), at: mark)
            case YAML_MAPPING_START_EVENT:
                try push(.mapping(mark, [], pendingKey: nil), at: mark)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { throw YAMLError("unbalanced YAML structure", at: mark) }
                switch frame {
                case .sequence(let start, let items):
                    try add(YAMLNode(.sequence(items), mark: start))
                case .mapping(let start, let pairs, _):
                    try add(YAMLNode(.mapping(pairs), mark: start))
                }
            default:
                break
            }
        }
    }

    mutating func push(_ frame: Frame, at mark: YAMLMark) throws(YAMLError) {
        guard stack.count < YAMLReader.maxDepth else {
            throw YAMLError("nesting deeper than \(YAMLReader.maxDepth) levels", at: mark)
        }
        stack.append(frame)
    }

    mutating func add(_ node: YAMLNode) throws(YAMLError) {
        guard let top = stack.popLast() else {
            root = node
            return
        }
        switch top {
        case .sequence(let start, var items):
            items.append(node)
            stack.append(.sequence(start, items))
        case .mapping(let start, var pairs, let pendingKey):
            if let key = pendingKey {
                pairs.append(YAMLPair(key: key, value: node))
                stack.append(.mapping(start, pairs, pendingKey: nil))
            } else {
                stack.append(.mapping(start, pairs, pendingKey: node))
            }
        }
    }
}
