import XCTest
@testable import WandTensor

/// Every Vulkan kernel against the CPU backend, on random shapes whose sizes are not multiples
/// of the kernels' tiles (64x64 GEMM tiles, 16 queries x 32 keys, 256-thread groups).
final class VulkanKernelTests: XCTestCase {
    let cpu = CPUBackend(threads: 2)

    func testLinearMatmulAndStoredWeights() throws {
        for vk in [try VulkanTestDevice.backend(), try VulkanTestDevice.backend(staging: true)] {
            var g = TestValues(seed: 3)
            let before = vk.dispatchCount
            let x = g.tensor([70, 45]), w = g.tensor([67, 45]), bias = g.tensor([67]), b = g.tensor([45, 129])
            assertMatches(try vk.linear(x, weight: w, bias: bias), try cpu.linear(x, weight: w, bias: bias), tolerance: 1e-5, "linear")
            assertMatches(try vk.linear(x, weight: w, bias: nil), try cpu.linear(x, weight: w, bias: nil), tolerance: 1e-5, "linear, no bias")
            assertMatches(try vk.matmul(x, b), try cpu.matmul(x, b), tolerance: 1e-5, "matmul")
            // A [2, 3, 45] input and every stored dtype.
            let x3 = g.tensor([2, 3, 45])
            for dtype in [DType.f32, .f16, .bf16, .fp8e4m3, .fp8e5m2] {
                let stored = Self.stored(w, as: dtype)
                assertMatches(try vk.linear(x3, weight: stored, bias: bias), try cpu.linear(x3, weight: stored, bias: bias),
                              tolerance: 1e-5, "stored \(dtype)")
            }
            XCTAssertGreaterThanOrEqual(vk.dispatchCount - before, 8, "the GEMMs ran on the device")
        }
    }

    func testF16ModeRoundsGEMMAndAttentionOperandsOnly() throws {
        let vk = try VulkanTestDevice.backend(.f16)
        var g = TestValues(seed: 4)
        let x = g.tensor([70, 45]), w = g.tensor([67, 45]), bias = g.tensor([67])
        // f32 weights are stored as f16 and the activations rounded to f16; sums stay f32.
        let reference = try cpu.linear(Self.rounded(x), weight: Self.rounded(w), bias: bias)
        assertMatches(try vk.linear(x, weight: w, bias: bias), reference, tolerance: 1e-5, "f16 linear")
        assertMatches(try vk.linear(x, weight: Self.stored(w, as: .f32), bias: bias), reference, tolerance: 1e-5, "f16 stored f32")
        // bf16 weights are used exactly; only x is rounded.
        let bf = Self.stored(w, as: .bf16)
        assertMatches(try vk.linear(x, weight: bf, bias: bias), try cpu.linear(Self.rounded(x), weight: bf, bias: bias),
                      tolerance: 1e-5, "f16 with bf16 weights")
        let q = g.tensor([37, 2, 24]), k = g.tensor([45, 2, 24]), v = g.tensor([45, 2, 24])
        assertMatches(try vk.attention(q: q, k: k, v: v, scale: nil, bias: nil),
                      try cpu.attention(q: Self.rounded(q), k: Self.rounded(k), v: Self.rounded(v), scale: nil, bias: nil),
                      tolerance: 1e-5, "f16 attention")
        // And f16 is not f32: the rounding is visible.
        let exact = try cpu.linear(x, weight: w, bias: bias)
        XCTAssertGreaterThan(relativeError(try vk.linear(x, weight: w, bias: bias), exact), 1e-5)
    }

    func testNorms() throws {
        let vk = try VulkanTestDevice.backend()
        var g = TestValues(seed: 5)
        let x = g.tensor([13, 300], scale: 3), w = g.tensor([300]), b = g.tensor([300])
        assertMatches(try vk.layerNorm(x, weight: nil, bias: nil, eps: 1e-6), try cpu.layerNorm(x, weight: nil, bias: nil, eps: 1e-6), tolerance: 1e-5, "layerNorm")
        assertMatches(try vk.layerNorm(x, weight: w, bias: b, eps: 1e-5), try cpu.layerNorm(x, weight: w, bias: b, eps: 1e-5), tolerance: 1e-5, "affine layerNorm")
        assertMatches(try vk.rmsNorm(x, weight: w, eps: 1e-6), try cpu.rmsNorm(x, weight: w, eps: 1e-6), tolerance: 1e-5, "rmsNorm")
        assertMatches(try vk.rmsNorm(x, weight: nil, eps: 1e-6), try cpu.rmsNorm(x, weight: nil, eps: 1e-6), tolerance: 1e-5, "rmsNorm, no weight")
        let v = g.tensor([5, 3, 7, 11]), gamma = g.tensor([5]), beta = g.tensor([5])
        assertMatches(try vk.channelRMSNorm(v, gamma: gamma, bias: nil), try cpu.channelRMSNorm(v, gamma: gamma, bias: nil), tolerance: 1e-5, "channelRMSNorm")
        assertMatches(try vk.channelRMSNorm(v, gamma: gamma, bias: beta), try cpu.channelRMSNorm(v, gamma: gamma, bias: beta), tolerance: 1e-5, "channelRMSNorm, bias")
        let gx = g.tensor([6, 2, 5, 7]), gw = g.tensor([6]), gb = g.tensor([6])
        assertMatches(try vk.groupNorm(gx, groups: 3, weight: gw, bias: gb, eps: 1e-5), try cpu.groupNorm(gx, groups: 3, weight: gw, bias: gb, eps: 1e-5), tolerance: 1e-5, "groupNorm")
        assertMatches(try vk.softmax(x), try cpu.softmax(x), tolerance: 1e-5, "softmax")
    }

    func testModulationOps() throws {
        let vk = try VulkanTestDevice.backend()
        var g = TestValues(seed: 6)
        let x = g.tensor([21, 70]), delta = g.tensor([21, 70]), table = g.tensor([2, 6, 70])
        let rows = try Tensor(shape: [21], values: (0..<21).map { $0 < 6 ? 1 : 0 })
        for r in [rows, nil] as [Tensor?] {
            assertMatches(try vk.modulatedLayerNorm(x, table: table, shift: 3, scale: 4, rows: r, eps: 1e-6),
                          try cpu.modulatedLayerNorm(x, table: table, shift: 3, scale: 4, rows: r, eps: 1e-6), tolerance: 1e-5, "adaLN")
            assertMatches(try vk.gatedAdd(x, delta, table: table, gate: 5, rows: r),
                          try cpu.gatedAdd(x, delta, table: table, gate: 5, rows: r), tolerance: 1e-6, "gatedAdd")
        }
        XCTAssertThrowsError(try vk.gatedAdd(x, delta, table: table, gate: 6, rows: nil))
        let badRows = try Tensor(shape: [21], values: [Float](repeating: 2, count: 21))
        XCTAssertThrowsError(try vk.modulatedLayerNorm(x, table: table, shift: 0, scale: 1, rows: badRows, eps: 1e-6))
    }

    func testActivations() throws {
        let vk = try VulkanTestDevice.backend()
        var g = TestValues(seed: 7)
        let x = g.tensor([3, 1001], scale: 6)
        assertMatches(vk.silu(x), cpu.silu(x), tolerance: 1e-6, "silu")
        assertMatches(vk.gelu(x, approximation: .tanh), cpu.gelu(x, approximation: .tanh), tolerance: 1e-6, "gelu tanh")
        assertMatches(vk.gelu(x, approximation: .none), cpu.gelu(x, approximation: .none), tolerance: 1e-6, "gelu erf")
        assertMatches(vk.affine(x, scale: 0.5, shift: -2), cpu.affine(x, scale: 0.5, shift: -2), tolerance: 0, "affine")
        assertMatches(vk.clamp(x, lower: -1, upper: 2), cpu.clamp(x, lower: -1, upper: 2), tolerance: 0, "clamp")
        XCTAssertTrue(vk.silu(x).storage.isDeviceOnly)
    }

    func testAttentionAndRoPE() throws {
        let vk = try VulkanTestDevice.backend()
        var g = TestValues(seed: 8)
        // The three kernels: d <= 64 (d 64, and 8, one key), d <= 128 (d 100, not a multiple of 8),
        // d > 128 (160: over one 128-wide output slice, not a multiple of 32); with and without a bias.
        for (lq, lk, h, d) in [(37, 45, 3, 64), (5, 1, 2, 8), (19, 33, 2, 100), (20, 70, 1, 160)] {
            let q = g.tensor([lq, h, d], scale: 2), k = g.tensor([lk, h, d], scale: 2), v = g.tensor([lk, h, d])
            assertMatches(try vk.attention(q: q, k: k, v: v, scale: nil, bias: nil),
                          try cpu.attention(q: q, k: k, v: v, scale: nil, bias: nil), tolerance: 1e-5, "attention \(lq) \(lk) \(h) \(d)")
            let bias = g.tensor([h, lq, lk], scale: 3)
            assertMatches(try vk.attention(q: q, k: k, v: v, scale: 1, bias: bias),
                          try cpu.attention(q: q, k: k, v: v, scale: 1, bias: bias), tolerance: 1e-5, "attention with bias")
        }
        for (f, hh, w, heads, d) in [(2, 3, 5, 2, 12), (3, 2, 4, 3, 64)] {
            let x = g.tensor([f * hh * w, heads, d])
            assertMatches(try vk.rope3D(x, frames: f, height: hh, width: w, theta: 10_000),
                          try cpu.rope3D(x, frames: f, height: hh, width: w, theta: 10_000), tolerance: 1e-6, "rope \(d)")
        }
    }

    func testConvolutionsAndInterpolation() throws {
        let vk = try VulkanTestDevice.backend()
        var g = TestValues(seed: 9)
        let x = g.tensor([5, 3, 19, 35])   // over one 16x32 tile of the direct kernel
        let cases: [(String, [Int], (Int, Int, Int), Conv3DPadding)] = [
            ("causal 3x3x3", [7, 5, 3, 3, 3], (1, 1, 1), .causal(time: 1, height: 1, width: 1)),
            ("1x1x1", [6, 5, 1, 1, 1], (1, 1, 1), .none),
            ("causal, 70 output channels (64-row tiles)", [70, 5, 3, 3, 3], (1, 1, 1), .causal(time: 1, height: 1, width: 1)),
            ("causal, 27 output channels (32-row tiles)", [27, 5, 3, 3, 3], (1, 1, 1), .causal(time: 1, height: 1, width: 1)),
            ("downsample 3x3 stride 2, pad right/bottom", [4, 5, 1, 3, 3], (1, 2, 2),
             Conv3DPadding(timeFront: 0, timeBack: 0, top: 0, bottom: 1, left: 0, right: 1)),
            ("time conv 3x1x1 stride 2", [5, 5, 3, 1, 1], (2, 1, 1), .none),
            ("symmetric", [3, 5, 2, 3, 2], (1, 1, 2), .symmetric(time: 1, height: 2, width: 1)),
            // The direct kernel: 3x3 taps, stride 1; 1 or 2 frames of taps, 17 or 21 output channels.
            ("direct 3x3, 2 frames", [17, 5, 2, 3, 3], (1, 1, 1), .symmetric(time: 0, height: 1, width: 1)),
            ("direct 1x3x3, no padding", [21, 5, 1, 3, 3], (1, 1, 1), .none),
        ]
        for (name, shape, stride, padding) in cases {
            let w = g.tensor(shape, scale: 0.3), b = g.tensor([shape[0]])
            assertMatches(try vk.conv3d(x, weight: w, bias: b, stride: stride, padding: padding),
                          try cpu.conv3d(x, weight: w, bias: b, stride: stride, padding: padding), tolerance: 1e-5, name)
        }
        let x2 = g.tensor([4, 10, 13]), w2 = g.tensor([6, 4, 3, 3], scale: 0.3)
        assertMatches(try vk.conv2d(x2, weight: w2, bias: nil, stride: (1, 1), padding: (1, 1)),
                      try cpu.conv2d(x2, weight: w2, bias: nil, stride: (1, 1), padding: (1, 1)), tolerance: 1e-5, "conv2d")
        for (mode, oh, ow) in [(InterpolationMode.nearestExact, 20, 26), (.nearestExact, 7, 29), (.nearest, 13, 5),
                               (.bilinear(alignCorners: false), 15, 17)] {
            assertMatches(try vk.interpolate(x2, height: oh, width: ow, mode: mode),
                          try cpu.interpolate(x2, height: oh, width: ow, mode: mode), tolerance: 0, "interpolate \(mode)")
        }
    }

    // MARK: helpers

    /// `t` rounded to f16 (what the f16 mode feeds its GEMMs).
    static func rounded(_ t: Tensor) -> Tensor {
        try! Tensor(shape: t.shape, values: t.array.map { Float(Float16($0)) })
    }

    /// `t` stored as `dtype` (rounded to it), kept alive by an owner object.
    static func stored(_ t: Tensor, as dtype: DType) -> StoredTensor {
        final class Owner { let bytes: [UInt8]; init(_ b: [UInt8]) { bytes = b } }
        let values = t.array
        var bytes: [UInt8] = []
        for v in values {
            switch dtype {
            case .f32: withUnsafeBytes(of: v.bitPattern) { bytes += $0 }
            case .f16: withUnsafeBytes(of: Float16(v).bitPattern) { bytes += $0 }
            case .bf16: withUnsafeBytes(of: UInt16(v.bitPattern >> 16)) { bytes += $0 }
            case .fp8e5m2: bytes.append(UInt8(Float16(v).bitPattern >> 8))
            default:  // e4m3: the nearest of the 256 codes
                let codes = (0..<256).map { DTypeConversion.e4m3ToFloat(UInt8($0)) }
                let best = codes.indices.filter { !codes[$0].isNaN }.min { abs(codes[$0] - v) < abs(codes[$1] - v) }!
                bytes.append(UInt8(best))
            }
        }
        let owner = Owner(bytes)
        return owner.bytes.withUnsafeBytes { StoredTensor(dtype: dtype, shape: t.shape, bytes: $0.baseAddress!, owner: owner) }
    }
}
