#version 450
// LayerNorm over rows of n (one workgroup a row): mean, then centered variance (biased), eps.
// flags: 1 weight, 2 bias, 4 adaLN modulation y·(1 + table[u, scale]) + table[u, shift] with
// table [U, chunks, n], 8 per-row table index u = index[row] (else u = 0).
#include "common.glsl"
#include "reduce.glsl"
layout(local_size_x = ROW_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) readonly buffer T { float table[]; };
layout(binding = 4) readonly buffer I { float index[]; };
layout(binding = 5) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
    uint n, rows, offX, offW, offB, offT, offI, flags;
    float eps;
    uint chunks, shiftChunk, scaleChunk;
} p;

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < p.rows; row += gl_NumWorkGroups.x) {
        uint base = p.offX + row * p.n;
        float s = 0.0;
        for (uint j = t; j < p.n; j += ROW_WG) s += x[base + j];
        float mean = workgroupSum(s) / float(p.n);
        float v = 0.0;
        for (uint j = t; j < p.n; j += ROW_WG) { float d = x[base + j] - mean; v += d * d; }
        float inv = inversesqrt(workgroupSum(v) / float(p.n) + p.eps);
        uint u = (p.flags & 8u) != 0u ? uint(index[p.offI + row]) : 0u;
        uint shiftBase = p.offT + (u * p.chunks + p.shiftChunk) * p.n;
        uint scaleBase = p.offT + (u * p.chunks + p.scaleChunk) * p.n;
        for (uint j = t; j < p.n; j += ROW_WG) {
            float y = (x[base + j] - mean) * inv;
            if ((p.flags & 1u) != 0u) y *= w[p.offW + j];
            if ((p.flags & 2u) != 0u) y += b[p.offB + j];
            if ((p.flags & 4u) != 0u) y = y * (1.0 + table[scaleBase + j]) + table[shiftBase + j];
            o[row * p.n + j] = y;
        }
    }
}
