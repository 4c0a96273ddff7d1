/* kernels_wide_avx512.c — the wide path's product with AVX-512 VNNI.
 *
 * One 64-byte word of a panel is one ZMM register; vpdpwssd multiplies 32
 * int16 pairs and adds each pair's sum into its 32-bit lane, which is
 * exactly one block's running integer sum (layout in kernels.h). A register
 * tile of 4 weight rows x 4 activation rows keeps 16 integer accumulators
 * and 16 float accumulators: per word, 8 loads feed 16 vpdpwssd. After each
 * panel the integer sums are scaled per lane (cvt, one multiply, one FMA,
 * one FMA for the "min" term where the format has one) into the float
 * accumulators, and reset.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"
#include "tensor/kernels_wide_simd.h"

enum { TR = 4, TV = 4 };

KERN_INLINE void wide_tile(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                           size_t a_row_bytes, float *y, int64_t y_stride)
{
    __m512 facc[TR][TV];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            facc[r][v] = _mm512_setzero_ps();
    for (int64_t p = 0; p < n_panels; p++) {
        const size_t off = (size_t)p * sizeof(kern_wide_panel);
        __m512i acc[TR][TV];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int v = 0; v < V; v++)
                acc[r][v] = _mm512_setzero_si512();
        /* fully unrolled: with the loop unrolled by 2 GCC kept moving the
         * accumulators between registers (one vmovdqa per vpdpwssd; the
         * wide product went from ~80 to ~95 tokens/s of pp512 on Q8_0) */
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++) {
            __m512i av[TV];
#pragma GCC unroll 4
            for (int v = 0; v < V; v++)
                av[v] = _mm512_loadu_si512(a + v * a_row_bytes + off + 64 * k);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m512i wv = _mm512_loadu_si512(w + r * w_row_bytes + off + 64 * k);
#pragma GCC unroll 4
                for (int v = 0; v < V; v++)
                    acc[r][v] = _mm512_dpwssd_epi32(acc[r][v], wv, av[v]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const kern_wide_panel *wp = (const kern_wide_panel *)(w + r * w_row_bytes + off);
            __m512 ws = _mm512_loadu_ps(wp->scale), wm = _mm512_loadu_ps(wp->sum);
            /* formats without a "min" (Q8_0, Q4_0, Q5_0, Q6_K) have wm = 0:
             * skip its FMAs (a branch that always goes the same way) */
            bool mins = _mm512_test_epi32_mask(_mm512_castps_si512(wm), _mm512_castps_si512(wm)) != 0;
#pragma GCC unroll 4
            for (int v = 0; v < V; v++) {
                const kern_wide_panel *ap = (const kern_wide_panel *)(a + v * a_row_bytes + off);
                __m512 s = _mm512_mul_ps(ws, _mm512_loadu_ps(ap->scale));
                facc[r][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]), s, facc[r][v]);
                if (mins)
                    facc[r][v] = _mm512_fmadd_ps(wm, _mm512_loadu_ps(ap->sum), facc[r][v]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            y[v * y_stride + r] = _mm512_reduce_add_ps(facc[r][v]);
}

#define WIDE_CASE(R_, V_) \
    case (R_) * 8 + (V_): wide_tile(R_, V_, n_panels, w, w_row_bytes, a, a_row_bytes, y, y_stride); return;

static void wide_tile_any(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                          size_t a_row_bytes, float *y, int64_t y_stride)
{
    switch (R * 8 + V) {
    WIDE_CASE(1, 1) WIDE_CASE(1, 2) WIDE_CASE(1, 3) WIDE_CASE(1, 4)
    WIDE_CASE(2, 1) WIDE_CASE(2, 2) WIDE_CASE(2, 3) WIDE_CASE(2, 4)
    WIDE_CASE(3, 1) WIDE_CASE(3, 2) WIDE_CASE(3, 3) WIDE_CASE(3, 4)
    WIDE_CASE(4, 1) WIDE_CASE(4, 2) WIDE_CASE(4, 3) WIDE_CASE(4, 4)
    default: return;
    }
}

static void gemm16(int64_t n_panels, const void *w, size_t w_row_bytes, int64_t n_rows, const void *a,
                   size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride)
{
    kern_wide_run_tiles(wide_tile_any, TR, TV, n_panels, w, w_row_bytes, n_rows, a, a_row_bytes, n_vecs, y, y_stride);
}

/* ======================================================================== */
/* Expansion                                                                 */
/* ======================================================================== */

/* Eight blocks of 32 integers, block s in b[s] (16 int32 = element pairs in
 * order), stored as half h of panel p: word k gets pair k of blocks 0-7 in
 * its lanes 8h..8h+7 — an 8 x 16 transpose of 32-bit pairs. */
static inline void store_half_panel(kern_wide_panel *p, int h, const __m512i b[8])
{
    __m512i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(b[2 * i], b[2 * i + 1]);     /* per 128-bit lane j: pairs 4j, 4j+1 */
        t[2 * i + 1] = _mm512_unpackhi_epi32(b[2 * i], b[2 * i + 1]); /* pairs 4j+2, 4j+3 */
    }
    for (int g = 0; g < 2; g++) { /* blocks 0-3, then 4-7 */
        u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);     /* lane j: pair 4j of 4 blocks */
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);     /* pair 4j+1 */
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]); /* pair 4j+2 */
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]); /* pair 4j+3 */
    }
    const __m512i lo = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
    uint8_t *base = (uint8_t *)p->q + 32 * h;
    for (int m = 0; m < 4; m++) {
        /* [pair m of blocks 0-3 | of 4-7 | pair 4+m of 0-3 | of 4-7] */
        __m512i x = _mm512_permutex2var_epi64(u[m], lo, u[4 + m]);
        __m512i y = _mm512_permutex2var_epi64(u[m], hi, u[4 + m]);
        _mm256_storeu_si256((__m256i *)(base + 64 * m), _mm512_castsi512_si256(x));
        _mm256_storeu_si256((__m256i *)(base + 64 * (4 + m)), _mm512_extracti64x4_epi64(x, 1));
        _mm256_storeu_si256((__m256i *)(base + 64 * (8 + m)), _mm512_castsi512_si256(y));
        _mm256_storeu_si256((__m256i *)(base + 64 * (12 + m)), _mm512_extracti64x4_epi64(y, 1));
    }
}

/* Eight blocks (256 weights) starting at block index b0 (a multiple of 8):
 * their integers here, their factors by wide_store_factors8. */
static void expand8(dtype t, const uint8_t *row, int64_t b0, kern_wide_panel *panels)
{
    kern_wide_panel *p = &panels[b0 / KERN_WIDE_LANES];
    int h = (int)(b0 % KERN_WIDE_LANES) / 8;
    __m512i b[8];
    if (t == DT_Q4_K) {
        const block_q4_k *sb = (const block_q4_k *)row + b0 / 8;
        for (int c = 0; c < 4; c++) {
            __m512i z = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(sb->qs + 32 * c)));
            b[2 * c] = _mm512_and_si512(z, _mm512_set1_epi16(0x0F));
            b[2 * c + 1] = _mm512_srli_epi16(z, 4);
        }
    } else if (t == DT_Q6_K) {
        const block_q6_k *sb = (const block_q6_k *)row + b0 / 8;
        const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
        __m512i sc16 = _mm512_cvtepi8_epi16(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)sb->scales)));
        for (int half = 0; half < 2; half++) {
            __m512i ql = _mm512_loadu_si512(sb->ql + 64 * half);
            __m256i qh = _mm256_loadu_si256((const __m256i *)(sb->qh + 32 * half));
            __m512i hz = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            /* 64 six-bit values each: blocks 4*half + 0,1 and 4*half + 2,3 */
            __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(hz, 4), m30));
            __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(hz, m30));
            __m512i q[2] = { q01, q23 };
            for (int i = 0; i < 4; i++) {
                int s = 4 * half + i; /* block of 32 = sub-blocks 2s, 2s+1 of 16 */
                __m256i bytes = i % 2 ? _mm512_extracti64x4_epi64(q[i / 2], 1) : _mm512_castsi512_si256(q[i / 2]);
                __m512i v = _mm512_sub_epi16(_mm512_cvtepu8_epi16(bytes), _mm512_set1_epi16(32));
                __m512i scv = _mm512_permutexvar_epi16(
                    _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * s)), _mm256_set1_epi16((short)(2 * s + 1)), 1),
                    sc16);
                b[s] = _mm512_mullo_epi16(v, scv);
            }
        }
    } else if (t == DT_Q8_0) {
        const block_q8_0 *bl = (const block_q8_0 *)row + b0;
        for (int s = 0; s < 8; s++)
            b[s] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)bl[s].qs));
    } else { /* DT_Q4_0 */
        const block_q4_0 *bl = (const block_q4_0 *)row + b0;
        for (int s = 0; s < 8; s++) {
            __m256i z = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)bl[s].qs));
            __m256i lo = _mm256_and_si256(z, _mm256_set1_epi16(0x0F)), hi = _mm256_srli_epi16(z, 4);
            b[s] = _mm512_sub_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi16(8));
        }
    }
    store_half_panel(p, h, b);
    wide_store_factors8(t, row, b0, p, h);
}

static void expand(dtype t, const void *w, int64_t n, void *dst)
{
    kern_wide_expand_by8(expand8, t, w, n, dst);
}

/* ======================================================================== */
/* Activations                                                               */
/* ======================================================================== */

/* Blocks b0 .. b0+7 of a float row rounded as kern_wide_quantize does (the
 * same float operations; cvtps rounds to nearest even like nearbyintf). */
static void quantize8(const float *x, int64_t b0, kern_wide_panel *panels)
{
    kern_wide_panel *p = &panels[b0 / KERN_WIDE_LANES];
    int h = (int)(b0 % KERN_WIDE_LANES) / 8;
    const __m512i qmax = _mm512_set1_epi32(16383), qmin = _mm512_set1_epi32(-16383);
    __m512i b[8];
    for (int s = 0; s < 8; s++) {
        const float *xb = x + 32 * (b0 + s);
        __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 16383.0f, id = d != 0.0f ? 16383.0f / amax : 0.0f;
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
        __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
        q0 = _mm512_min_epi32(_mm512_max_epi32(q0, qmin), qmax);
        q1 = _mm512_min_epi32(_mm512_max_epi32(q1, qmin), qmax);
        b[s] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi32_epi16(q0)), _mm512_cvtepi32_epi16(q1), 1);
        p->scale[8 * h + s] = d;
        p->sum[8 * h + s] = d * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
    store_half_panel(p, h, b);
}

static void quantize(const float *x, int64_t n, void *dst)
{
    kern_wide_quantize_by8(quantize8, x, n, dst);
}

void kern_fill_wide_avx512(kern_ops *ops)
{
    ops->gemm16 = gemm16;
    ops->wide_expand = expand;
    ops->wide_quantize = quantize;
}
