#version 450
// out = a (op) b over a broadcast shape (rank <= 6, strides 0 on broadcast dims); op 0 add, 1 sub, 2 mul, 3 div.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
    uint n, rank, op, offA, offB;
    uint shape[6];
    uint sa[6];
    uint sb[6];
} p;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += GRID_STRIDE) {
        uint rem = i, ia = p.offA, ib = p.offB;
        // A merged single dim (same-shape operands, a scalar) needs no division.
        if (p.rank == 1u) { ia += i * p.sa[0]; ib += i * p.sb[0]; rem = 0u; }
        else for (int d = int(p.rank) - 1; d >= 0; d--) {
            uint c = rem % p.shape[d];
            rem /= p.shape[d];
            ia += c * p.sa[d];
            ib += c * p.sb[d];
        }
        float x = a[ia], y = b[ib];
        o[i] = p.op == 0u ? x + y : (p.op == 1u ? x - y : (p.op == 2u ? x * y : x / y));
    }
}
