import XCTest
@testable import WandTensor

final class AttentionTests: XCTestCase {
    let backend = CPUBackend(threads: 2)

    func testMatchesTorchSDPA() throws {
        let f = try Fixture("attention")
        for name in ["a", "b", "c"] {
            let y = try backend.attention(q: f.tensor("\(name)_q"), k: f.tensor("\(name)_k"), v: f.tensor("\(name)_v"),
                                          scale: nil, bias: nil)
            assertClose(y, try f.tensor("\(name)_y"), name)
        }
    }

    func testUnscaledWithPositionBias() throws {
        let f = try Fixture("attention")
        let y = try backend.attention(q: f.tensor("u_q"), k: f.tensor("u_k"), v: f.tensor("u_v"), scale: 1,
                                      bias: f.tensor("u_bias"))
        assertClose(y, try f.tensor("u_y"), "umT5 style")
        XCTAssertThrowsError(try backend.attention(q: f.tensor("u_q"), k: f.tensor("u_k"), v: f.tensor("u_v"), scale: 1,
                                                   bias: f.tensor("u_q")))
    }

    func testManyKeyBlocksMatchesSmallBlocks() throws {
        // Keys spanning several 512-key tiles: the online softmax must equal one-pass softmax.
        var g = TorchCPUGenerator(seed: 3)
        let q = g.randn([130, 2, 16]), k = g.randn([1100, 2, 16]), v = g.randn([1100, 2, 16])
        let y = try backend.attention(q: q, k: k, v: v, scale: nil, bias: nil)
        // Direct reference: scores through matmul + softmax per head.
        for h in 0..<2 {
            let qh = try q.sliced(dim: 1, h..<(h + 1)).reshaped([130, 16])
            let kh = try k.sliced(dim: 1, h..<(h + 1)).reshaped([1100, 16])
            let vh = try v.sliced(dim: 1, h..<(h + 1)).reshaped([1100, 16])
            let s = try backend.matmul(qh, kh.permuted([1, 0]))
            let p = try backend.softmax(try backend.mul(s, Tensor(filled: 0.25, shape: [1])))
            let expected = try backend.matmul(p, vh)
            assertClose(try y.sliced(dim: 1, h..<(h + 1)).reshaped([130, 16]), expected, "head \(h)")
        }
    }

    func testRoPEMatchesReference() throws {
        let f = try Fixture("rope")
        assertClose(try backend.rope3D(f.tensor("x"), frames: 2, height: 3, width: 4, theta: 10000), try f.tensor("y"))
    }
}
