#include "wand_kernels.h"
#include "cpu_level.h"
#include <math.h>

// 0: the best kernels the CPU has; 1: portable C only; 2: at most AVX2 (tests of each path).
static int force_portable = 0;
void wand_kernels_force_portable(int on) { force_portable = on; }

#if defined(__x86_64__)
#include <immintrin.h>

// exp for x <= 0 (callers subtract the row max): cephes reduction x = n ln2 + r, degree-5
// polynomial, 2^n built in the exponent bits. ~1 ulp; inputs below -87.3 give ~1e-38.
// The AVX2 and AVX-512 versions below share these constants, so they give the same results.
#define EXP_MIN_INPUT (-87.33654f)
#define EXP_ROUND_MAGIC 12582912.0f  /* 1.5 * 2^23: adding it rounds to an integer */
#define EXP_LOG2E 1.442695041f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO (-2.12194440e-4f)
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f
__attribute__((target("avx2,fma")))
static inline __m256 exp_nonpositive_avx2(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(EXP_MIN_INPUT));
    const __m256 magic = _mm256_set1_ps(EXP_ROUND_MAGIC);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(EXP_LOG2E), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
    __m256 z = _mm256_mul_ps(r, r);
    __m256 y = _mm256_set1_ps(EXP_P0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P5));
    y = _mm256_fmadd_ps(y, z, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic));
    e = _mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma")))
static inline float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma")))
static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static float exp_scalar_avx2(float x) {
    float out[8];
    _mm256_storeu_ps(out, exp_nonpositive_avx2(_mm256_set1_ps(x)));
    return out[0];
}

// Max, exp and sum of one row; returns the sum, writes exp(row - m) in place, m = new max.
__attribute__((target("avx2,fma")))
static float exp_row_avx2(const float *src, float *dst, int n, float *maxInOut) {
    __m256 mv = _mm256_set1_ps(*maxInOut);
    int j = 0;
    for (; j + 8 <= n; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(src + j));
    float m = hmax256(mv);
    for (; j < n; j++) m = src[j] > m ? src[j] : m;
    *maxInOut = m;
    const __m256 mb = _mm256_set1_ps(m);
    __m256 acc = _mm256_setzero_ps();
    j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = exp_nonpositive_avx2(_mm256_sub_ps(_mm256_loadu_ps(src + j), mb));
        _mm256_storeu_ps(dst + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = hsum256(acc);
    for (; j < n; j++) { float e = exp_scalar_avx2(src[j] - m); dst[j] = e; sum += e; }
    return sum;
}

__attribute__((target("avx2,fma")))
static void softmax_row_avx2(const float *src, float *dst, int n) {
    float m = -INFINITY;
    float sum = exp_row_avx2(src, dst, n, &m);
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    int j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(dst + j, _mm256_mul_ps(_mm256_loadu_ps(dst + j), inv));
    for (; j < n; j++) dst[j] *= 1.0f / sum;
}

// The same kernels 16 lanes wide, for CPUs with AVX-512 (same polynomial, same results to ~1 ulp).
__attribute__((target("avx512f")))
static inline __m512 exp_nonpositive_avx512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(EXP_MIN_INPUT));
    const __m512 magic = _mm512_set1_ps(EXP_ROUND_MAGIC);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(EXP_LOG2E), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), r);
    __m512 z = _mm512_mul_ps(r, r);
    __m512 y = _mm512_set1_ps(EXP_P0);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P1));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P2));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P3));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P4));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P5));
    y = _mm512_fmadd_ps(y, z, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(magic));
    e = _mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

__attribute__((target("avx512f")))
static float exp_row_avx512(const float *src, float *dst, int n, float *maxInOut) {
    __m512 mv = _mm512_set1_ps(*maxInOut);
    int j = 0;
    for (; j + 16 <= n; j += 16) mv = _mm512_max_ps(mv, _mm512_loadu_ps(src + j));
    if (j < n) {
        __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
        mv = _mm512_mask_max_ps(mv, tail, mv, _mm512_maskz_loadu_ps(tail, src + j));
    }
    float m = _mm512_reduce_max_ps(mv);
    *maxInOut = m;
    const __m512 mb = _mm512_set1_ps(m);
    __m512 acc = _mm512_setzero_ps();
    for (j = 0; j + 16 <= n; j += 16) {
        __m512 e = exp_nonpositive_avx512(_mm512_sub_ps(_mm512_loadu_ps(src + j), mb));
        _mm512_storeu_ps(dst + j, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (j < n) {
        __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
        __m512 e = exp_nonpositive_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, src + j), mb));
        _mm512_mask_storeu_ps(dst + j, tail, e);
        acc = _mm512_mask_add_ps(acc, tail, acc, e);
    }
    return _mm512_reduce_add_ps(acc);
}

static int has_avx512(void) { return wand_cpu_level() >= WAND_LEVEL_AVX512; }
static int has_avx2_fma(void) { return wand_cpu_level() >= WAND_LEVEL_AVX2; }
#endif

int wand_cpu_level(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? WAND_LEVEL_AVX512
               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? WAND_LEVEL_AVX2
               : WAND_LEVEL_PORTABLE;
    }
    if (force_portable == 1) return WAND_LEVEL_PORTABLE;
    if (force_portable == 2 && cached > WAND_LEVEL_AVX2) return WAND_LEVEL_AVX2;
    return cached;
#else
    return WAND_LEVEL_PORTABLE;
#endif
}

static float exp_one_portable(float x) { return expf(x); }

static float exp_row_portable(const float *src, float *dst, int n, float *maxInOut) {
    float m = *maxInOut, sum = 0;
    for (int j = 0; j < n; j++) m = src[j] > m ? src[j] : m;
    *maxInOut = m;
    for (int j = 0; j < n; j++) { dst[j] = expf(src[j] - m); sum += dst[j]; }
    return sum;
}

// One loop for every level; only the row's exp (and the scalar exp of the correction) differ.
typedef float (*exp_row_fn)(const float *src, float *dst, int n, float *maxInOut);
static void online_tile(exp_row_fn exp_row, float (*exp_one)(float), float *scores, int rows, int cols, int ld,
                        float *rowMax, float *rowSum, float *acc, int d) {
    for (int r = 0; r < rows; r++) {
        float *row = scores + (long)r * ld;
        float old = rowMax[r], m = old;
        float sum = exp_row(row, row, cols, &m);
        float correction = old == -INFINITY ? 0.0f : exp_one(old - m);
        rowMax[r] = m;
        rowSum[r] = rowSum[r] * correction + sum;
        if (correction != 1.0f) for (int t = 0; t < d; t++) acc[(long)r * d + t] *= correction;
    }
}

void wand_online_softmax_tile(float *scores, int rows, int cols, int ld, float *rowMax, float *rowSum, float *acc, int d) {
#if defined(__x86_64__)
    if (has_avx512()) { online_tile(exp_row_avx512, exp_one_portable, scores, rows, cols, ld, rowMax, rowSum, acc, d); return; }
    if (has_avx2_fma()) { online_tile(exp_row_avx2, exp_scalar_avx2, scores, rows, cols, ld, rowMax, rowSum, acc, d); return; }
#endif
    online_tile(exp_row_portable, exp_one_portable, scores, rows, cols, ld, rowMax, rowSum, acc, d);
}

void wand_softmax_row(const float *src, float *dst, int n) {
#if defined(__x86_64__)
    if (has_avx2_fma()) { softmax_row_avx2(src, dst, n); return; }
#endif
    float m = -INFINITY, sum = 0;
    for (int j = 0; j < n; j++) m = src[j] > m ? src[j] : m;
    for (int j = 0; j < n; j++) { dst[j] = expf(src[j] - m); sum += dst[j]; }
    for (int j = 0; j < n; j++) dst[j] /= sum;
}
