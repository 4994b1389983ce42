import Foundation
import WandModels
import WandTensor

/// Reads the reference fixtures written by Tools/reference/dit_fixtures.py and umt5_fixtures.py.
enum ReferenceFixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/Tests/Fixtures/"
    }()

    static func dit(_ name: String) -> String { root + "dit/" + name }
    static func umt5(_ name: String) -> String { root + "umt5/" + name }
    static func animate(_ name: String) -> String { root + "animate/" + name }

    /// A float tensor of a fixture file, widened to f32.
    static func tensor(_ file: SafetensorsFile, _ name: String) throws -> Tensor {
        let t = try file.tensor(name)
        return try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: t.bytes.baseAddress!, owner: t.file).toTensor()
    }

    /// An I64 tensor as Ints.
    static func ints(_ file: SafetensorsFile, _ name: String) throws -> [Int] {
        let t = try file.tensor(name)
        precondition(t.dtype == .i64, "\(name) is \(t.dtype)")
        return (0..<t.elementCount).map { Int(t.bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
    }

    /// ‖a − b‖ / ‖b‖ over all elements.
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        let x = a.array, y = b.array
        precondition(x.count == y.count)
        var num = 0.0, den = 0.0
        for i in 0..<x.count {
            let d = Double(x[i]) - Double(y[i])
            num += d * d
            den += Double(y[i]) * Double(y[i])
        }
        return (num / max(den, 1e-300)).squareRoot()
    }
}
