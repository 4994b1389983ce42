import WandModels
import WandTensor
import XCTest

/// The DiT forward against the official WanModel (and diffusers) on tiny random configs.
final class DiTParityTests: XCTestCase {
    static let configs = ["t2v_d64_h2", "t2v_d96_h3", "i2v_d48_h1", "ti2v_d64_h2"]
    let backend = CPUBackend(threads: 2)

    func run(_ name: String, layout: String) throws -> Double {
        let configPath = ReferenceFixtures.dit("\(name).\(layout).config.json")
        var config = try WanDiTConfig(configFile: configPath)
        let io = try SafetensorsFile(path: ReferenceFixtures.dit("\(name).io.safetensors"))
        let context = try ReferenceFixtures.tensor(io, "context")
        if layout == "diffusers" {
            // The text length is the pipeline's; the official config of the same model carries it.
            config.textLen = try WanDiTConfig(configFile: ReferenceFixtures.dit("\(name).official.config.json")).textLen
        }
        let weightsPath = ReferenceFixtures.dit("\(name).\(layout).safetensors")
        let file = try SafetensorsFile(path: weightsPath)
        let model = try WanDiT(config: config, weights: file.weights, path: weightsPath, backend: backend)
        let text = try model.prepareText(context)
        let t = try ReferenceFixtures.tensor(io, "t").array.map(Double.init)
        let y = io.header.entries.contains { $0.name == "y" } ? try ReferenceFixtures.tensor(io, "y") : nil
        let out = try model.forward(latent: try ReferenceFixtures.tensor(io, "x"),
                                    timesteps: t.count == 1 ? .scalar(t[0]) : .perToken(t),
                                    text: text, conditioning: y)
        let expected = try ReferenceFixtures.tensor(io, "out")
        XCTAssertEqual(out.shape, expected.shape, name)
        return ReferenceFixtures.relativeError(out, expected)
    }

    func testOfficialLayoutMatchesReference() throws {
        for name in Self.configs {
            let err = try run(name, layout: "official")
            print("DiT parity \(name) official: rel \(err)")
            XCTAssertLessThanOrEqual(err, 1e-4, name)
        }
    }

    func testDiffusersLayoutBF16MatchesReference() throws {
        for name in Self.configs {
            let err = try run(name, layout: "diffusers")
            print("DiT parity \(name) diffusers(bf16): rel \(err)")
            XCTAssertLessThanOrEqual(err, 1e-4, name)
        }
    }
}
