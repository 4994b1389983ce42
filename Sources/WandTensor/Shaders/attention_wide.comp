#version 450
// Flash attention for heads wider than 128 (the VAE's single-head attention; attention_core.glsl
// takes narrower ones): softmax(q·kᵀ·scale + bias)·v for q [Lq, H, D], k and v [Lk, H, D], bias
// [H, Lq, Lk] (flags bit 1), out [Lq, H, D]. A workgroup takes 16 queries of one head and a
// 128-wide slice of the output features (z), and walks the keys 32 at a time with an online
// softmax (running max m, sum l; the output rescaled when m grows): the Lq x Lk matrix never
// exists. The q·k dot products run over all of D in chunks of 32 through shared memory, so a
// head wider than 128 (the VAE's single-head attention) recomputes them per output slice.
// flags bit 0: round q, k and v to f16 (the f16 precision mode).
#include "common.glsl"
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { float k[]; };
layout(binding = 2) readonly buffer V { float v[]; };
layout(binding = 3) readonly buffer Bias { float bias[]; };
layout(binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint Lq, Lk, H, D, offQ, offK, offV, offBias, flags; float scale; } p;

#define BQ 16
#define BKEY 32
#define DC 32
#define DV 128

shared float Qs[BQ][DC + 1];
shared float Ks[BKEY][DC + 1];
shared float S[BQ][BKEY + 1];
shared float Vs[BKEY][DV];
shared float rowMax[BQ], rowSum[BQ], rowScale[BQ];

float operand(float x) { return (p.flags & 1u) != 0u ? roundF16(x) : x; }

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint q0 = gl_WorkGroupID.x * BQ, h = gl_WorkGroupID.y, d0 = gl_WorkGroupID.z * DV;
    uint ld = p.H * p.D;
    // This thread's scores: row sr, keys sc and sc + 1; its outputs: row orow, features ocol + 16j.
    uint sr = tid / 16u, sc = (tid % 16u) * 2u;
    uint orow = tid / 16u, ocol = tid % 16u;
    float acc[8];
    for (int j = 0; j < 8; j++) acc[j] = 0.0;
    if (tid < BQ) { rowMax[tid] = -1.0 / 0.0; rowSum[tid] = 0.0; }
    barrier();
    for (uint k0 = 0u; k0 < p.Lk; k0 += BKEY) {
        float s0 = 0.0, s1 = 0.0;
        for (uint c0 = 0u; c0 < p.D; c0 += DC) {
            for (uint e = tid; e < BQ * DC; e += 256u) {
                uint r = e / DC, c = e % DC, qi = q0 + r, d = c0 + c;
                Qs[r][c] = (qi < p.Lq && d < p.D) ? operand(q[p.offQ + qi * ld + h * p.D + d]) : 0.0;
            }
            for (uint e = tid; e < BKEY * DC; e += 256u) {
                uint r = e / DC, c = e % DC, ki = k0 + r, d = c0 + c;
                Ks[r][c] = (ki < p.Lk && d < p.D) ? operand(k[p.offK + ki * ld + h * p.D + d]) : 0.0;
            }
            barrier();
            for (uint c = 0u; c < DC; c++) {
                float qv = Qs[sr][c];
                s0 = fma(qv, Ks[sc][c], s0);
                s1 = fma(qv, Ks[sc + 1u][c], s1);
            }
            barrier();
        }
        uint qi = q0 + sr;
        for (uint j = 0u; j < 2u; j++) {
            uint ki = k0 + sc + j;
            float s = (j == 0u ? s0 : s1) * p.scale;
            if ((p.flags & 2u) != 0u && qi < p.Lq && ki < p.Lk) s += bias[p.offBias + (h * p.Lq + qi) * p.Lk + ki];
            S[sr][sc + j] = ki < p.Lk ? s : -1.0 / 0.0;
        }
        // V tile for this key block and output slice.
        for (uint e = tid; e < BKEY * DV; e += 256u) {
            uint r = e / DV, c = e % DV, ki = k0 + r, d = d0 + c;
            Vs[r][c] = (ki < p.Lk && d < p.D) ? operand(v[p.offV + ki * ld + h * p.D + d]) : 0.0;
        }
        barrier();
        if (tid < BQ) {
            float m = rowMax[tid], mNew = m;
            for (uint j = 0u; j < BKEY; j++) mNew = max(mNew, S[tid][j]);
            float alpha = mNew == -1.0 / 0.0 ? 1.0 : exp(m - mNew);
            float l = 0.0;
            for (uint j = 0u; j < BKEY; j++) {
                float e = mNew == -1.0 / 0.0 ? 0.0 : exp(S[tid][j] - mNew);
                S[tid][j] = e;
                l += e;
            }
            rowMax[tid] = mNew;
            rowSum[tid] = rowSum[tid] * alpha + l;
            rowScale[tid] = alpha;
        }
        barrier();
        float alpha = rowScale[orow];
        for (uint j = 0u; j < 8u; j++) {
            uint c = ocol + 16u * j;
            float a = acc[j] * alpha;
            for (uint kk = 0u; kk < BKEY; kk++) a = fma(S[orow][kk], Vs[kk][c], a);
            acc[j] = a;
        }
        barrier();
    }
    uint qi = q0 + orow;
    if (qi < p.Lq) {
        float inv = 1.0 / rowSum[orow];
        for (uint j = 0u; j < 8u; j++) {
            uint d = d0 + ocol + 16u * j;
            if (d < p.D) o[qi * ld + h * p.D + d] = acc[j] * inv;
        }
    }
}
