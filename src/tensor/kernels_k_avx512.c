/* kernels_k_avx512.c — AVX-512 kernels for the K-quants Q4_K, Q5_K, Q6_K
 * (activations Q8_K: 256 int8 values, one F32 scale, sums of each 16).
 *
 * A super-block of 256 weights is unpacked into four ZMM registers of 64
 * unsigned bytes in element order (Q4_K: low nibbles of a 32-byte chunk =
 * sub-block 2c, high nibbles = 2c+1; Q5_K adds the fifth bit from qh with a
 * byte mask; Q6_K combines the low nibbles of ql with two bits of qh).
 * Then, per activation row, per register:
 *     p = vpmaddubsw(q, a)     32 int16 lanes, each the sum of 2 products
 *                              (<= 2 * 63 * 127, no saturation)
 *     s = vpdpwssd(s, p, sc)   multiply by the sub-block scale (int16 lanes
 *                              of sc repeat each scale over its sub-block)
 *                              and add pairs into 16 int32 lanes
 * so the per-sub-block scales are applied in integers, exactly, and only one
 * float conversion per super-block and row remains: acc += s * (d_w * d_a).
 * The Q4_K/Q5_K "- dmin * m[j]" term uses the activation's bsums (one
 * vpmaddwd of bsums with the mins repeated twice); Q6_K's "- 32" offset is
 * folded into the same integer sum as sum_k sc[k] * (-32) * bsums[k] (one
 * more vpdpwssd), exactly as kernels_scalar.c writes it.
 *
 * A tile is 1 row x V vectors (V <= 8): the unpacked super-block (4 + 4
 * registers with the scale vectors) stays in registers for all V rows of
 * activations, which are plain 64-byte loads.
 *
 * Two-level activations (the default 16-bit mode, matmul2) have their own
 * form here, the "pair" (block_k2 below), and their own kernels: see the
 * second half of this file.
 */
#include <immintrin.h>

#include "tensor/kernels_internal.h"

/* Index vectors for vpermw: chunk c of Q4_K/Q5_K uses scale 2c for its first
 * 16 int16 lanes and 2c+1 for the last 16. */
static inline __m512i k4_scale_idx(int c)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)(2 * c))),
                              _mm256_set1_epi16((short)(2 * c + 1)), 1);
}

/* Q6_K chunk c (64 weights = 4 sub-blocks of 16): lanes 8k..8k+7 use scale 4c+k. */
static inline __m512i k6_scale_idx(int c)
{
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16((short)(4 * c + 1)), _mm_set1_epi16((short)(4 * c)))),
        _mm256_set_m128i(_mm_set1_epi16((short)(4 * c + 3)), _mm_set1_epi16((short)(4 * c + 2))), 1);
}

typedef struct {
    __m512i q[4];   /* 256 unsigned quants, 64 per register, element order */
    __m512i sc[4];  /* int16 scale per lane of vpmaddubsw's output */
    __m512i corr;   /* Q6_K: -32 * scales as int16 (zero-extended ymm); Q4_K/Q5_K: mins repeated twice */
    __m512 d;       /* the super-block scale in every lane */
    __m256 ndmin;   /* -dmin in every lane (Q4_K/Q5_K) */
} wsuper;

/* 32 packed bytes -> [low nibbles | high nibbles] as 64 bytes. */
static inline __m512i nibbles32(const uint8_t *p)
{
    __m512i x = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(x, shifts), _mm512_set1_epi8(0x0F));
}

KERN_INLINE void load_wsuper(dtype t, const uint8_t *wb, wsuper *s)
{
    if (t == DT_Q6_K) {
        const block_q6_k *b = (const block_q6_k *)wb;
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512(b->ql + 64 * h);
            __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
            /* [qh | qh >> 2]: bits 0-1 feed elements 0-31, bits 2-3 elements 32-63;
             * bits 4-5 / 6-7 the next 64 (the 16-bit shifts spill bits into
             * neighbour bytes only where the masks below discard them). */
            __m512i hz = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
            s->q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(hz, 4), m30));
            s->q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(hz, m30));
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
        __m512i scz = _mm512_castsi256_si512(sc16);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            s->sc[c] = _mm512_permutexvar_epi16(k6_scale_idx(c), scz);
        s->corr = _mm512_zextsi256_si512(_mm256_mullo_epi16(sc16, _mm256_set1_epi16(-32)));
        s->d = _mm512_set1_ps(_cvtsh_ss(b->d));
        s->ndmin = _mm256_setzero_ps();
        return;
    }
    /* Q4_K and Q5_K share the header (d, dmin, scales) before their quants */
    const block_q4_k *b4 = (const block_q4_k *)wb;
    const block_q5_k *b5 = (const block_q5_k *)wb;
    const uint8_t *qs = t == DT_Q4_K ? b4->qs : b5->qs;
    uint64_t sc64, m64;
    kern_k_scales64(b4->scales, &sc64, &m64);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++)
        s->q[c] = nibbles32(qs + 32 * c);
    if (t == DT_Q5_K) {
        __m512i hz = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)b5->qh));
        /* chunk c: bit 2c of qh[l] is the fifth bit of sub-block 2c (bytes
         * 0-31), bit 2c+1 that of sub-block 2c+1 (bytes 32-63) */
        __m512i sel = _mm512_inserti64x4(_mm512_set1_epi8(1), _mm256_set1_epi8(2), 1);
        const __m512i sixteen = _mm512_set1_epi8(16);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            __mmask64 hb = _mm512_test_epi8_mask(hz, sel);
            s->q[c] = _mm512_mask_add_epi8(s->q[c], hb, s->q[c], sixteen);
            sel = _mm512_slli_epi16(sel, 2); /* bytes stay below 256: 1,2 -> 4,8 -> 16,32 -> 64,128 */
        }
    }
    __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc64)));
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++)
        s->sc[c] = _mm512_permutexvar_epi16(k4_scale_idx(c), sc16);
    __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m64));
    s->corr = _mm512_zextsi256_si512(_mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16)));
    s->d = _mm512_set1_ps(_cvtsh_ss(b4->d));
    s->ndmin = _mm256_set1_ps(-_cvtsh_ss(b4->dmin));
}

/* One super-block of weights times one Q8_K activation block: acc gets the
 * scaled quant products, accm (8 lanes) the Q4_K/Q5_K mins term. The mins
 * use 256-bit vectors: on cores that split 512-bit work in two halves
 * (AMD Zen 4) that is half the cost, and 8 lanes are all there is. */
KERN_INLINE void super_dot(dtype t, const wsuper *s, const block_q8_k *ab, __m512 *acc, __m256 *accm)
{
    __m256i bsums = _mm256_loadu_si256((const __m256i *)ab->bsums);
    __m512i isum = t == DT_Q6_K ? _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(bsums), s->corr)
                                : _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512i p = _mm512_maddubs_epi16(s->q[c], _mm512_loadu_si512(ab->qs + 64 * c));
        isum = _mm512_dpwssd_epi32(isum, p, s->sc[c]);
    }
    /* vector multiplies with the activation's scale broadcast from memory:
     * no scalar-to-vector moves on the way */
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(s->d, _mm512_set1_ps(ab->d)), *acc);
    if (t != DT_Q6_K) {
        /* - dmin * sum_j m[j] * (bsums[2j] + bsums[2j+1]) */
        __m256i mins = _mm256_madd_epi16(bsums, _mm512_castsi512_si256(s->corr));
        *accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_mul_ps(s->ndmin, _mm256_set1_ps(ab->d)), *accm);
    }
}

/* ======================================================================== */
/* Two-level activations: the pair form                                      */
/* ======================================================================== */

/* In the default 16-bit mode each block of 256 activations is stored as two
 * 8-bit levels with steps in a fixed ratio:
 *     s = max|x| / 127,  hi = round(x / s),  lo = round((x - s * hi) / (s / 256))
 * so x ~ (256 * hi + lo) * (s / 256) to within s / 512, and 256 * hi + lo is
 * one integer of about 16 bits. A kernel can therefore add the two levels'
 * integer sums (shift the hi sum left by 8, let vpdpbusd add the lo products
 * on top) before any float work: per 64 weights two vpdpbusd, where the
 * one-level kernel above needs a vpmaddubsw and a vpdpwssd per level.
 *
 * The bytes are stored in "pair order", the order in which a Q4_K
 * super-block comes out of its 128 bytes of nibbles with two 128-bit-lane
 * shuffles (load_wpair): group g of 16 elements (elements 16g..16g+15) is at
 * byte k2_pos(g), so that register r (bytes 64r..64r+63) holds in its
 * 128-bit lane k the group 4k + 2N + P, r = N + 2P. In Q4_K/Q5_K terms lane
 * k of registers 0 and 2 belongs to sub-block 2k, of registers 1 and 3 to
 * sub-block 2k + 1, so registers 0+2 and 1+3 share an accumulator whose
 * 32-bit lanes each keep one scale. Q6_K (sub-blocks of 16) unpacks into the
 * same order and keeps one accumulator per register.
 *
 * nsum[g] = -sum of 256 * hi + lo over group g (element order): the Q4_K/Q5_K
 * "- dmin * m" and the Q6_K "- 32" terms are one multiply with it.
 * Bounds: a register's hi sum per 32-bit lane is at most 4 * 63 * 127 (Q6_K),
 * two registers' sums times 256 plus the lo sums stay below 2^24, so the
 * conversion to float is exact. */
typedef struct {
    int8_t hi[QK_K]; /* pair order */
    int8_t lo[QK_K];
    float nsum[16];
    float d;         /* s / 256: the value of one unit of 256 * hi + lo */
    float pad;
} block_k2;
_Static_assert(sizeof(block_k2) == 2 * sizeof(block_q8_k), "a pair fills the two Q8_K rows it replaces");

static inline int k2_pos(int g)
{
    return 64 * (((g >> 1) & 1) + 2 * (g & 1)) + 16 * (g >> 2);
}

static void quantize2_q8_k(const float *x, void *vy, int64_t n)
{
    block_k2 *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        __m512 m = _mm512_setzero_ps();
        for (int i = 0; i < QK_K; i += 16)
            m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
        float s = _mm512_reduce_max_ps(m) / 127.0f;
        const __m512 vs = _mm512_set1_ps(s), is = _mm512_set1_ps(s != 0.0f ? 1.0f / s : 0.0f);
        const __m512 is256 = _mm512_set1_ps(s != 0.0f ? 256.0f / s : 0.0f);
        y[b].d = s / 256.0f;
        y[b].pad = 0.0f;
        for (int g = 0; g < 16; g++) {
            __m512 v = _mm512_loadu_ps(x + 16 * g);
            /* MXCSR default rounding: nearest even */
            __m512i h = _mm512_cvtps_epi32(_mm512_mul_ps(v, is));
            h = _mm512_min_epi32(_mm512_max_epi32(h, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
            __m512 resid = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(h), vs, v);
            __m512i l = _mm512_cvtps_epi32(_mm512_mul_ps(resid, is256));
            /* |resid| <= s/2 gives lo in -128..128; 128 does not fit a byte,
             * so it becomes hi + 1 and lo = -128, the same value (hi < 127
             * there: hi = 127 means x >= 127s - s/2... = amax, resid <= 0) */
            __mmask16 over = _mm512_cmpgt_epi32_mask(l, _mm512_set1_epi32(127));
            h = _mm512_mask_add_epi32(h, over, h, _mm512_set1_epi32(1));
            l = _mm512_mask_sub_epi32(l, over, l, _mm512_set1_epi32(256));
            h = _mm512_min_epi32(h, _mm512_set1_epi32(127));
            l = _mm512_min_epi32(_mm512_max_epi32(l, _mm512_set1_epi32(-128)), _mm512_set1_epi32(127));
            _mm_storeu_si128((__m128i *)(y[b].hi + k2_pos(g)), _mm512_cvtsepi32_epi8(h));
            _mm_storeu_si128((__m128i *)(y[b].lo + k2_pos(g)), _mm512_cvtsepi32_epi8(l));
            y[b].nsum[g] = -(float)_mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(h, 8), l));
        }
    }
}

static void dequantize2_q8_k(const void *src, float *y, int64_t n)
{
    const block_k2 *a = src;
    for (int64_t b = 0; b < n / QK_K; b++)
        for (int g = 0; g < 16; g++)
            for (int i = 0; i < 16; i++) {
                int p = k2_pos(g) + i;
                y[QK_K * b + 16 * g + i] = (float)(256 * a[b].hi[p] + a[b].lo[p]) * a[b].d;
            }
}

typedef struct {
    __m512i q[4];  /* the 256 quants in pair order */
    __m512 sc[4];  /* per accumulator (2 for Q4_K/Q5_K, 4 for Q6_K): d * scale of each 32-bit lane */
    __m512 corr;   /* times nsum: Q4_K/Q5_K dmin * m[g / 2]; Q6_K 32 * d * scales[g] */
} wpair;

/* Q6_K: per-dword rotate counts (vprold) that bring, in 128-bit lane k, the
 * low nibble of ql (k even) or the high one (k odd) to bits 0-3, and the two
 * qh bits 4 (k & 1) + 2N to bits 4-5 of every byte (what the rotation moves
 * across byte borders is masked off). */
static inline __m512i k6_ql_rot(void)
{
    return _mm512_set_epi32(28, 28, 28, 28, 0, 0, 0, 0, 28, 28, 28, 28, 0, 0, 0, 0);
}

static inline __m512i k6_qh_rot(int N)
{
    const int even = N ? 2 : 4, odd = N ? 30 : 0;
    return _mm512_set_epi32(odd, odd, odd, odd, even, even, even, even, odd, odd, odd, odd, even, even, even, even);
}

KERN_INLINE void load_wpair(dtype t, const uint8_t *wb, wpair *s)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    if (t == DT_Q6_K) {
        const block_q6_k *b = (const block_q6_k *)wb;
        __m512i ql0 = _mm512_loadu_si512(b->ql), ql1 = _mm512_loadu_si512(b->ql + 64);
        __m512i qh = _mm512_loadu_si512(b->qh);
        /* register r = N + 2P, lane k: ql[64 (k >> 1) + 32N + 16P ..] and
         * qh[32 (k >> 1) + 16P ..], bits 2 (2 (k & 1) + N) */
        __m512i qhp[2] = { _mm512_shuffle_i64x2(qh, qh, 0xA0), _mm512_shuffle_i64x2(qh, qh, 0xF5) };
        const __m512i m30 = _mm512_set1_epi8(0x30);
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            int N = r & 1, P = r >> 1;
            __m512i qls;
            switch (2 * N + P) { /* the immediate must be a constant */
            case 0: qls = _mm512_shuffle_i64x2(ql0, ql1, 0x00); break;
            case 1: qls = _mm512_shuffle_i64x2(ql0, ql1, 0x55); break;
            case 2: qls = _mm512_shuffle_i64x2(ql0, ql1, 0xAA); break;
            default: qls = _mm512_shuffle_i64x2(ql0, ql1, 0xFF); break;
            }
            __m512i lo4 = _mm512_rolv_epi32(qls, k6_ql_rot());
            __m512i hi2 = _mm512_and_si512(_mm512_rolv_epi32(qhp[P], k6_qh_rot(N)), m30);
            s->q[r] = _mm512_ternarylogic_epi32(lo4, m4, hi2, 0xEA); /* (lo4 & m4) | hi2 */
        }
        __m512 scf = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b->scales))),
                                   _mm512_set1_ps(_cvtsh_ss(b->d)));
        s->corr = _mm512_mul_ps(scf, _mm512_set1_ps(32.0f));
        /* register r = N + 2P, lane k: scale 4k + 2N + P, i.e. element
         * 2N + P of the 128-bit lane k of scf (an in-lane shuffle) */
        s->sc[0] = _mm512_permute_ps(scf, 0x00);
        s->sc[1] = _mm512_permute_ps(scf, 0xAA);
        s->sc[2] = _mm512_permute_ps(scf, 0x55);
        s->sc[3] = _mm512_permute_ps(scf, 0xFF);
        return;
    }
    const block_q4_k *b4 = (const block_q4_k *)wb;
    const block_q5_k *b5 = (const block_q5_k *)wb;
    const uint8_t *qs = t == DT_Q4_K ? b4->qs : b5->qs;
    __m512i z0 = _mm512_loadu_si512(qs), z1 = _mm512_loadu_si512(qs + 64);
    __m512i p0 = _mm512_shuffle_i64x2(z0, z1, 0x88); /* bytes 0-15 of each 32-byte chunk */
    __m512i p1 = _mm512_shuffle_i64x2(z0, z1, 0xDD); /* bytes 16-31 */
    s->q[0] = _mm512_and_si512(p0, m4);
    s->q[1] = _mm512_and_si512(_mm512_srli_epi16(p0, 4), m4);
    s->q[2] = _mm512_and_si512(p1, m4);
    s->q[3] = _mm512_and_si512(_mm512_srli_epi16(p1, 4), m4);
    if (t == DT_Q5_K) {
        /* register r = N + 2P, lane k: the fifth bits are bit 2k + N of qh[16P ..] */
#pragma GCC unroll 2
        for (int P = 0; P < 2; P++) {
            __m512i hb = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(b5->qh + 16 * P)));
#pragma GCC unroll 2
            for (int N = 0; N < 2; N++) {
                const uint32_t bit0 = 0x01010101u << N; /* lane k tests bit 2k + N of every byte */
                const int l0 = (int)bit0, l1 = (int)(bit0 << 2), l2 = (int)(bit0 << 4), l3 = (int)(bit0 << 6);
                __m512i sel = _mm512_set_epi32(l3, l3, l3, l3, l2, l2, l2, l2, l1, l1, l1, l1, l0, l0, l0, l0);
                __mmask64 bit = _mm512_test_epi8_mask(hb, sel);
                s->q[N + 2 * P] = _mm512_mask_add_epi8(s->q[N + 2 * P], bit, s->q[N + 2 * P], _mm512_set1_epi8(16));
            }
        }
    }
    uint64_t sc64, m64;
    kern_k_scales64(b4->scales, &sc64, &m64);
    /* 128-bit lane k of fs: [d sc[2k], d sc[2k+1], dmin m[2k], dmin m[2k+1]] */
    __m128i scm = _mm_unpacklo_epi16(_mm_cvtsi64_si128((long long)sc64), _mm_cvtsi64_si128((long long)m64));
    uint32_t dm; /* d and dmin */
    memcpy(&dm, &b4->d, sizeof dm);
    __m128 d2 = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dm));
    __m512 fs = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(scm)),
                              _mm512_broadcast_f32x4(_mm_unpacklo_ps(d2, d2)));
    s->sc[0] = _mm512_permute_ps(fs, 0x00); /* lane k: sub-block 2k */
    s->sc[1] = _mm512_permute_ps(fs, 0x55); /* 2k + 1 */
    s->corr = _mm512_permute_ps(fs, 0xFA);  /* element 4k + i: m[2k + i / 2] */
}

/* One unpacked super-block times one pair: acc += d_a * (corr . nsum +
 * sum over accumulators of sc . float(256 * hi sums + lo sums)). */
KERN_INLINE void pair_dot(dtype t, const wpair *s, const block_k2 *a, __m512 *acc)
{
    const int G = t == DT_Q6_K ? 4 : 2; /* accumulators; Q4_K/Q5_K: registers g and g + 2 */
    __m512 f = _mm512_mul_ps(s->corr, _mm512_loadu_ps(a->nsum));
#pragma GCC unroll 4
    for (int g = 0; g < G; g++) {
        __m512i x = _mm512_dpbusd_epi32(_mm512_setzero_si512(), s->q[g], _mm512_loadu_si512(a->hi + 64 * g));
        if (G == 2)
            x = _mm512_dpbusd_epi32(x, s->q[g + 2], _mm512_loadu_si512(a->hi + 64 * (g + 2)));
        x = _mm512_slli_epi32(x, 8);
        x = _mm512_dpbusd_epi32(x, s->q[g], _mm512_loadu_si512(a->lo + 64 * g));
        if (G == 2)
            x = _mm512_dpbusd_epi32(x, s->q[g + 2], _mm512_loadu_si512(a->lo + 64 * (g + 2)));
        f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(x), s->sc[g], f);
    }
    *acc = _mm512_fmadd_ps(f, _mm512_set1_ps(a->d), *acc);
}

/* ======================================================================== */
/* Tiles                                                                     */
/* ======================================================================== */

/* One super-block (at wb, index b) of a weight row, unpacked once, times the
 * tile's activation rows: P = 0, V rows of Q8_K; P = 1, V / 2 pairs (pair p
 * starting at row 2p), output p. */
KERN_INLINE void k_step(dtype t, int P, int V, const uint8_t *wb, const uint8_t *a, size_t a_row_bytes, int64_t b,
                        __m512 *acc, __m256 *accm)
{
    if (P) {
        wpair s;
        load_wpair(t, wb, &s);
#pragma GCC unroll 4
        for (int p = 0; p < V / 2; p++)
            pair_dot(t, &s, (const block_k2 *)(a + (size_t)(2 * p) * a_row_bytes) + b, &acc[p]);
        return;
    }
    wsuper s;
    load_wsuper(t, wb, &s);
#pragma GCC unroll 8
    for (int v = 0; v < V; v++)
        super_dot(t, &s, (const block_q8_k *)(a + (size_t)v * a_row_bytes) + b, &acc[v], &accm[v]);
}

/* A tile: 1 row x V activation rows (P = 1: two-level pairs, kern_matmul2_fn). */
KERN_INLINE void k_tile_p(dtype t, int P, int V, int64_t n, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                          const uint8_t *a, size_t a_row_bytes, float *y, int64_t y_stride)
{
    const int NO = P ? V / 2 : V;   /* outputs per row */
    /* Two accumulators (even and odd super-blocks) hide the FMA latency in
     * decode. The two-level pairs always use two, so a vector's sum is added
     * in the same order whatever else shares its tile: a sequence decoded
     * beside others gets exactly the logits it gets alone (4 pairs x 2 = 8
     * registers); 8-bit tiles of several vectors keep one each (8 x 2 would
     * not fit beside the unpacked weights). */
    const int NA = P || NO == 1 ? 2 : 1;
    const int64_t nb = n / QK_K;
    const size_t wbb = t == DT_Q4_K ? sizeof(block_q4_k) : t == DT_Q5_K ? sizeof(block_q5_k) : sizeof(block_q6_k);
    for (int64_t r = 0; r < n_rows; r++) {
        const uint8_t *wr = w + (size_t)r * w_row_bytes;
        __m512 acc[2][8];
        __m256 accm[8];
#pragma GCC unroll 8
        for (int o = 0; o < NO; o++) {
            acc[0][o] = acc[1][o] = _mm512_setzero_ps();
            accm[o] = _mm256_setzero_ps();
        }
        /* two super-blocks per step so the accumulator index is a constant
         * (a runtime index would keep the accumulators in memory) */
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
#pragma GCC unroll 2
            for (int k = 0; k < 2; k++) {
                kern_prefetch(wr + (size_t)(b + k) * wbb, wbb);
                k_step(t, P, V, wr + (size_t)(b + k) * wbb, a, a_row_bytes, b + k, acc[k % NA], accm);
            }
        }
        if (b < nb)
            k_step(t, P, V, wr + (size_t)b * wbb, a, a_row_bytes, b, acc[0], accm);
#pragma GCC unroll 8
        for (int o = 0; o < NO; o++) {
            __m512 sum = NA == 2 ? _mm512_add_ps(acc[0][o], acc[1][o]) : acc[0][o];
            if (!P && t != DT_Q6_K)
                sum = _mm512_add_ps(sum, _mm512_zextps256_ps512(accm[o]));
            y[o * y_stride + r] = _mm512_reduce_add_ps(sum);
        }
    }
}

#define k_tile(T, V, ...) k_tile_p(T, 0, V, __VA_ARGS__)
#define k2_tile(T, V, ...) k_tile_p(T, 1, V, __VA_ARGS__)

KERN_DEFINE_MATMULS(q4_k, k_tile, k2_tile, DT_Q4_K, 8)
KERN_DEFINE_MATMULS(q5_k, k_tile, k2_tile, DT_Q5_K, 8)
KERN_DEFINE_MATMULS(q6_k, k_tile, k2_tile, DT_Q6_K, 8)

void kern_fill_k_avx512(kern_ops *ops)
{
    ops->matmul[DT_Q4_K] = matmul_q4_k;
    ops->matmul[DT_Q5_K] = matmul_q5_k;
    ops->matmul[DT_Q6_K] = matmul_q6_k;
    ops->matmul2[DT_Q4_K] = matmul2_q4_k;
    ops->matmul2[DT_Q5_K] = matmul2_q5_k;
    ops->matmul2[DT_Q6_K] = matmul2_q6_k;
    ops->quantize2[DT_Q8_K] = quantize2_q8_k;
    ops->dequantize2[DT_Q8_K] = dequantize2_q8_k;
}
