extension VulkanKernel {
    static let layerNorm = VulkanKernel(name: "layernorm", code: VulkanSPIRV.layernorm, bindings: 6)
    static let rmsNorm = VulkanKernel(name: "rmsnorm", code: VulkanSPIRV.rmsnorm, bindings: 3)
    static let channelRMSNorm = VulkanKernel(name: "channel_rmsnorm", code: VulkanSPIRV.channel_rmsnorm, bindings: 4)
    static let groupNorm = VulkanKernel(name: "groupnorm", code: VulkanSPIRV.groupnorm, bindings: 4)
}

extension VulkanBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        guard let n = x.shape.last, n > 0 else {
            throw TensorError.invalidArgument(op: "layerNorm", detail: "empty last dim in \(x.shape)")
        }
        if let weight, weight.count != n { throw TensorError.shapeMismatch(op: "layerNorm", detail: "weight \(weight.shape) for \(n)") }
        if let bias, bias.count != n { throw TensorError.shapeMismatch(op: "layerNorm", detail: "bias \(bias.shape) for \(n)") }
        return try layerNormKernel(x, n: n, weight: weight, bias: bias, modulation: nil, eps: eps)
    }

    public func modulatedLayerNorm(_ x: Tensor, table: Tensor, shift: Int, scale: Int, rows: Tensor?,
                                   eps: Float) throws -> Tensor {
        let (d, chunks, _) = try CPUBackend.modulationLayout("modulatedLayerNorm", x, table, rows.map(host),
                                                            Swift.max(shift, scale))
        return try layerNormKernel(x, n: d, weight: nil, bias: nil,
                                   modulation: (table, rows, chunks, shift, scale), eps: eps)
    }

    func layerNormKernel(_ x: Tensor, n: Int, weight: Tensor?, bias: Tensor?,
                         modulation: (table: Tensor, rows: Tensor?, chunks: Int, shift: Int, scale: Int)?,
                         eps: Float) throws -> Tensor {
        let dx = try context.contiguousOperand(x)
        let dw = try weight.map { try context.contiguousOperand($0) }, db = try bias.map { try context.contiguousOperand($0) }
        let dt = try modulation.map { try context.contiguousOperand($0.table) }
        let di = try modulation?.rows.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output(x.shape)
        let rows = x.count / n
        var flags = 0
        if dw != nil { flags |= 1 }
        if db != nil { flags |= 2 }
        if dt != nil { flags |= 4 }
        if di != nil { flags |= 8 }
        var push = PushConstants()
        push.u(n); push.u(rows); push.u(dx.offset); push.u(dw?.offset ?? 0); push.u(db?.offset ?? 0)
        push.u(dt?.offset ?? 0); push.u(di?.offset ?? 0); push.u(flags); push.f(eps)
        push.u(modulation?.chunks ?? 0); push.u(modulation?.shift ?? 0); push.u(modulation?.scale ?? 0)
        let buffers = [dx, dw ?? dx, db ?? dx, dt ?? dx, di ?? dx].map(\.buffer) + [ob]
        try context.dispatch(.layerNorm, buffers, push, groups: (Swift.min(rows, 65535), 1, 1))
        return out
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        guard let n = x.shape.last, n > 0 else {
            throw TensorError.invalidArgument(op: "rmsNorm", detail: "empty last dim in \(x.shape)")
        }
        if let weight, weight.count != n { throw TensorError.shapeMismatch(op: "rmsNorm", detail: "weight \(weight.shape) for \(n)") }
        let dx = try context.contiguousOperand(x), dw = try weight.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output(x.shape)
        let rows = x.count / n
        var push = PushConstants()
        push.u(n); push.u(rows); push.u(dx.offset); push.u(dw?.offset ?? 0); push.u(dw == nil ? 0 : 1); push.f(eps)
        try context.dispatch(.rmsNorm, [dx.buffer, (dw ?? dx).buffer, ob], push, groups: (Swift.min(rows, 65535), 1, 1))
        return out
    }

    public func channelRMSNorm(_ x: Tensor, gamma: Tensor, bias: Tensor?) throws -> Tensor {
        let c = try checkedChannelRMSNormChannels(x, gamma: gamma, bias: bias)
        let dx = try context.contiguousOperand(x), dg = try context.contiguousOperand(gamma)
        let db = try bias.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output(x.shape)
        let plane = x.count / Swift.max(c, 1)
        if out.count == 0 { return out }
        var push = PushConstants()
        push.u(c); push.u(plane); push.u(dx.offset); push.u(dg.offset); push.u(db?.offset ?? 0); push.u(db == nil ? 0 : 1)
        push.f(Float(Double(c).squareRoot()))
        try context.dispatch(.channelRMSNorm, [dx.buffer, dg.buffer, (db ?? dg).buffer, ob], push,
                             groups: VulkanContext.groups(plane))
        return out
    }

    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        let c = try checkedGroupNormChannels(x, groups: groups, weight: weight, bias: bias)
        let dx = try context.contiguousOperand(x)
        let dw = try weight.map { try context.contiguousOperand($0) }, db = try bias.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output(x.shape)
        if out.count == 0 { return out }
        var push = PushConstants()
        push.u(groups); push.u(c / groups); push.u(x.count / c); push.u(dx.offset); push.u(dw?.offset ?? 0)
        push.u(db?.offset ?? 0); push.u((dw == nil ? 0 : 1) | (db == nil ? 0 : 2)); push.f(eps)
        try context.dispatch(.groupNorm, [dx.buffer, (dw ?? dx).buffer, (db ?? dx).buffer, ob], push,
                             groups: (Swift.min(groups, 65535), 1, 1))
        return out
    }
}
