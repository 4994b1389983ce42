import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import WandMedia

final class SidecarWriterTests: XCTestCase {
    func testNFOIsEscapedWellFormedXML() throws {
        let nfo = SidecarWriter.NFO(title: "Fox & <Snow>", prompt: "a \"red\" fox's jump\u{01}, 雪",
                                    dateAdded: Date(timeIntervalSince1970: 1_764_000_000))
        let path = MediaTestSupport.tempPath("clip.nfo")
        try SidecarWriter.writeNFO(nfo, to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let doc = try XMLDocument(data: data)
        XCTAssertEqual(try doc.nodes(forXPath: "/movie/title").first?.stringValue, "Fox & <Snow>")
        XCTAssertEqual(try doc.nodes(forXPath: "/movie/plot").first?.stringValue, "a \"red\" fox's jump, 雪")
        XCTAssertEqual(try doc.nodes(forXPath: "/movie/tag").first?.stringValue, "AI generated")
        XCTAssertEqual(try doc.nodes(forXPath: "/movie/dateadded").first?.stringValue, "2025-11-24 16:00:00")
        XCTAssertEqual(SidecarWriter.nfoPath(forVideo: "/a/b/clip.mp4"), "/a/b/clip.nfo")
        XCTAssertEqual(SidecarWriter.posterPath(forVideo: "/a/b/clip.mp4"), "/a/b/clip-poster.jpg")
    }

    func testPosterIsAJPEGThatDecodesBackClose() throws {
        let frame = ProceduralClip.make(seed: 31, width: 160, height: 96, frames: 1).frames[0]
        let path = MediaTestSupport.tempPath("clip-poster.jpg")
        try SidecarWriter.writePoster(frame, to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes.prefix(2)), [0xFF, 0xD8])
        let back = try ImageDecoder.decode(path: path)
        XCTAssertEqual(back.width, 160)
        XCTAssertEqual(back.height, 96)
        XCTAssertGreaterThan(MediaTestSupport.psnr([frame], [back]), 30)
    }

    func testJSONHelperWritesSortedJSON() throws {
        struct Doc: Encodable { let prompt: String; let seed: Int }
        let path = MediaTestSupport.tempPath("clip.json")
        try SidecarWriter.writeJSON(Doc(prompt: "a \"quote\" / slash", seed: 7), to: path)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        XCTAssertEqual(object?["prompt"] as? String, "a \"quote\" / slash")
        XCTAssertEqual(object?["seed"] as? Int, 7)
    }
}
