import WandModels
import XCTest

/// AntialiasedResize's Pillow arithmetic against `PIL.Image.resize` (Pillow 13, fixtures from
/// Tools/reference/animate_fixtures.py): the filters diffusers' processors resize with, on RGB and
/// L images, down and up; and `convert("L")`.
final class PillowResizeTests: XCTestCase {
    func testPillowResizeIsBitExact() throws {
        let io = try SafetensorsFile(path: ReferenceFixtures.animate("resize.safetensors"))
        let source = try io.tensor("rgb")
        let (h, w) = (source.shape[0], source.shape[1])
        let rgb = Array(source.bytes)
        let gray = AntialiasedResize.luma(rgb)
        XCTAssertEqual(gray, Array(try io.tensor("L").bytes), "convert(\"L\")")
        for (name, filter) in [("bilinear", AntialiasedResize.Filter.bilinear), ("bicubic", .bicubic), ("lanczos", .lanczos)] {
            for (ow, oh) in [(16, 11), (53, 40)] {
                let want = Array(try io.tensor("\(name).\(ow)x\(oh)").bytes)
                let got = AntialiasedResize.resize(rgb, width: w, height: h, outWidth: ow, outHeight: oh, filter: filter,
                                                   arithmetic: .pillow)
                XCTAssertEqual(got.count, want.count)
                let differing = zip(got, want).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(name) RGB \(ow)x\(oh): \(differing) of \(want.count) bytes differ")
                let wantL = Array(try io.tensor("\(name).L.\(ow)x\(oh)").bytes)
                let gotL = AntialiasedResize.resize(gray, channels: 1, width: w, height: h, outWidth: ow, outHeight: oh,
                                                    filter: filter, arithmetic: .pillow)
                XCTAssertEqual(gotL, wantL, "\(name) L \(ow)x\(oh)")
            }
        }
    }
}
