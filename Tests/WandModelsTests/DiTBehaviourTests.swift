import WandModels
import WandTensor
import XCTest

/// Properties of the forward API beyond parity: the cached text context and per-token timesteps.
final class DiTBehaviourTests: XCTestCase {
    let backend = CPUBackend(threads: 2)

    func model(_ name: String) throws -> (WanDiT, SafetensorsFile) {
        let path = ReferenceFixtures.dit("\(name).official.safetensors")
        let config = try WanDiTConfig(configFile: ReferenceFixtures.dit("\(name).official.config.json"))
        let model = try WanDiT(config: config, weights: try SafetensorsFile(path: path).weights, path: path, backend: backend)
        return (model, try SafetensorsFile(path: ReferenceFixtures.dit("\(name).io.safetensors")))
    }

    func testPerTokenTimestepsAllEqualGiveTheScalarResult() throws {
        let (model, io) = try model("ti2v_d64_h2")
        let x = try ReferenceFixtures.tensor(io, "x")
        let text = try model.prepareText(try ReferenceFixtures.tensor(io, "context"))
        let tokens = x.shape[1] * x.shape[2] / 2 * x.shape[3] / 2
        let scalar = try model.forward(latent: x, timesteps: .scalar(700), text: text)
        let perToken = try model.forward(latent: x, timesteps: .perToken(Array(repeating: 700, count: tokens)), text: text)
        XCTAssertEqual(scalar.array, perToken.array)
        // Frame 0 at t = 0 changes the result (the TI2V fixture's case), so the index is used.
        var mixed = Array(repeating: 700.0, count: tokens)
        for i in 0..<(tokens / x.shape[1]) { mixed[i] = 0 }
        XCTAssertNotEqual(try model.forward(latent: x, timesteps: .perToken(mixed), text: text).array, scalar.array)
        XCTAssertThrowsError(try model.forward(latent: x, timesteps: .perToken([700]), text: text))
    }

    func testTextContextIsReusableAndTiedToItsModel() throws {
        let (model, io) = try model("t2v_d64_h2")
        let x = try ReferenceFixtures.tensor(io, "x")
        let text = try model.prepareText(try ReferenceFixtures.tensor(io, "context"))
        let first = try model.forward(latent: x, timesteps: .scalar(937), text: text)
        let second = try model.forward(latent: x, timesteps: .scalar(937), text: text)
        XCTAssertEqual(first.array, second.array)
        XCTAssertEqual(ReferenceFixtures.relativeError(first, try ReferenceFixtures.tensor(io, "out")) <= 1e-4, true)

        let (other, _) = try self.model("t2v_d64_h2")
        XCTAssertThrowsError(try other.forward(latent: x, timesteps: .scalar(937), text: text))
        XCTAssertThrowsError(try model.prepareText(Tensor(zeros: [17, 32])))  // more rows than text_len 16
        XCTAssertThrowsError(try model.forward(latent: Tensor(zeros: [16, 3, 5, 10]), timesteps: .scalar(1), text: text))
    }
}

/// ComfyUI single files: the official names under `model.diffusion_model.` (spec §9.3). Built
/// by renaming the reference's official tensors in memory (same bytes, same mapped file).
final class DiTComfyLayoutTests: XCTestCase {
    func testPrefixedOfficialNamesGiveTheReferenceOutput() throws {
        let name = "i2v_d48_h1"
        let path = ReferenceFixtures.dit("\(name).official.safetensors")
        let official = try SafetensorsFile(path: path).weights
        let prefixed = try WeightSet(official.tensors.map {
            WeightTensor(name: KeyMapper.comfyPrefix + $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $0.bytes, file: $0.file)
        })
        let config = try WanDiTConfig(configFile: ReferenceFixtures.dit("\(name).official.config.json"))
        let backend = CPUBackend(threads: 2)
        let model = try WanDiT(config: config, weights: prefixed, path: "comfy.safetensors", backend: backend)
        let io = try SafetensorsFile(path: ReferenceFixtures.dit("\(name).io.safetensors"))
        let out = try model.forward(latent: try ReferenceFixtures.tensor(io, "x"), timesteps: .scalar(999),
                                    text: try model.prepareText(try ReferenceFixtures.tensor(io, "context")),
                                    conditioning: try ReferenceFixtures.tensor(io, "y"))
        XCTAssertLessThanOrEqual(ReferenceFixtures.relativeError(out, try ReferenceFixtures.tensor(io, "out")), 1e-4)
    }

    /// fp8_e4m3fn weights with `X.scale_weight` scalars and a `scaled_fp8` marker; the reference
    /// ran on the dequantized weights.
    func testFP8ScaledFileMatchesReference() throws {
        let name = "comfy_fp8_d32_h1"
        let path = ReferenceFixtures.dit("\(name).comfy.safetensors")
        let config = try WanDiTConfig(configFile: ReferenceFixtures.dit("\(name).official.config.json"))
        let model = try WanDiT(config: config, weights: try SafetensorsFile(path: path).weights, path: path,
                               backend: CPUBackend(threads: 2))
        XCTAssertEqual(model.weights.scales.count, 16)
        XCTAssertTrue(model.weights.dtypes.contains(.fp8e4m3))
        let io = try SafetensorsFile(path: ReferenceFixtures.dit("\(name).io.safetensors"))
        let out = try model.forward(latent: try ReferenceFixtures.tensor(io, "x"), timesteps: .scalar(400),
                                    text: try model.prepareText(try ReferenceFixtures.tensor(io, "context")))
        let err = ReferenceFixtures.relativeError(out, try ReferenceFixtures.tensor(io, "out"))
        print("DiT parity \(name) ComfyUI fp8-scaled: rel \(err)")
        XCTAssertLessThanOrEqual(err, 1e-4)
    }
}
