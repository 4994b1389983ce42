#version 450
// Nearest-neighbour resize of the last two dims of [planes, ih, iw] (torch interpolate with a
// size, mode nearest (exact 0) or nearest-exact (1)); source index from the float scale in/out.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint n, ih, iw, oh, ow, offX, exact; float scaleH, scaleW; } p;

uint source(uint i, float scale, uint size) {
    float s = p.exact != 0u ? (float(i) + 0.5) * scale : float(i) * scale;
    return min(uint(floor(s)), size - 1u);
}

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += GRID_STRIDE) {
        uint ox = i % p.ow, oy = (i / p.ow) % p.oh, plane = i / (p.ow * p.oh);
        o[i] = x[p.offX + (plane * p.ih + source(oy, p.scaleH, p.ih)) * p.iw + source(ox, p.scaleW, p.iw)];
    }
}
