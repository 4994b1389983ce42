import Foundation
import WandTensor
import XCTest
@testable import WandModels

final class PyTorchCheckpointTests: XCTestCase {
    func testCheckpointsMatchTorchLoad() throws {
        let expected = try XCTUnwrap(Fixtures.json(Fixtures.weights("expected.json")) as? [String: [String: [String: Any]]])
        var checked = 0
        for (file, tensors) in expected where file.hasSuffix(".pth") {
            let ckpt = try PyTorchCheckpoint(path: Fixtures.weights(file))
            XCTAssertEqual(Set(ckpt.weights.names), Set(tensors.keys), file)
            for (name, info) in tensors {
                let t = try ckpt.tensor(name)
                XCTAssertEqual(t.dtype.rawValue, info["dtype"] as? String, "\(file) \(name)")
                XCTAssertEqual(t.shape, info["shape"] as? [Int], "\(file) \(name)")
                let first = info["first_bytes"] as? [Int] ?? []
                XCTAssertEqual(Array(t.bytes.prefix(first.count)).map(Int.init), first, "\(file) \(name)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 400)
    }

    func testViewsWithStorageOffsetsPointIntoTheMapping() throws {
        let ckpt = try PyTorchCheckpoint(path: Fixtures.weights("views.pth"))
        let a = try ckpt.tensor("a")
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(Array(a.bytes.bindMemory(to: Float.self)), [2, 3, 4, 5, 6, 7])
        let b = try ckpt.tensor("b")
        XCTAssertEqual(Array(b.bytes.bindMemory(to: Float.self)), [10, 11, 12, 13])
        XCTAssertEqual(try ckpt.tensor("nested.c").dtype, .i64)
        // Zero-copy: the view lies inside the file's mapping.
        let base = ckpt.file.all.baseAddress!
        XCTAssertTrue(a.bytes.baseAddress! >= base && a.bytes.baseAddress! < base + ckpt.file.size)
    }

    /// Every size and offset in ZIP64 extra fields, ZIP64 end record (what an 11 GB torch.save needs);
    /// torch.load reads this file identically (checked when the fixture was written).
    func testZIP64Archive() throws {
        let ckpt = try PyTorchCheckpoint(path: Fixtures.weights("views_zip64.pth"))
        XCTAssertEqual(Array(try ckpt.tensor("a").bytes.bindMemory(to: Float.self)), [2, 3, 4, 5, 6, 7])
        XCTAssertEqual(Array(try ckpt.tensor("b").bytes.bindMemory(to: Float.self)), [10, 11, 12, 13])
        XCTAssertTrue(ckpt.entries.allSatisfy { $0.dataOffset % 64 == 0 })
    }

    func testNonContiguousTensorIsReportedByName() throws {
        let ckpt = try PyTorchCheckpoint(path: Fixtures.weights("noncontiguous.pth"))
        XCTAssertThrowsError(try ckpt.tensor("transposed")) { error in
            let e = error as? WeightError
            XCTAssertEqual(e?.tensor, "transposed")
            XCTAssertEqual(e?.kind, .nonContiguous(shape: [4, 3], strides: [1, 4]))
        }
    }

    func testDeflatedArchiveIsRefusedClearly() {
        XCTAssertThrowsError(try PyTorchCheckpoint(path: Fixtures.weights("deflated.pth"))) { error in
            guard case let .unsupportedCompression(method, entry)? = (error as? WeightError)?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(method, 8)
            XCTAssertTrue(entry.hasSuffix("byteorder") || entry.hasSuffix("data.pkl"), entry)
        }
    }

    func testLegacyNonZipFormatIsRefusedClearly() {
        XCTAssertThrowsError(try PyTorchCheckpoint(path: Fixtures.weights("legacy_format.pth"))) { error in
            guard case .unsupported? = (error as? WeightError)?.kind else { return XCTFail("\(error)") }
        }
    }

    func testHostileCheckpointsNameTheRefusedGlobal() {
        // Protocol 2 writes Python 2 spellings: builtins -> __builtin__, subprocess -> commands.
        let cases: [(String, String, String)] = [
            ("hostile_os_system.pth", "posix", "system"),
            ("hostile_eval.pth", "__builtin__", "eval"),
            ("hostile_popen.pth", "commands", "Popen"),
            ("hostile_raw_gadget.pth", "builtins", "exec"),
        ]
        for (file, module, name) in cases {
            XCTAssertThrowsError(try PyTorchCheckpoint(path: Fixtures.weights(file)), file) { error in
                guard case let .forbiddenGlobal(m, n, _)? = (error as? WeightError)?.kind else { return XCTFail("\(file): \(error)") }
                XCTAssertEqual(m, module, file)
                XCTAssertEqual(n, name, file)
                XCTAssertTrue("\(error)".contains("\(module).\(name)"))
            }
        }
    }

    private func unpickle(_ file: String) throws -> PickleValue {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.weights(file)))
        return try data.withUnsafeBytes { try RestrictedUnpickler.load($0, path: file) }
    }

    func testRawGadgetsAreRefused() {
        func kind(_ file: String) -> WeightError.Kind? {
            do { _ = try unpickle(file); XCTFail("\(file) accepted"); return nil } catch { return (error as? WeightError)?.kind }
        }
        XCTAssertEqual(kind("gadget_global_posix.pkl").map { if case let .forbiddenGlobal(m, n, _) = $0 { return "\(m).\(n)" }; return "" }, "posix.system")
        XCTAssertEqual(kind("gadget_stack_global_exec.pkl").map { if case let .forbiddenGlobal(m, n, _) = $0 { return "\(m).\(n)" }; return "" }, "builtins.exec")
        for file in ["gadget_reduce_string.pkl", "gadget_ordereddict_args.pkl", "gadget_rebuild_bad_storage.pkl"] {
            guard case .pickle? = kind(file) else { return XCTFail(file) }
        }
        XCTAssertEqual(kind("gadget_newobj.pkl"), .forbiddenOpcode(opcode: 0x81, offset: 28))
        XCTAssertEqual(kind("gadget_inst.pkl"), .forbiddenOpcode(opcode: UInt8(ascii: "i"), offset: 16))
        XCTAssertEqual(kind("gadget_ext1.pkl"), .forbiddenOpcode(opcode: 0x82, offset: 2))
    }
}
