import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// AutoencoderKLWan folders saved by diffusers with non-default configs (issue 24): repeated
/// dim_mult values, num_res_blocks 1 and 2, other widths and z_dim, attn_scales,
/// temperal_downsample variants, both block styles, patch sizes 1, 2 and 4
/// (Tools/reference/config_spread_fixtures.py). Encode and decode of a tiny clip match diffusers
/// within 1e-5 relative error; what diffusers cannot build or run is refused by field and value.
final class VAEConfigSpreadTests: XCTestCase {
    static let root = ReferenceFixtures.root + "config-spread/"
    static let tolerance = 1e-5

    struct Case: Decodable {
        let name: String
        let kind: String
        let clip: [Int]?
        let decode_latents: [Int]?
        let official_keys: [[OfficialKey]]?
    }
    /// `["name", [shape]]` pairs as the fixture writes them.
    enum OfficialKey: Decodable {
        case name(String), shape([Int])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .name(s) } else { self = .shape(try c.decode([Int].self)) }
        }
    }
    struct Cases: Decodable { let cases: [Case] }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "cases.json"))
        return try JSONDecoder().decode(Cases.self, from: data).cases.filter { $0.kind == "vae" }
    }

    func load(_ name: String) throws -> WanVAE {
        let folder = Self.root + "vae/" + name
        let file = try WanVAEConfigFile(path: folder + "/config.json")
        let weights = try WanVAEWeights.load(path: folder + "/diffusion_pytorch_model.safetensors", config: file.config)
        return try WanVAE(weights: weights, backend: CPUBackend(threads: 2), latentMean: file.latentsMean, latentStd: file.latentsStd)
    }

    func testEveryConfigEncodesAndDecodesLikeDiffusers() throws {
        let cases = try Self.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        let clip = try ReferenceFixtures.tensor(try SafetensorsFile(path: Self.root + "vae/clip.safetensors"), "clip")
        var report: [String] = []
        for c in cases {
            let vae = try load(c.name)
            let io = try SafetensorsFile(path: Self.root + "vae/\(c.name).io.safetensors")
            var line = "\(c.name) (\(vae.config.version.rawValue) style, ×\(vae.config.spatialFactor)/×\(vae.config.temporalFactor)):"
            if let size = c.clip {
                let input = try clip.sliced(dim: 1, 0..<size[0]).sliced(dim: 2, 0..<size[1]).sliced(dim: 3, 0..<size[2]).contiguous()
                let expected = try ReferenceFixtures.tensor(io, "encode_out")
                let got = try vae.encode(input)
                XCTAssertEqual(got.shape, expected.shape, "\(c.name) encode")
                if got.shape == expected.shape {
                    let err = ReferenceFixtures.relativeError(got, expected)
                    XCTAssertLessThanOrEqual(err, Self.tolerance, "\(c.name) encode")
                    line += " encode rel \(err)"
                }
            } else {
                // Time halved 8×: 4-frame encode chunks run out of frames (diffusers raises too).
                XCTAssertThrowsError(try vae.encode(try clip.sliced(dim: 1, 0..<9).sliced(dim: 2, 0..<8).sliced(dim: 3, 0..<8).contiguous()),
                                     c.name) { error in
                    guard case VAEError.badInput(let detail) = error else { return XCTFail("\(error)") }
                    XCTAssertTrue(detail.contains("temperal_downsample"), detail)
                }
                line += " encode refused"
            }
            let expected = try ReferenceFixtures.tensor(io, "decode_out")
            let got = try vae.decode(try ReferenceFixtures.tensor(io, "decode_in"))
            XCTAssertEqual(got.shape, expected.shape, "\(c.name) decode")
            if got.shape == expected.shape {
                let err = ReferenceFixtures.relativeError(got, expected)
                XCTAssertLessThanOrEqual(err, Self.tolerance, "\(c.name) decode")
                line += ", decode rel \(err)"
            }
            report.append(line)
        }
        print(report.joined(separator: "\n"))
    }

    /// The official names the structure gives equal the official WanVAE_ state dict of the same
    /// config, where the official code builds the same network.
    func testOfficialNamesMatchTheOfficialCode() throws {
        var checked = 0
        for c in try Self.cases() {
            guard let keys = c.official_keys else { continue }
            var expected: [String: [Int]] = [:]
            for pair in keys {
                guard case .name(let n)? = pair.first, case .shape(let s)? = pair.last else { return XCTFail("bad fixture row") }
                expected[n] = s
            }
            let config = try WanVAEConfigFile(path: Self.root + "vae/\(c.name)/config.json").config
            var ours: [String: [Int]] = [:]
            for p in WanVAEStructure(config).parameters { ours[p.official] = p.shape }
            XCTAssertEqual(ours, expected, c.name)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 3)
    }

    func testIssue24FolderShapeLoadsAndMissingWeightsAreNamedAsStored() throws {
        // dim_mult [1, 2, 2, 2]: encoder stages 2 and 3 keep their width (no shortcut conv in
        // down_blocks 6 and 9), stage 1 doubles it (down_blocks 3 has one); in the decoder every
        // stage after the first starts from the previous upsample's halved width, so up_blocks 1
        // and 2 have one and up_blocks 3 (4/2 -> 2) has none.
        let folder = Self.root + "vae/v21_repeat"
        let config = try WanVAEConfigFile(path: folder + "/config.json").config
        XCTAssertEqual(config.dimMult, [1, 2, 2, 2])
        let path = folder + "/diffusion_pytorch_model.safetensors"
        let set = try SafetensorsFile(path: path).weights
        let shortcuts = Set(set.names.filter { $0.hasSuffix("conv_shortcut.weight") })
        XCTAssertEqual(shortcuts, ["encoder.down_blocks.3.conv_shortcut.weight", "decoder.up_blocks.1.resnets.0.conv_shortcut.weight",
                                   "decoder.up_blocks.2.resnets.0.conv_shortcut.weight"])
        let ours = Set(WanVAEStructure(config).parameters.map(\.diffusers).filter { $0.hasSuffix("conv_shortcut.weight") })
        XCTAssertEqual(ours, shortcuts)
        let without = try WeightSet(set.tensors.filter { $0.name != "decoder.up_blocks.2.resnets.0.norm1.gamma" })
        XCTAssertThrowsError(try WanVAEWeights.fromWeightSet(without, source: path, config: config)) { error in
            XCTAssertEqual(error as? VAEError, .missingWeight(name: "decoder.up_blocks.2.resnets.0.norm1.gamma", file: path))
        }
        // The same weights read with the published structure do not fit, and say where.
        XCTAssertThrowsError(try WanVAEWeights.fromWeightSet(set, source: path, config: WanVAEConfig(version: .wan21, zDim: 4, encoderDim: 2, decoderDim: 2))) { error in
            guard let e = error as? VAEError else { return XCTFail("\(error)") }
            switch e {
            case .badShape, .unknownWeight, .missingWeight: break
            default: XCTFail("\(e)")
            }
        }
    }

    // MARK: refusals

    func parse(_ fields: String) throws -> WanVAEConfigFile {
        try WanVAEConfigFile(json: try JSONParser.parse("{\"_class_name\": \"AutoencoderKLWan\", \(fields)}"), path: "vae/config.json")
    }

    func assertRefused(_ fields: String, field: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(fields), file: file, line: line) { error in
            switch error as? VAEError {
            case let .unsupportedConfig(path, f, _, _)?, let .badConfig(path, f, _)?:
                XCTAssertEqual(path, "vae/config.json", file: file, line: line)
                XCTAssertEqual(f, field, "\(error)", file: file, line: line)
            default: XCTFail("\(error)", file: file, line: line)
            }
        }
    }

    func testDefaultsAreDiffusersDefaults() throws {
        let file = try parse("\"base_dim\": 96")
        XCTAssertEqual(file.config, WanVAEConfig(version: .wan21, zDim: 16, encoderDim: 96, decoderDim: 96))
        XCTAssertEqual(file.latentsMean, WanVAELatentStats.wan21Mean)
        // The published Wan2.2 config (clip_output is not read by diffusers: decode always clamps).
        let mean = WanVAELatentStats.wan22Mean.map { "\($0)" }.joined(separator: ", ")
        let std = WanVAELatentStats.wan22Std.map { "\($0)" }.joined(separator: ", ")
        let v22 = try parse("""
        "attn_scales": [], "base_dim": 160, "clip_output": false, "decoder_base_dim": 256, "dim_mult": [1, 2, 4, 4],
        "dropout": 0.0, "in_channels": 12, "is_residual": true, "latents_mean": [\(mean)], "latents_std": [\(std)],
        "num_res_blocks": 2, "out_channels": 12, "patch_size": 2, "scale_factor_spatial": 16, "scale_factor_temporal": 4,
        "temperal_downsample": [false, true, true], "z_dim": 48
        """)
        XCTAssertEqual(v22.config, WanVAEConfig(version: .wan22, zDim: 48, encoderDim: 160, decoderDim: 256))
        XCTAssertEqual(v22.config.spatialFactor, 16)
        // Tensor and parameter counts of diffusers' AutoencoderKLWan at the published configs.
        for (config, tensors, parameters) in [(v22.config, 196, 704_688_668), (file.config, 194, 126_892_531)] {
            let table = WanVAEStructure(config).parameters
            XCTAssertEqual(table.count, tensors)
            XCTAssertEqual(table.reduce(0) { $0 + $1.shape.reduce(1, *) }, parameters)
            // The fixed published-structure mapper agrees with the config-built table.
            let version: KeyMapper.VAEVersion = config.isResidual ? .wan22 : .wan21
            for p in table { XCTAssertEqual(KeyMapper.vaeDiffusersToOfficial(p.diffusers, version: version), p.official, p.diffusers) }
        }
    }

    func testUnbuildableConfigsAreRefusedByField() {
        assertRefused("\"z_dim\": 8", field: "latents_mean")                     // diffusers' default stats have 16 entries
        assertRefused("\"in_channels\": 4", field: "in_channels")
        assertRefused("\"patch_size\": 2", field: "in_channels")                 // 2x2 patches of RGB are 12 channels
        assertRefused("\"scale_factor_spatial\": 16", field: "scale_factor_spatial")
        assertRefused("\"temperal_downsample\": [false, true, false], \"scale_factor_temporal\": 4", field: "scale_factor_temporal")
        assertRefused("\"temperal_downsample\": [true]", field: "temperal_downsample")
        assertRefused("\"dim_mult\": [1, 2], \"temperal_downsample\": [false, true], \"scale_factor_spatial\": 2",
                      field: "temperal_downsample")                              // decoder would double time elsewhere
        assertRefused("\"dim_mult\": [1, 2], \"temperal_downsample\": [true], \"is_residual\": true, \"scale_factor_spatial\": 2, \"scale_factor_temporal\": 2",
                      field: "dim_mult")                                         // AvgDown3D 2 -> 4 channels in the last stage
        assertRefused("\"num_res_blocks\": 0", field: "num_res_blocks")
        assertRefused("\"dim_mult\": []", field: "dim_mult")
        assertRefused("\"base_dim\": \"96\"", field: "base_dim")
        assertRefused("\"dropout\": 1.5", field: "dropout")
        assertRefused("\"clip_output\": 1", field: "clip_output")
        assertRefused("\"use_quant_conv\": true", field: "use_quant_conv")      // unknown: refused, not ignored
        XCTAssertThrowsError(try WanVAEConfigFile(json: try JSONParser.parse("{\"_class_name\": \"AutoencoderKL\"}"), path: "x")) { error in
            guard case .unsupportedConfig(_, "_class_name", _, _)? = error as? VAEError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try parse("\"in_channels\": 4")) { error in
            XCTAssertEqual("\(error)", "vae/config.json: config field \"in_channels\" = 4: Wand encodes RGB video: 3 × patch_size² = 3 channels")
        }
    }
}
