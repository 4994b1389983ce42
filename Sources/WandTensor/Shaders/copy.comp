#version 450
// Strided copy: d[offD + Σ c·ds] = s[offS + Σ c·ss] over a shape of rank <= 8 (contiguous(),
// concatenation, padding, permutes).
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer S { float s[]; };
layout(binding = 1) buffer D { float d[]; };
layout(push_constant) uniform Push {
    uint n, rank, offS, offD;
    uint shape[8];
    uint ss[8];
    uint ds[8];
} p;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += GRID_STRIDE) {
        uint rem = i, is = p.offS, id = p.offD;
        for (int k = int(p.rank) - 1; k >= 0; k--) {
            uint c = rem % p.shape[k];
            rem /= p.shape[k];
            is += c * p.ss[k];
            id += c * p.ds[k];
        }
        d[id] = s[is];
    }
}
