import ArgumentParser
import WandEngine
import WandTensor

/// `wand devices`: the compute devices this machine offers and what engine.device auto picks.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the Vulkan devices and show which device engine.device: auto would use.")

    func run() throws {
        print("cpu: \(ComputeDevice.cpuDescription)")
        do {
            let devices = try Vulkan.devices()
            if devices.isEmpty { print("vulkan: no device (the loader found no driver)") }
            for d in devices {
                print("vulkan \(d.index): \(d.summary), \(d.memoryBytes >> 20) MiB, subgroup \(d.subgroupSize), "
                      + "shared \(d.maxSharedMemoryBytes >> 10) KiB, max buffer range \(d.maxStorageBufferRange >> 20) MiB"
                      + (d.unifiedMemory ? ", unified memory" : "") + (d.hasNVCooperativeMatrix ? ", VK_NV_cooperative_matrix" : ""))
            }
        } catch {
            print("vulkan: \(error)")
        }
        let auto = try ComputeDevice.select(.auto)
        print("auto: \(auto.description)" + (auto.note.map { " (\($0))" } ?? ""))
    }
}
