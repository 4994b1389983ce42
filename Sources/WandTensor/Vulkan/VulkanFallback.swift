// Ops that run on the CPU backend over host copies of their inputs (no Vulkan kernel yet).
extension VulkanBackend {
    public func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor { try fallback.matmul(host(a), host(b)) }
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        try fallback.linear(host(x), weight: host(weight), bias: host(bias))
    }
    public func linear(_ x: Tensor, weight: StoredTensor, bias: Tensor?) throws -> Tensor {
        try fallback.linear(host(x), weight: weight, bias: host(bias))
    }
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try fallback.layerNorm(host(x), weight: host(weight), bias: host(bias), eps: eps)
    }
    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        try fallback.rmsNorm(host(x), weight: host(weight), eps: eps)
    }
    public func channelRMSNorm(_ x: Tensor, gamma: Tensor, bias: Tensor?) throws -> Tensor {
        try fallback.channelRMSNorm(host(x), gamma: host(gamma), bias: host(bias))
    }
    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try fallback.groupNorm(host(x), groups: groups, weight: host(weight), bias: host(bias), eps: eps)
    }
    public func softmax(_ x: Tensor) throws -> Tensor { try fallback.softmax(host(x)) }
    public func gelu(_ x: Tensor, approximation: GELUApproximation) -> Tensor { fallback.gelu(host(x), approximation: approximation) }
    public func silu(_ x: Tensor) -> Tensor { fallback.silu(host(x)) }
    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor { fallback.affine(host(x), scale: scale, shift: shift) }
    public func clamp(_ x: Tensor, lower: Float, upper: Float) -> Tensor { fallback.clamp(host(x), lower: lower, upper: upper) }
    public func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float?, bias: Tensor?) throws -> Tensor {
        try fallback.attention(q: host(q), k: host(k), v: host(v), scale: scale, bias: host(bias))
    }
    public func rope3D(_ x: Tensor, frames: Int, height: Int, width: Int, theta: Double) throws -> Tensor {
        try fallback.rope3D(host(x), frames: frames, height: height, width: width, theta: theta)
    }
    public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int, Int),
                       padding: Conv3DPadding) throws -> Tensor {
        try fallback.conv3d(host(x), weight: host(weight), bias: host(bias), stride: stride, padding: padding)
    }
    public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int)) throws -> Tensor {
        try fallback.conv2d(host(x), weight: host(weight), bias: host(bias), stride: stride, padding: padding)
    }
    public func interpolate(_ x: Tensor, height: Int, width: Int, mode: InterpolationMode) throws -> Tensor {
        try fallback.interpolate(host(x), height: height, width: width, mode: mode)
    }
}
