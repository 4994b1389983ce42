import Foundation
import XCTest
@testable import WandMedia

final class VisibleWatermarkTests: XCTestCase {
    func testScriptPicksFont() {
        XCTAssertEqual(LabelFont.script(of: "AI generated"), .latin)
        XCTAssertEqual(LabelFont.script(of: "AI生成"), .cjk)
        XCTAssertEqual(LabelFont.script(of: "AI 생성"), .hangul)
        XCTAssertThrowsError(try LabelFont.path(for: "AI生成", fileExists: { _ in false })) { error in
            guard case MediaError.fontNotFound(let script, let searched) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(script, "cjk")
            XCTAssertFalse(searched.isEmpty)
        }
    }

    /// Changed pixels per quadrant between two frames.
    private func changed(_ a: RGBFrame, _ b: RGBFrame) -> (tl: Int, tr: Int, bl: Int, br: Int) {
        var q = [0, 0, 0, 0]
        for y in 0..<a.height {
            for x in 0..<a.width {
                let i = (y * a.width + x) * 3
                if abs(Int(a.pixels[i]) - Int(b.pixels[i])) + abs(Int(a.pixels[i + 2]) - Int(b.pixels[i + 2])) > 30 {
                    q[(y < a.height / 2 ? 0 : 2) + (x < a.width / 2 ? 0 : 1)] += 1
                }
            }
        }
        return (q[0], q[1], q[2], q[3])
    }

    func testJapaneseLabelLandsInChosenCorner() throws {
        for font in LabelFont.cjk where FileManager.default.fileExists(atPath: font) {
            let clip = ProceduralClip.make(seed: 21, width: 320, height: 192, frames: 2)
            let labelled = try VisibleWatermark(config: VisibleWatermarkConfig(text: "AI生成", corner: .bottomRight,
                                                                              opacity: 1, scale: 0.12)).apply(clip)
            XCTAssertEqual(labelled.frames.count, 2)
            let c = changed(clip.frames[1], labelled.frames[1])
            XCTAssertGreaterThan(c.br, 150, "\(c)")
            XCTAssertEqual(c.tl + c.tr + c.bl, 0, "\(c)")
            try MP4Writer.write(labelled, to: MediaTestSupport.tempPath("label-ja.mp4"), metadata: nil)
            let topLeft = try VisibleWatermark(config: VisibleWatermarkConfig(text: "AI generated", corner: .topLeft,
                                                                             opacity: 1, scale: 0.1)).apply(clip)
            let d = changed(clip.frames[0], topLeft.frames[0])
            XCTAssertGreaterThan(d.tl, 150, "\(d)")
            XCTAssertEqual(d.br + d.bl, 0, "\(d)")
            return
        }
        throw XCTSkip("no CJK font installed (apt-get install fonts-ipafont-gothic)")
    }

    func testLogoOverlayAndOpacity() throws {
        let clip = ProceduralClip.make(seed: 22, width: 256, height: 160, frames: 1)
        let logo = MediaTestSupport.fixture("redblue.png")
        let opaque = try VisibleWatermark(config: VisibleWatermarkConfig(text: "AI", corner: .topLeft, opacity: 1,
                                                                        scale: 0.1, logoPath: logo)).apply(clip)
        // The logo (red left half) sits at the margin: 0.03 * 160 = 5 px in from the corner.
        let i = (8 * 256 + 7) * 3
        XCTAssertGreaterThan(opaque.frames[0].pixels[i], 230)
        XCTAssertLessThan(opaque.frames[0].pixels[i + 2], 30)
        let faint = try VisibleWatermark(config: VisibleWatermarkConfig(text: "AI", corner: .topLeft, opacity: 0.3,
                                                                       scale: 0.1, logoPath: logo)).apply(clip)
        let original = Int(clip.frames[0].pixels[i]), blended = Int(faint.frames[0].pixels[i])
        XCTAssertEqual(Double(blended), Double(original) * 0.7 + 255 * 0.3, accuracy: 12)
    }
}
