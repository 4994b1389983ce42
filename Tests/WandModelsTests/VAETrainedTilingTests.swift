import XCTest
import WandTensor
@testable import WandModels

/// Tiled against untiled decode on a *trained* Wan-VAE 2.2: the demo model's
/// (Samples/models/wand-demo/vae, trained by Tools/demo-model/). The random fixture VAEs of
/// `VAETilingTests` mix the whole frame and cannot show the seam error of a real decoder; a trained
/// one has learned local features, as the published VAE has. The latents are diffusers' encoding of
/// a 512×320, 5-frame clip of what the VAE was trained on (Tools/reference/vae_tiling_fixture.py).
/// The issue's bar is 40 dB; diffusers' own tiled decode reaches ~35.6 dB on the same latents
/// (reference.json), because it tiles the middle attention as well.
final class VAETrainedTilingTests: XCTestCase {
    static let vaePath = Fixtures.packageRoot + "/Samples/models/wand-demo/vae/diffusion_pytorch_model.safetensors"
    static let fixtures = Fixtures.packageRoot + "/Tests/Fixtures/vae-tiling"

    func psnr(_ a: Tensor, _ b: Tensor) -> Double {
        let a = a.array, b = b.array
        var mse = 0.0
        for i in 0..<a.count { let d = Double(a[i] - b[i]); mse += d * d }
        mse /= Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(4 / mse)   // signal range [-1, 1]: peak-to-peak 2
    }

    /// Our untiled decode against diffusers' (fixture: every frame pooled 8×8, and a full-resolution
    /// crop across the quadrant borders). A trained VAE with 16 to 64 channels takes the Winograd
    /// path in nearly every conv, so this is the reference check of that path at depth. Measured
    /// 85 dB (the fixture is f16); a wrong kernel falls below 40.
    func checkAgainstDiffusersDecode(_ whole: Tensor) throws {
        let file = try SafetensorsFile(path: Self.fixtures + "/latents.safetensors")
        func fixture(_ name: String) throws -> Tensor {
            let t = try file.tensor(name)
            return try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: t.bytes.baseAddress!, owner: t.file).toTensor()
        }
        let crop = try fixture("decoded_crop"), pooled = try fixture("decoded_pooled8")
        XCTAssertEqual(whole.shape, [3, 5, 320, 512])
        XCTAssertEqual(crop.shape, [3, 5, 64, 96])
        let ours = whole.contiguous().data
        let oursCrop = Tensor(uninitialized: crop.shape), oursPooled = Tensor(uninitialized: pooled.shape)
        for c in 0..<3 { for f in 0..<5 {
            let plane = ours + (c * 5 + f) * 320 * 512
            for y in 0..<64 { for x in 0..<96 { oursCrop.data[((c * 5 + f) * 64 + y) * 96 + x] = plane[(128 + y) * 512 + 208 + x] } }
            for y in 0..<40 { for x in 0..<64 {
                var s: Float = 0
                for dy in 0..<8 { for dx in 0..<8 { s += plane[(8 * y + dy) * 512 + 8 * x + dx] } }
                oursPooled.data[((c * 5 + f) * 40 + y) * 64 + x] = s / 64
            } }
        } }
        let pc = psnr(oursCrop, crop), pp = psnr(oursPooled, pooled)
        print("Trained VAE 2.2 (demo model) against diffusers' decode: crop \(String(format: "%.1f", pc)) dB, "
              + "pooled \(String(format: "%.1f", pp)) dB")
        XCTAssertGreaterThanOrEqual(pc, 70, "full-resolution crop against diffusers")
        XCTAssertGreaterThanOrEqual(pp, 70, "pooled frames against diffusers")
    }

    func testTiledDecodeWithin40dBOfUntiled() throws {
        let weights = try WanVAEWeights.load(path: Self.vaePath)
        // The fixture holds raw latents, as diffusers' decode takes them: identity statistics.
        let vae = try WanVAE(weights: weights, backend: CPUBackend(threads: 2),
                             latentMean: [Float](repeating: 0, count: 48), latentStd: [Float](repeating: 1, count: 48))
        let stored = try SafetensorsFile(path: Self.fixtures + "/latents.safetensors").tensor("latents")
        let z = try StoredTensor(dtype: stored.dtype, shape: stored.shape, bytes: stored.bytes.baseAddress!,
                                 owner: stored.file).toTensor()
        let reference = try Fixtures.json(Self.fixtures + "/reference.json") as! [String: Any]
        let bars = reference["diffusers_tiled_psnr_db"] as! [String: Double]
        XCTAssertEqual(z.shape, [48, 2, 20, 32])
        let whole = try vae.decode(z)
        try checkAgainstDiffusersDecode(whole)
        // 16 latent pixels with 4 of overlap is diffusers' default for this VAE (256-pixel tiles at
        // a 192-pixel stride).
        let tiled = try vae.decodeTiled(z, tiling: VAETiling(tileHeight: 16, tileWidth: 16, overlap: 4))
        XCTAssertEqual(tiled.shape, whole.shape)
        let p = psnr(tiled, whole), bar = bars["16/4"]!
        print("Trained VAE 2.2 (demo model), latent 20×32×2, tile 16/overlap 4: tiled vs untiled "
              + "\(String(format: "%.2f", p)) dB; diffusers' tiled decode \(bar) dB")
        XCTAssertGreaterThanOrEqual(p, 40, "tiled against untiled decode")
        XCTAssertGreaterThan(p, bar, "no better than diffusers' tiled decode")
    }
}
