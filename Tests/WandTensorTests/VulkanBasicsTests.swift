import XCTest
@testable import WandTensor

/// The Vulkan runtime itself: devices, buffers, the first kernels, residency.
final class VulkanBasicsTests: XCTestCase {
    func testDevicesAndSelection() throws {
        let vk = try VulkanTestDevice.backend()
        let devices = try Vulkan.devices()
        XCTAssertFalse(devices.isEmpty)
        print("Vulkan devices: " + devices.map { "\($0.index): \($0.summary), \($0.memoryBytes >> 20) MiB" }.joined(separator: "; "))
        XCTAssertEqual(Vulkan.explicitDevice(among: devices)?.index, vk.device.index)
        // auto never runs on a CPU device (lavapipe) or an integrated GPU.
        if let auto = Vulkan.automaticDevice(among: devices) { XCTAssertEqual(auto.kind, .discrete) }
        XCTAssertNil(Vulkan.automaticDevice(among: devices.filter { $0.kind != .discrete }))
    }

    func testAddBroadcastsAndStaysOnDevice() throws {
        for vk in [try VulkanTestDevice.backend(), try VulkanTestDevice.backend(staging: true)] {
            var g = TestValues(seed: 1)
            let cpu = CPUBackend(threads: 1)
            // Sizes off the 256-thread group size; a [d] row, a [L, 1] column and a strided view.
            let a = g.tensor([37, 129]), row = g.tensor([129]), column = g.tensor([37, 1])
            let sum = try vk.add(a, row)
            XCTAssertTrue(sum.storage.isDeviceOnly)
            assertMatches(sum, try cpu.add(a, row), tolerance: 0, "add row")
            let chained = try vk.mul(try vk.sub(sum, column), a)   // device inputs, no round trip
            XCTAssertTrue(chained.storage.isDeviceOnly)
            assertMatches(chained, try cpu.mul(try cpu.sub(try cpu.add(a, row), column), a), tolerance: 0, "chain")
            let t = try a.permuted([1, 0])
            assertMatches(try vk.add(t, t), try cpu.add(t, t), tolerance: 0, "transposed view")
            // The host input was uploaded once and kept with its storage.
            XCTAssertNotNil(a.storage.deviceMemory)
        }
    }

    func testHostWritesAfterDownloadAreUploadedAgain() throws {
        let vk = try VulkanTestDevice.backend()
        let x = try vk.add(try Tensor(shape: [4], values: [1, 2, 3, 4]), try Tensor(shape: [1], values: [1]))
        XCTAssertEqual(x.array, [2, 3, 4, 5])          // read: device copy stays valid
        XCTAssertNotNil(x.storage.deviceMemory)
        x.data[0] = 10                                  // write: the device copy is stale now
        XCTAssertNil(x.storage.deviceMemory)
        XCTAssertEqual(try vk.add(x, x).array, [20, 6, 8, 10])
    }

    func testDeviceDataMovement() throws {
        let vk = try VulkanTestDevice.backend()
        var g = TestValues(seed: 2)
        let hostA = g.tensor([3, 5, 7]), hostB = g.tensor([3, 2, 7])
        let a = try vk.add(hostA, try Tensor(shape: [1], values: [0])), b = try vk.add(hostB, try Tensor(shape: [1], values: [0]))
        let p = try a.permuted([2, 0, 1]).contiguous()
        XCTAssertTrue(p.storage.isDeviceOnly)
        XCTAssertEqual(p.array, try hostA.permuted([2, 0, 1]).contiguous().array)
        let joined = try Tensor.concat([a, b, hostB], dim: 1)
        XCTAssertTrue(joined.storage.isDeviceOnly)
        XCTAssertEqual(joined.array, try Tensor.concat([hostA, hostB, hostB], dim: 1).array)
        let padded = try a.padded([(1, 0), (0, 2), (3, 1)], value: -1)
        XCTAssertEqual(padded.array, try hostA.padded([(1, 0), (0, 2), (3, 1)], value: -1).array)
        let sliced = try a.sliced(dim: 2, 1..<6, step: 2).contiguous()
        XCTAssertEqual(sliced.array, try hostA.sliced(dim: 2, 1..<6, step: 2).contiguous().array)
    }

    func testBuffersArePooledFreedAndCounted() throws {
        let vk = try VulkanTestDevice.backend()
        vk.releaseScratch()
        let before = vk.deviceBytesLive
        do {
            let x = try vk.add(Tensor(filled: 1, shape: [1000]), Tensor(filled: 2, shape: [1]))
            XCTAssertEqual(x.array.first, 3)
            XCTAssertGreaterThanOrEqual(vk.deviceBytesLive, before + 4000)
        }
        try vk.synchronize()
        XCTAssertGreaterThan(vk.deviceBytesPooled, 0, "the freed result waits in the pool for the next op")
        vk.releaseScratch()
        XCTAssertEqual(vk.deviceBytesPooled, 0)
        // What a model's weights occupy once used: 16-bit stays 16-bit, f32 halves in the f16 mode.
        XCTAssertEqual(vk.residentBytes(storedAs: .bf16, count: 10), 20)
        XCTAssertEqual(vk.residentBytes(storedAs: .fp8e4m3, count: 10), 20)
        XCTAssertEqual(vk.residentBytes(storedAs: .f32, count: 10), 40)
        XCTAssertEqual(try VulkanTestDevice.backend(.f16).residentBytes(storedAs: .f32, count: 10), 20)
    }
}
