import WandTensor

/// What `engine.device` / `wand generate --device` asks for.
public enum ComputeDeviceRequest: String, Sendable, CaseIterable {
    /// A discrete GPU through Vulkan when there is one, else the CPU.
    case auto
    case cpu
    /// The best Vulkan device there is, a CPU device such as Mesa's lavapipe included; an error
    /// when there is none.
    case vulkan
}

public struct ComputeDeviceError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The backend an engine computes with, and how to describe it.
public struct ComputeDevice: Sendable {
    public let backend: any ComputeBackend
    /// For the log and the sidecar's `device`: "cpu (OpenBLAS)", "NVIDIA H200 (vulkan, discrete GPU), f16".
    public let description: String
    /// The memory the model cache's budget is a share of on this device (nil: the host's RAM).
    public let memoryBytes: Int?
    /// Why `auto` chose what it chose, for the log (nil when nothing was chosen for the user).
    public let note: String?

    public static let cpuDescription = "cpu (OpenBLAS)"

    public static func cpu(threads: Int? = nil, note: String? = nil) -> ComputeDevice {
        ComputeDevice(backend: CPUBackend(threads: threads), description: cpuDescription, memoryBytes: nil, note: note)
    }

    public static func vulkan(_ device: VulkanDeviceInfo, precision: VulkanPrecision, threads: Int?, note: String? = nil) throws -> ComputeDevice {
        let backend = try VulkanBackend(device: device, precision: precision, threads: threads)
        return ComputeDevice(backend: backend, description: "\(device.summary), \(precision.rawValue)",
                             memoryBytes: device.memoryBytes, note: note)
    }

    /// `auto` falls back to the CPU with a note saying why; `vulkan` throws when there is no
    /// Vulkan device or it cannot be opened.
    public static func select(_ request: ComputeDeviceRequest, precision: VulkanPrecision = .f32,
                              threads: Int? = nil) throws -> ComputeDevice {
        switch request {
        case .cpu:
            return cpu(threads: threads)
        case .vulkan:
            let devices: [VulkanDeviceInfo]
            do { devices = try Vulkan.devices() } catch {
                throw ComputeDeviceError(message: "device vulkan: \(Self.reason(error))")
            }
            guard let device = Vulkan.explicitDevice(among: devices) else {
                throw ComputeDeviceError(message: "device vulkan: no Vulkan device (the loader found no driver; "
                                         + "install the GPU's Vulkan driver, or mesa-vulkan-drivers for the CPU device lavapipe)")
            }
            do { return try vulkan(device, precision: precision, threads: threads) } catch {
                throw ComputeDeviceError(message: "device vulkan: \(device.summary) could not be opened: \(Self.reason(error))")
            }
        case .auto:
            let devices: [VulkanDeviceInfo]
            do { devices = try Vulkan.devices() } catch {
                return cpu(threads: threads, note: "auto: no Vulkan (\(Self.reason(error))); running on the CPU")
            }
            guard let device = Vulkan.automaticDevice(among: devices) else {
                let seen = devices.isEmpty ? "no Vulkan device" : devices.map(\.summary).joined(separator: ", ")
                return cpu(threads: threads, note: "auto: no discrete GPU (\(seen)); running on the CPU")
            }
            do {
                return try vulkan(device, precision: precision, threads: threads, note: "auto: \(device.summary)")
            } catch {
                return cpu(threads: threads, note: "auto: \(device.summary) could not be opened (\(Self.reason(error))); running on the CPU")
            }
        }
    }

    static func reason(_ error: any Error) -> String { (error as? VulkanError)?.message ?? "\(error)" }
}
