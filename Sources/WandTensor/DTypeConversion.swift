// Widening of stored weight dtypes to f32. All of these are exact: every bf16, f16 and fp8 value
// is representable in f32. Inputs are read as little-endian bit patterns.
public enum DTypeConversion {
    @inline(__always)
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inline(__always)
    public static func f16ToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exp = UInt32(bits >> 10) & 0x1F
        let mant = UInt32(bits) & 0x3FF
        if exp == 0 {
            // Zero or subnormal: mant * 2^-24, exact in f32.
            let magnitude = Float(mant) * 0x1p-24
            return Float(bitPattern: magnitude.bitPattern | sign)
        }
        if exp == 31 {
            return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
        }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }

    /// float8 e4m3fn: bias 7, no infinities, NaN only for S.1111.111.
    public static func e4m3ToFloat(_ bits: UInt8) -> Float {
        let sign: Float = bits & 0x80 != 0 ? -1 : 1
        let exp = Int((bits >> 3) & 0xF)
        let mant = Float(bits & 0x7)
        if exp == 15 && bits & 0x7 == 7 { return Float(bitPattern: (bits & 0x80 != 0 ? 0x8000_0000 : 0) | 0x7FC0_0000) }
        if exp == 0 { return sign * mant * 0x1p-9 }
        return sign * (1 + mant / 8) * Float(sign: .plus, exponent: exp - 7, significand: 1)
    }

    /// float8 e5m2: the top byte of an f16.
    @inline(__always)
    public static func e5m2ToFloat(_ bits: UInt8) -> Float {
        f16ToFloat(UInt16(bits) << 8)
    }

    static let e4m3Table: [Float] = (0..<256).map { e4m3ToFloat(UInt8($0)) }
    static let e5m2Table: [Float] = (0..<256).map { e5m2ToFloat(UInt8($0)) }

    /// Widen `count` elements of `dtype` at `source` into `destination`. Used for whole tensors
    /// and for GEMM panels (a few rows of a weight at a time).
    public static func widen(_ dtype: DType, from source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>,
                             count: Int) throws {
        switch dtype {
        case .f32:
            destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .bf16:
            let s = source.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { destination[i] = Float(bitPattern: UInt32(s[i]) << 16) }
        case .f16:
            let s = source.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { destination[i] = f16ToFloat(s[i]) }
        case .fp8e4m3, .fp8e5m2:
            let table = dtype == .fp8e4m3 ? e4m3Table : e5m2Table
            let s = source.assumingMemoryBound(to: UInt8.self)
            table.withUnsafeBufferPointer { t in
                for i in 0..<count { destination[i] = t[Int(s[i])] }
            }
        case .f64:
            let s = source.assumingMemoryBound(to: Double.self)
            for i in 0..<count { destination[i] = Float(s[i]) }
        default:
            throw TensorError.unsupported(op: "widen", detail: "dtype \(dtype) is not a floating-point storage type")
        }
    }
}

/// Read-only view of stored tensor data in any floating dtype (typically weights inside an
/// mmapped file). `owner` keeps the memory alive. Widened to f32 whole (`toTensor`) or per panel
/// (`CPUBackend.linear(_:weight:bias:)` converts a few output rows at a time).
public struct StoredTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let bytes: UnsafeRawPointer
    public let owner: AnyObject?

    public init(dtype: DType, shape: [Int], bytes: UnsafeRawPointer, owner: AnyObject?) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
    }

    public var count: Int { shape.reduce(1, *) }

    /// Widen rows `[row, row + rows)` of this tensor viewed as `[shape[0], rest]` into `destination`.
    public func widenRows(_ row: Int, _ rows: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let rowLength = shape.isEmpty ? 1 : count / max(shape[0], 1)
        try DTypeConversion.widen(dtype, from: bytes + row * rowLength * dtype.size, to: destination,
                                  count: rows * rowLength)
    }

    public func toTensor() throws -> Tensor {
        let t = Tensor(uninitialized: shape)
        try withExtendedLifetime(owner) {
            try DTypeConversion.widen(dtype, from: bytes, to: t.data, count: count)
        }
        return t
    }

    /// An f32 tensor wraps the stored memory without copying.
    public var isFloat32: Bool { dtype == .f32 }
}
