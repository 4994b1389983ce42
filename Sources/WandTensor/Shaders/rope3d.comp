#version 450
// Wan 3-D RoPE on x [F·Hg·Wg, heads, D]: pair j of a token rotates by the angle of its axis
// (frame pairs first, then height, then width). `table` holds (cos, sin) per position and pair
// for each axis: frames [F][fp], then rows [Hg][hp], then columns [Wg][hp], computed in double
// on the host and rounded to f32.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer T { vec2 table[]; };
layout(binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint tokens, heads, D, offX, height, width, fPairs, hwPairs, rowBase, colBase; } p;

void main() {
    uint pairs = p.D / 2u, n = p.tokens * p.heads * pairs;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += GRID_STRIDE) {
        uint pr = i % pairs, token = i / (pairs * p.heads);
        uint t = token / (p.height * p.width), r = (token / p.width) % p.height, c = token % p.width;
        vec2 cs;
        if (pr < p.fPairs) cs = table[t * p.fPairs + pr];
        else if (pr < p.fPairs + p.hwPairs) cs = table[p.rowBase + r * p.hwPairs + pr - p.fPairs];
        else cs = table[p.colBase + c * p.hwPairs + pr - p.fPairs - p.hwPairs];
        uint e = (i / pairs) * p.D + 2u * pr;   // (token, head) row, pair pr
        float re = x[p.offX + e], im = x[p.offX + e + 1u];
        o[e] = re * cs.x - im * cs.y;
        o[e + 1u] = re * cs.y + im * cs.x;
    }
}
