import CWandKernels
import XCTest
@testable import WandTensor

/// Attention's own GEMM (`wand_gemm_packed`) and its packing, at every kernel level this CPU
/// has (portable, AVX2, AVX-512), against sums in Double. Sizes leave tails everywhere: rows
/// that fill no whole register block (8 for AVX-512, 6 for AVX2, 4 portable), panels with
/// padding columns, odd strides.
final class PackedGemmTests: XCTestCase {
    let levels: [Int32] = [1, 2, 0]

    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = TorchCPUGenerator(seed: seed)
        let t = g.randn([count])
        return (0..<count).map { t.data[$0] }
    }

    func testPackedPanelsTimesRowsAtEveryLevel() {
        defer { wand_kernels_force_portable(0) }
        let m = 19, k = 45, n = 37, lda = 50, ldx = 41
        let a = random(m * lda, seed: 1), x = random(k * ldx, seed: 2), c0 = random(m * 64, seed: 3)
        var expected = [Double](repeating: 0, count: m * n)
        for r in 0..<m { for j in 0..<n { for t in 0..<k { expected[r * n + j] += Double(a[r * lda + t]) * Double(x[t * ldx + j]) } } }
        let panelStride = k * Int(WAND_PANEL) + 7
        var packed = [Float](repeating: .nan, count: 2 * panelStride)
        wand_pack_panels(x, ldx, Int32(k), Int32(n), &packed, panelStride)
        for t in 0..<k { for j in n..<64 { XCTAssertEqual(packed[panelStride + t * 32 + j - 32], 0, "padding column \(j)") } }
        for level in levels {
            wand_kernels_force_portable(level)
            for accumulate in [false, true] {
                var c = c0
                wand_gemm_packed(Int32(m), 64, Int32(k), a, lda, packed, panelStride, &c, 64, accumulate ? 1 : 0)
                var worst = 0.0
                for r in 0..<m {
                    for j in 0..<64 {
                        let want = (j < n ? expected[r * n + j] : 0) + (accumulate ? Double(c0[r * 64 + j]) : 0)
                        worst = Swift.max(worst, Swift.abs(Double(c[r * 64 + j]) - want))
                    }
                }
                XCTAssertLessThan(worst, 1e-4, "level \(level), accumulate \(accumulate)")
            }
        }
    }

    func testTransposedPanelsAtEveryLevel() {
        defer { wand_kernels_force_portable(0) }
        // S = Q·Kᵀ as attention takes it: 70 keys (three panels, the last 6 wide), head dim 13.
        let m = 11, d = 13, keys = 70, ldk = 20
        let q = random(m * d, seed: 4), keysRows = random(keys * ldk, seed: 5)
        var packed = [Float](repeating: .nan, count: 96 * d)
        wand_pack_transposed_panels(keysRows, ldk, Int32(keys), Int32(d), &packed)
        for level in levels {
            wand_kernels_force_portable(level)
            var s = [Float](repeating: .nan, count: m * 96)
            wand_gemm_packed(Int32(m), 96, Int32(d), q, d, packed, 32 * d, &s, 96, 0)
            var worst = 0.0
            for r in 0..<m {
                for j in 0..<96 {
                    var want = 0.0
                    if j < keys { for t in 0..<d { want += Double(q[r * d + t]) * Double(keysRows[j * ldk + t]) } }
                    worst = Swift.max(worst, Swift.abs(Double(s[r * 96 + j]) - want))
                }
            }
            XCTAssertLessThan(worst, 1e-4, "level \(level)")
        }
    }

    /// A head dim that is not a multiple of the panel (40: one whole panel and one of 8), three
    /// heads of a short sequence (several heads packed together), keys across two key tiles,
    /// against softmax(QKᵀ·s)·V summed in Double.
    func testAttentionWithPartialPanelsAtEveryLevel() throws {
        defer { wand_kernels_force_portable(0) }
        var g = TorchCPUGenerator(seed: 8)
        let lq = 21, lk = 2085, heads = 3, d = 40
        let q = g.randn([lq, heads, d]), k = g.randn([lk, heads, d]), v = g.randn([lk, heads, d])
        let s = 1 / Double(d).squareRoot()
        var expected = [Double](repeating: 0, count: lq * heads * d)
        for h in 0..<heads {
            for i in 0..<lq {
                var logits = [Double](repeating: 0, count: lk)
                for j in 0..<lk {
                    var dot = 0.0
                    for t in 0..<d { dot += Double(q.data[(i * heads + h) * d + t]) * Double(k.data[(j * heads + h) * d + t]) }
                    logits[j] = dot * s
                }
                let top = logits.max()!
                let weights = logits.map { Foundation.exp($0 - top) }
                let total = weights.reduce(0, +)
                for j in 0..<lk {
                    for t in 0..<d { expected[(i * heads + h) * d + t] += weights[j] / total * Double(v.data[(j * heads + h) * d + t]) }
                }
            }
        }
        for level in levels {
            wand_kernels_force_portable(level)
            for threads in [1, 2] {
                let y = try CPUBackend(threads: threads).attention(q: q, k: k, v: v, scale: nil, bias: nil)
                var worst = 0.0
                for i in 0..<expected.count { worst = Swift.max(worst, Swift.abs(Double(y.data[i]) - expected[i])) }
                XCTAssertLessThan(worst, 1e-5, "level \(level), \(threads) threads")
            }
        }
    }
}
