// Flash attention for heads of at most DMAX (64 or 128) features: softmax(q·kᵀ·scale + bias)·v
// for q [Lq, H, D], k and v [Lk, H, D], bias [H, Lq, Lk] (flags bit 1), out [Lq, H, D]. A
// workgroup of 64 threads takes 16 queries of one head (scaled by `scale` as they are loaded,
// like the CPU backend) and walks the keys 32 at a time with an online softmax (running max m and
// sum l; the output rescaled when m grows): the Lq x Lk matrix never exists. Shared memory holds
// the queries, one key (then value) block and the 16x32 scores; every thread works on 2x4 scores
// and on 1 row x DMAX/4 outputs, reading vec4s, so shared reads are few per FMA.
// flags bit 0: round q, k and v to f16 (the f16 precision mode).
#include "common.glsl"
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { float k[]; };
layout(binding = 2) readonly buffer V { float v[]; };
layout(binding = 3) readonly buffer Bias { float bias[]; };
layout(binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint Lq, Lk, H, D, offQ, offK, offV, offBias, flags; float scale; } p;

#define BQ 16
#define BKEY 32
#define D4 (DMAX / 4)
#define OUT4 (D4 / 4)   // vec4 outputs per thread: 4 threads share a row

shared vec4 Qs[BQ][D4];
shared vec4 KV[BKEY][D4];
shared float S[BQ][BKEY + 1];
shared float rowMax[BQ], rowSum[BQ], rowScale[BQ];

float operand(float x) { return (p.flags & 1u) != 0u ? roundF16(x) : x; }

// Row `r` of a [L, H, D] tensor at head h, features 4·c4 ..< 4·c4 + 4 (zero past L or D).
vec4 load4(uint which, uint r, uint L, uint h, uint c4) {
    vec4 out4 = vec4(0.0);
    if (r >= L) return out4;
    uint base = r * p.H * p.D + h * p.D;
    for (uint i = 0u; i < 4u; i++) {
        uint d = c4 * 4u + i;
        if (d >= p.D) break;
        float x = which == 0u ? q[p.offQ + base + d] : (which == 1u ? k[p.offK + base + d] : v[p.offV + base + d]);
        out4[i] = operand(x);
    }
    return out4;
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint q0 = gl_WorkGroupID.x * BQ, h = gl_WorkGroupID.y;
    // Scores: rows sr, sr + 1; keys sk ..< sk + 4. Outputs: row orow, vec4 columns oc ..< oc + OUT4.
    uint sr = (tid / 8u) * 2u, sk = (tid % 8u) * 4u;
    uint orow = tid / 4u, oc = (tid % 4u) * OUT4;
    for (uint e = tid; e < BQ * D4; e += 64u) {
        vec4 x = load4(0u, q0 + e / D4, p.Lq, h, e % D4);
        Qs[e / D4][e % D4] = x * p.scale;
    }
    if (tid < BQ) { rowMax[tid] = -1.0 / 0.0; rowSum[tid] = 0.0; }
    vec4 acc[OUT4];
    for (int j = 0; j < OUT4; j++) acc[j] = vec4(0.0);
    for (uint k0 = 0u; k0 < p.Lk; k0 += BKEY) {
        for (uint e = tid; e < BKEY * D4; e += 64u) KV[e / D4][e % D4] = load4(1u, k0 + e / D4, p.Lk, h, e % D4);
        barrier();
        float s[2][4];
        for (int i = 0; i < 2; i++) for (int j = 0; j < 4; j++) s[i][j] = 0.0;
        for (uint c = 0u; c < D4; c++) {
            vec4 qa = Qs[sr][c], qb = Qs[sr + 1u][c];
            for (int j = 0; j < 4; j++) {
                vec4 kv = KV[sk + uint(j)][c];
                s[0][j] += dot(qa, kv);
                s[1][j] += dot(qb, kv);
            }
        }
        for (uint i = 0u; i < 2u; i++) {
            uint qi = q0 + sr + i;
            for (uint j = 0u; j < 4u; j++) {
                uint ki = k0 + sk + j;
                float x = s[i][j];
                if ((p.flags & 2u) != 0u && qi < p.Lq && ki < p.Lk) x += bias[p.offBias + (h * p.Lq + qi) * p.Lk + ki];
                S[sr + i][sk + j] = ki < p.Lk ? x : -1.0 / 0.0;
            }
        }
        barrier();
        // Values into the key buffer (free now), while 16 threads update the running softmax.
        for (uint e = tid; e < BKEY * D4; e += 64u) KV[e / D4][e % D4] = load4(2u, k0 + e / D4, p.Lk, h, e % D4);
        if (tid < BQ) {
            float m = rowMax[tid], mNew = m;
            for (uint j = 0u; j < BKEY; j++) mNew = max(mNew, S[tid][j]);
            bool none = mNew == -1.0 / 0.0;
            float l = 0.0;
            for (uint j = 0u; j < BKEY; j++) {
                float e = none ? 0.0 : exp(S[tid][j] - mNew);
                S[tid][j] = e;
                l += e;
            }
            float alpha = none ? 1.0 : exp(m - mNew);
            rowMax[tid] = mNew;
            rowSum[tid] = rowSum[tid] * alpha + l;
            rowScale[tid] = alpha;
        }
        barrier();
        float alpha = rowScale[orow];
        for (int j = 0; j < OUT4; j++) acc[j] *= alpha;
        for (uint kk = 0u; kk < BKEY; kk++) {
            float pk = S[orow][kk];
            for (int j = 0; j < OUT4; j++) acc[j] = fma(vec4(pk), KV[kk][oc + uint(j)], acc[j]);
        }
        barrier();
    }
    uint qi = q0 + orow;
    if (qi < p.Lq) {
        float inv = 1.0 / rowSum[orow];
        uint base = qi * p.H * p.D + h * p.D;
        for (uint j = 0u; j < uint(OUT4); j++) {
            for (uint i = 0u; i < 4u; i++) {
                uint d = (oc + j) * 4u + i;
                if (d < p.D) o[base + d] = acc[j][i] * inv;
            }
        }
    }
}
