// Hot inner loops of WandTensor's CPU backend that Swift's portable SIMD cannot compile well
// (no AVX2/FMA codegen without global compiler flags). Each kernel has an AVX2+FMA version
// (the online softmax also an AVX-512 one), chosen at run time by CPU feature check, and a
// portable fallback with the same results up to rounding.
#ifndef WAND_KERNELS_H
#define WAND_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// One key tile of the online softmax of flash attention, for `rows` query rows.
/// scores: [rows, cols] (already scaled, bias added); on return it holds exp(score - newMax).
/// rowMax/rowSum: running max and running sum per row (updated).
/// acc: [rows, d] unnormalized output; rows whose max grew are multiplied by exp(oldMax - newMax).
void wand_online_softmax_tile(float *scores, int rows, int cols, float *rowMax, float *rowSum,
                              float *acc, int d);

/// Force the portable kernels (1), allow at most AVX2/FMA (2), or the best the CPU has again (0);
/// for tests of each path.
void wand_kernels_force_portable(int on);

/// Softmax of one row in place-safe form (src may equal dst).
void wand_softmax_row(const float *src, float *dst, int n);

#ifdef __cplusplus
}
#endif
#endif
