import Foundation
import XCTest
@testable import WandEngine

final class ConditioningGeometryTests: XCTestCase {
    struct Row: Decodable {
        let mode: String
        let iw: Int, ih: Int, area: Int
        let ow: Int?, oh: Int?, sw: Int?, sh: Int?, x1: Int?, y1: Int?
        let lat_h: Int?, lat_w: Int?
    }
    struct Fixture: Decodable { let rows: [Row] }

    /// 350 cases computed by the official functions (Tools/reference/geometry_fixtures.py).
    func testMatchesTheOfficialFunctions() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/engine/geometry.json")
        let rows = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)).rows
        XCTAssertGreaterThan(rows.count, 300)
        for r in rows {
            if r.mode == "ti2v" {
                let g = ConditioningGeometry.ti2v(imageWidth: r.iw, imageHeight: r.ih, maxArea: r.area)
                XCTAssertEqual(g, .init(scaledWidth: r.sw!, scaledHeight: r.sh!, cropX: r.x1!, cropY: r.y1!,
                                        width: r.ow!, height: r.oh!), "ti2v \(r.iw)x\(r.ih) area \(r.area)")
            } else {
                let s = ConditioningGeometry.i2vLatentSize(imageWidth: r.iw, imageHeight: r.ih, maxArea: r.area)
                XCTAssertEqual(s.height, r.lat_h!, "i2v \(r.iw)x\(r.ih) area \(r.area)")
                XCTAssertEqual(s.width, r.lat_w!, "i2v \(r.iw)x\(r.ih) area \(r.area)")
            }
        }
    }

    /// The worked examples of spec section 7.
    func testSpecExamples() {
        func ti2v(_ w: Int, _ h: Int) -> [Int] {
            let g = ConditioningGeometry.ti2v(imageWidth: w, imageHeight: h, maxArea: 1280 * 704)
            return [g.width, g.height]
        }
        XCTAssertEqual(ti2v(1280, 720), [1248, 704])
        XCTAssertEqual(ti2v(1920, 1080), [1248, 704])
        XCTAssertEqual(ti2v(720, 1280), [704, 1248])
        XCTAssertEqual(ti2v(1024, 1024), [960, 928])
        let i2v = ConditioningGeometry.i2vLatentSize(imageWidth: 832, imageHeight: 480, maxArea: 832 * 480)
        XCTAssertEqual([i2v.width * 8, i2v.height * 8], [832, 464])
        let square = ConditioningGeometry.i2vLatentSize(imageWidth: 1024, imageHeight: 1024, maxArea: 1280 * 720)
        XCTAssertEqual([square.width * 8, square.height * 8], [960, 960])
    }
}
