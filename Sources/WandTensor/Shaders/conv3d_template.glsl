// The implicit-GEMM convolution; conv3d.comp (64-row tiles), conv3d_tm4.comp and conv3d_tm2.comp
// (32- and 16-row tiles, for layers with few output channels) include it.
// 3-D convolution as an implicit GEMM: out[Cout, To·Ho·Wo] = W[Cout, Cin·kt·kh·kw] · im2col(x),
// the im2col operand gathered on the fly (zero outside the input: the padding). Each thread
// decodes its output position once per tile and walks its 16 taps of K with carried counters, so
// there is one division per 16 loads.
#include "common.glsl"
layout(local_size_x = 64) in;
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

void loadBColumn(uint n, uint k0, out float v[16]) {
    uint wo = n % p.Wo, ho = (n / p.Wo) % p.Ho, to = n / (p.Wo * p.Ho);
    int t0 = int(to * p.st) - p.pf, h0 = int(ho * p.sh) - p.pt, w0 = int(wo * p.sw) - p.pl;
    uint taps = p.kw * p.kh * p.kt;
    uint ci = k0 / taps, r = k0 % taps;
    uint dt = r / (p.kw * p.kh), dh = (r / p.kw) % p.kh, dw = r % p.kw;
    for (uint i = 0u; i < 16u; i++) {
        int t = t0 + int(dt), h = h0 + int(dh), ww = w0 + int(dw);
        bool inside = n < p.N && k0 + i < p.K && t >= 0 && h >= 0 && ww >= 0 && t < int(p.T) && h < int(p.H) && ww < int(p.W);
        v[i] = inside ? x[p.offX + ((ci * p.T + uint(t)) * p.H + uint(h)) * p.W + uint(ww)] : 0.0;
        // Next tap: dw, then dh, then dt, then ci.
        dw++;
        if (dw == p.kw) { dw = 0u; dh++; if (dh == p.kh) { dh = 0u; dt++; if (dt == p.kt) { dt = 0u; ci++; } } }
    }
}

#define LOAD_A(m, k) w[p.offW + (m) * p.K + (k)]
#define STORE(m, n, v) c[p.offC + (m) * p.N + (n)] = (v) + ((p.flags & 2u) != 0u ? bias[p.offBias + (m)] : 0.0)
#include "gemm_core.glsl"

void main() { gemmTile(); }
