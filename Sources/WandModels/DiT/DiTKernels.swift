import Glibc
import WandTensor

// The DiT's data movement and its one host-side table. Patchify and unpatchify are strided views
// made contiguous, so a device backend does them where the data is; the timestep sinusoid is a
// [U, 256] table (U <= 2) computed on the host in double like the reference.

enum DiTKernels {
    /// `[C, F, H, W]` -> `[F/pt·H/ph·W/pw, C·pt·ph·pw]`, feature order (c, dt, dh, dw) with c
    /// slowest, matching the Conv3d weight `[d, C, pt, ph, pw]` flattened to `[d, C·pt·ph·pw]`
    /// (spec §2.1; the published patch is (1, 2, 2)). A strided view made contiguous, so a device
    /// backend gathers the patches where the latent is.
    static func patchify(_ x: Tensor, patch: [Int]) throws -> Tensor {
        let c = x.shape[0], f = x.shape[1], h = x.shape[2], w = x.shape[3]
        let pt = patch[0], ph = patch[1], pw = patch[2]
        let gf = f / pt, gh = h / ph, gw = w / pw
        // [c, gf, dt, gh, dh, gw, dw] -> [gf, gh, gw, c, dt, dh, dw]
        return try x.reshaped([c, gf, pt, gh, ph, gw, pw]).permuted([1, 3, 5, 0, 2, 4, 6]).contiguous()
            .reshaped([gf * gh * gw, c * pt * ph * pw])
    }

    /// `[L, pt·ph·pw·C]` with feature `((dt·ph + dh)·pw + dw)·C + c` -> `[C, gf·pt, gh·ph, gw·pw]`
    /// (spec §2.6).
    static func unpatchify(_ y: Tensor, channels c: Int, patch: [Int], frames gf: Int, gridH gh: Int, gridW gw: Int) throws -> Tensor {
        let pt = patch[0], ph = patch[1], pw = patch[2]
        // [gf, gh, gw, dt, dh, dw, c] -> [c, gf, dt, gh, dh, gw, dw]
        return try y.reshaped([gf, gh, gw, pt, ph, pw, c]).permuted([6, 0, 3, 1, 4, 2, 5]).contiguous()
            .reshaped([c, gf * pt, gh * ph, gw * pw])
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
