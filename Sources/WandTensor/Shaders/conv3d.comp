#version 450
// 3-D convolution as an implicit GEMM: out[Cout, To·Ho·Wo] = W[Cout, Cin·kt·kh·kw] · im2col(x),
// the im2col operand gathered on the fly (zero outside the input: the padding).
#include "common.glsl"
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer Wt { float w[]; };
layout(binding = 1) readonly buffer X { float x[]; };
layout(binding = 2) readonly buffer Bias { float bias[]; };
layout(binding = 3) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push {
    uint M, N, K, offW, offX, offBias, offC, flags;
    uint T, H, W, kt, kh, kw, st, sh, sw;
    int pf, pt, pl;
    uint Ho, Wo;
} p;

float im2col(uint k, uint n) {
    uint wo = n % p.Wo, ho = (n / p.Wo) % p.Ho, to = n / (p.Wo * p.Ho);
    uint dw = k % p.kw, dh = (k / p.kw) % p.kh, dt = (k / (p.kw * p.kh)) % p.kt, ci = k / (p.kw * p.kh * p.kt);
    int t = int(to * p.st + dt) - p.pf, h = int(ho * p.sh + dh) - p.pt, ww = int(wo * p.sw + dw) - p.pl;
    if (t < 0 || h < 0 || ww < 0 || t >= int(p.T) || h >= int(p.H) || ww >= int(p.W)) return 0.0;
    return x[p.offX + ((ci * p.T + uint(t)) * p.H + uint(h)) * p.W + uint(ww)];
}

#define LOAD_A(m, k) w[p.offW + (m) * p.K + (k)]
#define LOAD_B(k, n) im2col((k), (n))
#define B_K_FASTEST 0
#define STORE(m, n, v) c[p.offC + (m) * p.N + (n)] = (v) + ((p.flags & 2u) != 0u ? bias[p.offBias + (m)] : 0.0)
#include "gemm_core.glsl"

void main() { gemmTile(); }
