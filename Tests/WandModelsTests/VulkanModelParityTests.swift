import XCTest
import WandTensor
@testable import WandModels

/// One Vulkan backend per precision for this test process; skips (saying why) only when the
/// machine has no Vulkan device at all.
enum VulkanModelTestDevice {
    static let f32: Result<VulkanBackend, VulkanError> = Result { try VulkanBackend(precision: .f32, threads: 2) }.mapError { $0 as! VulkanError }
    static let f16: Result<VulkanBackend, VulkanError> = Result { try VulkanBackend(precision: .f16, threads: 2) }.mapError { $0 as! VulkanError }

    static func backend(_ precision: VulkanPrecision) throws -> VulkanBackend {
        let devices: [VulkanDeviceInfo]
        do { devices = try Vulkan.devices() } catch {
            throw XCTSkip("no Vulkan here (\(error)); the Vulkan tests need a driver such as mesa-vulkan-drivers")
        }
        if devices.isEmpty { throw XCTSkip("no Vulkan device; the Vulkan tests need a driver such as mesa-vulkan-drivers") }
        return try (precision == .f32 ? f32 : f16).get()
    }
}

/// The DiT and the VAE on the Vulkan backend against the CPU backend (and the PyTorch fixtures):
/// issue 19's bar is a DiT relative error <= 1e-4 in f32 and <= 1e-2 in f16, decoded frames >= 40 dB.
final class VulkanModelParityTests: XCTestCase {
    let cpu = CPUBackend(threads: 2)
    static let demo = Fixtures.packageRoot + "/Samples/models/wand-demo"

    func dit(_ backend: any ComputeBackend, config: String, weights: String) throws -> WanDiT {
        let file = try SafetensorsFile(path: weights)
        return try WanDiT(config: try WanDiTConfig(configFile: config), weights: file.weights, path: weights, backend: backend)
    }

    func forward(_ model: WanDiT, _ x: Tensor, _ t: DiTTimesteps, _ context: Tensor, _ y: Tensor?) throws -> Tensor {
        try model.forward(latent: x, timesteps: t, text: try model.prepareText(context), conditioning: y)
    }

    /// The wan22 reference's tiny random DiTs (t2v, i2v with conditioning channels, ti2v with
    /// per-token timesteps) against PyTorch's output, on the device.
    func testDiTReferenceFixturesOnVulkan() throws {
        let vk = try VulkanModelTestDevice.backend(.f32), half = try VulkanModelTestDevice.backend(.f16)
        for name in DiTParityTests.configs {
            let io = try SafetensorsFile(path: ReferenceFixtures.dit("\(name).io.safetensors"))
            let x = try ReferenceFixtures.tensor(io, "x"), context = try ReferenceFixtures.tensor(io, "context")
            let tv = try ReferenceFixtures.tensor(io, "t").array.map(Double.init)
            let t: DiTTimesteps = tv.count == 1 ? .scalar(tv[0]) : .perToken(tv)
            let y = io.header.entries.contains { $0.name == "y" } ? try ReferenceFixtures.tensor(io, "y") : nil
            let (config, weights) = (ReferenceFixtures.dit("\(name).official.config.json"), ReferenceFixtures.dit("\(name).official.safetensors"))
            let onCPU = try forward(try dit(cpu, config: config, weights: weights), x, t, context, y)
            let onDevice = try forward(try dit(vk, config: config, weights: weights), x, t, context, y)
            let inF16 = try forward(try dit(half, config: config, weights: weights), x, t, context, y)
            let expected = try ReferenceFixtures.tensor(io, "out")
            let (reference, parity, f16) = (ReferenceFixtures.relativeError(onDevice, expected),
                                            ReferenceFixtures.relativeError(onDevice, onCPU), ReferenceFixtures.relativeError(inF16, onCPU))
            print("Vulkan DiT \(name): rel \(reference) vs PyTorch, \(parity) vs CPU (f32), \(f16) vs CPU (f16)")
            XCTAssertLessThanOrEqual(reference, 1e-4, name)
            XCTAssertLessThanOrEqual(parity, 1e-4, name)
            XCTAssertLessThanOrEqual(f16, 1e-2, name)
        }
    }

    /// The demo model's DiT (bf16 weights resident on the device) at the demo size (256x160, 17
    /// frames: 200 tokens), image-to-video timesteps (latent frame 0 at t = 0).
    func testDemoDiTOnVulkan() throws {
        let vk = try VulkanModelTestDevice.backend(.f32), half = try VulkanModelTestDevice.backend(.f16)
        let (config, weights) = (Self.demo + "/transformer/config.json", Self.demo + "/transformer/diffusion_pytorch_model.safetensors")
        var g = SplitMix64(state: 19)
        func random(_ shape: [Int]) throws -> Tensor {
            try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(Int64(bitPattern: g.next() >> 1) % 2001 - 1000) / 500 })
        }
        let x = try random([48, 5, 10, 16]), context = try random([23, 128])
        let t = DiTTimesteps.perToken((0..<200).map { $0 < 40 ? 0 : 733 })
        let onCPU = try forward(try dit(cpu, config: config, weights: weights), x, t, context, nil)
        let before = vk.dispatchCount
        let onDevice = try forward(try dit(vk, config: config, weights: weights), x, t, context, nil)
        XCTAssertTrue(onDevice.storage.isDeviceOnly, "the velocity stays on the device until read")
        let kernels = vk.dispatchCount - before
        let inF16 = try forward(try dit(half, config: config, weights: weights), x, t, context, nil)
        let (parity, f16) = (ReferenceFixtures.relativeError(onDevice, onCPU), ReferenceFixtures.relativeError(inF16, onCPU))
        print("Vulkan demo DiT (\(kernels) kernels a forward): rel \(parity) vs CPU (f32), \(f16) (f16)")
        XCTAssertLessThanOrEqual(parity, 1e-4)
        XCTAssertLessThanOrEqual(f16, 1e-2)
        XCTAssertGreaterThan(f16, parity, "the f16 mode does round")
    }

    func psnr(_ a: Tensor, _ b: Tensor) -> Double {
        let a = a.array, b = b.array
        var mse = 0.0
        for i in 0..<a.count { let d = Double(a[i] - b[i]); mse += d * d }
        mse /= Double(Swift.max(a.count, 1))
        return mse == 0 ? .infinity : 10 * log10(4 / mse)   // range [-1, 1]
    }

    /// The wan22 reference's tiny random VAEs (2.1 and 2.2 layouts) decode and encode on the device.
    func testVAEReferenceFixturesOnVulkan() throws {
        let vk = try VulkanModelTestDevice.backend(.f32)
        for (file, name) in [("vae21_diffusers.safetensors", "vae21"), ("vae22_diffusers.safetensors", "vae22")] {
            let weights = try WanVAEWeights.load(path: "\(VAEParityTests.fixtures)/\(file)")
            let device = try WanVAE(weights: weights, backend: vk), host = try WanVAE(weights: weights, backend: cpu)
            let io = try SafetensorsFile(path: "\(VAEParityTests.fixtures)/\(name)_io.safetensors")
            let latents = try ReferenceFixtures.tensor(io, "decode_in").sliced(dim: 1, 0..<5).contiguous()
            let expected = try ReferenceFixtures.tensor(io, "decode_out").sliced(dim: 1, 0..<17).contiguous()
            let decoded = try device.decode(latents)
            let video = try ReferenceFixtures.tensor(io, "encode_in").sliced(dim: 1, 0..<17).contiguous()
            let (encoded, encodedOnCPU) = (try device.encode(video), try host.encode(video))
            print("Vulkan VAE \(name): decode rel \(ReferenceFixtures.relativeError(decoded, expected)) vs PyTorch; "
                  + "encode rel \(ReferenceFixtures.relativeError(encoded, encodedOnCPU)) vs CPU")
            XCTAssertLessThanOrEqual(ReferenceFixtures.relativeError(decoded, expected), 1e-4, name)
            XCTAssertLessThanOrEqual(ReferenceFixtures.relativeError(encoded, try ReferenceFixtures.tensor(io, "encode_out_17")), 1e-4, name)
        }
    }

    /// The demo model's trained VAE (Wan2.2 layout, 16 to 64 channels), decoded on the device and
    /// on the CPU: >= 40 dB in both precision modes.
    func testDemoVAEDecodeOnVulkan() throws {
        let backends = try VulkanPrecision.allCases.map { try VulkanModelTestDevice.backend($0) }
        let weights = try WanVAEWeights.load(path: Self.demo + "/vae/diffusion_pytorch_model.safetensors")
        var g = SplitMix64(state: 7)
        let z = try Tensor(shape: [48, 2, 3, 4], values: (0..<(48 * 24)).map { _ in Float(Int64(bitPattern: g.next() >> 1) % 2001 - 1000) / 1000 })
        let onCPU = try WanVAE(weights: weights, backend: cpu).decode(z)
        for vk in backends {
            let precision = vk.precision
            let decoded = try WanVAE(weights: weights, backend: vk).decode(z)
            XCTAssertEqual(decoded.shape, [3, 5, 48, 64])
            let db = psnr(decoded, onCPU)
            print("Vulkan demo VAE decode (\(precision.rawValue)): \(String(format: "%.1f", db)) dB against the CPU")
            XCTAssertGreaterThanOrEqual(db, 40, precision.rawValue)
        }
    }
}
