#version 450
// Direct 3-D convolution for the VAE's common case: 3x3 spatial taps, kt <= 3 frames, stride 1.
// A workgroup computes a 16x32 tile of one output frame for 16 output channels: it stages 2 input
// channels' kt x 18 x 34 input patch (padding as zeros) and their weights in shared memory; each
// thread then owns 8 neighbouring positions of a row x 16 channels (128 sums in registers) and,
// per input row of a tap, reads 10 input values and 3 x 16 weights for 384 FMAs. Each input value
// comes from device memory once per tile rather than once per tap (the implicit GEMM's im2col),
// and from shared memory once per 3 taps: memory accesses are what a CPU Vulkan driver (lavapipe)
// pays for most, and few per FMA suit GPUs too.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer Wt { float w[]; };
layout(binding = 1) readonly buffer X { float x[]; };
layout(binding = 2) readonly buffer Bias { float bias[]; };
layout(binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
    uint cout, cin, T, H, W, kt, To, Ho, Wo, offW, offX, offBias, flags, tilesW;
    int pf, pt, pl;
} p;

#define TH 16
#define TW 32
#define CO 16
#define CI 2
#define PW 8     // positions per thread, along a row

shared float xs[CI][3][TH + 2][TW + 2];
shared vec4 ws[CI][27][CO / 4];

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint th0 = (gl_WorkGroupID.x / p.tilesW) * TH, tw0 = (gl_WorkGroupID.x % p.tilesW) * TW;
    uint co0 = gl_WorkGroupID.y * CO, to = gl_WorkGroupID.z;
    bool roundOperands = (p.flags & 5u) != 0u;
    uint r = tid / 4u, cg = (tid % 4u) * PW;
    vec4 acc[PW][CO / 4];
    [[unroll]] for (int i = 0; i < PW; i++) [[unroll]] for (int j = 0; j < CO / 4; j++) acc[i][j] = vec4(0.0);
    uint taps = p.kt * 9u;
    for (uint ci0 = 0u; ci0 < p.cin; ci0 += CI) {
        // Every divisor here is a compile-time constant (a runtime one costs a scalar division per
        // lane on a CPU device): the frame index dt is outermost, so `e < kt · patchSize` bounds it.
        const uint plane = (TH + 2) * (TW + 2), patchSize = CI * plane;
        for (uint e = tid; e < p.kt * patchSize; e += 64u) {
            uint dt = e / patchSize, ci = (e % patchSize) / plane, yy = (e % plane) / (TW + 2), xx = e % (TW + 2);
            int t = int(to + dt) - p.pf, h = int(th0 + yy) - p.pt, ww = int(tw0 + xx) - p.pl;
            float v = 0.0;
            if (ci0 + ci < p.cin && t >= 0 && h >= 0 && ww >= 0 && t < int(p.T) && h < int(p.H) && ww < int(p.W))
                v = x[p.offX + (((ci0 + ci) * p.T + uint(t)) * p.H + uint(h)) * p.W + uint(ww)];
            xs[ci][dt][yy][xx] = roundOperands ? roundF16(v) : v;
        }
        // Weights of all 27 (dt, dh, dw) slots; those past kt are never read.
        for (uint e = tid; e < CI * 27u * CO; e += 64u) {
            uint co = e % CO, slot = (e / CO) % 27u, ci = e / (CO * 27u);
            float v = (co0 + co < p.cout && ci0 + ci < p.cin && slot / 9u < p.kt)
                ? w[p.offW + ((co0 + co) * p.cin + ci0 + ci) * taps + slot] : 0.0;
            ws[ci][slot][co / 4u][co % 4u] = roundOperands ? roundF16(v) : v;
        }
        barrier();
        for (uint ci = 0u; ci < CI; ci++) {
            for (uint dt = 0u; dt < p.kt; dt++) {
                [[unroll]] for (uint dh = 0u; dh < 3u; dh++) {
                    // Fully unrolled, so the small arrays below are registers (a CPU device keeps a
                    // dynamically indexed array in memory).
                    float xrow[PW + 2];
                    [[unroll]] for (int i = 0; i < PW + 2; i++) xrow[i] = xs[ci][dt][r + dh][cg + uint(i)];
                    [[unroll]] for (uint dw = 0u; dw < 3u; dw++) {
                        uint tap = (dt * 3u + dh) * 3u + dw;
                        vec4 w4[CO / 4];
                        [[unroll]] for (int j = 0; j < CO / 4; j++) w4[j] = ws[ci][tap][j];
                        [[unroll]] for (int i = 0; i < PW; i++) {
                            float xv = xrow[uint(i) + dw];
                            [[unroll]] for (int j = 0; j < CO / 4; j++) acc[i][j] = fma(vec4(xv), w4[j], acc[i][j]);
                        }
                    }
                }
            }
        }
        barrier();
    }
    uint h = th0 + r;
    if (h >= p.Ho) return;
    // Unrolled with constant indices: indexing `acc` with a variable anywhere would keep the whole
    // array in memory on a CPU device.
    [[unroll]] for (int i = 0; i < PW; i++) {
        uint wpos = tw0 + cg + uint(i);
        [[unroll]] for (int j = 0; j < CO / 4; j++) {
            [[unroll]] for (int c = 0; c < 4; c++) {
                uint co = co0 + uint(4 * j + c);
                if (wpos < p.Wo && co < p.cout) {
                    float b = (p.flags & 2u) != 0u ? bias[p.offBias + co] : 0.0;
                    o[co * p.To * p.Ho * p.Wo + (to * p.Ho + h) * p.Wo + wpos] = acc[i][j][c] + b;
                }
            }
        }
    }
}
