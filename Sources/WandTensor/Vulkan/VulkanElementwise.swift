extension VulkanKernel {
    static let binary = VulkanKernel(name: "binary", code: VulkanSPIRV.binary, bindings: 3)
    static let unary = VulkanKernel(name: "unary", code: VulkanSPIRV.unary, bindings: 2)
    static let softmax = VulkanKernel(name: "softmax", code: VulkanSPIRV.softmax, bindings: 2)
    static let gatedAdd = VulkanKernel(name: "gated_add", code: VulkanSPIRV.gated_add, bindings: 5)
}

extension VulkanBackend {
    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary("add", 0, a, b) }
    public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary("sub", 1, a, b) }
    public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary("mul", 2, a, b) }
    public func div(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary("div", 3, a, b) }

    /// PyTorch broadcasting by strides: a broadcast dim reads with stride 0, so neither operand
    /// is expanded in memory; strided views (permutes, slices) are read in place.
    func binary(_ op: String, _ code: Int, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try fallback.broadcastShape(op, a.shape, b.shape)
        let ea = try fallback.expand(a, to: shape), eb = try fallback.expand(b, to: shape)
        var (s, sa, sb) = VulkanContext.collapse(shape, ea.strides, eb.strides)
        var (ca, cb) = (ea, eb)
        // More than 6 independent dims after merging: make the operands contiguous first.
        if s.count > 6 {
            ca = try context.gather(ea); cb = try context.gather(eb)
            (s, sa, sb) = VulkanContext.collapse(shape, ca.strides, cb.strides)
        }
        let (out, ob) = try context.output(shape)
        if out.count == 0 { return out }
        let (da, db) = (try context.operand(ca), try context.operand(cb))
        var push = PushConstants()
        push.u(out.count); push.u(s.count); push.u(code); push.u(da.offset); push.u(db.offset)
        push.array(s, length: 6); push.array(sa, length: 6); push.array(sb, length: 6)
        try context.dispatch(.binary, [da.buffer, db.buffer, ob], push, groups: VulkanContext.groups(out.count))
        return out
    }

    func unary(_ x: Tensor, _ op: Int, _ a: Float = 0, _ b: Float = 0) throws -> Tensor {
        let dx = try context.contiguousOperand(x)
        let (out, ob) = try context.output(x.shape)
        if out.count == 0 { return out }
        var push = PushConstants()
        push.u(out.count); push.u(op); push.u(dx.offset); push.f(a); push.f(b)
        try context.dispatch(.unary, [dx.buffer, ob], push, groups: VulkanContext.groups(out.count))
        return out
    }

    // The protocol's non-throwing maps fall back to the CPU if the device fails.
    public func silu(_ x: Tensor) -> Tensor { (try? unary(x, 0)) ?? fallback.silu(host(x)) }

    public func gelu(_ x: Tensor, approximation: GELUApproximation) -> Tensor {
        (try? unary(x, approximation == .tanh ? 1 : 2)) ?? fallback.gelu(host(x), approximation: approximation)
    }

    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
        (try? unary(x, 3, scale, shift)) ?? fallback.affine(host(x), scale: scale, shift: shift)
    }

    public func clamp(_ x: Tensor, lower: Float, upper: Float) -> Tensor {
        (try? unary(x, 4, lower, upper)) ?? fallback.clamp(host(x), lower: lower, upper: upper)
    }

    public func softmax(_ x: Tensor) throws -> Tensor {
        guard let n = x.shape.last, n > 0 else {
            throw TensorError.invalidArgument(op: "softmax", detail: "empty last dim in \(x.shape)")
        }
        let dx = try context.contiguousOperand(x)
        let (out, ob) = try context.output(x.shape)
        let rows = x.count / n
        var push = PushConstants()
        push.u(n); push.u(rows); push.u(dx.offset)
        try context.dispatch(.softmax, [dx.buffer, ob], push, groups: (Swift.min(rows, 65535), 1, 1))
        return out
    }

    public func gatedAdd(_ x: Tensor, _ delta: Tensor, table: Tensor, gate: Int, rows: Tensor?) throws -> Tensor {
        let (d, chunks, _) = try CPUBackend.modulationLayout("gatedAdd", x, table, rows.map(host), gate)
        guard delta.shape == x.shape else {
            throw TensorError.shapeMismatch(op: "gatedAdd", detail: "x \(x.shape), delta \(delta.shape)")
        }
        let dx = try context.contiguousOperand(x), dd = try context.contiguousOperand(delta)
        let dt = try context.contiguousOperand(table)
        let di = try rows.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output(x.shape)
        if out.count == 0 { return out }
        var push = PushConstants()
        push.u(out.count); push.u(d); push.u(dx.offset); push.u(dd.offset); push.u(dt.offset)
        push.u(di?.offset ?? 0); push.u(di == nil ? 0 : 1); push.u(chunks); push.u(gate)
        try context.dispatch(.gatedAdd, [dx.buffer, dd.buffer, dt.buffer, di?.buffer ?? dt.buffer, ob], push,
                             groups: VulkanContext.groups(out.count))
        return out
    }
}
