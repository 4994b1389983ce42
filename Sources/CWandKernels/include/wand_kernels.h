// Hot inner loops of WandTensor's CPU backend that Swift's portable SIMD cannot compile well
// (no AVX2/FMA codegen without global compiler flags). Each kernel has an AVX2+FMA version
// (attention's online softmax and GEMM also an AVX-512 one), chosen at run time by CPU feature
// check, and a portable fallback with the same results up to rounding.
#ifndef WAND_KERNELS_H
#define WAND_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// One key tile of the online softmax of flash attention, for `rows` query rows.
/// scores: [rows, cols], row stride `ld` (already scaled, bias added); on return it holds
/// exp(score - newMax). rowMax/rowSum: running max and running sum per row (updated).
/// acc: [rows, d] unnormalized output; rows whose max grew are multiplied by exp(oldMax - newMax).
void wand_online_softmax_tile(float *scores, int rows, int cols, int ld, float *rowMax, float *rowSum,
                              float *acc, int d);

/// Columns in one packed panel of wand_gemm_packed's B operand.
#define WAND_PANEL 32

/// C[m, n] = A[m, k] * B, or C += A * B with `accumulate`. A is row-major with row stride lda,
/// read in place. B is n / WAND_PANEL panels (n a multiple of WAND_PANEL), panel p at
/// bp + p * panelStride, each [k][WAND_PANEL] contiguous (wand_pack_panels,
/// wand_pack_transposed_panels). C has row stride ldc.
void wand_gemm_packed(int m, int n, int k, const float *a, long lda, const float *bp, long panelStride,
                      float *c, long ldc, int accumulate);

/// Panels of Bᵀ for B = Xᵀ, X [n, k] with row stride ldx: panel j/WAND_PANEL at out + j*k holds
/// out[t][j % WAND_PANEL] = X[j][t]; rows of X past n (up to the next multiple of WAND_PANEL)
/// are zeros. Attention's keys: S = Q Kᵀ.
void wand_pack_transposed_panels(const float *x, long ldx, int n, int k, float *out);

/// Panels of X [rows, cols] (row stride ldx) itself: panel p at out + p * panelStride holds
/// columns p*WAND_PANEL..., [rows][WAND_PANEL], zero past cols. Attention's values: O += P V.
void wand_pack_panels(const float *x, long ldx, int rows, int cols, float *out, long panelStride);

/// Force the portable kernels (1), allow at most AVX2/FMA (2), or the best the CPU has again (0);
/// for tests of each path.
void wand_kernels_force_portable(int on);

/// Softmax of one row in place-safe form (src may equal dst).
void wand_softmax_row(const float *src, float *dst, int n);

#ifdef __cplusplus
}
#endif
#endif
