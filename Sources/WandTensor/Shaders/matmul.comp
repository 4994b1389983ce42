#version 450
// a [M, K] · b [K, N].
#include "common.glsl"
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint M, N, K, offA, offB, offC, flags; } p;

#define LOAD_A(m, k) a[p.offA + (m) * p.K + (k)]
#define LOAD_B(k, n) b[p.offB + (k) * p.N + (n)]
#define B_K_FASTEST 0
#define STORE(m, n, v) c[p.offC + (m) * p.N + (n)] = (v)
#include "gemm_core.glsl"

void main() { gemmTile(); }
