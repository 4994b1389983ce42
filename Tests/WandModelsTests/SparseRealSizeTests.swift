import Foundation
import WandTensor
import XCTest
@testable import WandModels

/// Header-only sparse files with the real tensor names and shapes of the published DiTs, derived
/// from the spec (wan-architecture.md §2.10 names, §1 sizes). The data area is a hole made by
/// ftruncate, so a 20 GB file costs no disk and any read of it would show in the timing.
final class SparseRealSizeTests: XCTestCase {
    struct DiTConfig {
        var dim: Int, ffn: Int, inDim: Int, outDim: Int, layers: Int
    }

    /// §2.10 table, official names; Linear weights [out, in].
    static func ditTensors(_ c: DiTConfig) -> [(String, [Int])] {
        let d = c.dim
        var t: [(String, [Int])] = [
            ("patch_embedding.weight", [d, c.inDim, 1, 2, 2]), ("patch_embedding.bias", [d]),
            ("text_embedding.0.weight", [d, 4096]), ("text_embedding.0.bias", [d]),
            ("text_embedding.2.weight", [d, d]), ("text_embedding.2.bias", [d]),
            ("time_embedding.0.weight", [d, 256]), ("time_embedding.0.bias", [d]),
            ("time_embedding.2.weight", [d, d]), ("time_embedding.2.bias", [d]),
            ("time_projection.1.weight", [6 * d, d]), ("time_projection.1.bias", [6 * d]),
        ]
        for n in 0..<c.layers {
            let b = "blocks.\(n)."
            t.append((b + "modulation", [1, 6, d]))
            for attn in ["self_attn", "cross_attn"] {
                for p in ["q", "k", "v", "o"] {
                    t.append((b + "\(attn).\(p).weight", [d, d]))
                    t.append((b + "\(attn).\(p).bias", [d]))
                }
                t.append((b + "\(attn).norm_q.weight", [d]))
                t.append((b + "\(attn).norm_k.weight", [d]))
            }
            t.append((b + "norm3.weight", [d]))
            t.append((b + "norm3.bias", [d]))
            t.append((b + "ffn.0.weight", [c.ffn, d]))
            t.append((b + "ffn.0.bias", [c.ffn]))
            t.append((b + "ffn.2.weight", [d, c.ffn]))
            t.append((b + "ffn.2.bias", [d]))
        }
        t.append(("head.modulation", [1, 2, d]))
        t.append(("head.head.weight", [4 * c.outDim, d]))
        t.append(("head.head.bias", [4 * c.outDim]))
        return t
    }

    /// Writes a safetensors header for `tensors` and extends the file to its full size as a hole.
    static func writeSparse(_ tensors: [(String, [Int])], dtype: DType, to path: String) throws -> Int {
        var offset = 0
        var parts: [String] = []
        for (name, shape) in tensors {
            let bytes = shape.reduce(1, *) * dtype.size
            parts.append("\"\(name)\":{\"dtype\":\"\(dtype.safetensorsName)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + parts.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var length = UInt64(header.count).littleEndian
        var data = Data(bytes: &length, count: 8)
        data.append(contentsOf: header)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: data))
        let total = 8 + header.count + offset
        XCTAssertEqual(truncate(path, off_t(total)), 0)
        return total
    }

    private func openSparse(_ config: DiTConfig, dtype: DType, file: String) throws -> (SafetensorsFile, Int, TimeInterval) {
        let dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + file
        let size = try Self.writeSparse(Self.ditTensors(config), dtype: dtype, to: path)
        let start = Date()
        let st = try SafetensorsFile(path: path)
        return (st, size, Date().timeIntervalSince(start))
    }

    func testTI2V5BOpensWithoutReadingData() throws {
        let (st, size, seconds) = try openSparse(DiTConfig(dim: 3072, ffn: 14336, inDim: 48, outDim: 48, layers: 30),
                                                 dtype: .f32, file: "ti2v5b.safetensors")
        XCTAssertEqual(st.weights.parameterCount, 4_999_787_712)
        XCTAssertEqual(st.file.size, size)
        XCTAssertGreaterThan(size, 19_999_000_000)
        XCTAssertLessThan(seconds, 1.0, "opening took \(seconds) s")
        // No data page of the mapping is resident: nothing was read.
        let last = try st.tensor("blocks.29.ffn.2.weight")
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UnsafeMutableRawPointer(mutating: last.bytes.baseAddress!)
        let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: start) / page) * page)!
        var resident = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(mincore(aligned, 64 * page, &resident), 0)
        XCTAssertEqual(resident.filter { $0 & 1 != 0 }.count, 0)
        let verdict = ModelDetector.detect(st.weights.tensors.map { ($0.name, $0.shape, $0.dtype) })
        XCTAssertEqual(verdict.model, .ti2v5B)
        XCTAssertEqual(verdict.layout, .official)
    }

    func testT2VA14BExpertParameterCount() throws {
        let (st, _, _) = try openSparse(DiTConfig(dim: 5120, ffn: 13824, inDim: 16, outDim: 16, layers: 40),
                                        dtype: .bf16, file: "t2v_a14b_high.safetensors")
        XCTAssertEqual(st.weights.parameterCount, 14_288_491_584)
        let verdict = ModelDetector.detect(st.weights.tensors.map { ($0.name, $0.shape, $0.dtype) })
        XCTAssertEqual(verdict.model, .t2vA14BExpertOrWan21T2V14B)
    }

    func testI2VA14BExpertParameterCount() throws {
        let (st, _, _) = try openSparse(DiTConfig(dim: 5120, ffn: 13824, inDim: 36, outDim: 16, layers: 40),
                                        dtype: .bf16, file: "i2v_a14b_low.safetensors")
        XCTAssertEqual(st.weights.parameterCount, 14_288_901_184)
        let verdict = ModelDetector.detect(st.weights.tensors.map { ($0.name, $0.shape, $0.dtype) })
        XCTAssertEqual(verdict.model, .i2vA14BExpert)
    }

    func testWan21T2V13BParameterCount() throws {
        let (st, _, _) = try openSparse(DiTConfig(dim: 1536, ffn: 8960, inDim: 16, outDim: 16, layers: 30),
                                        dtype: .f32, file: "wan21_1_3b.safetensors")
        XCTAssertEqual(st.weights.parameterCount, 1_418_996_800)
        let verdict = ModelDetector.detect(st.weights.tensors.map { ($0.name, $0.shape, $0.dtype) })
        XCTAssertEqual(verdict.model, .wan21T2V1_3B)
    }
}

/// Names and shapes of the published networks as the reference code builds them (on torch's meta
/// device, Tools/reference/weights_fixtures.py), written as header-only sparse files.
final class ReferenceRealSizeTests: XCTestCase {
    static let real: [String: [(String, [Int])]] = {
        let json = try! Fixtures.json(Fixtures.weights("real_shapes.json")) as! [String: [[Any]]]
        return json.mapValues { $0.map { ($0[0] as! String, $0[1] as! [Int]) } }
    }()

    private func open(_ key: String, dtype: DType) throws -> SafetensorsFile {
        let dir = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let tensors = try XCTUnwrap(Self.real[key])
        _ = try SparseRealSizeTests.writeSparse(tensors, dtype: dtype, to: dir + "/\(key).safetensors")
        return try SafetensorsFile(path: dir + "/\(key).safetensors")
    }

    func testSpecTableEqualsReferenceTI2VModel() throws {
        let spec = SparseRealSizeTests.ditTensors(.init(dim: 3072, ffn: 14336, inDim: 48, outDim: 48, layers: 30))
        let reference = try XCTUnwrap(Self.real["ti2v5b_dit"])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: spec), Dictionary(uniqueKeysWithValues: reference))
    }

    func testPublishedSizes() throws {
        let cases: [(String, DType, Int, WanModelKind)] = [
            ("ti2v5b_dit", .bf16, 4_999_787_712, .ti2v5B),
            ("vae21", .f32, 126_892_531, .vae21),
            ("vae22", .f32, 704_688_668, .vae22),
            ("umt5_xxl_encoder", .bf16, 5_680_910_336, .umt5Encoder),
        ]
        for (key, dtype, parameters, kind) in cases {
            let st = try open(key, dtype: dtype)
            XCTAssertEqual(st.weights.parameterCount, parameters, key)
            XCTAssertEqual(st.file.size - 8 - st.header.headerLength, parameters * dtype.size, key)
            let verdict = ModelDetector.detect(st.weights)
            XCTAssertEqual(verdict.model, kind, key)
            XCTAssertEqual(verdict.layout, .official, key)
            XCTAssertEqual(verdict.parameterCount, parameters, key)
        }
        // The published umT5 file, which carries no config, sizes itself as umT5-XXL.
        XCTAssertEqual(try UMT5Config.official(try open("umt5_xxl_encoder", dtype: .bf16).weights, path: "umt5"), .xxl)
    }
}
