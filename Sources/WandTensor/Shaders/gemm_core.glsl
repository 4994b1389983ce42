// The portable tiled GEMM: C[M, N] = A[M, K] · B[K, N] (+ bias), 64x64 tiles of C per
// workgroup of 256 threads, each thread 4x4 outputs (rows ty + 16i, columns tx + 16j, so shared
// reads and global writes are consecutive across threads), K in steps of 16 through shared memory.
// Tails (M, N, K not multiples of the tile) load zeros and skip stores. The including shader
// defines, before including this file:
//   LOAD_A(m, k), LOAD_B(k, n): operands as float; B_K_FASTEST 1 when B's consecutive k are
//   adjacent in memory (a weight [N, K]), 0 when consecutive n are (a [K, N] matrix, im2col);
//   STORE(m, n, v): writes one output (bias included by the shader).
// Push constant fields used: p.M, p.N, p.K, p.flags (bit 0: round A and B to f16).
#define BM 64
#define BN 64
#define BK 16

shared float As[BK][BM + 1];
shared float Bs[BK][BN + 1];

void gemmTile() {
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid % 16u, ty = tid / 16u;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    bool roundOperands = (p.flags & 1u) != 0u;
    float acc[4][4];
    for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) acc[i][j] = 0.0;
    for (uint k0 = 0u; k0 < p.K; k0 += BK) {
        for (uint i = 0u; i < 4u; i++) {
            uint e = tid + 256u * i;
            uint r = e / BK, kk = e % BK;
            uint m = m0 + r, k = k0 + kk;
            float v = (m < p.M && k < p.K) ? LOAD_A(m, k) : 0.0;
            As[kk][r] = roundOperands ? roundF16(v) : v;
#if B_K_FASTEST
            uint n = n0 + r;
            float w = (n < p.N && k < p.K) ? LOAD_B(k, n) : 0.0;
            Bs[kk][r] = roundOperands ? roundF16(w) : w;
#else
            uint kb = e / BN, c = e % BN;
            uint n = n0 + c, k2 = k0 + kb;
            float w = (n < p.N && k2 < p.K) ? LOAD_B(k2, n) : 0.0;
            Bs[kb][c] = roundOperands ? roundF16(w) : w;
#endif
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float a[4], b[4];
            for (uint i = 0u; i < 4u; i++) a[i] = As[kk][ty + 16u * i];
            for (uint j = 0u; j < 4u; j++) b[j] = Bs[kk][tx + 16u * j];
            for (uint i = 0u; i < 4u; i++) for (uint j = 0u; j < 4u; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }
    for (uint i = 0u; i < 4u; i++) {
        uint m = m0 + ty + 16u * i;
        if (m >= p.M) continue;
        for (uint j = 0u; j < 4u; j++) {
            uint n = n0 + tx + 16u * j;
            if (n < p.N) STORE(m, n, acc[i][j]);
        }
    }
}
