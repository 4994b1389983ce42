extension VulkanKernel {
    static let linearF32 = VulkanKernel(name: "linear_f32", code: VulkanSPIRV.linear_f32, bindings: 4)
    static let linearF16 = VulkanKernel(name: "linear_f16", code: VulkanSPIRV.linear_f16, bindings: 4)
    static let linearBF16 = VulkanKernel(name: "linear_bf16", code: VulkanSPIRV.linear_bf16, bindings: 4)
    static let matmul = VulkanKernel(name: "matmul", code: VulkanSPIRV.matmul, bindings: 3)
}

/// GEMM flags shared by the shaders (gemm_core.glsl, conv3d.comp).
enum GEMMFlags {
    static let roundA = 1, bias = 2, roundB = 4
}

extension VulkanBackend {
    /// f16 mode rounds the activations (and f32 operands that are not weights) to f16.
    var roundFlags: Int { precision == .f16 ? GEMMFlags.roundA | GEMMFlags.roundB : 0 }

    public func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.rank == 2, b.rank == 2, a.shape[1] == b.shape[0] else {
            throw TensorError.shapeMismatch(op: "matmul", detail: "\(a.shape) x \(b.shape)")
        }
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        let da = try context.contiguousOperand(a), db = try context.contiguousOperand(b)
        let (out, ob) = try context.output([m, n])
        if m == 0 || n == 0 { return out }
        var push = PushConstants()
        push.u(m); push.u(n); push.u(k); push.u(da.offset); push.u(db.offset); push.u(0); push.u(roundFlags)
        try context.dispatch(.matmul, [da.buffer, db.buffer, ob], push, groups: Self.gemmGroups(m, n))
        return out
    }

    static func gemmGroups(_ m: Int, _ n: Int) -> (Int, Int, Int) { ((n + 63) / 64, (m + 63) / 64, 1) }

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        guard weight.rank == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", detail: "x \(x.shape), weight \(weight.shape)")
        }
        let dw = try context.contiguousOperand(weight)
        return try linearKernel(x, weight: dw, kernel: .linearF32, outFeatures: weight.shape[0], bias: bias,
                                flags: roundFlags)
    }

    /// The weight goes to the device once in its stored 16-bit form (bf16, f16; fp8 widened to
    /// f16, which is exact) or as f32 (f16 in the f16 mode), and stays there for as long as the
    /// weight file is mapped (VulkanWeightCache).
    public func linear(_ x: Tensor, weight: StoredTensor, bias: Tensor?) throws -> Tensor {
        guard weight.shape.count == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", detail: "x \(x.shape), weight \(weight.shape)")
        }
        let resident = try context.weights.resident(weight, precision: precision, context: context)
        let kernel: VulkanKernel = resident.dtype == .bf16 ? .linearBF16 : resident.dtype == .f16 ? .linearF16 : .linearF32
        // Stored weights are used as they are: only the activations are rounded in f16 mode.
        return try linearKernel(x, weight: DeviceOperand(buffer: resident.buffer, offset: 0), kernel: kernel,
                                outFeatures: weight.shape[0], bias: bias, flags: precision == .f16 ? GEMMFlags.roundA : 0)
    }

    func linearKernel(_ x: Tensor, weight dw: DeviceOperand, kernel: VulkanKernel, outFeatures: Int, bias: Tensor?,
                      flags: Int) throws -> Tensor {
        let inFeatures = x.shape.last!
        if let bias, bias.count != outFeatures {
            throw TensorError.shapeMismatch(op: "linear", detail: "bias \(bias.shape) for \(outFeatures) outputs")
        }
        let rows = x.count / Swift.max(inFeatures, 1)
        let dx = try context.contiguousOperand(x), db = try bias.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output(Array(x.shape.dropLast()) + [outFeatures])
        if out.count == 0 { return out }
        var push = PushConstants()
        push.u(rows); push.u(outFeatures); push.u(inFeatures); push.u(dx.offset); push.u(dw.offset)
        push.u(db?.offset ?? 0); push.u(0); push.u(flags | (db == nil ? 0 : GEMMFlags.bias))
        try context.dispatch(kernel, [dx.buffer, dw.buffer, (db ?? dx).buffer, ob], push,
                             groups: Self.gemmGroups(rows, outFeatures))
        return out
    }
}

/// Stored weights on the device, keyed by where they are mapped. An entry holds its file's
/// owner weakly: once the model is dropped (the file unmapped) the entry no longer matches and
/// its device memory is freed at the next miss or `trim`.
final class VulkanWeightCache: @unchecked Sendable {
    struct Key: Hashable {
        let address: UInt
        let dtype: DType
        let count: Int
        let precision: VulkanPrecision
    }

    struct Resident {
        let buffer: VulkanBuffer
        let dtype: DType
    }

    private struct Entry {
        weak var owner: AnyObject?
        let resident: Resident
    }

    private let lock = PthreadMutex()
    private var entries: [Key: Entry] = [:]

    var bytes: Int { lock.withLock { entries.values.reduce(0) { $0 + $1.resident.buffer.bytes } } }

    func resident(_ w: StoredTensor, precision: VulkanPrecision, context: VulkanContext) throws -> Resident {
        let key = Key(address: UInt(bitPattern: w.bytes), dtype: w.dtype, count: w.count, precision: precision)
        if let owner = w.owner, let hit = lock.withLock({ entries[key] }), hit.owner === owner { return hit.resident }
        let resident = try Self.upload(w, precision: precision, context: context)
        if let owner = w.owner {
            lock.withLock {
                entries = entries.filter { $0.value.owner != nil }
                entries[key] = Entry(owner: owner, resident: resident)
            }
        }
        return resident
    }

    func dropUnused() { lock.withLock { entries = entries.filter { $0.value.owner != nil } } }

    static func upload(_ w: StoredTensor, precision: VulkanPrecision, context: VulkanContext) throws -> Resident {
        let n = w.count
        try VulkanContext.checkSize(n, "weight upload")
        return try withExtendedLifetime(w.owner) {
            switch w.dtype {
            case .bf16, .f16:
                // Shaders read 16-bit values two per uint: round the buffer up to whole words.
                let b = try context.buffer(bytes: (n * 2 + 3) / 4 * 4, pooled: false)
                try b.write(w.bytes, bytes: n * 2)
                return Resident(buffer: b, dtype: w.dtype)
            case .f32 where precision == .f32:
                let b = try context.buffer(bytes: n * 4, pooled: false)
                try b.write(w.bytes, bytes: n * 4)
                return Resident(buffer: b, dtype: .f32)
            default:
                // f32 in the f16 mode, and fp8 (exactly representable in f16), as f16.
                var halves = [UInt16](repeating: 0, count: n)
                let rowLength = w.shape.count <= 1 ? n : n / Swift.max(w.shape[0], 1)
                let totalRows = rowLength == 0 ? 0 : n / rowLength
                let rowsPerPiece = Swift.max(1, (1 << 16) / Swift.max(rowLength, 1))
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, rowsPerPiece * rowLength))
                defer { scratch.deallocate() }
                var r = 0
                while r < totalRows {
                    let k = Swift.min(rowsPerPiece, totalRows - r)
                    try w.widenRows(r, k, into: scratch)
                    for j in 0..<(k * rowLength) { halves[r * rowLength + j] = Float16(scratch[j]).bitPattern }
                    r += k
                }
                if halves.count % 2 == 1 { halves.append(0) }
                let b = try context.buffer(bytes: halves.count * 2, pooled: false)
                try halves.withUnsafeBytes { try b.write($0.baseAddress!, bytes: n * 2) }
                return Resident(buffer: b, dtype: .f16)
            }
        }
    }
}
