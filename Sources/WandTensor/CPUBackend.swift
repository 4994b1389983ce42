import CBLAS
import Glibc

/// The CPU backend: GEMMs on OpenBLAS, everything else in Swift (and the small C kernels of
/// CWandKernels) over unsafe buffers, spread over `threads` cores by WandTensor's worker pool.
///
/// OpenBLAS always runs single-threaded here and the backend splits big GEMMs itself: once
/// OpenBLAS has run a multi-threaded call, its later calls from several threads at once are
/// serialized (measured with libopenblas0-pthread 0.3.21), which would serialize attention.
public struct CPUBackend: ComputeBackend {
    public let threads: Int
    public var name: String { "cpu(openblas, \(threads) threads)" }
    public func synchronize() throws {}

    public init(threads: Int? = nil) {
        let available = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        self.threads = Swift.max(1, threads ?? available)
        openblas_set_num_threads(1)
    }

    /// Row-major C = alpha·op(A)·op(B) + beta·C on the calling thread.
    @inline(__always)
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                      c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The same GEMM split over the worker pool: by rows of C when M is the larger side, else
    /// by columns. Each piece is one single-threaded OpenBLAS call.
    func gemm(transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
              b: UnsafePointer<Float>, ldb: Int, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let flops = 2 * m * n * k
        if threads == 1 || flops < 4_000_000 {
            Self.sgemm(transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                       c: c, ldc: ldc)
            return
        }
        let splitRows = m >= n
        let extent = splitRows ? m : n
        let pieces = Swift.min(threads, (extent + 15) / 16)
        parallelChunks(pieces, threads: threads) { range in
            for p in range {
                // Piece boundaries on multiples of 16 keep OpenBLAS's micro-tiles whole.
                let lo = Swift.min(extent, (extent * p / pieces + 15) / 16 * 16)
                let hi = p == pieces - 1 ? extent : Swift.min(extent, (extent * (p + 1) / pieces + 15) / 16 * 16)
                if lo >= hi { continue }
                if splitRows {
                    Self.sgemm(transB: transB, m: hi - lo, n: n, k: k, alpha: alpha, a: a + lo * lda, lda: lda,
                               b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
                } else {
                    Self.sgemm(transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                               b: transB ? b + lo * ldb : b + lo, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
                }
            }
        }
    }

    public func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.rank == 2, b.rank == 2, a.shape[1] == b.shape[0] else {
            throw TensorError.shapeMismatch(op: "matmul", detail: "\(a.shape) x \(b.shape)")
        }
        let a = a.contiguous(), b = b.contiguous()
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        let out = Tensor(uninitialized: [m, n])
        if k == 0 { out.data.update(repeating: 0, count: m * n); return out }
        gemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: out.data, ldc: n)
        return out
    }

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        guard weight.rank == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", detail: "x \(x.shape), weight \(weight.shape)")
        }
        let outFeatures = weight.shape[0]
        let rows = x.count / Swift.max(inFeatures, 1)
        let x = x.contiguous(), w = weight.contiguous()
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        try Self.fillBias(out.data, rows: rows, outFeatures: outFeatures, bias: bias)
        gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
             b: w.data, ldb: inFeatures, beta: 1, c: out.data, ldc: outFeatures)
        return out
    }

    /// Rows of output features are produced panel by panel: each panel of the stored weight is
    /// widened into one reused f32 buffer, so a bf16/fp8 model never exists in f32 as a whole.
    public func linear(_ x: Tensor, weight: StoredTensor, bias: Tensor?) throws -> Tensor {
        if weight.dtype == .f32 {
            let w = Tensor(storage: TensorStorage(borrowing: UnsafeMutablePointer(mutating: weight.bytes
                .assumingMemoryBound(to: Float.self)), count: weight.count, owner: weight.owner), shape: weight.shape)
            return try linear(x, weight: w, bias: bias)
        }
        guard weight.shape.count == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", detail: "x \(x.shape), weight \(weight.shape)")
        }
        let outFeatures = weight.shape[0]
        let rows = x.count / Swift.max(inFeatures, 1)
        let x = x.contiguous()
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        try Self.fillBias(out.data, rows: rows, outFeatures: outFeatures, bias: bias)
        // ~4 MB panels: large enough for GEMM efficiency, small next to any real weight.
        let panel = Swift.max(16, Swift.min(outFeatures, (1 << 20) / Swift.max(inFeatures, 1)))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: panel * inFeatures)
        defer { scratch.deallocate() }
        try withExtendedLifetime(weight.owner) {
            var o = 0
            while o < outFeatures {
                let p = Swift.min(panel, outFeatures - o)
                try weight.widenRows(o, p, into: scratch)
                gemm(transB: true, m: rows, n: p, k: inFeatures, a: x.data, lda: inFeatures,
                     b: scratch, ldb: inFeatures, beta: 1, c: out.data + o, ldc: outFeatures)
                o += p
            }
        }
        return out
    }

    static func fillBias(_ out: UnsafeMutablePointer<Float>, rows: Int, outFeatures: Int, bias: Tensor?) throws {
        guard let bias else {
            out.update(repeating: 0, count: rows * outFeatures)
            return
        }
        guard bias.count == outFeatures else {
            throw TensorError.shapeMismatch(op: "linear", detail: "bias \(bias.shape) for \(outFeatures) outputs")
        }
        let b = bias.contiguous()
        for r in 0..<rows { (out + r * outFeatures).update(from: b.data, count: outFeatures) }
    }
}

extension CPUBackend {
    /// Plain cblas_sgemm with OpenBLAS's own threading (`threads`), row-major C[m,n] = A[m,k]·B[n,k]ᵀ:
    /// `wand bench ops` measures OpenBLAS's peak with it. Afterwards OpenBLAS is back to one thread,
    /// but concurrent OpenBLAS calls in this process stay serialized (see CPUBackend), so run it
    /// after everything else.
    public func referenceSGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                               c: UnsafeMutablePointer<Float>) {
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(1) }
        Self.sgemm(transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: c, ldc: n)
    }
}
