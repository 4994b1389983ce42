import ArgumentParser
import WandTensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (compare with the PyTorch side in Tools/bench/).",
        subcommands: [BenchOps.self, BenchDiT.self, BenchVAE.self, BenchStep.self]
    )
}

/// `wand bench ops`: the hot ops of the Wan networks at real sizes. Tools/bench/ops.py runs the
/// same shapes in PyTorch and joins both tables (it calls this command with --tsv).
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time GEMM, attention and the largest VAE conv3d on the CPU backend."
    )

    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Rows N of the GEMM [N,3072]·[3072,3072]ᵀ.") var gemmRows = 1560
    @Option(parsing: .upToNextOption, help: "Attention sequence lengths (24 heads, head dim 128).")
    var attentionLengths: [Int] = [4096]
    @Option(help: "conv3d input frames (decoder.upsamples.2.upsamples.0.residual.2: 1024->512, k3, causal).")
    var convFrames = 1
    @Option(parsing: .upToNextOption, help: "conv3d spatial size H W (real 704x1280 decode: 176 320).")
    var convSize: [Int] = [44, 80]
    @Option(help: "Timed repetitions; the best is reported.") var repeats = 3
    @Flag(help: "Machine-readable lines: name<TAB>seconds<TAB>gflop.") var tsv = false

    func run() throws {
        let backend = CPUBackend(threads: threads)
        var rows: [(String, Double, Double)] = []
        func time(_ body: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<Swift.max(1, repeats) {
                let clock = ContinuousClock()
                let elapsed = try clock.measure(body)
                let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                best = Swift.min(best, s)
            }
            return best
        }

        // GEMM: linear [N,3072] x [3072,3072]^T, and raw cblas_sgemm on the same operands.
        var g = TorchCPUGenerator(seed: 0)
        let n = gemmRows, d = 3072
        let x = g.randn([n, d]), w = g.randn([d, d])
        let gemmFlop = 2.0 * Double(n) * Double(d) * Double(d) / 1e9
        let raw = Tensor(uninitialized: [n, d])
        rows.append(("linear_\(n)x3072x3072", try time { _ = try backend.linear(x, weight: w, bias: nil) }, gemmFlop))
        // The same weight stored as bf16 and widened panel by panel inside `linear`.
        let bf16 = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: d * d)
        defer { bf16.deallocate() }
        for i in 0..<(d * d) { bf16[i] = UInt16(truncatingIfNeeded: w.data[i].bitPattern >> 16) }
        let stored = StoredTensor(dtype: .bf16, shape: [d, d], bytes: UnsafeRawPointer(bf16.baseAddress!), owner: nil)
        rows.append(("linear_bf16_panels_\(n)x3072x3072", try time { _ = try backend.linear(x, weight: stored, bias: nil) }, gemmFlop))

        for l in attentionLengths {
            let q = g.randn([l, 24, 128]), k = g.randn([l, 24, 128]), v = g.randn([l, 24, 128])
            let flop = 4.0 * Double(l) * Double(l) * 128 * 24 / 1e9
            rows.append(("attention_L\(l)_h24_d128", try time { _ = try backend.attention(q: q, k: k, v: v, scale: nil, bias: nil) }, flop))
        }

        guard convSize.count == 2 else { throw ValidationError("--conv-size takes two numbers: H W") }
        let cx = g.randn([1024, convFrames, convSize[0], convSize[1]])
        let cw = try backend.mul(g.randn([512, 1024, 3, 3, 3]), Tensor(filled: 0.01, shape: [1]))
        let cb = g.randn([512])
        let convFlop = 2.0 * 512 * 1024 * 27 * Double(convFrames * convSize[0] * convSize[1]) / 1e9
        rows.append(("conv3d_1024to512_k3_T\(convFrames)_\(convSize[0])x\(convSize[1])", try time {
            _ = try backend.conv3d(cx, weight: cw, bias: cb, stride: (1, 1, 1), padding: .causal(time: 1, height: 1, width: 1))
        }, convFlop))
        // A later chunk: two cached frames in front instead of causal padding (see Tools/bench/ops.py).
        let cached = g.randn([1024, convFrames + 2, convSize[0], convSize[1]])
        rows.append(("conv3d_1024to512_k3_T\(convFrames)cache2_\(convSize[0])x\(convSize[1])", try time {
            _ = try backend.conv3d(cached, weight: cw, bias: cb, stride: (1, 1, 1), padding: .symmetric(time: 0, height: 1, width: 1))
        }, convFlop))

        // OpenBLAS's own multi-threaded sgemm last: after it, concurrent OpenBLAS calls in this
        // process are serialized (see CPUBackend), which would slow the attention rows above.
        rows.insert(("sgemm_openblas_\(n)x3072x3072", time {
            backend.referenceSGEMM(m: n, n: d, k: d, a: x.data, b: w.data, c: raw.data)
        }, gemmFlop), at: 0)

        if tsv {
            for (name, s, flop) in rows { print("\(name)\t\(s)\t\(flop)") }
            return
        }
        print("wand bench ops — \(backend.name), best of \(repeats)")
        print(pad("op", 40) + pad("seconds", 12) + pad("GFLOP/s", 10) + "note")
        let peak = rows[0].2 / rows[0].1
        for (name, s, flop) in rows {
            var note = ""
            if name.hasPrefix("linear") { note = "\(fmt(100 * (flop / s) / peak, 1))% of raw OpenBLAS sgemm" }
            print(pad(name, 40) + pad(fmt(s, 4), 12) + pad(fmt(flop / s, 1), 10) + note)
        }
    }

    private func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
    private func fmt(_ v: Double, _ digits: Int) -> String {
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let r = (v * p).rounded() / p
        return "\(r)"
    }
}
