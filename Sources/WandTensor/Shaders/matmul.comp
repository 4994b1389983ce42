#version 450
// a [M, K] · b [K, N].
#include "common.glsl"
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint M, N, K, offA, offB, offC, flags; } p;

#define LOAD_A(m, k) a[p.offA + (m) * p.K + (k)]
void loadBColumn(uint n, uint k0, out float v[16]) {
    for (uint i = 0u; i < 16u; i++) {
        uint k = k0 + i;
        v[i] = (n < p.N && k < p.K) ? b[p.offB + k * p.N + n] : 0.0;
    }
}
#define STORE(m, n, v) c[p.offC + (m) * p.N + (n)] = (v)
#include "gemm_core.glsl"

void main() { gemmTile(); }
