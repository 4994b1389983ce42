import XCTest
@testable import WandTensor

/// conv1d against a direct loop, over strides, paddings and groups (wav2vec2's feature
/// convolutions and grouped positional convolution, S2V's causal audio convolutions).
final class Conv1DTests: XCTestCase {
    func testMatchesDirectLoop() throws {
        var seed: UInt64 = 7
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
        let backend = CPUBackend(threads: 2)
        for (cin, cout, t, k, stride, pl, pr, groups) in [(1, 6, 50, 10, 5, 0, 0, 1), (4, 6, 33, 3, 2, 0, 0, 1),
                                                           (8, 8, 20, 8, 1, 4, 4, 4), (6, 9, 17, 3, 1, 2, 0, 3),
                                                           (3, 2, 5, 5, 1, 0, 0, 1)] {
            let x = try Tensor(shape: [cin, t], values: (0..<(cin * t)).map { _ in next() })
            let w = try Tensor(shape: [cout, cin / groups, k], values: (0..<(cout * cin / groups * k)).map { _ in next() })
            let b = try Tensor(shape: [cout], values: (0..<cout).map { _ in next() })
            let y = try backend.conv1d(x, weight: w, bias: b, stride: stride, padding: (pl, pr), groups: groups)
            let to = (t + pl + pr - k) / stride + 1
            XCTAssertEqual(y.shape, [cout, to])
            let cinG = cin / groups, coutG = cout / groups
            var maxErr: Float = 0
            for o in 0..<cout {
                let g = o / coutG
                for j in 0..<to {
                    var acc = b[o]
                    for c in 0..<cinG { for tap in 0..<k {
                        let i = j * stride + tap - pl
                        if i >= 0 && i < t { acc += w[o, c, tap] * x[g * cinG + c, i] }
                    } }
                    maxErr = max(maxErr, abs(acc - y[o, j]))
                }
            }
            XCTAssertLessThan(maxErr, 1e-5, "cin \(cin) cout \(cout) k \(k) stride \(stride) groups \(groups)")
        }
        XCTAssertThrowsError(try backend.conv1d(Tensor(zeros: [3, 4]), weight: Tensor(zeros: [2, 3, 5]), bias: nil))
        XCTAssertThrowsError(try backend.conv1d(Tensor(zeros: [3, 4]), weight: Tensor(zeros: [2, 2, 1]), bias: nil, groups: 2))
    }
}

/// Explicit-position RoPE equals the grid RoPE on a grid's positions, and a negative position
/// undoes the positive one (conjugate rotation).
final class RoPEPositionsTests: XCTestCase {
    func testMatchesGridAndNegativeIsInverse() throws {
        let backend = CPUBackend(threads: 2)
        let (f, h, w, heads, d) = (3, 2, 4, 2, 12)
        let values = (0..<(f * h * w * heads * d)).map { Float(sin(Double($0) * 0.37)) }
        let x = try Tensor(shape: [f * h * w, heads, d], values: values)
        var positions: [RoPEPosition] = []
        for t in 0..<f { for i in 0..<h { for j in 0..<w { positions.append(RoPEPosition(f: t, h: i, w: j)) } } }
        let grid = try backend.rope3D(x, frames: f, height: h, width: w, theta: 10_000)
        let explicit = try backend.rope3D(x, positions: positions, theta: 10_000)
        XCTAssertEqual(grid.array, explicit.array)
        let negative = positions.map { RoPEPosition(f: -$0.f, h: -$0.h, w: -$0.w) }
        let back = try backend.rope3D(explicit, positions: negative, theta: 10_000).array
        for (a, b) in zip(back, values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }
}
