import WandModels
import WandTensor
import XCTest

/// The CLIP image encoder and its two preprocessings against the references (fixtures from
/// Tools/reference/animate_fixtures.py): the official CLIPModel.visual (open-clip layout, bicubic
/// stretch) and diffusers' WanAnimatePipeline.encode_image (transformers layout, CLIPImageProcessor).
final class CLIPParityTests: XCTestCase {
    let backend = CPUBackend(threads: 2)
    static let cases = ["down", "up", "exact", "tall"]

    func io() throws -> SafetensorsFile { try SafetensorsFile(path: ReferenceFixtures.animate("clip.io.safetensors")) }

    func transformersEncoder() throws -> CLIPVisionEncoder {
        let dir = ReferenceFixtures.animate("models/tiny-animate/image_encoder/")
        let config = try CLIPVisionConfig(configFile: dir + "config.json")
        return try CLIPVisionEncoder(config: config, weights: try SafetensorsFile(path: dir + "model.safetensors").weights,
                                     path: dir, backend: backend)
    }

    func officialEncoder() throws -> CLIPVisionEncoder {
        let dir = ReferenceFixtures.animate("models/tiny-animate/image_encoder/")
        let config = try CLIPVisionConfig(configFile: dir + "config.json")
        let path = ReferenceFixtures.animate("clip.official.pth")
        return try CLIPVisionEncoder(config: config, weights: try PyTorchCheckpoint(path: path).weights, path: path, backend: backend)
    }

    static func image(_ io: SafetensorsFile, _ name: String) throws -> (rgb: [UInt8], width: Int, height: Int) {
        let t = try io.tensor(name + ".image")
        return (Array(t.bytes), t.shape[1], t.shape[0])
    }

    func testOfficialLayoutAndStretchMatchOfficialCLIPModel() throws {
        let io = try io(), encoder = try officialEncoder()
        XCTAssertEqual(encoder.layout, .openCLIP)
        for name in Self.cases {
            let (rgb, w, h) = try Self.image(io, name)
            let pixels = try CLIPImagePreprocessing.officialPixels(rgb, width: w, height: h, size: encoder.config.imageSize,
                                                                   backend: backend)
            let features = try encoder.penultimateHiddenState(pixels)
            let err = ReferenceFixtures.relativeError(features, try ReferenceFixtures.tensor(io, name + ".official_features"))
            print("CLIP official \(name) \(w)x\(h): rel \(err)")
            XCTAssertLessThanOrEqual(err, 1e-4, name)
        }
    }

    func testTransformersLayoutAndProcessorMatchDiffusersEncodeImage() throws {
        let io = try io(), encoder = try transformersEncoder()
        XCTAssertEqual(encoder.layout, .transformers)
        for name in Self.cases {
            let (rgb, w, h) = try Self.image(io, name)
            let pixels = CLIPImagePreprocessing.transformersPixels(rgb, width: w, height: h, shortestEdge: 32, crop: 32)
            // The antialiased uint8 resize is integer arithmetic: the same bytes, so the same floats.
            var pixelDiff: Float = 0
            if name != "tall" {
                let expectedPixels = try ReferenceFixtures.tensor(io, name + ".diffusers_pixels")
                pixelDiff = zip(pixels.array, expectedPixels.array).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(pixelDiff, 1e-5, "\(name): pixels")
            }
            let features = try encoder.penultimateHiddenState(pixels)
            let err = ReferenceFixtures.relativeError(features, try ReferenceFixtures.tensor(io, name + ".diffusers_features"))
            print("CLIP diffusers \(name) \(w)x\(h): pixels max diff \(pixelDiff), features rel \(err)")
            XCTAssertLessThanOrEqual(err, 1e-4, name)
        }
    }

    func testBothLayoutsHoldTheSameTower() throws {
        let io = try io()
        let pixels = try ReferenceFixtures.tensor(io, "down.diffusers_pixels")
        let a = try officialEncoder().penultimateHiddenState(pixels)
        let b = try transformersEncoder().penultimateHiddenState(pixels)
        XCTAssertLessThanOrEqual(ReferenceFixtures.relativeError(a, b), 1e-6)
    }

    func testWrongPixelShapeIsALocatedError() throws {
        let encoder = try transformersEncoder()
        XCTAssertThrowsError(try encoder.penultimateHiddenState(Tensor(zeros: [3, 16, 16]))) { error in
            XCTAssertEqual(error as? ModelError, .badInput(argument: "pixels", detail: "shape [3, 16, 16], expected [3, 32, 32]"))
        }
    }

    func testATextTowerAloneIsRefused() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/text_only.safetensors"
        _ = try SparseRealSizeTests.writeSparse([("textual.token_embedding.weight", [8, 4])], dtype: .f16, to: path)
        let config = CLIPVisionConfig(hiddenSize: 32, intermediateSize: 64, numLayers: 3, numHeads: 2, imageSize: 32, patchSize: 8)
        XCTAssertThrowsError(try CLIPVisionEncoder(config: config, weights: try SafetensorsFile(path: path).weights, path: path,
                                                   backend: backend)) { error in
            guard case .unsupported(let p, _)? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
        }
    }
}
