extension VulkanKernel {
    static let binary = VulkanKernel(name: "binary", code: VulkanSPIRV.binary, bindings: 3)
}

extension VulkanBackend {
    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary("add", 0, a, b) }
    public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary("sub", 1, a, b) }
    public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary("mul", 2, a, b) }

    /// PyTorch broadcasting by strides: a broadcast dim reads with stride 0, so neither operand
    /// is expanded in memory; strided views (permutes, slices) are read in place.
    func binary(_ op: String, _ code: Int, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try fallback.broadcastShape(op, a.shape, b.shape)
        let ea = try fallback.expand(a, to: shape), eb = try fallback.expand(b, to: shape)
        let (out, ob) = try context.output(shape)
        if out.count == 0 { return out }
        let (s, sa, sb) = VulkanContext.collapse(shape, ea.strides, eb.strides)
        let (da, db) = (try context.operand(ea), try context.operand(eb))
        guard s.count <= 6 else { return try fallback.broadcastBinary(op, host(a), host(b), vector: Self.vectorOp(code), scalar: Self.scalarOp(code)) }
        var push = PushConstants()
        push.u(out.count); push.u(s.count); push.u(code); push.u(da.offset); push.u(db.offset)
        push.array(s, length: 6); push.array(sa, length: 6); push.array(sb, length: 6)
        try context.dispatch(.binary, [da.buffer, db.buffer, ob], push, groups: VulkanContext.groups(out.count))
        return out
    }

    static func vectorOp(_ code: Int) -> (F8, F8) -> F8 {
        code == 0 ? { $0 + $1 } : code == 1 ? { $0 - $1 } : { $0 * $1 }
    }

    static func scalarOp(_ code: Int) -> (Float, Float) -> Float {
        code == 0 ? { $0 + $1 } : code == 1 ? { $0 - $1 } : { $0 * $1 }
    }
}
