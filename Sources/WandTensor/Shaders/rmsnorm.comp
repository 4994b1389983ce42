#version 450
// x · rsqrt(mean(x²) + eps) (· weight) over rows of n, one workgroup a row. flags: 1 weight.
#include "common.glsl"
#include "reduce.glsl"
layout(local_size_x = ROW_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint n, rows, offX, offW, flags; float eps; } p;

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < p.rows; row += gl_NumWorkGroups.x) {
        uint base = p.offX + row * p.n;
        float s = 0.0;
        for (uint j = t; j < p.n; j += ROW_WG) { float v = x[base + j]; s += v * v; }
        float inv = inversesqrt(workgroupSum(s) / float(p.n) + p.eps);
        for (uint j = t; j < p.n; j += ROW_WG) {
            float y = x[base + j] * inv;
            if ((p.flags & 1u) != 0u) y *= w[p.offW + j];
            o[row * p.n + j] = y;
        }
    }
}
