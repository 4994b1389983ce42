import Glibc

extension VulkanKernel {
    static let attention64 = VulkanKernel(name: "attention64", code: VulkanSPIRV.attention64, bindings: 5)
    static let attention128 = VulkanKernel(name: "attention128", code: VulkanSPIRV.attention128, bindings: 5)
    static let attentionWide = VulkanKernel(name: "attention_wide", code: VulkanSPIRV.attention_wide, bindings: 5)
    static let rope3D = VulkanKernel(name: "rope3d", code: VulkanSPIRV.rope3d, bindings: 3)
}

extension VulkanBackend {
    public func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float?, bias: Tensor?) throws -> Tensor {
        let g = try AttentionGeometry(q: q, k: k, v: v, bias: bias)
        let (lq, heads, d, lk) = (g.lq, g.heads, g.d, g.lk)
        let dq = try context.contiguousOperand(q), dk = try context.contiguousOperand(k), dv = try context.contiguousOperand(v)
        let db = try bias.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output(q.shape)
        guard lq > 0, d > 0 else { return out }
        guard heads <= 65535, (lq + 15) / 16 <= 65535 else {
            throw TensorError.unsupported(op: "attention", detail: "\(lq) queries x \(heads) heads is more than one dispatch")
        }
        var push = PushConstants()
        push.u(lq); push.u(lk); push.u(heads); push.u(d); push.u(dq.offset); push.u(dk.offset); push.u(dv.offset)
        push.u(db?.offset ?? 0); push.u((precision == .f16 ? 1 : 0) | (db == nil ? 0 : 2))
        push.f(scale ?? 1 / Float(d).squareRoot())
        // Heads up to 128 wide keep a whole query block in shared memory; wider ones go through
        // 128-wide output slices (grid z) that each recompute the scores.
        let kernel: VulkanKernel = d <= 64 ? .attention64 : d <= 128 ? .attention128 : .attentionWide
        try context.dispatch(kernel, [dq.buffer, dk.buffer, dv.buffer, (db ?? dq).buffer, ob], push,
                             groups: ((lq + 15) / 16, heads, d <= 128 ? 1 : (d + 127) / 128))
        return out
    }

    public func rope3D(_ x: Tensor, frames: Int, height: Int, width: Int, theta: Double) throws -> Tensor {
        guard x.rank == 3, x.shape[0] == frames * height * width, x.shape[2] % 2 == 0 else {
            throw TensorError.shapeMismatch(op: "rope3D", detail: "x \(x.shape) for grid \(frames)x\(height)x\(width)")
        }
        let heads = x.shape[1], d = x.shape[2], pairs = d / 2
        let hwPairs = pairs / 3, fPairs = pairs - 2 * hwPairs
        let key = "rope \(frames) \(height) \(width) \(d) \(theta)"
        let table = try context.tables.table(key, context: context) {
            // (cos, sin) per position and pair, per axis, in double like the CPU backend.
            var t: [Float] = []
            for (count, axisPairs) in [(frames, fPairs), (height, hwPairs), (width, hwPairs)] {
                let dim = Double(2 * axisPairs)
                for pos in 0..<count {
                    for j in 0..<axisPairs {
                        let angle = Double(pos) * (1.0 / pow(theta, Double(2 * j) / dim))
                        t.append(Float(cos(angle)))
                        t.append(Float(sin(angle)))
                    }
                }
            }
            return t
        }
        let dx = try context.contiguousOperand(x)
        let (out, ob) = try context.output(x.shape)
        if out.count == 0 { return out }
        var push = PushConstants()
        push.u(x.shape[0]); push.u(heads); push.u(d); push.u(dx.offset); push.u(height); push.u(width)
        push.u(fPairs); push.u(hwPairs); push.u(frames * fPairs); push.u(frames * fPairs + height * hwPairs)
        try context.dispatch(.rope3D, [dx.buffer, table, ob], push, groups: VulkanContext.groups(x.shape[0] * heads * pairs))
        return out
    }
}

/// Device copies of small tables computed on the host, by a key naming what they hold.
final class VulkanTableCache: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var tables: [String: VulkanBuffer] = [:]

    func table(_ key: String, context: VulkanContext, make: () -> [Float]) throws -> VulkanBuffer {
        if let hit = lock.withLock({ tables[key] }) { return hit }
        let values = make()
        let b = try context.buffer(bytes: Swift.max(values.count, 1) * 4, pooled: false)
        try values.withUnsafeBytes { if values.count > 0 { try b.write($0.baseAddress!, bytes: values.count * 4) } }
        lock.withLock { tables[key] = b }
        return b
    }

    func clear() { lock.withLock { tables.removeAll() } }
}
