/* kernels_q_avx512.c — AVX-512 VNNI kernels for the 32-element block formats
 * Q8_0, Q4_0, Q5_0 (activations Q8_0) and Q4_1, Q5_1 (activations Q8_1).
 *
 * One step handles a "unit" of two blocks = 64 weights = one ZMM register:
 * bytes 0-31 hold block b, bytes 32-63 block b+1, each in element order.
 *
 * The multiply is vpdpbusd (VNNI): 64 unsigned x signed byte products,
 * summed four at a time into 16 int32 lanes (lanes 0-7 = block b,
 * lanes 8-15 = block b+1). Unsigned formats (Q4_1, Q5_1: q in 0..31) go in
 * directly. Signed weights w (Q8_0: -128..127; Q4_0: q-8; Q5_0: q-16) use
 * the sign trick: |w| is the unsigned operand and the activation's sign is
 * flipped where w < 0 (one masked subtract), since |w| * (sign(w) * a) = w * a.
 * |a| <= 127, so the flip never overflows. Every product is exact, so each
 * block's integer sum equals the scalar one.
 *
 * Scales: per unit, d_w of the two blocks sits in a vector [d0 x8 | d1 x8];
 * the activation's two F16 scales are converted together and spread the
 * same way, so one multiply and one FMA scale a whole unit. For Q4_1/Q5_1
 * the "+ m * s" term is one 4-lane FMA per unit ([d0 s0 d1 s1] * [0 m0 0 m1]).
 *
 * A tile is 1 row x V vectors (V <= 8): weight unpacking (nibbles, high
 * bits, abs, sign mask, scales) happens once per unit and row and is reused
 * for all V activation rows. An odd final block is a unit whose upper half
 * is zero on both sides.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

typedef struct {
    __m512i u;     /* unsigned operand: |w| (signed formats) or q (offset form, see below) */
    __mmask64 neg; /* bytes whose weight is negative (sign form only) */
    __m512 dw;     /* weight scales: [d0 x8 | d1 x8] (not used by the offset form) */
    uint32_t dw16; /* the two F16 weight scales, d0 | d1 << 16 */
    __m128 m;      /* Q4_1/Q5_1: [0, m0, 0, m1] */
} wunit;

/* Q4_0 and Q5_0 have two ways to multiply their signed weights q - off:
 *   sign form:   |w| x (a with its sign flipped where w < 0): 3 weight-side
 *                operations (shared by all V vectors) + 2 per vector;
 *   offset form: q x a - off x a, two vpdpbusd and a subtract per vector and
 *                nothing on the weight side.
 * With one vector (decode) the offset form is cheaper, with several the sign
 * form. The integer results are identical. */
static inline bool offset_form(dtype t, int V)
{
    return V == 1 && (t == DT_Q4_0 || t == DT_Q5_0);
}

static inline bool has_min(dtype t)
{
    return t == DT_Q4_1 || t == DT_Q5_1;
}

static inline size_t wblock_bytes(dtype t)
{
    switch (t) {
    case DT_Q8_0: return sizeof(block_q8_0);
    case DT_Q4_0: return sizeof(block_q4_0);
    case DT_Q5_0: return sizeof(block_q5_0);
    case DT_Q4_1: return sizeof(block_q4_1);
    default: return sizeof(block_q5_1);
    }
}

/* Two F16 values -> [f0 x8 | f1 x8]. */
static inline __m512 spread2(uint32_t h0, uint32_t h1)
{
    __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)(h0 | h1 << 16)));
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f));
}

/* The 16 packed nibble bytes of block 0 (and 1) -> 32 (64) bytes in element
 * order: [lo nibbles of qs0 | hi nibbles of qs0 | lo of qs1 | hi of qs1]. */
static inline __m512i nibbles(const uint8_t *qs0, const uint8_t *qs1, int nb)
{
    __m128i x0 = _mm_loadu_si128((const __m128i *)qs0);
    __m128i x1 = nb == 2 ? _mm_loadu_si128((const __m128i *)qs1) : _mm_setzero_si128();
    __m512i xx = _mm512_castsi256_si512(_mm256_set_m128i(x1, x0));
    xx = _mm512_permutexvar_epi64(_mm512_set_epi64(3, 2, 3, 2, 1, 0, 1, 0), xx); /* [x0 x0 x1 x1] */
    /* Shift the second copy of each block right by 4 (16-bit lanes: the
     * bits that cross into a neighbour byte are masked off below). */
    const __m512i shifts = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0,
                                            0x0004000400040004, 0x0004000400040004, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi16(xx, shifts), _mm512_set1_epi8(0x0F));
}

static inline uint32_t load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Unpacks a unit of nb (1 or 2) weight blocks starting at wb (for a tile of
 * V vectors, which decides the form, see offset_form). */
KERN_INLINE wunit load_wunit(dtype t, int V, const uint8_t *wb, int nb)
{
    const size_t bb = wblock_bytes(t);
    const uint8_t *wb1 = wb + bb;
    wunit u;
    __m512i w;
    u.m = _mm_setzero_ps();
    u.neg = 0;
    if (t == DT_Q8_0) {
        const block_q8_0 *b0 = (const block_q8_0 *)wb, *b1 = (const block_q8_0 *)wb1;
        __m256i lo = _mm256_loadu_si256((const __m256i *)b0->qs);
        w = nb == 2 ? _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256((const __m256i *)b1->qs), 1)
                    : _mm512_zextsi256_si512(lo);
        u.dw = spread2(b0->d, nb == 2 ? b1->d : 0);
    } else if (t == DT_Q4_0) {
        const block_q4_0 *b0 = (const block_q4_0 *)wb, *b1 = (const block_q4_0 *)wb1;
        w = nibbles(b0->qs, b1->qs, nb);
        u.dw16 = (uint32_t)b0->d | (uint32_t)(nb == 2 ? b1->d : 0) << 16;
        if (offset_form(t, V)) {
            u.u = w;
            return u;
        }
        w = _mm512_sub_epi8(w, _mm512_set1_epi8(8));
        u.dw = spread2(b0->d, nb == 2 ? b1->d : 0);
    } else if (t == DT_Q5_0) {
        const block_q5_0 *b0 = (const block_q5_0 *)wb, *b1 = (const block_q5_0 *)wb1;
        uint64_t hb = load_u32(b0->qh) | (nb == 2 ? (uint64_t)load_u32(b1->qh) << 32 : 0);
        w = nibbles(b0->qs, b1->qs, nb);
        w = _mm512_mask_add_epi8(w, _cvtu64_mask64(hb), w, _mm512_set1_epi8(16));
        u.dw16 = (uint32_t)b0->d | (uint32_t)(nb == 2 ? b1->d : 0) << 16;
        if (offset_form(t, V)) {
            u.u = w;
            return u;
        }
        w = _mm512_sub_epi8(w, _mm512_set1_epi8(16));
        u.dw = spread2(b0->d, nb == 2 ? b1->d : 0);
    } else if (t == DT_Q4_1) {
        const block_q4_1 *b0 = (const block_q4_1 *)wb, *b1 = (const block_q4_1 *)wb1;
        u.u = nibbles(b0->qs, b1->qs, nb);
        u.dw = spread2(b0->d, nb == 2 ? b1->d : 0);
        u.m = _mm_cvtph_ps(_mm_set_epi16(0, 0, 0, 0, (short)(nb == 2 ? b1->m : 0), 0, (short)b0->m, 0));
        return u;
    } else {
        const block_q5_1 *b0 = (const block_q5_1 *)wb, *b1 = (const block_q5_1 *)wb1;
        uint64_t hb = load_u32(b0->qh) | (nb == 2 ? (uint64_t)load_u32(b1->qh) << 32 : 0);
        __m512i q = nibbles(b0->qs, b1->qs, nb);
        u.u = _mm512_mask_add_epi8(q, _cvtu64_mask64(hb), q, _mm512_set1_epi8(16));
        u.dw = spread2(b0->d, nb == 2 ? b1->d : 0);
        u.m = _mm_cvtph_ps(_mm_set_epi16(0, 0, 0, 0, (short)(nb == 2 ? b1->m : 0), 0, (short)b0->m, 0));
        return u;
    }
    u.neg = _mm512_movepi8_mask(w);
    u.u = _mm512_abs_epi8(w);
    return u;
}

/* One unit of weights times one activation row: acc += scaled block sums;
 * accm += the "+ m * s" terms (Q4_1/Q5_1). ab points at the unit's first
 * activation block (block_q8_0 or block_q8_1, same qs offset rule). */
KERN_INLINE void unit_dot(dtype t, int V, const wunit *u, const uint8_t *ab, int nb, __m512 *acc, __m128 *accm)
{
    const bool q81 = has_min(t);
    const size_t abb = q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t qoff = q81 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    __m256i lo = _mm256_loadu_si256((const __m256i *)(ab + qoff));
    __m512i av = nb == 2 ? _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                                              _mm256_loadu_si256((const __m256i *)(ab + abb + qoff)), 1)
                         : _mm512_zextsi256_si512(lo);
    if (offset_form(t, V)) {
        const __m512i off = _mm512_set1_epi8(t == DT_Q4_0 ? 8 : 16);
        __m512i s = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), u->u, av),
                                     _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, av));
        /* both scale pairs in one conversion: [dw0 dw1 da0 da1] -> [dd0 dd1 ..] */
        uint16_t h0, h1 = 0;
        memcpy(&h0, ab, 2);
        if (nb == 2)
            memcpy(&h1, ab + abb, 2);
        uint64_t h = (uint64_t)u->dw16 | (uint64_t)h0 << 32 | (uint64_t)h1 << 48;
        __m128 f = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h));
        __m128 dd = _mm_mul_ps(f, _mm_movehl_ps(f, f));
        const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
        *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(dd)), *acc);
        return;
    }
    if (!q81)
        av = _mm512_mask_sub_epi8(av, u->neg, _mm512_setzero_si512(), av);
    __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u->u, av);
    __m512 da;
    if (q81) {
        /* [d0 s0 d1 s1] from the two 4-byte headers */
        uint64_t h = load_u32(ab) | (nb == 2 ? (uint64_t)load_u32(ab + abb) << 32 : 0);
        __m128 ds = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h));
        const __m512i idx = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
        da = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(ds));
        *accm = _mm_fmadd_ps(ds, u->m, *accm);
    } else {
        uint16_t h0, h1 = 0;
        memcpy(&h0, ab, 2);
        if (nb == 2)
            memcpy(&h1, ab + abb, 2);
        da = spread2(h0, h1);
    }
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(u->dw, da), *acc);
}

/* ======================================================================== */
/* Two-level activations: the pair form for Q8_0 activations                 */
/* ======================================================================== */

/* The pair form (layout and bounds in kernels_internal.h, above
 * kern_dequantize2_q8_0_pair). */
static void quantize2_q8_0(const float *x, void *vy, int64_t n)
{
    uint8_t *y = vy;
    const int64_t nb = n / QK8_0;
    for (int64_t u = 0; u < nb; u += 2, x += 2 * QK8_0) {
        int nbu = nb - u >= 2 ? 2 : 1;
        int8_t *hi = (int8_t *)y, *lo = hi + 32 * nbu;
        float d[2];
        for (int k = 0; k < nbu; k++) {
            __m512 v0 = _mm512_loadu_ps(x + 32 * k), v1 = _mm512_loadu_ps(x + 32 * k + 16);
            float s = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1))) / 127.0f;
            const __m512 vs = _mm512_set1_ps(s), is = _mm512_set1_ps(s != 0.0f ? 1.0f / s : 0.0f);
            const __m512 isr = _mm512_set1_ps(s != 0.0f ? (float)KERN_Q8_0_PAIR_RATIO / s : 0.0f);
            const __m512i lim = _mm512_set1_epi32(127), nlim = _mm512_set1_epi32(-127);
            __m512 v[2] = { v0, v1 };
            for (int i = 0; i < 2; i++) {
                /* MXCSR default rounding: nearest even */
                __m512i h = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v[i], is)), nlim), lim);
                __m512 resid = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(h), vs, v[i]);
                __m512i l = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(resid, isr)), nlim), lim);
                _mm_storeu_si128((__m128i *)(hi + 32 * k + 16 * i), _mm512_cvtsepi32_epi8(h));
                _mm_storeu_si128((__m128i *)(lo + 32 * k + 16 * i), _mm512_cvtsepi32_epi8(l));
            }
            d[k] = s / (float)KERN_Q8_0_PAIR_RATIO;
        }
        memcpy(lo + 32 * nbu, d, sizeof(float) * (size_t)nbu);
        y += 68 * nbu;
    }
}

/* One unit (sign form) times one pair: acc += d_w * d_a * (255 S_hi + S_lo). */
KERN_INLINE void unit_dot_pair(const wunit *u, const uint8_t *ap, int nb, __m512 *acc)
{
    __m512i h, l;
    float da[2] = { 0.0f, 0.0f };
    if (nb == 2) {
        h = _mm512_loadu_si512(ap);
        l = _mm512_loadu_si512(ap + 64);
        memcpy(da, ap + 128, sizeof da);
    } else {
        h = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)ap));
        l = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(ap + 32)));
        memcpy(da, ap + 64, sizeof da[0]);
    }
    h = _mm512_mask_sub_epi8(h, u->neg, _mm512_setzero_si512(), h);
    l = _mm512_mask_sub_epi8(l, u->neg, _mm512_setzero_si512(), l);
    __m512i x = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u->u, h);
    x = _mm512_dpbusd_epi32(_mm512_sub_epi32(_mm512_slli_epi32(x, 8), x), u->u, l);
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 dav = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)da))));
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(x), _mm512_mul_ps(u->dw, dav), *acc);
}

/* The V activation rows (a: the tile's first row) of the unit starting at
 * block b: pairs in the pair form where the format reads Q8_0 activations
 * (P and no min term), else one row at a time (Q4_1/Q5_1 pairs: the
 * generic form's hi and lo rows). */
KERN_INLINE void unit_dots(dtype t, int P, int V, const wunit *u, const uint8_t *a, size_t a_row_bytes, int64_t b,
                           int nb, __m512 *acc, __m128 *accm)
{
    const size_t abb = has_min(t) ? sizeof(block_q8_1) : sizeof(block_q8_0);
    if (P && !has_min(t)) {
#pragma GCC unroll 8
        for (int v = 0; v + 1 < V; v += 2)
            unit_dot_pair(u, a + (size_t)v * a_row_bytes + 2 * abb * (size_t)b, nb, &acc[v]);
        return;
    }
#pragma GCC unroll 8
    for (int v = 0; v < V; v++)
        unit_dot(t, V, u, a + (size_t)v * a_row_bytes + abb * (size_t)b, nb, &acc[v], &accm[v]);
}

/* P = 1: two-level pairs (kern_matmul2_fn), rows v and v + 1 summed into
 * output v / 2 before the one reduction per row. */
KERN_INLINE void q0_tile_p(dtype t, int P, int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                           const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)
{
    const int NA = V == 1 ? 2 : 1; /* decode: two accumulators hide FMA latency */
    const int64_t nb = n / 32;
    const size_t wbb = wblock_bytes(t);
    for (int64_t r = 0; r < n_rows; r++) {
        const uint8_t *wr = w + (size_t)r * w_row_bytes;
        __m512 acc[2][8];
        __m128 accm[8];
#pragma GCC unroll 8
        for (int v = 0; v < V; v++) {
            acc[0][v] = acc[1][v] = _mm512_setzero_ps();
            accm[v] = _mm_setzero_ps();
        }
        /* two units (four blocks) per step so the accumulator index is a
         * constant (a runtime index would keep the accumulators in memory) */
        int64_t b = 0;
        for (; b + 4 <= nb; b += 4) {
#pragma GCC unroll 2
            for (int k = 0; k < 2; k++) {
                kern_prefetch(wr + (size_t)(b + 2 * k) * wbb, 2 * wbb);
                wunit u = load_wunit(t, V, wr + (size_t)(b + 2 * k) * wbb, 2);
                unit_dots(t, P, V, &u, a, a_row_bytes, b + 2 * k, 2, acc[k % NA], accm);
            }
        }
        if (b + 2 <= nb) {
            wunit u = load_wunit(t, V, wr + (size_t)b * wbb, 2);
            unit_dots(t, P, V, &u, a, a_row_bytes, b, 2, acc[0], accm);
            b += 2;
        }
        if (b < nb) {
            wunit u = load_wunit(t, V, wr + (size_t)b * wbb, 1);
            unit_dots(t, P, V, &u, a, a_row_bytes, b, 1, acc[0], accm);
        }
        if (P) {
#pragma GCC unroll 8
            for (int v = 0; v + 1 < V; v += 2) {
                float s = _mm512_reduce_add_ps(_mm512_add_ps(acc[0][v], acc[0][v + 1]));
                if (has_min(t)) {
                    __m128 m = _mm_add_ps(accm[v], accm[v + 1]);
                    s += _mm_cvtss_f32(_mm_add_ss(_mm_shuffle_ps(m, m, 1), _mm_shuffle_ps(m, m, 3)));
                }
                y[(v / 2) * y_stride + r] = s;
            }
            continue;
        }
#pragma GCC unroll 8
        for (int v = 0; v < V; v++) {
            float s = _mm512_reduce_add_ps(NA == 2 ? _mm512_add_ps(acc[0][v], acc[1][v]) : acc[0][v]);
            if (has_min(t)) {
                __m128 m = accm[v]; /* lanes 1 and 3 hold m*s sums; 0 and 2 are 0*d */
                s += _mm_cvtss_f32(_mm_add_ss(_mm_shuffle_ps(m, m, 1), _mm_shuffle_ps(m, m, 3)));
            }
            y[v * y_stride + r] = s;
        }
    }
}

#define q0_tile(T, V, ...) q0_tile_p(T, 0, V, __VA_ARGS__)
#define q2_tile(T, V, ...) q0_tile_p(T, 1, V, __VA_ARGS__)

KERN_DEFINE_MATMULS(q8_0, q0_tile, q2_tile, DT_Q8_0, 8)
KERN_DEFINE_MATMULS(q4_0, q0_tile, q2_tile, DT_Q4_0, 8)
KERN_DEFINE_MATMULS(q5_0, q0_tile, q2_tile, DT_Q5_0, 8)
KERN_DEFINE_MATMULS(q4_1, q0_tile, q2_tile, DT_Q4_1, 8)
KERN_DEFINE_MATMULS(q5_1, q0_tile, q2_tile, DT_Q5_1, 8)

void kern_fill_q_avx512(kern_ops *ops)
{
    ops->matmul[DT_Q8_0] = matmul_q8_0;
    ops->matmul[DT_Q4_0] = matmul_q4_0;
    ops->matmul[DT_Q5_0] = matmul_q5_0;
    ops->matmul[DT_Q4_1] = matmul_q4_1;
    ops->matmul[DT_Q5_1] = matmul_q5_1;
    ops->matmul2[DT_Q8_0] = matmul2_q8_0;
    ops->matmul2[DT_Q4_0] = matmul2_q4_0;
    ops->matmul2[DT_Q5_0] = matmul2_q5_0;
    ops->matmul2[DT_Q4_1] = matmul2_q4_1;
    ops->matmul2[DT_Q5_1] = matmul2_q5_1;
    ops->quantize2[DT_Q8_0] = quantize2_q8_0;
    ops->dequantize2[DT_Q8_0] = kern_dequantize2_q8_0_pair;
}
