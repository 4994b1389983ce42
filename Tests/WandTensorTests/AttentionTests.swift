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

import CWandKernels

final class PortableKernelTests: XCTestCase {
    func testPortableFallbackMatchesTorch() throws {
        wand_kernels_force_portable(1)
        defer { wand_kernels_force_portable(0) }
        let backend = CPUBackend(threads: 2)
        let f = try Fixture("attention")
        let y = try backend.attention(q: f.tensor("u_q"), k: f.tensor("u_k"), v: f.tensor("u_v"), scale: 1,
                                      bias: f.tensor("u_bias"))
        assertClose(y, try f.tensor("u_y"), "portable attention")
        let d = try Fixture("dense")
        assertClose(try backend.softmax(d.tensor("softmax_x")), try d.tensor("softmax_y"), "portable softmax")
    }

    /// Every online-softmax kernel this CPU can run (portable, AVX2, AVX-512) against the fixture,
    /// and against each other on key lengths that leave tails (37, 2053).
    func testEverySoftmaxKernelAgrees() throws {
        defer { wand_kernels_force_portable(0) }
        let backend = CPUBackend(threads: 2)
        let f = try Fixture("attention")
        var g = TorchCPUGenerator(seed: 21)
        let inputs = [37, 2053].map { lk in (g.randn([19, 2, 16]), g.randn([lk, 2, 16]), g.randn([lk, 2, 16])) }
        var outputs: [[Tensor]] = []
        let levels: [Int32] = [1, 2, 0]
        for level in levels {
            wand_kernels_force_portable(level)
            let y = try backend.attention(q: f.tensor("u_q"), k: f.tensor("u_k"), v: f.tensor("u_v"), scale: 1,
                                          bias: f.tensor("u_bias"))
            assertClose(y, try f.tensor("u_y"), "kernel level \(level)")
            outputs.append(try inputs.map { try backend.attention(q: $0.0, k: $0.1, v: $0.2, scale: nil, bias: nil) })
        }
        for l in 1..<outputs.count {
            for (i, y) in outputs[l].enumerated() { assertClose(y, outputs[0][i], tolerance: 1e-6, "tails, kernel level \(levels[l])") }
        }
    }

    func testStoredF16AndFP8WeightsWidenPerPanel() throws {
        let backend = CPUBackend(threads: 2)
        let outF = 300, inF = 4096  // (1<<20)/4096 = 256-row panels: two panels, the last one partial
        var x = TorchCPUGenerator(seed: 9)
        let input = x.randn([2, inF])
        for dtype in [DType.f16, .fp8e4m3, .fp8e5m2] {
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: outF * inF * dtype.size, alignment: 8)
            defer { bytes.deallocate() }
            for i in 0..<(outF * inF) {
                if dtype == .f16 { bytes.storeBytes(of: UInt16(0x3C00 + (i % 512)), toByteOffset: 2 * i, as: UInt16.self) }
                else { bytes.storeBytes(of: UInt8(i % 120), toByteOffset: i, as: UInt8.self) }
            }
            let stored = StoredTensor(dtype: dtype, shape: [outF, inF], bytes: UnsafeRawPointer(bytes.baseAddress!), owner: nil)
            let got = try backend.linear(input, weight: stored, bias: nil)
            let expected = try backend.linear(input, weight: stored.toTensor(), bias: nil)
            assertClose(got, expected, tolerance: 1e-6, "\(dtype)")
        }
    }
}
