import XCTest
import WandTensor
@testable import WandModels

/// Parity with the official wan22 VAEs on tiny random configs (Tools/reference/vae_fixtures.py):
/// both key layouts, encode of 1, 17, 33 frames and decode of 1, 5, 9 latent frames, 16×24 (2.1)
/// and 32×48 (2.2) frames.
final class VAEParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/vae").path
    static let tolerance: Float = 1e-4

    func load(_ file: String) throws -> WanVAE {
        let weights = try WanVAEWeights.load(path: "\(Self.fixtures)/\(file)")
        return try WanVAE(weights: weights, backend: CPUBackend(threads: 2))
    }

    func io(_ name: String) throws -> SafetensorsFile { try SafetensorsFile(path: "\(Self.fixtures)/\(name)_io.safetensors") }

    func tensor(_ file: SafetensorsFile, _ name: String) throws -> Tensor {
        let w = try file.tensor(name)
        return try StoredTensor(dtype: w.dtype, shape: w.shape, bytes: w.bytes.baseAddress!, owner: w.file).toTensor()
    }

    func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        let a = a.array, b = b.array
        var num: Double = 0, den: Double = 0
        for i in 0..<b.count { let d = Double(a[i] - b[i]); num += d * d; den += Double(b[i]) * Double(b[i]) }
        return Float((num / max(den, 1e-30)).squareRoot())
    }

    func checkEncode(_ vae: WanVAE, _ name: String, layout: String) throws {
        let f = try io(name)
        let video = try tensor(f, "encode_in")
        for t in [1, 17, 33] {
            let expected = try tensor(f, "encode_out_\(t)")
            let got = try vae.encode(try video.sliced(dim: 1, 0..<t).contiguous())
            XCTAssertEqual(got.shape, expected.shape, "\(name) \(layout) encode T=\(t)")
            guard got.shape == expected.shape else { continue }
            let err = relativeError(got, expected)
            print("VAE parity \(name) \(layout) encode T=\(t) -> \(expected.shape[1]) latents: rel \(err)")
            XCTAssertLessThanOrEqual(err, Self.tolerance, "\(name) \(layout) encode T=\(t)")
        }
    }

    func checkDecode(_ vae: WanVAE, _ name: String, layout: String) throws {
        let f = try io(name)
        let latents = try tensor(f, "decode_in"), video = try tensor(f, "decode_out")
        for frames in [1, 5, 9] {
            let pixels = 4 * (frames - 1) + 1
            let expected = try video.sliced(dim: 1, 0..<pixels).contiguous()
            let got = try vae.decode(try latents.sliced(dim: 1, 0..<frames).contiguous())
            XCTAssertEqual(got.shape, expected.shape, "\(name) \(layout) decode F=\(frames)")
            guard got.shape == expected.shape else { continue }
            let err = relativeError(got, expected)
            print("VAE parity \(name) \(layout) decode F=\(frames) -> \(pixels) frames: rel \(err)")
            XCTAssertLessThanOrEqual(err, Self.tolerance, "\(name) \(layout) decode F=\(frames)")
            XCTAssertLessThanOrEqual(got.array.map(abs).max() ?? 0, 1, "clamped to [-1, 1]")
        }
    }

    func testWan21OfficialPth() throws {
        let vae = try load("vae21_official.pth")
        XCTAssertEqual(vae.config, WanVAEConfig(version: .wan21, zDim: 16, encoderDim: 4, decoderDim: 4))
        // f32 weights are read in place from the mapped .pth, not copied.
        let checkpoint = try PyTorchCheckpoint(path: "\(Self.fixtures)/vae21_official.pth")
        let conv = try WanVAEWeights.fromWeightSet(checkpoint.weights, source: checkpoint.path).tensor("decoder.conv1.weight")
        let mapped = checkpoint.file
        let p = UnsafeRawPointer(conv.data), base = mapped.base!
        XCTAssertTrue(p >= base && p < base + mapped.size, "decoder.conv1.weight points into the mapped file")
        try checkEncode(vae, "vae21", layout: "official")
        try checkDecode(vae, "vae21", layout: "official")
    }

    func testWan21Diffusers() throws {
        let vae = try load("vae21_diffusers.safetensors")
        XCTAssertEqual(vae.version, .wan21)
        try checkEncode(vae, "vae21", layout: "diffusers")
        try checkDecode(vae, "vae21", layout: "diffusers")
    }

    func testWan22OfficialPth() throws {
        let vae = try load("vae22_official.pth")
        XCTAssertEqual(vae.config, WanVAEConfig(version: .wan22, zDim: 48, encoderDim: 3, decoderDim: 3))
        try checkEncode(vae, "vae22", layout: "official")
        try checkDecode(vae, "vae22", layout: "official")
    }

    func testWan22Diffusers() throws {
        let vae = try load("vae22_diffusers.safetensors")
        XCTAssertEqual(vae.version, .wan22)
        try checkEncode(vae, "vae22", layout: "diffusers")
        try checkDecode(vae, "vae22", layout: "diffusers")
    }
}
