// x [M, K] · Wᵀ with W [N, K] stored as WEIGHT_TYPE (f32, or f16/bf16 packed two per uint),
// + bias [N] (flags bit 1). Included by linear_f32/f16/bf16.comp.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { WEIGHT_TYPE b[]; };
layout(binding = 2) readonly buffer Bias { float bias[]; };
layout(binding = 3) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint M, N, K, offA, offB, offBias, offC, flags; } p;

#define LOAD_A(m, k) a[p.offA + (m) * p.K + (k)]
void loadBColumn(uint n, uint k0, out float v[16]) {
    for (uint i = 0u; i < 16u; i++) {
        uint k = k0 + i;
        v[i] = (n < p.N && k < p.K) ? LOAD_WEIGHT(p.offB + n * p.K + k) : 0.0;
    }
}
#define STORE(m, n, v) c[p.offC + (m) * p.N + (n)] = (v) + ((p.flags & 2u) != 0u ? bias[p.offBias + (n)] : 0.0)
#include "gemm_core.glsl"

void main() { gemmTile(); }
