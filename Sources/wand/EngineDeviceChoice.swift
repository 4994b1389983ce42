import WandDaemon
import WandEngine
import WandTensor

/// engine.device and engine.precision (or `--device`, `--precision`) to a compute device.
enum EngineDeviceChoice {
    static func open(_ engine: EngineConfig) throws -> ComputeDevice {
        try open(device: engine.device.rawValue, precision: engine.precision.rawValue, threads: engine.threads)
    }

    static func open(device: String, precision: String, threads: Int?) throws -> ComputeDevice {
        if device == "cuda" {
            throw ComputeDeviceError(message: "engine.device is cuda, but Wand has no CUDA backend; use vulkan "
                                     + "(NVIDIA, AMD and Intel GPUs run it through their Vulkan drivers) or auto")
        }
        guard let request = ComputeDeviceRequest(rawValue: device) else {
            throw ComputeDeviceError(message: "device must be auto, cpu or vulkan (got '\(device)')")
        }
        guard let mode = VulkanPrecision(rawValue: precision) else {
            throw ComputeDeviceError(message: "precision must be f32 or f16 (got '\(precision)')")
        }
        return try ComputeDevice.select(request, precision: mode, threads: threads)
    }
}
