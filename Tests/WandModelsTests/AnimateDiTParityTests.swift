import WandModels
import WandTensor
import XCTest
@testable import WandModels

/// The Animate DiT against diffusers' WanAnimateTransformer3DModel on a tiny random model (4 blocks,
/// face blocks after 0 and 2, 16² faces; fixtures from Tools/reference/animate_fixtures.py), in the
/// diffusers layout and in the official one (fused face K/V, [1,C,1,1] biases, blur kernels).
final class AnimateDiTParityTests: XCTestCase {
    let backend = CPUBackend(threads: 2)

    func io() throws -> SafetensorsFile { try SafetensorsFile(path: ReferenceFixtures.animate("dit.io.safetensors")) }

    func config() throws -> WanAnimateConfig {
        try WanAnimateConfig(configFile: ReferenceFixtures.animate("models/tiny-animate/transformer/config.json"))
    }

    func model(official: Bool) throws -> WanAnimateDiT {
        let path = official ? ReferenceFixtures.animate("dit.official.safetensors")
            : ReferenceFixtures.animate("models/tiny-animate/transformer/diffusion_pytorch_model.safetensors")
        return try WanAnimateDiT(config: try config(), weights: try SafetensorsFile(path: path).weights, path: path, backend: backend)
    }

    func check(_ model: WanAnimateDiT, label: String) throws {
        let io = try io()
        let x = try ReferenceFixtures.tensor(io, "x")
        let latent = try x.sliced(dim: 0, 0..<16).contiguous(), y = try x.sliced(dim: 0, 16..<36).contiguous()
        let context = try model.prepareContext(text: try ReferenceFixtures.tensor(io, "context"),
                                               image: try ReferenceFixtures.tensor(io, "image"))
        let face = try model.prepareFace(try ReferenceFixtures.tensor(io, "face"))
        let out = try model.forward(latent: latent, timestep: 937, context: context, conditioning: y,
                                    pose: try ReferenceFixtures.tensor(io, "pose"), face: face)
        let err = ReferenceFixtures.relativeError(out, try ReferenceFixtures.tensor(io, "out"))
        print("Animate DiT \(label): rel \(err)")
        XCTAssertLessThanOrEqual(err, 1e-4, label)
    }

    func testDiffusersLayoutMatchesDiffusers() throws {
        let m = try model(official: false)
        XCTAssertEqual(m.layout, .diffusers)
        try check(m, label: "diffusers layout")
    }

    func testOfficialLayoutMatchesDiffusers() throws {
        let m = try model(official: true)
        XCTAssertEqual(m.layout, .official)
        try check(m, label: "official layout")
    }

    /// The face path alone: motion vectors per face crop and the face encoder's tokens.
    func testMotionAndFaceEncodersMatchDiffusers() throws {
        let io = try io(), m = try model(official: false)
        let faces = try ReferenceFixtures.tensor(io, "face").contiguous()  // [3, 9, 16, 16]
        let motion = try ReferenceFixtures.tensor(io, "motion")            // [9, 16]
        var ours = [Float]()
        let encoder = try AnimateMotionEncoder(config: m.config, weights: m.weights)
        for f in 0..<9 {
            let crop = Tensor(uninitialized: [3, 16, 16])
            for ch in 0..<3 { (crop.data + ch * 256).update(from: faces.data + (ch * 9 + f) * 256, count: 256) }
            ours += try encoder.motion(crop, backend: backend)
        }
        let motionErr = ReferenceFixtures.relativeError(try Tensor(shape: [9, 16], values: ours), motion)
        let tokens = try m.faceTokens(motion)  // [4, 5, 32], zero frame first
        XCTAssertTrue(tokens.array[0..<(5 * 32)].allSatisfy { $0 == 0 })
        let tokenErr = ReferenceFixtures.relativeError(try tokens.sliced(dim: 0, 1..<4).contiguous(),
                                                       try ReferenceFixtures.tensor(io, "face_tokens"))
        print("Animate motion encoder rel \(motionErr), face encoder rel \(tokenErr)")
        XCTAssertLessThanOrEqual(motionErr, 1e-4)
        XCTAssertLessThanOrEqual(tokenErr, 1e-4)
    }

    /// torch.linalg.qr's sign convention: R has a negative diagonal where the column's leading
    /// entry is positive (Householder, LAPACK), and Q's columns are orthonormal.
    func testDirectionsFollowLAPACKConventions() {
        let a: [Float] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]  // [4, 3]
        let q = AnimateMotionEncoder.orthonormalColumns(a, rows: 4, columns: 3)
        for i in 0..<3 {
            for j in 0..<3 {
                var dot: Float = 0
                for r in 0..<4 { dot += q[r * 3 + i] * q[r * 3 + j] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-6)
            }
        }
        // First column: −a₀/‖a₀‖ (a₀ = [3, 1, 2, 3]; torch.linalg.qr gives the same sign).
        let norm = Float(23).squareRoot()
        XCTAssertEqual(q[0], -3 / norm, accuracy: 1e-6)
        XCTAssertEqual(q[6], -2 / norm, accuracy: 1e-6)
        // torch.linalg.qr(a)[0], printed by torch 2.13 to 4 decimals.
        let torchQ: [Float] = [-0.6255, 0.6138, 0.1329, -0.2085, -0.5988, 0.7090, -0.4170, -0.5090, -0.6869,
                               -0.6255, -0.0749, 0.0886]
        for i in 0..<12 { XCTAssertEqual(q[i], torchQ[i], accuracy: 1e-4) }
    }

    func testMismatchedFaceFramesAreRefused() throws {
        let io = try io(), m = try model(official: false)
        let x = try ReferenceFixtures.tensor(io, "x")
        let context = try m.prepareContext(text: try ReferenceFixtures.tensor(io, "context"), image: try ReferenceFixtures.tensor(io, "image"))
        let faces = try ReferenceFixtures.tensor(io, "face").sliced(dim: 1, 0..<5).contiguous()  // 5 frames -> 3 latent frames
        let face = try m.prepareFace(faces)
        XCTAssertThrowsError(try m.forward(latent: try x.sliced(dim: 0, 0..<16).contiguous(), timestep: 500, context: context,
                                           conditioning: try x.sliced(dim: 0, 16..<36).contiguous(),
                                           pose: try ReferenceFixtures.tensor(io, "pose"), face: face)) { error in
            XCTAssertEqual(error as? ModelError, .badInput(argument: "face", detail: "3 face frames for 4 latent frames"))
        }
    }
}
