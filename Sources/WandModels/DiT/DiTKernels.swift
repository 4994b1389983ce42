import Glibc
import WandTensor

// The DiT's data movement and its one host-side table. Patchify and unpatchify are strided views
// made contiguous, so a device backend does them where the data is; the timestep sinusoid is a
// [U, 256] table (U <= 2) computed on the host in double like the reference.

enum DiTKernels {
    /// `[C, F, H, W]` -> `[F·H/2·W/2, C·4]`, feature order (c, a, b) with c slowest, matching the
    /// Conv3d weight `[d, C, 1, 2, 2]` flattened to `[d, C·4]` (spec §2.1).
    static func patchify(_ x: Tensor) throws -> Tensor {
        let c = x.shape[0], f = x.shape[1], gh = x.shape[2] / 2, gw = x.shape[3] / 2
        return try x.reshaped([c, f, gh, 2, gw, 2]).permuted([1, 2, 4, 0, 3, 5]).contiguous()
            .reshaped([f * gh * gw, c * 4])
    }

    /// `[L, 4·C]` with feature `(a·2 + b)·C + c` -> `[C, F, 2·gh, 2·gw]` (spec §2.6).
    static func unpatchify(_ y: Tensor, channels c: Int, frames f: Int, gridH gh: Int, gridW gw: Int) throws -> Tensor {
        try y.reshaped([f, gh, gw, 2, 2, c]).permuted([5, 0, 1, 3, 2, 4]).contiguous().reshaped([c, f, 2 * gh, 2 * gw])
    }

    /// `[cos(t·ω) | sin(t·ω)]`, ω_k = 10000^(−k/half), in double then rounded to f32 (spec §2.3).
    static func timestepSinusoid(_ timesteps: [Double], dim: Int) -> Tensor {
        let half = dim / 2
        let out = Tensor(uninitialized: [timesteps.count, dim])
        for (r, t) in timesteps.enumerated() {
            let row = out.data + r * dim
            for k in 0..<half {
                let arg = t * pow(10_000.0, -Double(k) / Double(half))
                row[k] = Float(cos(arg))
                row[half + k] = Float(sin(arg))
            }
        }
        return out
    }
}
