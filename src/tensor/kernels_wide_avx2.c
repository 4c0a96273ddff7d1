/* kernels_wide_avx2.c — the wide path's product with AVX2.
 *
 * A 64-byte panel word is two YMM registers (lanes 0-7 and 8-15 of the
 * panel, i.e. blocks 0-7 and 8-15), handled as two half-panels. vpmaddwd
 * multiplies 16 int16 pairs and adds each pair into a 32-bit lane; vpaddd
 * accumulates, so a lane again holds one block's integer sum (layout in
 * kernels.h). Without AVX-512 there are 16 vector registers: a tile of
 * 3 weight rows x 2 activation rows keeps 6 integer and 6 float
 * accumulators (of seven shapes tried, 3x2 and 2x3 were the fastest, by
 * about a quarter). After each half-panel the integer sums are scaled per lane
 * into the float accumulators, as in the AVX-512 version.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"
#include "tensor/kernels_wide_simd.h"

enum { TR = 3, TV = 2 };

KERN_INLINE void wide_tile(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                           size_t a_row_bytes, float *y, int64_t y_stride)
{
    __m256 facc[TR][TV];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            facc[r][v] = _mm256_setzero_ps();
    for (int64_t p = 0; p < n_panels; p++) {
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const size_t off = (size_t)p * sizeof(kern_wide_panel) + 32 * (size_t)h;
            __m256i acc[TR][TV];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                for (int v = 0; v < V; v++)
                    acc[r][v] = _mm256_setzero_si256();
#pragma GCC unroll 2
            for (int k = 0; k < 16; k++) {
                __m256i wv[TR];
#pragma GCC unroll 4
                for (int r = 0; r < R; r++)
                    wv[r] = _mm256_loadu_si256((const __m256i *)(w + r * w_row_bytes + off + 64 * k));
#pragma GCC unroll 4
                for (int v = 0; v < V; v++) {
                    __m256i av = _mm256_loadu_si256((const __m256i *)(a + v * a_row_bytes + off + 64 * k));
#pragma GCC unroll 4
                    for (int r = 0; r < R; r++)
                        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(wv[r], av));
                }
            }
            const size_t soff = (size_t)p * sizeof(kern_wide_panel) + offsetof(kern_wide_panel, scale) + 32 * (size_t)h;
            const size_t moff = (size_t)p * sizeof(kern_wide_panel) + offsetof(kern_wide_panel, sum) + 32 * (size_t)h;
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256 ws = _mm256_loadu_ps((const float *)(w + r * w_row_bytes + soff));
                __m256 wm = _mm256_loadu_ps((const float *)(w + r * w_row_bytes + moff));
                /* no "min" term (wm = 0): skip its FMAs */
                bool mins = !_mm256_testz_si256(_mm256_castps_si256(wm), _mm256_castps_si256(wm));
#pragma GCC unroll 4
                for (int v = 0; v < V; v++) {
                    __m256 s = _mm256_mul_ps(ws, _mm256_loadu_ps((const float *)(a + v * a_row_bytes + soff)));
                    facc[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][v]), s, facc[r][v]);
                    if (mins)
                        facc[r][v] = _mm256_fmadd_ps(
                            wm, _mm256_loadu_ps((const float *)(a + v * a_row_bytes + moff)), facc[r][v]);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            __m256 s8 = facc[r][v];
            __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
            s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
            y[v * y_stride + r] = _mm_cvtss_f32(s4);
        }
}

#define WIDE_CASE(R_, V_) \
    case (R_) * 8 + (V_): wide_tile(R_, V_, n_panels, w, w_row_bytes, a, a_row_bytes, y, y_stride); return;

static void wide_tile_any(int R, int V, int64_t n_panels, const uint8_t *w, size_t w_row_bytes, const uint8_t *a,
                          size_t a_row_bytes, float *y, int64_t y_stride)
{
    switch (R * 8 + V) {
    WIDE_CASE(1, 1) WIDE_CASE(1, 2)
    WIDE_CASE(2, 1) WIDE_CASE(2, 2)
    WIDE_CASE(3, 1) WIDE_CASE(3, 2)
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

/* Eight blocks of 32 integers, block s in b[s][0] (pairs 0-7) and b[s][1]
 * (pairs 8-15), stored as half h of panel p: word k gets pair k of blocks
 * 0-7 — two 8 x 8 transposes of 32-bit pairs. */
static inline void store_half_panel(kern_wide_panel *p, int h, __m256i b[8][2])
{
    uint8_t *base = (uint8_t *)p->q + 32 * h;
    for (int part = 0; part < 2; part++) {
        __m256i t[8], u[8];
        for (int i = 0; i < 4; i++) {
            t[2 * i] = _mm256_unpacklo_epi32(b[2 * i][part], b[2 * i + 1][part]);
            t[2 * i + 1] = _mm256_unpackhi_epi32(b[2 * i][part], b[2 * i + 1][part]);
        }
        for (int g = 0; g < 2; g++) {
            u[4 * g + 0] = _mm256_unpacklo_epi64(t[4 * g], t[4 * g + 2]);     /* pairs 0 | 4 of 4 blocks */
            u[4 * g + 1] = _mm256_unpackhi_epi64(t[4 * g], t[4 * g + 2]);     /* 1 | 5 */
            u[4 * g + 2] = _mm256_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]); /* 2 | 6 */
            u[4 * g + 3] = _mm256_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]); /* 3 | 7 */
        }
        for (int m = 0; m < 4; m++) {
            int k = 8 * part + m;
            _mm256_storeu_si256((__m256i *)(base + 64 * k), _mm256_permute2x128_si256(u[m], u[4 + m], 0x20));
            _mm256_storeu_si256((__m256i *)(base + 64 * (k + 4)), _mm256_permute2x128_si256(u[m], u[4 + m], 0x31));
        }
    }
}

/* 32 bytes -> two vectors of 16 int16 (zero-extended). */
static inline void widen_u8(__m256i x, __m256i out[2])
{
    out[0] = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(x));
    out[1] = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(x, 1));
}

/* Eight blocks (256 weights) starting at block index b0 (a multiple of 8):
 * their integers here, their factors by wide_store_factors8. */
static void expand8(dtype t, const uint8_t *row, int64_t b0, kern_wide_panel *panels)
{
    kern_wide_panel *p = &panels[b0 / KERN_WIDE_LANES];
    int h = (int)(b0 % KERN_WIDE_LANES) / 8;
    __m256i b[8][2];
    const __m256i m4 = _mm256_set1_epi16(0x0F);
    if (t == DT_Q4_K) {
        const block_q4_k *sb = (const block_q4_k *)row + b0 / 8;
        for (int c = 0; c < 4; c++) {
            __m256i z[2];
            widen_u8(_mm256_loadu_si256((const __m256i *)(sb->qs + 32 * c)), z);
            for (int i = 0; i < 2; i++) {
                b[2 * c][i] = _mm256_and_si256(z[i], m4);
                b[2 * c + 1][i] = _mm256_srli_epi16(z[i], 4);
            }
        }
    } else if (t == DT_Q6_K) {
        const block_q6_k *sb = (const block_q6_k *)row + b0 / 8;
        const __m256i b4 = _mm256_set1_epi8(0x0F), b30 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi16(32);
        for (int half = 0; half < 2; half++) {
            __m256i qa = _mm256_loadu_si256((const __m256i *)(sb->ql + 64 * half));
            __m256i qb = _mm256_loadu_si256((const __m256i *)(sb->ql + 64 * half + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(sb->qh + 32 * half));
            __m256i q6[4] = {
                _mm256_or_si256(_mm256_and_si256(qa, b4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), b30)),
                _mm256_or_si256(_mm256_and_si256(qb, b4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), b30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), b4), _mm256_and_si256(qh, b30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), b4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), b30)),
            };
            for (int i = 0; i < 4; i++) {
                int s = 4 * half + i; /* block of 32 = sub-blocks 2s, 2s+1 of 16 */
                __m256i z[2];
                widen_u8(q6[i], z);
                for (int e = 0; e < 2; e++)
                    b[s][e] = _mm256_mullo_epi16(_mm256_sub_epi16(z[e], k32),
                                                 _mm256_set1_epi16((short)sb->scales[2 * s + e]));
            }
        }
    } else if (t == DT_Q8_0) {
        const block_q8_0 *bl = (const block_q8_0 *)row + b0;
        for (int s = 0; s < 8; s++) {
            b[s][0] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)bl[s].qs));
            b[s][1] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bl[s].qs + 16)));
        }
    } else { /* DT_Q4_0 */
        const block_q4_0 *bl = (const block_q4_0 *)row + b0;
        const __m256i k8 = _mm256_set1_epi16(8);
        for (int s = 0; s < 8; s++) {
            __m256i z = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)bl[s].qs));
            b[s][0] = _mm256_sub_epi16(_mm256_and_si256(z, m4), k8);
            b[s][1] = _mm256_sub_epi16(_mm256_srli_epi16(z, 4), k8);
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

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* Blocks b0 .. b0+7 of a float row rounded as kern_wide_quantize does (the
 * same float operations; cvtps rounds to nearest even like nearbyintf). */
static void quantize8(const float *x, int64_t b0, kern_wide_panel *panels)
{
    kern_wide_panel *p = &panels[b0 / KERN_WIDE_LANES];
    int h = (int)(b0 % KERN_WIDE_LANES) / 8;
    const __m256i qmax = _mm256_set1_epi32(16383), qmin = _mm256_set1_epi32(-16383);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256i b[8][2];
    for (int s = 0; s < 8; s++) {
        const float *xb = x + 32 * (b0 + s);
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(xb + 8 * i);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
        }
        float amax = hmax8(m);
        float d = amax / 16383.0f, id = d != 0.0f ? 16383.0f / amax : 0.0f;
        __m256i q[4], sum = _mm256_setzero_si256();
        for (int i = 0; i < 4; i++) {
            q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], _mm256_set1_ps(id)));
            q[i] = _mm256_min_epi32(_mm256_max_epi32(q[i], qmin), qmax);
            sum = _mm256_add_epi32(sum, q[i]);
        }
        /* packs works per 128-bit lane: put the quarters back in order */
        b[s][0] = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
        b[s][1] = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        p->scale[8 * h + s] = d;
        p->sum[8 * h + s] = d * (float)_mm_cvtsi128_si32(s4);
    }
    store_half_panel(p, h, b);
}

static void quantize(const float *x, int64_t n, void *dst)
{
    kern_wide_quantize_by8(quantize8, x, n, dst);
}

void kern_fill_wide_avx2(kern_ops *ops)
{
    ops->gemm16 = gemm16;
    ops->wide_expand = expand;
    ops->wide_quantize = quantize;
}
