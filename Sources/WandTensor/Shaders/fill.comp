#version 450
// d[off + i] = value for i < n.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) writeonly buffer D { float d[]; };
layout(push_constant) uniform Push { uint n, off; float value; } p;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += GRID_STRIDE) d[p.off + i] = p.value;
}
