/// Errors of the VAE, each naming the weight, the config field or the shape at fault, and the file.
public enum VAEError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingWeight(name: String, file: String)
    case unknownWeight(name: String, file: String)
    case unrecognizedLayout(file: String, detail: String)
    case badShape(name: String, shape: [Int], expected: String)
    case badInput(detail: String)
    /// A config.json field that is missing where it has no default, or holds a value of the wrong type.
    case badConfig(file: String, field: String, detail: String)
    /// A config.json field whose value the format allows but Wand cannot honour (or the reference
    /// cannot build either); `value` is the field as written in the file.
    case unsupportedConfig(file: String, field: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .missingWeight(let n, let f): return "\(f): VAE weight \(n) is missing"
        case .unknownWeight(let n, let f): return "\(f): tensor \(n) is not a weight of this Wan VAE"
        case .unrecognizedLayout(let f, let d): return "\(f): not a Wan VAE checkpoint: \(d)"
        case .badShape(let n, let s, let e): return "VAE weight \(n) has shape \(s), expected \(e)"
        case .badInput(let d): return "VAE input: \(d)"
        case .badConfig(let f, let k, let d): return "\(f): config field \"\(k)\": \(d)"
        case .unsupportedConfig(let f, let k, let v, let r): return "\(f): config field \"\(k)\" = \(v): \(r)"
        }
    }
}
