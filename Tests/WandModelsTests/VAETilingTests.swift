import XCTest
import Glibc
import WandTensor
@testable import WandModels

/// Tiled against untiled decode on the fixture VAEs. Their random weights give the upsampling
/// convolutions a receptive field (≈17 latent pixels) far wider than any tile that fits a unit
/// test, so the seam error is large here; the tests pin what must hold regardless: one tile is
/// exact, and a wider overlap blends better. The 40 dB criterion is checked on a trained VAE in
/// `VAETrainedTilingTests`.
final class VAETilingTests: XCTestCase {
    func psnr(_ a: Tensor, _ b: Tensor) -> Double {
        let a = a.array, b = b.array
        var mse = 0.0
        for i in 0..<a.count { let d = Double(a[i] - b[i]); mse += d * d }
        mse /= Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(4 / mse)   // signal range [-1, 1]: peak-to-peak 2
    }

    func vae(_ file: String, identityAttention: Bool = false) throws -> WanVAE {
        var weights = try WanVAEWeights.load(path: "\(VAEParityTests.fixtures)/\(file)")
        if identityAttention {
            // proj = 0 turns the middle attention block into the identity: only conv locality is left.
            var t = weights.tensors
            for key in ["decoder.middle.1.proj.weight", "decoder.middle.1.proj.bias"] { t[key] = Tensor(zeros: t[key]!.shape) }
            weights = WanVAEWeights(tensors: t, version: weights.version, source: weights.source)
        }
        return try WanVAE(weights: weights, backend: CPUBackend(threads: 2))
    }

    func tiledPSNR(_ vae: WanVAE, latent: (Int, Int), tilings: [VAETiling]) throws -> [Double] {
        var g = TorchCPUGenerator(seed: 5)
        let z = g.randn([vae.config.zDim, 2, latent.0, latent.1])
        let whole = try vae.decode(z)
        return try tilings.map { tiling in
            let tiled = try vae.decodeTiled(z, tiling: tiling)
            XCTAssertEqual(tiled.shape, whole.shape)
            return psnr(tiled, whole)
        }
    }

    func testSingleTileEqualsUntiled() throws {
        let p = try tiledPSNR(try vae("vae21_official.pth"), latent: (4, 6),
                              tilings: [VAETiling(tileHeight: 8, tileWidth: 8, overlap: 2)])
        XCTAssertEqual(p, [.infinity])
    }

    func testWiderOverlapBlendsBetter() throws {
        let tilings = [VAETiling(tileHeight: 4, tileWidth: 4, overlap: 0),
                       VAETiling(tileHeight: 4, tileWidth: 4, overlap: 2),
                       VAETiling(tileHeight: 6, tileWidth: 6, overlap: 4)]
        for (file, identity) in [("vae21_official.pth", false), ("vae22_official.pth", true)] {
            let p = try tiledPSNR(try vae(file, identityAttention: identity), latent: (8, 8), tilings: tilings)
            print("VAE tiling \(file) \(identity ? "attention off" : "attention on"): latent 8x8, tiles 4/o0, 4/o2, 6/o4: PSNR \(p.map { (($0 * 10).rounded() / 10) }) dB")
            XCTAssertLessThan(p[0], p[1], file)
            XCTAssertLessThan(p[1], p[2], file)
        }
    }
}
