#version 450
// GroupNorm of [C, plane] in groups of `perGroup` channels (one workgroup a group): mean and
// centered variance over the group's perGroup·plane values, then per-channel affine (flags 1 w, 2 b).
#include "common.glsl"
#include "reduce.glsl"
layout(local_size_x = ROW_WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint groups, perGroup, plane, offX, offW, offB, flags; float eps; } p;

void main() {
    uint t = gl_LocalInvocationID.x;
    uint n = p.perGroup * p.plane;
    for (uint g = gl_WorkGroupID.x; g < p.groups; g += gl_NumWorkGroups.x) {
        uint base = g * n;
        float s = 0.0;
        for (uint j = t; j < n; j += ROW_WG) s += x[p.offX + base + j];
        float mean = workgroupSum(s) / float(n);
        float v = 0.0;
        for (uint j = t; j < n; j += ROW_WG) { float d = x[p.offX + base + j] - mean; v += d * d; }
        float inv = inversesqrt(workgroupSum(v) / float(n) + p.eps);
        for (uint j = t; j < n; j += ROW_WG) {
            uint ch = g * p.perGroup + j / p.plane;
            float y = (x[p.offX + base + j] - mean) * inv;
            if ((p.flags & 1u) != 0u) y *= w[p.offW + ch];
            if ((p.flags & 2u) != 0u) y += b[p.offB + ch];
            o[base + j] = y;
        }
    }
}
