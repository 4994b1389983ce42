import XCTest
@testable import WandTensor

final class DTypeConversionTests: XCTestCase {
    private func assertSameFloat(_ a: Float, _ b: Float, _ what: String) {
        if b.isNaN { XCTAssertTrue(a.isNaN, what) } else { XCTAssertEqual(a.bitPattern, b.bitPattern, what) }
    }

    func testFloat16AllBitPatternsMatchTorch() throws {
        let table = try Fixture("dtypes").tensor("f16").array
        XCTAssertEqual(table.count, 65536)
        var bits = [UInt16](0...UInt16.max)
        var widened = [Float](repeating: 0, count: 65536)
        try widened.withUnsafeMutableBufferPointer { dst in
            try bits.withUnsafeMutableBytes { try DTypeConversion.widen(.f16, from: $0.baseAddress!, to: dst.baseAddress!, count: 65536) }
        }
        for i in 0..<65536 { assertSameFloat(widened[i], table[i], "f16 0x\(String(i, radix: 16))") }
    }

    func testBFloat16AllBitPatternsByDefinitionAndTorchSample() throws {
        for i in 0...0xFFFF {
            let f = DTypeConversion.bf16ToFloat(UInt16(i))
            XCTAssertEqual(f.bitPattern, UInt32(i) << 16)
        }
        let sample = try Fixture("dtypes").tensor("bf16_every7").array
        for (n, i) in stride(from: 0, to: 65536, by: 7).enumerated() {
            assertSameFloat(DTypeConversion.bf16ToFloat(UInt16(i)), sample[n], "bf16 \(i)")
        }
    }

    func testFP8AllBitPatternsMatchTorch() throws {
        let fixture = try Fixture("dtypes")
        let e4 = try fixture.tensor("e4m3").array, e5 = try fixture.tensor("e5m2").array
        for i in 0..<256 {
            assertSameFloat(DTypeConversion.e4m3ToFloat(UInt8(i)), e4[i], "e4m3 \(i)")
            assertSameFloat(DTypeConversion.e5m2ToFloat(UInt8(i)), e5[i], "e5m2 \(i)")
        }
        var bytes = [UInt8](0...255)
        var out = [Float](repeating: 0, count: 256)
        try out.withUnsafeMutableBufferPointer { dst in
            try bytes.withUnsafeMutableBytes { try DTypeConversion.widen(.fp8e4m3, from: $0.baseAddress!, to: dst.baseAddress!, count: 256) }
        }
        for i in 0..<256 { assertSameFloat(out[i], e4[i], "widen e4m3 \(i)") }
    }

    func testStoredBF16LinearMatchesF32Linear() throws {
        // Weight values that bf16 holds exactly, so both paths must agree to f32 rounding.
        let outF = 40, inF = 24
        var bits = [UInt16](repeating: 0, count: outF * inF)
        for i in 0..<bits.count { bits[i] = UInt16(0x3F80 + (i * 37) % 200) ^ (i % 3 == 0 ? 0x8000 : 0) }
        let w = try Tensor(shape: [outF, inF], values: bits.map(DTypeConversion.bf16ToFloat))
        let x = TorchCPUGenerator(seed: 1).randnCopy([3, inF])
        let backend = CPUBackend(threads: 2)
        let expected = try backend.linear(x, weight: w, bias: nil)
        let got = try bits.withUnsafeBytes { raw in
            try backend.linear(x, weight: StoredTensor(dtype: .bf16, shape: [outF, inF], bytes: raw.baseAddress!, owner: nil),
                               bias: nil)
        }
        assertClose(got, expected, tolerance: 1e-6)
        XCTAssertThrowsError(try DTypeConversion.widen(.i32, from: bits, to: UnsafeMutablePointer<Float>.allocate(capacity: 1), count: 0))
    }
}

extension TorchCPUGenerator {
    func randnCopy(_ shape: [Int]) -> Tensor { var g = self; return g.randn(shape) }
}
