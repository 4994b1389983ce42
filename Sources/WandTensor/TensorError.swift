// Typed errors for tensor construction and ops. Every case names the op and the offending
// shapes so a model author can tell which layer broke.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(op: String, detail: String)
    case invalidArgument(op: String, detail: String)
    case unsupported(op: String, detail: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let op, let detail): return "\(op): shape mismatch: \(detail)"
        case .invalidArgument(let op, let detail): return "\(op): invalid argument: \(detail)"
        case .unsupported(let op, let detail): return "\(op): not implemented: \(detail)"
        }
    }
}
