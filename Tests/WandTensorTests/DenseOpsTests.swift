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
