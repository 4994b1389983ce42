import Foundation
import XCTest
import WandMedia

/// FIPS 180-4 example vectors (the NIST test messages), one-shot, streamed in uneven pieces and from a file.
final class SHA256Tests: XCTestCase {
    static let abc448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

    func testNISTVectors() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array(Self.abc448.utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(SHA256.hash(Array("abc".utf8)).prefix(4), [0xba, 0x78, 0x16, 0xbf])
    }

    /// Pieces that straddle the 64-byte block and the 56-byte padding boundary give the same digest.
    func testStreamingInPiecesMatchesTheVectors() {
        let message = Array((Self.abc448 + Self.abc448 + "abc").utf8)  // 115 bytes
        let whole = SHA256.hex(message)
        for cut in [0, 1, 55, 56, 63, 64, 65, 114, 115] {
            var s = SHA256()
            s.update(message[..<cut])
            s.update(message[cut...])
            XCTAssertEqual(s.finalizeHex(), whole, "cut at \(cut)")
        }
        var bytewise = SHA256()
        for byte in Array(Self.abc448.utf8) { bytewise.update(CollectionOfOne(byte)) }
        XCTAssertEqual(bytewise.finalizeHex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        for _ in 0..<1001 { million.update(chunk) }
        million.update(chunk[..<1])
        XCTAssertEqual(million.finalizeHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testFileHashAndMissingFile() throws {
        let path = NSTemporaryDirectory() + "wand-sha-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(Self.abc448.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SHA256.file(path), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertThrowsError(try SHA256.file(path + ".missing")) { error in
            guard case MediaError.cannotOpen(let p, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path + ".missing")
        }
    }
}
