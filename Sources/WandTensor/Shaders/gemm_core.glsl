// The portable tiled GEMM: C[M, N] = A[M, K] · B[K, N], 64x64 (or 16x64) tiles of C per
// workgroup of 64 threads, each thread an 8x8 (2x8) block of outputs held in registers, K in
// steps of 16 through shared memory: 10 shared loads per 64 FMAs (what a CPU Vulkan driver such as
// lavapipe needs, where every memory access is costly, and a classic shape on GPUs). Tails (M, N, K not
// multiples of the tile) load zeros and skip stores. The including shader defines, before
// including this file:
//   LOAD_A(m, k): A's element as float;
//   B_LOADER: a function `void loadBColumn(uint n, uint k0, out float v[BK])` giving B[k0 + i][n]
//   for i < BK (zero outside K or N), run by each thread for its own column n of the tile;
//   STORE(m, n, v): writes one output (the shader adds its bias).
// Push constant fields used: p.M, p.N, p.K, p.flags (bit 0: round A to f16, bit 2: round B).
// TM: rows of C per thread, 8 (a 64-row tile) or 2 (a 16-row tile, for convolutions with few
// output channels, where a 64-row tile would be mostly empty).
#ifndef TM
#define TM 8
#endif
#define BM (8 * TM)
#define BN 64
#define BK 16
#define A_PER_THREAD (BM * BK / 64)

shared float As[BK][BM];
shared vec4 Bs[BK][BN / 4];

void gemmTile() {
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid % 8u, ty = tid / 8u;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    bool roundA = (p.flags & 1u) != 0u, roundB = (p.flags & 4u) != 0u;
    vec4 acc[TM][2];
    for (int i = 0; i < TM; i++) { acc[i][0] = vec4(0.0); acc[i][1] = vec4(0.0); }
    // Thread t loads A_PER_THREAD consecutive k of row t % BM of A's tile, and all 16 k of column
    // t of B's.
    uint ar = tid % uint(BM), ak = (tid / uint(BM)) * uint(A_PER_THREAD);
    uint m = m0 + ar, n = n0 + tid;
    for (uint k0 = 0u; k0 < p.K; k0 += BK) {
        float aCol[A_PER_THREAD], bCol[BK];   // (not a/b: those are the including shader's buffers)
        for (uint i = 0u; i < uint(A_PER_THREAD); i++) {
            uint k = k0 + ak + i;
            float v = (m < p.M && k < p.K) ? LOAD_A(m, k) : 0.0;
            aCol[i] = roundA ? roundF16(v) : v;
        }
        loadBColumn(n, k0, bCol);
        for (uint i = 0u; i < uint(A_PER_THREAD); i++) As[ak + i][ar] = aCol[i];
        for (uint i = 0u; i < BK; i++) Bs[i][tid / 4u][tid % 4u] = roundB ? roundF16(bCol[i]) : bCol[i];
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            vec4 b0 = Bs[kk][tx * 2u], b1 = Bs[kk][tx * 2u + 1u];
            for (int i = 0; i < TM; i++) {
                float av = As[kk][ty * uint(TM) + uint(i)];
                acc[i][0] = fma(vec4(av), b0, acc[i][0]);
                acc[i][1] = fma(vec4(av), b1, acc[i][1]);
            }
        }
        barrier();
    }
    for (uint i = 0u; i < uint(TM); i++) {
        uint row = m0 + ty * uint(TM) + i;
        if (row >= p.M) continue;
        for (uint j = 0u; j < 8u; j++) {
            uint col = n0 + tx * 8u + j;
            if (col < p.N) STORE(row, col, acc[i][j / 4u][j % 4u]);
        }
    }
}
