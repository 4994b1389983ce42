import Foundation
import XCTest
@testable import WandTensor

/// Minimal safetensors reader for the committed fixtures (F32 and I64 only), written by
/// Tools/reference/ops_fixtures.py with PyTorch.
struct Fixture {
    private var floats: [String: ([Int], [Float])] = [:]
    private var ints: [String: [Int64]] = [:]

    static func directory() -> URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.lastPathComponent != "Tests" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/tensor")
    }

    init(_ name: String) throws {
        let data = try Data(contentsOf: Fixture.directory().appendingPathComponent(name + ".safetensors"))
        let headerLength = data.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let base = 8 + headerLength
        for (key, value) in header where key != "__metadata__" {
            let entry = value as! [String: Any]
            let shape = (entry["shape"] as! [Int])
            let offsets = entry["data_offsets"] as! [Int]
            let bytes = data.subdata(in: (base + offsets[0])..<(base + offsets[1]))
            switch entry["dtype"] as! String {
            case "F32":
                floats[key] = (shape, bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            case "I64":
                ints[key] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
            default:
                XCTFail("unexpected dtype in fixture \(name): \(key)")
            }
        }
    }

    func tensor(_ key: String, file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
        guard let (shape, values) = floats[key] else {
            XCTFail("fixture tensor \(key) missing", file: file, line: line)
            throw TensorError.invalidArgument(op: "fixture", detail: key)
        }
        return try Tensor(shape: shape, values: values)
    }

    func int64(_ key: String) -> [Int64] { ints[key] ?? [] }
}

/// Relative error as ‖a − b‖₂ / ‖b‖₂ over all elements (b is the reference).
func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.array, y = b.array
    var num = 0.0, den = 0.0
    for i in 0..<Swift.min(x.count, y.count) {
        let d = Double(x[i]) - Double(y[i])
        num += d * d
        den += Double(y[i]) * Double(y[i])
    }
    return (num / Swift.max(den, 1e-300)).squareRoot()
}

func assertClose(_ a: Tensor, _ b: Tensor, tolerance: Double = 1e-5, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shape \(what)", file: file, line: line)
    let e = relativeError(a, b)
    XCTAssertLessThanOrEqual(e, tolerance, "relative error \(e) \(what)", file: file, line: line)
}
