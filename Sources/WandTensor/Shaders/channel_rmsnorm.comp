#version 450
// The VAE's RMS_norm over channels of [C, plane]: x / max(‖x‖₂, 1e-12) · √C · gamma (+ bias),
// one thread per voxel (neighbouring threads read neighbouring voxels of a channel plane).
#include "common.glsl"
layout(local_size_x = WG) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer G { float g[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint channels, plane, offX, offG, offB, hasBias; float scale; } p;

void main() {
    for (uint i = gl_GlobalInvocationID.x; i < p.plane; i += GRID_STRIDE) {
        float ss = 0.0;
        for (uint c = 0u; c < p.channels; c++) { float v = x[p.offX + c * p.plane + i]; ss += v * v; }
        float k = p.scale / max(sqrt(ss), 1e-12);
        for (uint c = 0u; c < p.channels; c++) {
            float y = x[p.offX + c * p.plane + i] * k * g[p.offG + c];
            if (p.hasBias != 0u) y += b[p.offB + c];
            o[c * p.plane + i] = y;
        }
    }
}
