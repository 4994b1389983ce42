extension VulkanKernel {
    static let conv3d = VulkanKernel(name: "conv3d", code: VulkanSPIRV.conv3d, bindings: 4)
    static let conv3dTM4 = VulkanKernel(name: "conv3d_tm4", code: VulkanSPIRV.conv3d_tm4, bindings: 4)
    static let conv3dTM2 = VulkanKernel(name: "conv3d_tm2", code: VulkanSPIRV.conv3d_tm2, bindings: 4)
    static let conv3dDirect = VulkanKernel(name: "conv3d_direct", code: VulkanSPIRV.conv3d_direct, bindings: 4)
    static let interpolate = VulkanKernel(name: "interpolate", code: VulkanSPIRV.interpolate, bindings: 2)
}

extension VulkanBackend {
    /// 3x3 spatial kernels at stride 1 (most of the VAE) run a direct convolution over staged input
    /// patches, the rest an implicit GEMM; both read the input in place (padding is a bounds
    /// test), so a causal conv over one streamed frame plus its cached history needs no padded copy.
    public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int, Int),
                       padding p: Conv3DPadding) throws -> Tensor {
        let g = try Conv3DGeometry(x, weight: weight, bias: bias, stride: stride, padding: p)
        let (cin, t, h, w, cout, kt, kh, kw) = (g.cin, g.t, g.h, g.w, g.cout, g.kt, g.kh, g.kw)
        let (to, ho, wo) = (g.to, g.ho, g.wo)
        let dx = try context.contiguousOperand(x), dw = try context.contiguousOperand(weight)
        let db = try bias.map { try context.contiguousOperand($0) }
        let (out, ob) = try context.output([cout, to, ho, wo])
        let n = to * ho * wo, k = cin * kt * kh * kw
        if out.count == 0 { return out }
        if kh == 3, kw == 3, kt <= 3, stride == (1, 1, 1), to <= 65535 {
            // The VAE's 3x3(x3) convolutions: a direct kernel over staged input patches.
            let tilesW = (wo + 31) / 32, tiles = ((ho + 15) / 16) * tilesW
            var push = PushConstants()
            push.u(cout); push.u(cin); push.u(t); push.u(h); push.u(w); push.u(kt); push.u(to); push.u(ho); push.u(wo)
            push.u(dw.offset); push.u(dx.offset); push.u(db?.offset ?? 0); push.u(roundFlags | (db == nil ? 0 : GEMMFlags.bias))
            push.u(tilesW); push.u(p.timeFront); push.u(p.top); push.u(p.left)
            try context.dispatch(.conv3dDirect, [dw.buffer, dx.buffer, (db ?? dw).buffer, ob], push,
                                 groups: (tiles, (cout + 15) / 16, to))
            return out
        }
        var push = PushConstants()
        push.u(cout); push.u(n); push.u(k); push.u(dw.offset); push.u(dx.offset); push.u(db?.offset ?? 0); push.u(0)
        push.u(roundFlags | (db == nil ? 0 : GEMMFlags.bias))
        push.u(t); push.u(h); push.u(w); push.u(kt); push.u(kh); push.u(kw)
        push.u(stride.0); push.u(stride.1); push.u(stride.2)
        push.u(p.timeFront); push.u(p.top); push.u(p.left); push.u(ho); push.u(wo)
        // Few output channels would leave most of a 64-row tile empty: 16- or 32-row tiles then.
        let (kernel, rows): (VulkanKernel, Int) = cout <= 16 ? (.conv3dTM2, 16) : cout <= 32 ? (.conv3dTM4, 32) : (.conv3d, 64)
        try context.dispatch(kernel, [dw.buffer, dx.buffer, (db ?? dw).buffer, ob], push,
                             groups: ((n + 63) / 64, (cout + rows - 1) / rows, 1))
        return out
    }

    /// Nearest and nearest-exact run on the device; area, bilinear and bicubic (the pipeline's
    /// input resizing, on host images) on the CPU.
    public func interpolate(_ x: Tensor, height oh: Int, width ow: Int, mode: InterpolationMode) throws -> Tensor {
        guard mode == .nearest || mode == .nearestExact else {
            return try fallback.interpolate(host(x), height: oh, width: ow, mode: mode)
        }
        guard x.rank >= 2, oh > 0, ow > 0 else {
            throw TensorError.invalidArgument(op: "interpolate", detail: "x \(x.shape) to \(oh)x\(ow)")
        }
        let ih = x.shape[x.rank - 2], iw = x.shape[x.rank - 1]
        let dx = try context.contiguousOperand(x)
        let (out, ob) = try context.output(Array(x.shape.dropLast(2)) + [oh, ow])
        if out.count == 0 { return out }
        var push = PushConstants()
        push.u(out.count); push.u(ih); push.u(iw); push.u(oh); push.u(ow); push.u(dx.offset)
        push.u(mode == .nearestExact ? 1 : 0); push.f(Float(ih) / Float(oh)); push.f(Float(iw) / Float(ow))
        try context.dispatch(.interpolate, [dx.buffer, ob], push, groups: VulkanContext.groups(out.count))
        return out
    }
}
