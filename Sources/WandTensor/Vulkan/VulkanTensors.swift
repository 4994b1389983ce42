import CWandVulkan

// Tensors on a Vulkan context: device buffers behind inputs (uploaded once and kept with the
// host storage), fresh device outputs, and the data-movement kernels (strided copy, fill) that
// TensorStorage's DeviceMemory hooks run.

extension VulkanKernel {
    static let copy = VulkanKernel(name: "copy", code: VulkanSPIRV.copy, bindings: 2)
    static let fill = VulkanKernel(name: "fill", code: VulkanSPIRV.fill, bindings: 1)
}

/// A device-side operand: the buffer and the element offset of the tensor's first element.
struct DeviceOperand {
    let buffer: VulkanBuffer
    let offset: Int
}

extension VulkanContext {
    /// Shaders index with 32-bit unsigned integers.
    static func checkSize(_ count: Int, _ op: String) throws {
        guard count < Int(UInt32.max) else {
            throw TensorError.unsupported(op: op, detail: "\(count) elements is more than a Vulkan kernel indexes")
        }
    }

    /// The buffer holding `t`'s storage on this device: its current device copy, or an upload of
    /// its host data that then stays attached to the storage (exact-size, not pooled: uploads are
    /// mostly weights and inputs that are used again).
    func operand(_ t: Tensor) throws -> DeviceOperand {
        if let b = t.storage.deviceMemory as? VulkanBuffer, b.context === self { return DeviceOperand(buffer: b, offset: t.offset) }
        try Self.checkSize(t.storage.count, "upload")
        let b = try buffer(bytes: t.storage.count * 4, pooled: false)
        try b.write(t.storage.readPointer, bytes: t.storage.count * 4)
        t.storage.attachDevice(b)
        return DeviceOperand(buffer: b, offset: t.offset)
    }

    /// `t` contiguous (a device copy when it is a strided view) and on this device.
    func contiguousOperand(_ t: Tensor) throws -> DeviceOperand {
        try operand(t.isContiguous ? t : try gather(t))
    }

    /// A new device tensor (pooled buffer); the kernel that receives it must write every element.
    func output(_ shape: [Int]) throws -> (tensor: Tensor, buffer: VulkanBuffer) {
        let n = shape.reduce(1, *)
        try Self.checkSize(n, "output")
        let b = try buffer(bytes: Swift.max(n, 1) * 4, pooled: true)
        return (Tensor(storage: TensorStorage(device: b, count: n), shape: shape), b)
    }

    func fill(_ b: VulkanBuffer, offset: Int, count: Int, value: Float) throws {
        var push = PushConstants()
        push.u(count); push.u(offset); push.f(value)
        try dispatch(.fill, [b], push, groups: Self.groups(count))
    }

    /// d[dstOffset + Σ c·dstStrides] = s[view(c)] for every index c of `view.shape`.
    func copy(_ view: Tensor, into destination: VulkanBuffer, offset: Int, strides: [Int]) throws {
        let n = view.count
        if n == 0 { return }
        let source = try operand(view)
        let (shape, ss, ds) = Self.collapse(view.shape, view.strides, strides)
        // Rows contiguous on both sides (a whole tensor, a part of a concatenation, a slice of
        // frames): a transfer copy, no shader.
        if ss.last == 1, ds.last == 1, shape.count <= 2, (shape.count == 1 || shape[0] <= 65536) {
            let rows = shape.count == 1 ? 1 : shape[0], row = shape.last!
            var error = Vulkan.errorBuffer()
            try check(wvk_buffer_copy(handle, source.buffer.handle, UInt64(source.offset * 4),
                                      UInt64((shape.count == 1 ? 0 : ss[0]) * 4), destination.handle, UInt64(offset * 4),
                                      UInt64((shape.count == 1 ? 0 : ds[0]) * 4), UInt64(row * 4), UInt32(rows),
                                      &error, error.count), error)
            return
        }
        guard shape.count <= 8 else {
            throw TensorError.unsupported(op: "copy", detail: "rank \(shape.count) view after merging dims (at most 8)")
        }
        var push = PushConstants()
        push.u(n); push.u(shape.count); push.u(source.offset); push.u(offset)
        push.array(shape, length: 8); push.array(ss, length: 8); push.array(ds, length: 8)
        try dispatch(.copy, [source.buffer, destination], push, groups: Self.groups(n))
    }

    func gather(_ view: Tensor) throws -> Tensor {
        let (out, b) = try output(view.shape)
        try copy(view, into: b, offset: 0, strides: out.strides)
        return out
    }

    func assemble(shape: [Int], fill value: Float, parts: [(tensor: Tensor, origin: [Int])]) throws -> Tensor {
        let (out, b) = try output(shape)
        let covered = parts.reduce(0) { $0 + $1.tensor.count }
        if covered < out.count { try fill(b, offset: 0, count: out.count, value: value) }
        for (part, origin) in parts {
            guard part.rank == shape.count, origin.count == shape.count,
                  zip(zip(origin, part.shape), shape).allSatisfy({ $0.0 >= 0 && $0.0 + $0.1 <= $1 }) else {
                throw TensorError.shapeMismatch(op: "assemble", detail: "\(part.shape) at \(origin) into \(shape)")
            }
            let at = zip(origin, out.strides).reduce(0) { $0 + $1.0 * $1.1 }
            try copy(part, into: b, offset: at, strides: out.strides)
        }
        return out
    }

    /// Drops size-1 dims and merges neighbours that are adjacent in both stride sets.
    static func collapse(_ shape: [Int], _ a: [Int], _ b: [Int]) -> ([Int], [Int], [Int]) {
        var s: [Int] = [], sa: [Int] = [], sb: [Int] = []
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = s.last, sa.last! == a[d] * shape[d], sb.last! == b[d] * shape[d] {
                s[s.count - 1] = last * shape[d]
                sa[sa.count - 1] = a[d]
                sb[sb.count - 1] = b[d]
            } else {
                s.append(shape[d]); sa.append(a[d]); sb.append(b[d])
            }
        }
        if s.isEmpty { return ([1], [0], [0]) }
        return (s, sa, sb)
    }
}
