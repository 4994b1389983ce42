import XCTest
@testable import WandTensor

/// The fixture tests are too small to take the multi-threaded GEMM and conv paths; these sizes
/// do, and are checked against plain loops in double precision.
final class ThreadSplitTests: XCTestCase {
    func naiveLinear(_ x: Tensor, _ w: Tensor) -> Tensor {
        let m = x.shape[0], k = x.shape[1], n = w.shape[0]
        let xa = x.array, wa = w.array
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for t in 0..<k { s += Double(xa[i * k + t]) * Double(wa[j * k + t]) }
            out[i * n + j] = Float(s)
        } }
        return try! Tensor(shape: [m, n], values: out)
    }

    func testLinearSplitByRowsAndByColumns() throws {
        var g = TorchCPUGenerator(seed: 11)
        for (m, n) in [(64, 520), (600, 64)] {
            let x = g.randn([m, 256]), w = g.randn([n, 256])
            for threads in [1, 3] {
                let y = try CPUBackend(threads: threads).linear(x, weight: w, bias: nil)
                assertClose(y, naiveLinear(x, w), "m \(m) n \(n) threads \(threads)")
            }
        }
    }

    func testConv3dColumnSplitMatchesDirectSum() throws {
        var g = TorchCPUGenerator(seed: 12)
        let cin = 3, cout = 4, t = 2, h = 16, w = 40
        let x = g.randn([cin, t, h, w]), wt = g.randn([cout, cin, 3, 3, 3])
        let y = try CPUBackend(threads: 4).conv3d(x, weight: wt, bias: nil, stride: (1, 1, 1),
                                                  padding: .causal(time: 1, height: 1, width: 1))
        XCTAssertEqual(y.shape, [cout, t, h, w])
        var expected = [Float](repeating: 0, count: cout * t * h * w)
        for o in 0..<cout { for ot in 0..<t { for oy in 0..<h { for ox in 0..<w {
            var s = 0.0
            for c in 0..<cin { for dt in 0..<3 { for dy in 0..<3 { for dx in 0..<3 {
                let ti = ot + dt - 2, yi = oy + dy - 1, xi = ox + dx - 1
                if ti < 0 || yi < 0 || yi >= h || xi < 0 || xi >= w { continue }
                s += Double(x[c, ti, yi, xi]) * Double(wt[o, c, dt, dy, dx])
            } } } }
            expected[((o * t + ot) * h + oy) * w + ox] = Float(s)
        } } } }
        assertClose(y, try Tensor(shape: [cout, t, h, w], values: expected), "conv3d split")
    }

    /// Time padding is never materialised: windows that are partly or wholly padding drop those
    /// frames from K. Checked against a direct sum with padding on both ends, a window of pure
    /// padding (front 4 > kt 3: the output is the bias), temporal stride 2 and spatial stride 2.
    /// 20 input channels take the Winograd path where the stride allows (odd sizes: partial tiles).
    func testConv3dTimePaddingWindowsMatchDirectSum() throws {
        for cin in [3, 20] { try checkConv3dAgainstDirectSum(cin: cin) }
    }

    /// No input frames at all, only time padding: the output is the bias, on both paths.
    func testConv3dOfPaddingOnlyIsTheBias() throws {
        for cin in [3, 20] {
            let x = Tensor(uninitialized: [cin, 0, 5, 6])
            var g = TorchCPUGenerator(seed: 14)
            let w = g.randn([4, cin, 3, 3, 3]), b = g.randn([4])
            let y = try CPUBackend(threads: 2).conv3d(x, weight: w, bias: b, stride: (1, 1, 1),
                                                      padding: Conv3DPadding(timeFront: 3, timeBack: 0, top: 1, bottom: 1, left: 1, right: 1))
            XCTAssertEqual(y.shape, [4, 1, 5, 6])
            for o in 0..<4 { for i in 0..<30 { XCTAssertEqual(y.data[o * 30 + i], b[o], "cin \(cin)") } }
        }
    }

    func checkConv3dAgainstDirectSum(cin: Int) throws {
        var g = TorchCPUGenerator(seed: 13)
        let cout = 5, t = 3, h = 7, w = 9
        let x = g.randn([cin, t, h, w]), wt = g.randn([cout, cin, 3, 3, 3]), bias = g.randn([cout])
        for (stride, pad) in [((1, 1, 1), Conv3DPadding(timeFront: 4, timeBack: 1, top: 1, bottom: 2, left: 1, right: 0)),
                              ((2, 1, 1), Conv3DPadding(timeFront: 2, timeBack: 2, top: 1, bottom: 1, left: 1, right: 1)),
                              ((1, 2, 2), Conv3DPadding(timeFront: 3, timeBack: 1, top: 1, bottom: 1, left: 1, right: 1))] {
            let y = try CPUBackend(threads: 2).conv3d(x, weight: wt, bias: bias, stride: stride, padding: pad)
            let to = (t + pad.timeFront + pad.timeBack - 3) / stride.0 + 1
            let ho = (h + pad.top + pad.bottom - 3) / stride.1 + 1, wo = (w + pad.left + pad.right - 3) / stride.2 + 1
            XCTAssertEqual(y.shape, [cout, to, ho, wo])
            var expected = [Float](repeating: 0, count: cout * to * ho * wo)
            for o in 0..<cout { for ot in 0..<to { for oy in 0..<ho { for ox in 0..<wo {
                var s = Double(bias[o])
                for c in 0..<cin { for dt in 0..<3 { for dy in 0..<3 { for dx in 0..<3 {
                    let ti = ot * stride.0 + dt - pad.timeFront
                    let yi = oy * stride.1 + dy - pad.top, xi = ox * stride.2 + dx - pad.left
                    if ti < 0 || ti >= t || yi < 0 || yi >= h || xi < 0 || xi >= w { continue }
                    s += Double(x[c, ti, yi, xi]) * Double(wt[o, c, dt, dy, dx])
                } } } }
                expected[((o * to + ot) * ho + oy) * wo + ox] = Float(s)
            } } } }
            assertClose(y, try Tensor(shape: [cout, to, ho, wo], values: expected), "conv3d cin \(cin) stride \(stride) \(pad)")
        }
    }
}
