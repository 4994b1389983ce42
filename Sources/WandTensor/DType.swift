// Element types. f32 is the compute type; the others are storage types for weights,
// widened to f32 when used (whole tensor or per GEMM panel).
public enum DType: String, Sendable, Hashable, CaseIterable {
    case f32, f16, bf16, f64
    case fp8e4m3 = "f8_e4m3"
    case fp8e5m2 = "f8_e5m2"
    case i64, i32, i16, i8, u8, bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .fp8e4m3, .fp8e5m2, .i8, .u8, .bool: return 1
        }
    }

    /// The safetensors header spelling ("F32", "BF16", "F8_E4M3", ...).
    public init?(safetensorsName: String) {
        switch safetensorsName {
        case "F32": self = .f32
        case "F16": self = .f16
        case "BF16": self = .bf16
        case "F64": self = .f64
        case "F8_E4M3": self = .fp8e4m3
        case "F8_E5M2": self = .fp8e5m2
        case "I64": self = .i64
        case "I32": self = .i32
        case "I16": self = .i16
        case "I8": self = .i8
        case "U8": self = .u8
        case "BOOL": self = .bool
        default: return nil
        }
    }

    public var safetensorsName: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .fp8e4m3: return "F8_E4M3"
        case .fp8e5m2: return "F8_E5M2"
        case .i64: return "I64"
        case .i32: return "I32"
        case .i16: return "I16"
        case .i8: return "I8"
        case .u8: return "U8"
        case .bool: return "BOOL"
        }
    }
}
