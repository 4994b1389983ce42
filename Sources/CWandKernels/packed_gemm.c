// The two GEMMs of flash attention on operands packed once per head, instead of cblas_sgemm
// (which packs both operands again on every tile: 8.5 % of an attention in perf, most of it
// re-packing the 4 MB score tile). A is read in place, row by row, and broadcast; B comes as
// panels of WAND_PANEL columns, each [k][WAND_PANEL] contiguous.
#include "wand_kernels.h"
#include "cpu_level.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

// MR rows x 32 columns, 2 zmm accumulators per row: 16 for MR 8, leaving room for the B loads.
#define DEFINE_TILE_AVX512(MR)                                                                       \
    __attribute__((target("avx512f"))) static void tile_avx512_##MR(                                 \
        const float *a, long lda, const float *bp, int k, float *c, long ldc, int accumulate) {      \
        __m512 c0[MR], c1[MR];                                                                       \
        for (int r = 0; r < MR; r++) {                                                               \
            c0[r] = accumulate ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();                 \
            c1[r] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();            \
        }                                                                                            \
        for (int kk = 0; kk < k; kk++) {                                                             \
            __m512 b0 = _mm512_loadu_ps(bp + (long)kk * WAND_PANEL);                                 \
            __m512 b1 = _mm512_loadu_ps(bp + (long)kk * WAND_PANEL + 16);                            \
            for (int r = 0; r < MR; r++) {                                                           \
                __m512 av = _mm512_set1_ps(a[r * lda + kk]);                                         \
                c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                              \
                c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                              \
            }                                                                                        \
        }                                                                                            \
        for (int r = 0; r < MR; r++) {                                                               \
            _mm512_storeu_ps(c + r * ldc, c0[r]);                                                    \
            _mm512_storeu_ps(c + r * ldc + 16, c1[r]);                                               \
        }                                                                                            \
    }
DEFINE_TILE_AVX512(1)
DEFINE_TILE_AVX512(2)
DEFINE_TILE_AVX512(3)
DEFINE_TILE_AVX512(4)
DEFINE_TILE_AVX512(5)
DEFINE_TILE_AVX512(6)
DEFINE_TILE_AVX512(7)
DEFINE_TILE_AVX512(8)

// MR rows x 16 columns (half a panel) in ymm: 12 accumulators for MR 6, the classic AVX2 shape
// that fits 16 registers with the two B loads and the broadcast.
#define DEFINE_TILE_AVX2(MR)                                                                         \
    __attribute__((target("avx2,fma"))) static void tile_avx2_##MR(                                  \
        const float *a, long lda, const float *bp, int k, float *c, long ldc, int accumulate) {      \
        __m256 c0[MR], c1[MR];                                                                       \
        for (int r = 0; r < MR; r++) {                                                               \
            c0[r] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();                 \
            c1[r] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();             \
        }                                                                                            \
        for (int kk = 0; kk < k; kk++) {                                                             \
            __m256 b0 = _mm256_loadu_ps(bp + (long)kk * WAND_PANEL);                                 \
            __m256 b1 = _mm256_loadu_ps(bp + (long)kk * WAND_PANEL + 8);                             \
            for (int r = 0; r < MR; r++) {                                                           \
                __m256 av = _mm256_broadcast_ss(a + r * lda + kk);                                   \
                c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);                                              \
                c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);                                              \
            }                                                                                        \
        }                                                                                            \
        for (int r = 0; r < MR; r++) {                                                               \
            _mm256_storeu_ps(c + r * ldc, c0[r]);                                                    \
            _mm256_storeu_ps(c + r * ldc + 8, c1[r]);                                                \
        }                                                                                            \
    }
DEFINE_TILE_AVX2(1)
DEFINE_TILE_AVX2(2)
DEFINE_TILE_AVX2(3)
DEFINE_TILE_AVX2(4)
DEFINE_TILE_AVX2(5)
DEFINE_TILE_AVX2(6)

typedef void (*tile_fn)(const float *, long, const float *, int, float *, long, int);
static const tile_fn tiles_avx512[9] = {0, tile_avx512_1, tile_avx512_2, tile_avx512_3, tile_avx512_4,
                                        tile_avx512_5, tile_avx512_6, tile_avx512_7, tile_avx512_8};
static const tile_fn tiles_avx2[7] = {0, tile_avx2_1, tile_avx2_2, tile_avx2_3, tile_avx2_4, tile_avx2_5,
                                      tile_avx2_6};
#endif

static void tile_portable(int mr, const float *a, long lda, const float *bp, int k, float *c, long ldc,
                          int accumulate) {
    for (int r = 0; r < mr; r++) {
        float sum[WAND_PANEL];
        for (int j = 0; j < WAND_PANEL; j++) sum[j] = accumulate ? c[r * ldc + j] : 0.0f;
        for (int kk = 0; kk < k; kk++) {
            const float av = a[r * lda + kk];
            for (int j = 0; j < WAND_PANEL; j++) sum[j] += av * bp[(long)kk * WAND_PANEL + j];
        }
        memcpy(c + r * ldc, sum, sizeof sum);
    }
}

void wand_gemm_packed(int m, int n, int k, const float *a, long lda, const float *bp, long panelStride,
                      float *c, long ldc, int accumulate) {
    const int level = wand_cpu_level();
    const int mr = level == WAND_LEVEL_AVX512 ? 8 : level == WAND_LEVEL_AVX2 ? 6 : 4;
    // Row blocks outside, panels inside: a block's rows of A stay in L1 across all panels.
    for (int r = 0; r < m; r += mr) {
        const int rows = m - r < mr ? m - r : mr;
        const float *ar = a + (long)r * lda;
        for (int j = 0; j < n; j += WAND_PANEL) {
            const float *panel = bp + (long)(j / WAND_PANEL) * panelStride;
            float *cr = c + (long)r * ldc + j;
#if defined(__x86_64__)
            if (level == WAND_LEVEL_AVX512) { tiles_avx512[rows](ar, lda, panel, k, cr, ldc, accumulate); continue; }
            if (level == WAND_LEVEL_AVX2) {
                // Both half panels per 256-long stretch of k, so that the stretch of A's rows is
                // still in L1 for the second half (P·V, k = 2048: 91 -> 97 GF/s on one core).
                for (int k0 = 0; k0 < k; k0 += 256) {
                    const int kn = k - k0 < 256 ? k - k0 : 256, acc = accumulate || k0 > 0;
                    const float *pk = panel + (long)k0 * WAND_PANEL;
                    tiles_avx2[rows](ar + k0, lda, pk, kn, cr, ldc, acc);
                    tiles_avx2[rows](ar + k0, lda, pk + 16, kn, cr + 16, ldc, acc);
                }
                continue;
            }
#endif
            tile_portable(rows, ar, lda, panel, k, cr, ldc, accumulate);
        }
    }
}

void wand_pack_transposed_panels(const float *x, long ldx, int n, int k, float *out) {
    for (int j0 = 0; j0 < n; j0 += WAND_PANEL) {
        float *panel = out + (long)j0 * k;
        const int width = n - j0 < WAND_PANEL ? n - j0 : WAND_PANEL;
        // One source row at a time: reads are sequential, writes stay in the panel (k*128 bytes).
        for (int c = 0; c < width; c++) {
            const float *row = x + (long)(j0 + c) * ldx;
            for (int t = 0; t < k; t++) panel[(long)t * WAND_PANEL + c] = row[t];
        }
        for (int c = width; c < WAND_PANEL; c++)
            for (int t = 0; t < k; t++) panel[(long)t * WAND_PANEL + c] = 0.0f;
    }
}

void wand_pack_panels(const float *x, long ldx, int rows, int cols, float *out, long panelStride) {
    for (int p = 0; p * WAND_PANEL < cols; p++) {
        const int width = cols - p * WAND_PANEL < WAND_PANEL ? cols - p * WAND_PANEL : WAND_PANEL;
        float *panel = out + (long)p * panelStride;
        for (int j = 0; j < rows; j++) {
            float *dst = panel + (long)j * WAND_PANEL;
            memcpy(dst, x + (long)j * ldx + p * WAND_PANEL, sizeof(float) * width);
            if (width < WAND_PANEL) memset(dst + width, 0, sizeof(float) * (WAND_PANEL - width));
        }
    }
}
