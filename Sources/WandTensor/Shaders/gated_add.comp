#version 450
// DiT gated residual: out[r, j] = x[r, j] + delta[r, j] · table[u, gate, j], table [U, chunks, d],
// u = index[r] when flags bit 0, else 0.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Dl { float delta[]; };
layout(binding = 2) readonly buffer T { float table[]; };
layout(binding = 3) readonly buffer I { float index[]; };
layout(binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint n, d, offX, offD, offT, offI, flags, chunks, gate; } p;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += GRID_STRIDE) {
        uint r = i / p.d, j = i % p.d;
        uint u = (p.flags & 1u) != 0u ? uint(index[p.offI + r]) : 0u;
        o[i] = x[p.offX + i] + delta[p.offD + i] * table[p.offT + (u * p.chunks + p.gate) * p.d + j];
    }
}
