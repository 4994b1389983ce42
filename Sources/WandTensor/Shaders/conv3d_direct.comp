#version 450
// Direct 3-D convolution for the VAE's common case: 3x3 spatial taps, kt <= 3 frames, stride 1.
// A workgroup computes an 8x16 tile of one output frame for 16 output channels: it stages 4 input
// channels' kt x 10 x 18 input patch (padding as zeros) and their weights in shared memory, then
// each thread accumulates 2 positions x 16 channels over the 9·kt taps. Each input value is read
// from device memory once per tile instead of once per tap (the implicit GEMM's im2col), which
// makes layers with few channels (the full-resolution end of the decoder) cheap.
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

#define TH 8
#define TW 16
#define CO 16
#define CI 4

shared float xs[CI][3][TH + 2][TW + 2];
shared vec4 ws[CI][27][CO / 4];

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint th0 = (gl_WorkGroupID.x / p.tilesW) * TH, tw0 = (gl_WorkGroupID.x % p.tilesW) * TW;
    uint co0 = gl_WorkGroupID.y * CO, to = gl_WorkGroupID.z;
    bool roundOperands = (p.flags & 5u) != 0u;
    uint r = tid / 8u, c0 = tid % 8u, c1 = c0 + 8u;
    vec4 acc[2][CO / 4];
    for (int j = 0; j < CO / 4; j++) { acc[0][j] = vec4(0.0); acc[1][j] = vec4(0.0); }
    uint taps = p.kt * 9u;
    for (uint ci0 = 0u; ci0 < p.cin; ci0 += CI) {
        // Every divisor below is a compile-time constant (a runtime one costs a scalar division per
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
            uint dt = slot / 9u;
            float v = (co0 + co < p.cout && ci0 + ci < p.cin && dt < p.kt)
                ? w[p.offW + ((co0 + co) * p.cin + ci0 + ci) * taps + slot] : 0.0;
            ws[ci][slot][co / 4u][co % 4u] = roundOperands ? roundF16(v) : v;
        }
        barrier();
        for (uint ci = 0u; ci < CI; ci++) {
            for (uint dt = 0u; dt < p.kt; dt++) {
                for (uint dh = 0u; dh < 3u; dh++) {
                    for (uint dw = 0u; dw < 3u; dw++) {
                        float x0 = xs[ci][dt][r + dh][c0 + dw], x1 = xs[ci][dt][r + dh][c1 + dw];
                        uint tap = (dt * 3u + dh) * 3u + dw;
                        for (int j = 0; j < CO / 4; j++) {
                            vec4 wv = ws[ci][tap][j];
                            acc[0][j] = fma(vec4(x0), wv, acc[0][j]);
                            acc[1][j] = fma(vec4(x1), wv, acc[1][j]);
                        }
                    }
                }
            }
        }
        barrier();
    }
    uint h = th0 + r;
    if (h >= p.Ho) return;
    for (uint k = 0u; k < 2u; k++) {
        uint wpos = tw0 + (k == 0u ? c0 : c1);
        if (wpos >= p.Wo) continue;
        for (uint co = 0u; co < CO; co++) {
            if (co0 + co >= p.cout) break;
            float b = (p.flags & 2u) != 0u ? bias[p.offBias + co0 + co] : 0.0;
            o[(co0 + co) * p.To * p.Ho * p.Wo + (to * p.Ho + h) * p.Wo + wpos] = acc[k][co / 4u][co % 4u] + b;
        }
    }
}
