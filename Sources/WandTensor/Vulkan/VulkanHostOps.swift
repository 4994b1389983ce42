// Ops that only the S2V networks use (the audio encoder's 1-D convs, RoPE at explicit positions),
// run on the host through the CPU backend until they get kernels of their own: the operands are
// read back, and the host result is uploaded by the next device op that takes it. Correct on every
// device, and a small share of an S2V step (the DiT's GEMMs and attention stay on the device).
extension VulkanBackend {
    public func rope3D(_ x: Tensor, positions: [RoPEPosition], theta: Double) throws -> Tensor {
        try fallback.rope3D(host(x), positions: positions, theta: theta)
    }

    public func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: (left: Int, right: Int),
                       groups: Int) throws -> Tensor {
        try fallback.conv1d(host(x), weight: host(weight), bias: host(bias), stride: stride, padding: padding, groups: groups)
    }
}
