/// How the Vulkan backend rounds the operands of its GEMMs, convolutions and attention:
/// `f32` keeps them in f32 (results match the CPU backend to ~1e-6); `f16` rounds activations
/// and weights to f16 as tensor-core GEMMs take them (accumulation, norms and softmax stay f32),
/// and stores f32 weights in f16 on the device (half the memory).
public enum VulkanPrecision: String, Sendable, CaseIterable {
    case f32, f16
}

/// The Vulkan compute backend. Results stay on the device (their storages hold device buffers)
/// and chain from op to op there; host tensors it is given are uploaded once and keep their
/// device copy. Ops without a Vulkan kernel run on `fallback` over host copies, so every op
/// works everywhere; `VulkanKernelTests` shows which ones run on the device.
public struct VulkanBackend: ComputeBackend {
    let context: VulkanContext
    public let precision: VulkanPrecision
    let fallback: CPUBackend

    /// `device`: a device from `Vulkan.devices()`; nil: `Vulkan.explicitDevice` (the best there
    /// is, a CPU device such as lavapipe included). `forceStaging` copies through staging
    /// buffers even on unified memory, as on a discrete GPU (tests use it to cover that path).
    public init(device: VulkanDeviceInfo? = nil, precision: VulkanPrecision = .f32, forceStaging: Bool = false,
                threads: Int? = nil) throws {
        let chosen: VulkanDeviceInfo
        if let device {
            chosen = device
        } else {
            guard let d = Vulkan.explicitDevice(among: try Vulkan.devices()) else {
                throw VulkanError("no Vulkan device (the loader found no driver)")
            }
            chosen = d
        }
        context = try VulkanContext.shared(device: chosen, forceStaging: forceStaging)
        self.precision = precision
        fallback = CPUBackend(threads: threads)
    }

    public var name: String { "vulkan(\(context.info.name), \(precision.rawValue))" }
    public var device: VulkanDeviceInfo { context.info }

    public func releaseScratch() {
        fallback.releaseScratch()
        context.trim()
    }

    /// Runs all recorded work and waits for it (benchmarks time with it; results are copied back
    /// on demand anyway).
    public func synchronize() throws { try context.flush() }

    /// Device memory in use by live tensors, and kept in the pool for reuse.
    public var deviceBytesLive: Int { context.liveBytes }
    public var deviceBytesPooled: Int { context.pooledBytes }
    /// Kernels recorded so far (tests check that work ran on the device).
    public var dispatchCount: Int { context.dispatchCount }
    /// With WAND_VULKAN_PROFILE=1: per kernel, its dispatches and their wall time, most expensive first.
    public var kernelProfile: [(kernel: String, count: Int, seconds: Double)] { context.profile }

    /// Device bytes of a weight stored as `dtype` once `linear` has uploaded it (16-bit stays
    /// 16-bit, fp8 becomes f16, f32 stays f32 or becomes f16 in the f16 mode).
    public func residentBytes(storedAs dtype: DType, count: Int) -> Int {
        switch dtype {
        case .f32, .f64: return count * (precision == .f16 ? 2 : 4)
        case .f16, .bf16, .fp8e4m3, .fp8e5m2: return count * 2
        default: return count * dtype.size
        }
    }

    // MARK: host fallback

    /// `t` over host memory that the CPU backend may read through `data` without marking the
    /// device copy stale: a borrowing storage that keeps the original alive.
    func host(_ t: Tensor) -> Tensor {
        guard t.storage.deviceMemory != nil else { return t }
        let p = UnsafeMutablePointer(mutating: t.storage.readPointer)
        return Tensor(storage: TensorStorage(borrowing: p, count: t.storage.count, owner: t.storage),
                      shape: t.shape, strides: t.strides, offset: t.offset)
    }

    func host(_ t: Tensor?) -> Tensor? { t.map { host($0) } }
}
