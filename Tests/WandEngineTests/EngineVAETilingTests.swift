import Foundation
import XCTest
@testable import WandEngine

/// `vaeTilePixels` reaches the decoder: on the demo model, a tiled job's frames differ from the
/// untiled job's only by invisible seams, and a tile that covers the frame changes nothing.
final class EngineVAETilingTests: XCTestCase {
    func request(tile: Int?) -> GenerationRequest {
        var r = GenerationRequest(mode: .t2v, modelName: "wand-demo",
                                  modelPath: DemoModelTests.root.appendingPathComponent("Samples/models/wand-demo").path,
                                  prompt: "a red circle moves left on a gray background", seed: 3,
                                  width: 384, height: 256, frames: 1, fps: 16, steps: 2, guidance: 5)
        r.vaeTilePixels = tile
        return r
    }

    func psnr(_ a: [RGBImage], _ b: [RGBImage]) -> Double {
        var mse = 0.0, n = 0
        for (x, y) in zip(a, b) {
            for i in 0..<x.pixels.count { let d = Double(x.pixels[i]) - Double(y.pixels[i]); mse += d * d }
            n += x.pixels.count
        }
        mse /= Double(n)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    func testTiledDecodeIsCloseToWholeFrames() async throws {
        let engine = Engine(memoryBudgetBytes: 1 << 30)
        let whole = try await engine.generate(request(tile: nil), progress: { _ in }, isCancelled: { false })
        let covering = try await engine.generate(request(tile: 512), progress: { _ in }, isCancelled: { false })
        let tiled = try await engine.generate(request(tile: 128), progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(whole.latents, tiled.latents)
        XCTAssertEqual(psnr(whole.frames, covering.frames), .infinity, "a tile as large as the frame is no tiling")
        let p = psnr(whole.frames, tiled.frames)
        print("demo model 384x256, 128-pixel VAE tiles: \(String(format: "%.1f", p)) dB against whole frames")
        XCTAssertLessThan(p, .infinity, "the tiled decode ran")
        XCTAssertGreaterThan(p, 38)   // measured 44.0 dB
    }
}
