import XCTest
@testable import WandTensor

final class DenseOpsTests: XCTestCase {
    let backend = CPUBackend(threads: 2)

    func testLinearAndMatmul() throws {
        let f = try Fixture("dense")
        assertClose(try backend.linear(f.tensor("linear_x"), weight: f.tensor("linear_w"), bias: f.tensor("linear_b")),
                    try f.tensor("linear_y"), "linear")
        assertClose(try backend.linear(f.tensor("linear_x"), weight: f.tensor("linear_w"), bias: nil),
                    try f.tensor("linear_nob_y"), "linear no bias")
        assertClose(try backend.matmul(f.tensor("matmul_a"), f.tensor("matmul_b")), try f.tensor("matmul_y"), "matmul")
        XCTAssertThrowsError(try backend.matmul(f.tensor("matmul_a"), f.tensor("matmul_a")))
        // A transposed view goes through contiguous() first.
        let b = try f.tensor("matmul_b")
        let bt = try b.permuted([1, 0]).contiguous().permuted([1, 0])
        XCTAssertFalse(bt.isContiguous)
        assertClose(try backend.matmul(f.tensor("matmul_a"), bt), try f.tensor("matmul_y"), "matmul view")
    }

    func testNorms() throws {
        let f = try Fixture("dense")
        assertClose(try backend.layerNorm(f.tensor("ln_x"), weight: nil, bias: nil, eps: 1e-6), try f.tensor("ln_plain_y"))
        assertClose(try backend.layerNorm(f.tensor("ln_x"), weight: f.tensor("ln_w"), bias: f.tensor("ln_b"), eps: 1e-6),
                    try f.tensor("ln_affine_y"))
        assertClose(try backend.rmsNorm(f.tensor("rms_x"), weight: f.tensor("rms_w"), eps: 1e-6), try f.tensor("rms_y"))
        let g = try f.tensor("crms_g"), b = try f.tensor("crms_b")
        assertClose(try backend.channelRMSNorm(f.tensor("crms_x"), gamma: g, bias: nil), try f.tensor("crms_y"))
        assertClose(try backend.channelRMSNorm(f.tensor("crms_x"), gamma: g, bias: b), try f.tensor("crms_bias_y"))
        assertClose(try backend.groupNorm(f.tensor("gn_x"), groups: 4, weight: f.tensor("gn_w"), bias: f.tensor("gn_b"),
                                          eps: 1e-6), try f.tensor("gn_y"))
        XCTAssertThrowsError(try backend.groupNorm(f.tensor("gn_x"), groups: 3, weight: nil, bias: nil, eps: 1e-6))
    }

    func testActivationsAndSoftmax() throws {
        let f = try Fixture("dense")
        let x = try f.tensor("act_x")
        assertClose(backend.gelu(x, approximation: .tanh), try f.tensor("gelu_tanh_y"), "gelu tanh")
        assertClose(backend.gelu(x, approximation: .none), try f.tensor("gelu_erf_y"), "gelu erf")
        assertClose(backend.silu(x), try f.tensor("silu_y"), "silu")
        assertClose(try backend.softmax(f.tensor("softmax_x")), try f.tensor("softmax_y"), "softmax")
    }

    func testBroadcastingAddMul() throws {
        let a = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let row = try Tensor(shape: [3], values: [10, 20, 30])
        let col = try Tensor(shape: [2, 1], values: [2, 3])
        XCTAssertEqual(try backend.add(a, row).array, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual(try backend.mul(a, col).array, [2, 4, 6, 12, 15, 18])
        XCTAssertThrowsError(try backend.add(a, try Tensor(shape: [2], values: [1, 2])))
    }
}

final class TensorOpsTests: XCTestCase {
    let backend = CPUBackend(threads: 2)

    func testSubAffineClampGather() throws {
        let a = try Tensor(shape: [2, 3], values: [1, -2, 3, -4, 5, -6])
        XCTAssertEqual(try backend.sub(a, Tensor(shape: [3], values: [1, 1, 1])).array, [0, -3, 2, -5, 4, -7])
        XCTAssertEqual(backend.affine(a, scale: 2, shift: 1).array, [3, -3, 7, -7, 11, -11])
        let big = Tensor(filled: 7, shape: [19])
        XCTAssertEqual(backend.clamp(big, lower: -1, upper: 1).array, [Float](repeating: 1, count: 19))
        XCTAssertEqual(try a.gatherRows([1, 0, 1]).array, [-4, 5, -6, 1, -2, 3, -4, 5, -6])
        XCTAssertThrowsError(try a.gatherRows([2]))
    }

    func testViewsAndReshape() throws {
        let t = try Tensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))
        let p = try t.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        XCTAssertEqual(p[1, 1, 2], t[1, 2, 1])
        XCTAssertEqual(try p.reshaped([4, -1]).shape, [4, 6])
        XCTAssertThrowsError(try t.reshaped([5, -1]))
        XCTAssertThrowsError(try t.sliced(dim: 1, 0..<4))
    }
}

final class ParallelTests: XCTestCase {
    func testOpsFromAsyncContextAndNestedRegions() async throws {
        let backend = CPUBackend(threads: 4)
        let f = try Fixture("attention")
        let y = try backend.attention(q: f.tensor("b_q"), k: f.tensor("b_k"), v: f.tensor("b_v"), scale: nil, bias: nil)
        assertClose(y, try f.tensor("b_y"), "attention from async")
        // Every index is visited exactly once, also when a region starts inside a region.
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        defer { hits.deallocate() }
        hits.update(repeating: 0, count: 1000)
        parallelChunks(10, threads: 4) { outer in
            for o in outer {
                parallelChunks(100, threads: 4) { inner in for i in inner { hits[o * 100 + i] += 1 } }
            }
        }
        XCTAssertEqual((0..<1000).filter { hits[$0] != 1 }.count, 0)
    }
}

final class BroadcastTests: XCTestCase {
    func testTrailingBlockFastPathAndGeneralPathAgree() throws {
        let backend = CPUBackend(threads: 3)
        var g = TorchCPUGenerator(seed: 21)
        let a = g.randn([5, 7, 19]), row = g.randn([19]), mid = g.randn([1, 7, 19]), col = g.randn([5, 1, 1])
        for b in [row, mid, col, Tensor(filled: 2, shape: [1, 1])] {
            let fast = try backend.add(a, b)
            // Same sum through the materialized broadcast.
            let expanded = try backend.expand(b, to: a.shape).contiguous()
            let av = a.array, bv = expanded.array
            XCTAssertEqual(fast.array, zip(av, bv).map { $0 + $1 }, "b \(b.shape)")
        }
        // b larger than a along a leading dim takes the general path.
        let small = g.randn([1, 7, 19])
        XCTAssertEqual(try backend.mul(small, a).shape, [5, 7, 19])
    }
}
