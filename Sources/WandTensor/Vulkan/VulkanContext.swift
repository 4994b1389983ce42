import CWandVulkan
import Glibc

/// A compute shader: its SPIR-V (compiled from `Shaders/<name>.comp` at build time) and how many
/// storage buffers it binds.
struct VulkanKernel: Sendable {
    let name: String
    let code: [UInt32]
    let bindings: Int
}

/// Namespace of the generated SPIR-V arrays (`VulkanSPIRV.<shader name>`).
enum VulkanSPIRV {}

/// Up to 32 words of push constants, in the order the shader's push_constant block declares them.
struct PushConstants {
    private(set) var words: [UInt32] = []

    mutating func u(_ v: Int) { words.append(UInt32(truncatingIfNeeded: v)) }
    mutating func f(_ v: Float) { words.append(v.bitPattern) }
    /// A fixed-length uint array (zeros after `values`).
    mutating func array(_ values: [Int], length: Int) {
        precondition(values.count <= length)
        for v in values { u(v) }
        for _ in values.count..<length { u(0) }
    }
}


/// One logical device (see wand_vulkan.h): buffers, pipelines made on first use, dispatches.
/// The C side serializes all calls, so the context may be used from any thread.
final class VulkanContext: @unchecked Sendable {
    let handle: OpaquePointer
    let info: VulkanDeviceInfo
    let forceStaging: Bool
    private let lock = PthreadMutex()
    private var pipelines: [String: OpaquePointer] = [:]
    /// Stored weights uploaded by `linear(_:weight: StoredTensor)`.
    let weights = VulkanWeightCache()
    /// Small host-computed tables (RoPE angles) by key.
    let tables = VulkanTableCache()
    /// WAND_VULKAN_PROFILE=1: every dispatch is submitted and waited for alone, and its wall time
    /// added to its kernel's total (`profile`). Slow; for finding the kernel that costs the time.
    let profiling = getenv("WAND_VULKAN_PROFILE").map { String(cString: $0) == "1" } ?? false
    private var profileTotals: [String: (count: Int, seconds: Double)] = [:]

    init(device: VulkanDeviceInfo, forceStaging: Bool) throws {
        var error = Vulkan.errorBuffer()
        guard let h = wvk_context_create(Int32(device.index), forceStaging ? 1 : 0, &error, error.count) else {
            throw VulkanError(Vulkan.message(error))
        }
        handle = h
        info = device
        self.forceStaging = forceStaging
    }

    deinit { wvk_context_destroy(handle) }

    private static let sharedLock = PthreadMutex()
    nonisolated(unsafe) private static var sharedContexts: [String: VulkanContext] = [:]

    /// One context per device for the process: backends of either precision share its pipelines
    /// (compiled once; a CPU driver compiles each in LLVM), its pool and its resident weights.
    static func shared(device: VulkanDeviceInfo, forceStaging: Bool) throws -> VulkanContext {
        try sharedLock.withLock {
            let key = "\(device.index) \(forceStaging)"
            if let c = sharedContexts[key] { return c }
            let c = try VulkanContext(device: device, forceStaging: forceStaging)
            sharedContexts[key] = c
            return c
        }
    }

    func check(_ status: Int32, _ error: [CChar]) throws {
        if status != 0 { throw VulkanError(Vulkan.message(error)) }
    }

    func pipeline(_ kernel: VulkanKernel) throws -> OpaquePointer {
        try lock.withLock {
            if let p = pipelines[kernel.name] { return p }
            var error = Vulkan.errorBuffer()
            let made = kernel.code.withUnsafeBufferPointer { code in
                wvk_pipeline_create(handle, code.baseAddress, code.count, UInt32(kernel.bindings), &error, error.count)
            }
            guard let p = made else { throw VulkanError("shader \(kernel.name): \(Vulkan.message(error))") }
            pipelines[kernel.name] = p
            return p
        }
    }

    func buffer(bytes: Int, pooled: Bool) throws -> VulkanBuffer {
        var error = Vulkan.errorBuffer()
        guard let b = wvk_buffer_create(handle, UInt64(Swift.max(bytes, 4)), pooled ? 1 : 0, &error, error.count) else {
            throw VulkanError(Vulkan.message(error))
        }
        return VulkanBuffer(context: self, handle: b, bytes: Swift.max(bytes, 4))
    }

    /// Records `kernel` over `buffers` with `groups` workgroups (x may exceed the device's limit of
    /// 65535 only if the shader loops over a grid stride; callers cap it).
    func dispatch(_ kernel: VulkanKernel, _ buffers: [VulkanBuffer], _ push: PushConstants,
                  groups: (Int, Int, Int)) throws {
        let p = try pipeline(kernel)
        precondition(buffers.count == kernel.bindings, "\(kernel.name) binds \(kernel.bindings) buffers")
        // 65535 workgroups per dimension is what every Vulkan device supports.
        guard groups.0 <= 65535, groups.1 <= 65535, groups.2 <= 65535 else {
            throw TensorError.unsupported(op: kernel.name, detail: "\(groups) workgroups: the tensor is too large for one dispatch")
        }
        precondition(push.words.count <= 32, "\(kernel.name): push constants over 128 bytes")
        var error = Vulkan.errorBuffer()
        let handles: [OpaquePointer?] = buffers.map { $0.handle }
        let status = handles.withUnsafeBufferPointer { hs in
            push.words.withUnsafeBytes { words in
                wvk_dispatch(handle, p, hs.baseAddress, UInt32(hs.count), words.baseAddress, UInt32(words.count),
                             UInt32(groups.0), UInt32(groups.1), UInt32(groups.2), &error, error.count)
            }
        }
        withExtendedLifetime(buffers) {}
        if status != 0 { throw VulkanError("\(kernel.name): \(Vulkan.message(error))") }
        if profiling {
            let start = Self.now()
            try flush()
            let dt = Self.now() - start
            lock.withLock {
                let old = profileTotals[kernel.name] ?? (0, 0)
                profileTotals[kernel.name] = (old.count + 1, old.seconds + dt)
            }
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Kernel name, dispatches and seconds, most expensive first (empty unless profiling).
    var profile: [(kernel: String, count: Int, seconds: Double)] {
        lock.withLock { profileTotals.map { ($0.key, $0.value.count, $0.value.seconds) }.sorted { $0.seconds > $1.seconds } }
    }

    /// Workgroups for a grid-stride loop over `n` items with `perGroup` items a group.
    static func groups(_ n: Int, perGroup: Int = 256) -> (Int, Int, Int) {
        (Swift.max(1, Swift.min(65535, (n + perGroup - 1) / perGroup)), 1, 1)
    }

    func flush() throws {
        var error = Vulkan.errorBuffer()
        try check(wvk_flush(handle, &error, error.count), error)
    }

    func trim() {
        weights.dropUnused()
        tables.clear()
        wvk_trim(handle)
    }

    var liveBytes: Int { Int(wvk_bytes_live(handle)) }
    var pooledBytes: Int { Int(wvk_bytes_pooled(handle)) }
    var dispatchCount: Int { Int(wvk_dispatch_count(handle)) }
    var submitCount: Int { Int(wvk_submit_count(handle)) }
}

/// A device buffer; freed (or pooled) when the last tensor storage holding it goes away.
final class VulkanBuffer: DeviceMemory, @unchecked Sendable {
    let context: VulkanContext
    let handle: OpaquePointer
    let bytes: Int

    init(context: VulkanContext, handle: OpaquePointer, bytes: Int) {
        self.context = context
        self.handle = handle
        self.bytes = bytes
    }

    deinit { wvk_buffer_release(context.handle, handle) }

    var deviceName: String { context.info.name }
    var deviceBytes: Int { bytes }

    func write(_ source: UnsafeRawPointer, bytes count: Int, at offset: Int = 0) throws {
        var error = Vulkan.errorBuffer()
        try context.check(wvk_buffer_write(context.handle, handle, UInt64(offset), source, UInt64(count), &error, error.count), error)
    }

    func read(into destination: UnsafeMutableRawPointer, bytes count: Int, at offset: Int = 0) throws {
        var error = Vulkan.errorBuffer()
        try context.check(wvk_buffer_read(context.handle, handle, UInt64(offset), destination, UInt64(count), &error, error.count), error)
    }

    func download(into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        try read(into: destination, bytes: count * 4)
    }

    func gather(_ view: Tensor) throws -> Tensor { try context.gather(view) }

    func assemble(shape: [Int], fill: Float, parts: [(tensor: Tensor, origin: [Int])]) throws -> Tensor {
        try context.assemble(shape: shape, fill: fill, parts: parts)
    }
}
