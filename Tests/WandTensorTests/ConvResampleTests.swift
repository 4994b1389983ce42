import XCTest
@testable import WandTensor

final class ConvResampleTests: XCTestCase {
    let backend = CPUBackend(threads: 2)

    func testConv3dCausalTemporalStrideAndPointwise() throws {
        let f = try Fixture("conv")
        let x = try f.tensor("x")
        assertClose(try backend.conv3d(x, weight: f.tensor("w"), bias: f.tensor("b"), stride: (1, 1, 1),
                                       padding: .causal(time: 1, height: 1, width: 1)), try f.tensor("causal_y"), "causal")
        assertClose(try backend.conv3d(x, weight: f.tensor("wt"), bias: f.tensor("bt"), stride: (2, 1, 1), padding: .none),
                    try f.tensor("tconv_y"), "time_conv")
        assertClose(try backend.conv3d(x, weight: f.tensor("w1"), bias: nil, stride: (1, 1, 1), padding: .none),
                    try f.tensor("pw_y"), "1x1x1")
    }

    /// 32 channels: the Winograd path, first chunk (causal padding) and a later one (history frames).
    func testConv3dWinogradAgainstPyTorch() throws {
        let f = try Fixture("conv")
        let x = try f.tensor("xw"), w = try f.tensor("ww"), b = try f.tensor("bw")
        XCTAssertTrue(CPUBackend.useWinograd(cin: x.shape[0], kh: 3, kw: 3, stride: (1, 1, 1)))
        assertClose(try backend.conv3d(x, weight: w, bias: b, stride: (1, 1, 1), padding: .causal(time: 1, height: 1, width: 1)),
                    try f.tensor("wcausal_y"), "causal")
        assertClose(try backend.conv3d(x, weight: w, bias: b, stride: (1, 1, 1), padding: .symmetric(time: 0, height: 1, width: 1)),
                    try f.tensor("wcached_y"), "cached")
        // Chunks of 11 tiles start and end inside tile rows (19 tiles per row, 8 at a time).
        assertClose(backend.conv3dWinograd(x, weight: w, bias: b, padding: .causal(time: 1, height: 1, width: 1), chunkTiles: 11),
                    try f.tensor("wcausal_y"), "causal, small chunks")
    }

    func testConv2dPaddedAndStrided() throws {
        let f = try Fixture("conv")
        let x2 = try f.tensor("x2")
        assertClose(try backend.conv2d(x2, weight: f.tensor("w2"), bias: f.tensor("b2"), stride: (1, 1), padding: (1, 1)),
                    try f.tensor("c2_y"), "conv2d")
        let padded = try x2.padded([(0, 0), (0, 1), (0, 1)])
        assertClose(try backend.conv2d(padded, weight: f.tensor("w2"), bias: f.tensor("b2"), stride: (2, 2), padding: (0, 0)),
                    try f.tensor("c2s_y"), "downsample2d")
    }

    func testInterpolateAllModes() throws {
        let f = try Fixture("resample")
        let x = try f.tensor("x")
        for (h, w) in [(9, 4), (10, 14), (3, 3)] {
            let tag = "\(h)x\(w)"
            assertClose(try backend.interpolate(x, height: h, width: w, mode: .nearest), try f.tensor("nearest_\(tag)"), "nearest \(tag)")
            assertClose(try backend.interpolate(x, height: h, width: w, mode: .nearestExact),
                        try f.tensor("nearest_exact_\(tag)"), "nearest-exact \(tag)")
            assertClose(try backend.interpolate(x, height: h, width: w, mode: .area), try f.tensor("area_\(tag)"), "area \(tag)")
            for ac in [false, true] {
                assertClose(try backend.interpolate(x, height: h, width: w, mode: .bilinear(alignCorners: ac)),
                            try f.tensor("bilinear_\(ac ? 1 : 0)_\(tag)"), "bilinear \(ac) \(tag)")
                assertClose(try backend.interpolate(x, height: h, width: w, mode: .bicubic(alignCorners: ac)),
                            try f.tensor("bicubic_\(ac ? 1 : 0)_\(tag)"), "bicubic \(ac) \(tag)")
            }
        }
    }

    func testShapeOps() throws {
        let f = try Fixture("resample")
        assertClose(try f.tensor("ps_x").pixelShuffle(2), try f.tensor("pixel_shuffle"), "pixel shuffle")
        let z = try f.tensor("pu_x")
        assertClose(try z.pixelUnshuffle(2), try f.tensor("pixel_unshuffle"), "pixel unshuffle")
        assertClose(try z.padded([(2, 1), (0, 3), (1, 2)]), try f.tensor("pad_y"), "pad")
        assertClose(try z.permuted([2, 0, 1]).contiguous(), try f.tensor("permute_y"), "permute")
        let s = try z.sliced(dim: 0, 1..<3).sliced(dim: 1, 0..<4, step: 2).sliced(dim: 2, 2..<5)
        assertClose(s.contiguous(), try f.tensor("slice_y"), "slice")
        let doubled = try backend.mul(z, Tensor(filled: 2, shape: [1]))
        assertClose(try Tensor.concat([z, doubled], dim: 1), try f.tensor("concat_y"), "concat")
        XCTAssertThrowsError(try Tensor.concat([z, try z.permuted([1, 0, 2]).contiguous()], dim: 0))
    }
}
