import CWandVulkan

/// Why the Vulkan path is not there or failed: no loader, no driver, a failed Vulkan call.
public struct VulkanError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "vulkan: \(message)" }
}

/// One physical device as the Vulkan driver describes it.
public struct VulkanDeviceInfo: Sendable, Equatable {
    public enum Kind: String, Sendable { case discrete, integrated, virtual, cpu, other }
    public let index: Int
    public let name: String
    public let kind: Kind
    /// The largest device-local memory heap (host RAM for a CPU device).
    public let memoryBytes: Int
    public let subgroupSize: Int
    public let maxSharedMemoryBytes: Int
    public let maxStorageBufferRange: Int
    public let unifiedMemory: Bool
    public let hasNVCooperativeMatrix: Bool

    init(index: Int, _ i: wvk_device_info) {
        self.index = index
        var raw = i.name
        name = withUnsafeBytes(of: &raw) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        switch i.type {
        case Int32(WVK_DEVICE_DISCRETE): kind = .discrete
        case Int32(WVK_DEVICE_INTEGRATED): kind = .integrated
        case Int32(WVK_DEVICE_VIRTUAL): kind = .virtual
        case Int32(WVK_DEVICE_CPU): kind = .cpu
        default: kind = .other
        }
        memoryBytes = Int(i.device_local_bytes)
        subgroupSize = Int(i.subgroup_size)
        maxSharedMemoryBytes = Int(i.max_shared_memory)
        maxStorageBufferRange = Int(i.max_storage_buffer_range)
        unifiedMemory = i.unified_memory != 0
        hasNVCooperativeMatrix = i.nv_cooperative_matrix != 0
    }

    /// For logs and the sidecar: "NVIDIA H200 (vulkan, discrete GPU)".
    public var summary: String {
        let what: String
        switch kind {
        case .discrete: what = "discrete GPU"
        case .integrated: what = "integrated GPU"
        case .virtual: what = "virtual GPU"
        case .cpu: what = "CPU device"
        case .other: what = "device"
        }
        return "\(name) (vulkan, \(what))"
    }
}

public enum Vulkan {
    static func errorBuffer() -> [CChar] { [CChar](repeating: 0, count: 512) }

    static func message(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { p in
            String(decoding: p.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Every physical device, or a VulkanError saying why there is no Vulkan here (no
    /// libvulkan.so.1, no driver). Zero devices is an empty list, not an error.
    public static func devices() throws -> [VulkanDeviceInfo] {
        var error = errorBuffer()
        let n = wvk_device_count(&error, error.count)
        guard n >= 0 else { throw VulkanError(message(error)) }
        return try (0..<Int(n)).map { i in
            var info = wvk_device_info()
            guard wvk_device_info_at(Int32(i), &info, &error, error.count) == 0 else { throw VulkanError(message(error)) }
            return VulkanDeviceInfo(index: i, info)
        }
    }

    /// The device `engine.device: auto` runs on: the discrete GPU with the most memory. A CPU
    /// device (Mesa's lavapipe) or an integrated GPU is never chosen automatically: on those the
    /// CPU backend is the better default.
    public static func automaticDevice(among devices: [VulkanDeviceInfo]) -> VulkanDeviceInfo? {
        devices.filter { $0.kind == .discrete }.max { $0.memoryBytes < $1.memoryBytes }
    }

    /// The device an explicit `engine.device: vulkan` runs on: the best there is, a CPU device
    /// last (discrete, integrated, virtual, other, cpu; most memory first within a kind).
    public static func explicitDevice(among devices: [VulkanDeviceInfo]) -> VulkanDeviceInfo? {
        let rank: [VulkanDeviceInfo.Kind: Int] = [.discrete: 0, .integrated: 1, .virtual: 2, .other: 3, .cpu: 4]
        return devices.min { a, b in
            let (ra, rb) = (rank[a.kind]!, rank[b.kind]!)
            return ra != rb ? ra < rb : a.memoryBytes > b.memoryBytes
        }
    }
}
