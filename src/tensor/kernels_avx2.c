/* kernels_avx2.c — AVX2 activation quantizers, float-weight kernels and
 * benchmark probes (the integer formats are in kernels_q_avx2.c and
 * kernels_k_avx2.c).
 *
 * Compiled with -mavx2 -mfma -mf16c (CMake, by file name); its functions are
 * only called after kernels.c has checked the CPU.
 *
 * Quantizers: the same float operations as kernels_scalar.c (see there), so
 * bytes are identical. Packing 32-bit results to bytes goes through
 * vpackssdw/vpacksswb, which interleave the two 128-bit lanes; one vpermd
 * puts the bytes back in order.
 *
 * Float weights: a tile of 4 rows x V vectors (V <= 2; 16 YMM registers),
 * 8 weights per row and step widened to F32, 4V fused multiply-adds per V
 * activation loads; with V = 1 the four rows cover the FMA latency. The
 * last n % 8 elements are done in plain C.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

/* ======================================================================== */
/* Activation quantizers                                                     */
/* ======================================================================== */

static inline __m256 abs_ps(__m256 x)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

static inline float hmax_ps(__m256 x)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline int hsum_epi32(__m256i x)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

static inline ls_f16 to_f16(float f)
{
    return (ls_f16)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* 32 floats -> 32 bytes round(x * id) clamped to +-127, in order. */
static inline __m256i round32_to_i8(const float *x, __m256 id)
{
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id));
        q[k] = _mm256_min_epi32(_mm256_max_epi32(q[k], lo), hi);
    }
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline float amax32(const float *x)
{
    __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(_mm256_loadu_ps(x)), abs_ps(_mm256_loadu_ps(x + 8))),
                             _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 16)), abs_ps(_mm256_loadu_ps(x + 24))));
    return hmax_ps(m);
}

/* Sum of the 32 signed bytes of q. */
static inline int sum_i8(__m256i q)
{
    __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
    return hsum_epi32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

static void quantize_q8_0(const float *x, void *vy, int64_t n)
{
    block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        ls_f16 d16 = to_f16(amax32(x) / 127.0f);
        float d = _cvtsh_ss(d16);
        y[b].d = d16;
        _mm256_storeu_si256((__m256i *)y[b].qs, round32_to_i8(x, _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f)));
    }
}

static void quantize_q8_1(const float *x, void *vy, int64_t n)
{
    block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK8_1; b++, x += QK8_1) {
        ls_f16 d16 = to_f16(amax32(x) / 127.0f);
        float d = _cvtsh_ss(d16);
        __m256i q = round32_to_i8(x, _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f));
        _mm256_storeu_si256((__m256i *)y[b].qs, q);
        y[b].d = d16;
        y[b].s = to_f16(d * (float)sum_i8(q));
    }
}

static void quantize_q8_k(const float *x, void *vy, int64_t n)
{
    block_q8_k *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < QK_K; i += 8)
            m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + i)));
        float d = hmax_ps(m) / 127.0f;
        __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        y[b].d = d;
        for (int g = 0; g < QK_K / 32; g++) {
            __m256i q = round32_to_i8(x + 32 * g, id);
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * g), q);
            /* sums of each 16 bytes: maddubs pairs, madd quads, then per 128-bit lane */
            __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
            s = _mm256_hadd_epi32(s, s);
            s = _mm256_hadd_epi32(s, s);
            y[b].bsums[2 * g] = (int16_t)_mm256_extract_epi32(s, 0);
            y[b].bsums[2 * g + 1] = (int16_t)_mm256_extract_epi32(s, 4);
        }
    }
}

/* ======================================================================== */
/* Float weights                                                             */
/* ======================================================================== */

KERN_INLINE __m256 load_w8(dtype t, const uint8_t *row, int64_t i)
{
    if (t == DT_F32)
        return _mm256_loadu_ps((const float *)row + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + i));
    if (t == DT_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); /* BF16 */
}

static inline float w_at(dtype t, const uint8_t *row, int64_t i)
{
    if (t == DT_F32)
        return ((const float *)row)[i];
    uint16_t h;
    memcpy(&h, row + 2 * i, 2);
    return t == DT_F16 ? _cvtsh_ss(h) : bf16_to_f32(h);
}

static inline float hsum_ps(__m256 x)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* R rows x V vectors: per 8 elements, R weight loads (widened), V activation
 * loads, R*V FMAs. The last n % 8 elements are added in plain C. */
KERN_INLINE void float_rows(dtype t, int R, int V, int64_t n, const uint8_t *w, size_t w_row_bytes,
                            const float *const *av, float *y, int64_t y_stride)
{
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            wv[r] = load_w8(t, w + (size_t)r * w_row_bytes, i);
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            __m256 x = _mm256_loadu_ps(av[v] + i);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][v] = _mm256_fmadd_ps(wv[r], x, acc[r][v]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            float s = hsum_ps(acc[r][v]);
            for (int64_t j = i; j < n; j++)
                s += w_at(t, w + (size_t)r * w_row_bytes, j) * av[v][j];
            y[v * y_stride + r] = s;
        }
    }
}

/* Tile of n_rows x V (V <= 2) in groups of 4 rows (8 accumulators of 16
 * registers; measured faster than 2 rows x 4 vectors, which needs twice the
 * activation loads per FMA), then single rows. With V = 1 the four rows are
 * four independent FMA chains. */
KERN_INLINE void float_tile(dtype t, int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                            const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)
{
    const int R = 4;
    const float *av[4];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        av[v] = (const float *)(a + (size_t)v * a_row_bytes);
    int64_t r = 0;
    for (; r + R <= n_rows; r += R)
        float_rows(t, R, V, n, w + (size_t)r * w_row_bytes, w_row_bytes, av, y + r, y_stride);
    for (; r < n_rows; r++)
        float_rows(t, 1, V, n, w + (size_t)r * w_row_bytes, w_row_bytes, av, y + r, y_stride);
}

KERN_DEFINE_TILE(tile_f32, float_tile, DT_F32, 4)
KERN_DEFINE_TILE(tile_f16, float_tile, DT_F16, 4)
KERN_DEFINE_TILE(tile_bf16, float_tile, DT_BF16, 4)
KERN_DEFINE_MATMUL(matmul_f32, tile_f32, 2)
KERN_DEFINE_MATMUL(matmul_f16, tile_f16, 2)
KERN_DEFINE_MATMUL(matmul_bf16, tile_bf16, 2)

/* ======================================================================== */
/* Benchmark probes                                                          */
/* ======================================================================== */

static uint64_t read_sum(const void *p, size_t n_bytes)
{
    const __m256i *v = p;
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t n = n_bytes / 32, i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 = _mm256_xor_si256(s0, _mm256_load_si256(v + i));
        s1 = _mm256_xor_si256(s1, _mm256_load_si256(v + i + 1));
        s2 = _mm256_xor_si256(s2, _mm256_load_si256(v + i + 2));
        s3 = _mm256_xor_si256(s3, _mm256_load_si256(v + i + 3));
    }
    for (; i < n; i++)
        s0 = _mm256_xor_si256(s0, _mm256_load_si256(v + i));
    __m256i s = _mm256_xor_si256(_mm256_xor_si256(s0, s1), _mm256_xor_si256(s2, s3));
    __m128i x = _mm_xor_si128(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return (uint64_t)_mm_cvtsi128_si64(x) ^ (uint64_t)_mm_extract_epi64(x, 1);
}

static volatile int32_t spin_sink;

/* Four independent streams of the AVX2 int8 sequence (vpmaddubsw, vpmaddwd,
 * vpaddd): 4 x 32 multiply-adds per round. The empty asm statements tell the
 * compiler the byte inputs change every round, so it cannot hoist the
 * multiplies out of the loop; only the vpaddd is loop-carried, as in the
 * real kernels. */
static uint64_t int8_spin(int64_t n_iters)
{
    __m256i acc[4], xs[4];
    const __m256i z = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        acc[k] = _mm256_set1_epi32(k);
        xs[k] = _mm256_set1_epi8((char)(k + 1 + (n_iters & 1)));
    }
    for (int64_t i = 0; i < n_iters; i++) {
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(xs[k], z), ones));
        __asm__ volatile("" : "+x"(xs[0]), "+x"(xs[1]), "+x"(xs[2]), "+x"(xs[3]));
    }
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(acc[0], acc[1]), _mm256_add_epi32(acc[2], acc[3]));
    spin_sink = hsum_epi32(s);
    return (uint64_t)n_iters * 4 * 32;
}

void kern_fill_avx2(kern_ops *ops)
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
