#version 450
// Softmax over rows of n, one workgroup a row.
#include "common.glsl"
#include "reduce.glsl"
layout(local_size_x = ROW_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint n, rows, offX; } p;

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < p.rows; row += gl_NumWorkGroups.x) {
        uint base = p.offX + row * p.n;
        float m = -3.402823466e38;
        for (uint j = t; j < p.n; j += ROW_WG) m = max(m, x[base + j]);
        m = workgroupMax(m);
        float s = 0.0;
        for (uint j = t; j < p.n; j += ROW_WG) s += exp(x[base + j] - m);
        float inv = 1.0 / workgroupSum(s);
        for (uint j = t; j < p.n; j += ROW_WG) o[row * p.n + j] = exp(x[base + j] - m) * inv;
    }
}
