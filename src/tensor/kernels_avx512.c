/* kernels_avx512.c — AVX-512 activation quantizers, float-weight kernels and
 * benchmark probes (the integer formats are in kernels_q_avx512.c and
 * kernels_k_avx512.c).
 *
 * Compiled with -mavx512f/bw/dq/vl/vnni (CMake, by file name); its functions
 * are only called after kernels.c has checked the CPU.
 *
 * Quantizers: the same float operations as kernels_scalar.c in the same
 * order (max of |x|, d = max / 127 rounded through F16 where the format
 * stores F16, id = 1 / d, q = round-to-nearest-even(x * id) clamped to
 * +-127), so the bytes are identical on every path.
 *
 * Float weights (dot type F32): a tile of 4 rows x V vectors (V <= 4, 16
 * accumulators) widens 16 weights of each row at a time to F32 (F16 with
 * vcvtph2ps, BF16 by shifting into the top half of an F32) and does 16
 * fused multiply-adds with 4 activation loads, so loads never limit the
 * FMAs; with one vector the four rows are four independent FMA chains that
 * hide the FMA latency. Rows whose length is not a multiple of 16 finish
 * with a masked load.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

/* ======================================================================== */
/* Activation quantizers                                                     */
/* ======================================================================== */

/* q = round(x * id) clamped to [-127, 127], 16 values as bytes. */
static inline __m128i round_to_i8(__m512 x, __m512 id)
{
    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(x, id)); /* MXCSR default: nearest even */
    q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
    return _mm512_cvtsepi32_epi8(q);
}

/* F16 round trip of d, as the scalar path does with f32_to_f16/f16_to_f32. */
static inline ls_f16 to_f16(float f)
{
    return (ls_f16)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

static void quantize_q8_0(const float *x, void *vy, int64_t n)
{
    block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        ls_f16 d16 = to_f16(amax / 127.0f);
        float d = _cvtsh_ss(d16);
        __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        y[b].d = d16;
        _mm_storeu_si128((__m128i *)y[b].qs, round_to_i8(v0, id));
        _mm_storeu_si128((__m128i *)(y[b].qs + 16), round_to_i8(v1, id));
    }
}

static void quantize_q8_1(const float *x, void *vy, int64_t n)
{
    block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK8_1; b++, x += QK8_1) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        ls_f16 d16 = to_f16(amax / 127.0f);
        float d = _cvtsh_ss(d16);
        __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        __m128i q0 = round_to_i8(v0, id), q1 = round_to_i8(v1, id);
        _mm_storeu_si128((__m128i *)y[b].qs, q0);
        _mm_storeu_si128((__m128i *)(y[b].qs + 16), q1);
        __m512i wide = _mm512_add_epi32(_mm512_cvtepi8_epi32(q0), _mm512_cvtepi8_epi32(q1));
        int sum = _mm512_reduce_add_epi32(wide);
        y[b].d = d16;
        y[b].s = to_f16(d * (float)sum);
    }
}

static void quantize_q8_k(const float *x, void *vy, int64_t n)
{
    block_q8_k *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        __m512 m = _mm512_setzero_ps();
        for (int i = 0; i < QK_K; i += 16)
            m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
        float d = _mm512_reduce_max_ps(m) / 127.0f;
        __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        y[b].d = d;
        for (int g = 0; g < QK_K / 16; g++) {
            __m128i q = round_to_i8(_mm512_loadu_ps(x + 16 * g), id);
            _mm_storeu_si128((__m128i *)(y[b].qs + 16 * g), q);
            y[b].bsums[g] = (int16_t)_mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(q));
        }
    }
}

/* ======================================================================== */
/* Float weights                                                             */
/* ======================================================================== */

/* 16 weights from element i of a row, widened to F32; `mask` selects the
 * elements that exist (all 16 except at the end of a row). */
KERN_INLINE __m512 load_w16(dtype t, const uint8_t *row, int64_t i, __mmask16 mask)
{
    if (t == DT_F32)
        return _mm512_maskz_loadu_ps(mask, (const float *)row + i);
    __m256i h = _mm256_maskz_loadu_epi16(mask, (const uint16_t *)row + i);
    if (t == DT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); /* BF16 */
}

/* Unmasked version for the main loop (the masks above cost nothing on
 * modern cores, but plain loads let the compiler fold them into the FMA). */
KERN_INLINE __m512 load_w16_full(dtype t, const uint8_t *row, int64_t i)
{
    if (t == DT_F32)
        return _mm512_loadu_ps((const float *)row + i);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i));
    if (t == DT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* R rows x V vectors of float products: per 16 elements, R weight loads
 * (widened), V activation loads and R*V FMAs into R*V accumulators. */
KERN_INLINE void float_rows(dtype t, int R, int V, int64_t n, const uint8_t *w, size_t w_row_bytes,
                            const float *const *av, float *y, int64_t y_stride)
{
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            wv[r] = mask == 0xFFFF ? load_w16_full(t, w + (size_t)r * w_row_bytes, i)
                                   : load_w16(t, w + (size_t)r * w_row_bytes, i, mask);
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            __m512 x = mask == 0xFFFF ? _mm512_loadu_ps(av[v] + i) : _mm512_maskz_loadu_ps(mask, av[v] + i);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][v] = _mm512_fmadd_ps(wv[r], x, acc[r][v]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            y[v * y_stride + r] = _mm512_reduce_add_ps(acc[r][v]);
}

/* Tile of n_rows x V (V <= 4): groups of 4 rows, then single rows. Four
 * rows also give decode (V = 1) four independent FMA chains. */
KERN_INLINE void float_tile(dtype t, int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                            const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)
{
    const float *av[4];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        av[v] = (const float *)(a + (size_t)v * a_row_bytes);
    int64_t r = 0;
    for (; r + 4 <= n_rows; r += 4)
        float_rows(t, 4, V, n, w + (size_t)r * w_row_bytes, w_row_bytes, av, y + r, y_stride);
    for (; r < n_rows; r++)
        float_rows(t, 1, V, n, w + (size_t)r * w_row_bytes, w_row_bytes, av, y + r, y_stride);
}

KERN_DEFINE_TILE(tile_f32, float_tile, DT_F32, 4)
KERN_DEFINE_TILE(tile_f16, float_tile, DT_F16, 4)
KERN_DEFINE_TILE(tile_bf16, float_tile, DT_BF16, 4)
KERN_DEFINE_MATMUL(matmul_f32, tile_f32, 4)
KERN_DEFINE_MATMUL(matmul_f16, tile_f16, 4)
KERN_DEFINE_MATMUL(matmul_bf16, tile_bf16, 4)

/* ======================================================================== */
/* Benchmark probes                                                          */
/* ======================================================================== */

static uint64_t read_sum(const void *p, size_t n_bytes)
{
    const __m512i *v = p;
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    size_t n = n_bytes / 64, i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 = _mm512_xor_si512(s0, _mm512_load_si512(v + i));
        s1 = _mm512_xor_si512(s1, _mm512_load_si512(v + i + 1));
        s2 = _mm512_xor_si512(s2, _mm512_load_si512(v + i + 2));
        s3 = _mm512_xor_si512(s3, _mm512_load_si512(v + i + 3));
    }
    for (; i < n; i++)
        s0 = _mm512_xor_si512(s0, _mm512_load_si512(v + i));
    __m512i s = _mm512_xor_si512(_mm512_xor_si512(s0, s1), _mm512_xor_si512(s2, s3));
    return (uint64_t)_mm512_reduce_or_epi64(s);
}

static volatile int32_t spin_sink;

/* Eight independent chains of vpdpbusd: 8 x 64 multiply-adds per round. */
static uint64_t int8_spin(int64_t n_iters)
{
    __m512i acc[8];
    __m512i x = _mm512_set1_epi8((char)(1 + (n_iters & 1))), z = _mm512_set1_epi8(3);
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        acc[k] = _mm512_set1_epi32(k);
    for (int64_t i = 0; i < n_iters; i++) {
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
            acc[k] = _mm512_dpbusd_epi32(acc[k], x, z);
    }
    __m512i s = acc[0];
#pragma GCC unroll 8
    for (int k = 1; k < 8; k++)
        s = _mm512_add_epi32(s, acc[k]);
    spin_sink = _mm512_reduce_or_epi32(s); /* the sums wrap; a bitwise reduction has no overflow */
    return (uint64_t)n_iters * 8 * 64;
}

void kern_fill_avx512(kern_ops *ops)
{
    ops->quantize[DT_Q8_0] = quantize_q8_0;
    ops->quantize[DT_Q8_1] = quantize_q8_1;
    ops->quantize[DT_Q8_K] = quantize_q8_k;
    ops->matmul[DT_F32] = matmul_f32;
    ops->matmul[DT_F16] = matmul_f16;
    ops->matmul[DT_BF16] = matmul_bf16;
    ops->read_sum = read_sum;
    ops->int8_spin = int8_spin;
}
