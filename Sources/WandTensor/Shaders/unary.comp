#version 450
// Elementwise maps over a contiguous range: 0 SiLU, 1 GELU (tanh), 2 GELU (erf), 3 x·a + b,
// 4 clamp to [a, b].
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint n, op, offX; float a, b; } p;

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); GLSL has no erf.
float erfApprox(float v) {
    float s = sign(v), t = 1.0 / (1.0 + 0.3275911 * abs(v));
    float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-v * v);
    return s * y;
}

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += GRID_STRIDE) {
        float v = x[p.offX + i], r;
        if (p.op == 0u) {
            r = v / (1.0 + exp(-v));
        } else if (p.op == 1u) {
            // 0.5·v·(1 + tanh(u)) = v / (1 + exp(−2u)), u = √(2/π)(v + 0.044715 v³)
            float u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
            r = v / (1.0 + exp(-2.0 * u));
        } else if (p.op == 2u) {
            r = 0.5 * v * (1.0 + erfApprox(v * 0.7071067811865476));
        } else if (p.op == 3u) {
            r = v * p.a + p.b;
        } else {
            r = min(max(v, p.a), p.b);
        }
        o[i] = r;
    }
}
