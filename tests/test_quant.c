/* test_quant.c — F16/BF16 conversion and every quantized format on synthetic data.
 *
 * 1. f16_to_f32 / f32_to_f16: all 65536 F16 values round-trip (NaN stays a
 *    NaN), decode to the exact value of the IEEE formula, and random floats
 *    and exact halfway points round to nearest-even like a brute-force
 *    reference. The same for BF16.
 * 2. Each format, both quantizer paths, many distributions and lengths:
 *    the error of every element stays within a stated fraction of its
 *    block's largest magnitude (about one quantization step), and the
 *    searched path never loses to plain rounding.
 * 3. Edge cases: zeros, constants, outliers, tiny and large values.
 * 4. Values already on a format's grid survive quantize -> dequantize
 *    unchanged (same bytes for the reference path).
 * 5. The activation formats' side data: Q8_1's s and Q8_K's bsums.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/dtype.h"
#include "tensor/quant.h"
#include "check.h"

/* ======================================================================== */
/* Random numbers (deterministic)                                           */
/* ======================================================================== */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng_u64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_uniform(void) /* [0, 1) */
{
    return (double)(rng_u64() >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_gauss(void)
{
    double u = rng_uniform(), v = rng_uniform();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* ======================================================================== */
/* 1. F16 and BF16                                                          */
/* ======================================================================== */

/* The value of a finite non-negative F16 pattern by the IEEE formula. */
static double f16_value(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    return e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
}

/* Brute-force reference: nearest F16 to f, ties to the even pattern,
 * overflow to infinity (65520 and above, as IEEE: the halfway point between
 * 65504 and the next step 65536 rounds to the even pattern, infinity). */
static uint16_t f16_reference(float f)
{
    uint16_t sign = (f32_bits(f) >> 16) & 0x8000;
    double a = fabs((double)f);
    if (a >= 65520.0)
        return sign | 0x7c00;
    /* largest pattern lo with value <= a (patterns are monotonic) */
    int lo = 0, hi = 0x7bff;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (f16_value((uint16_t)mid) <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    double vlo = f16_value((uint16_t)lo), vhi = lo < 0x7bff ? f16_value((uint16_t)(lo + 1)) : 65536.0;
    int pick;
    if (a - vlo < vhi - a)
        pick = lo;
    else if (a - vlo > vhi - a)
        pick = lo + 1;
    else
        pick = (lo & 1) ? lo + 1 : lo;
    return (uint16_t)(sign | pick);
}

static bool f16_is_nan(uint16_t h)
{
    return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

static void test_f16(void)
{
    int n_bad_roundtrip = 0, n_bad_value = 0, n_bad_nan = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        float f = f16_to_f32(h);
        if (f16_is_nan(h)) {
            uint16_t back = f32_to_f16(f);
            n_bad_nan += !isnan(f) || !f16_is_nan(back) || (back & 0x8000) != (h & 0x8000);
            continue;
        }
        n_bad_roundtrip += f32_to_f16(f) != h;
        double expect = (h & 0x7fff) == 0x7c00 ? INFINITY : f16_value(h & 0x7fff);
        if (h & 0x8000)
            expect = -expect;
        n_bad_value += (double)f != expect || (signbit(f) != 0) != ((h & 0x8000) != 0);
    }
    CHECK(n_bad_roundtrip == 0, "%d F16 values do not survive F16 -> F32 -> F16", n_bad_roundtrip);
    CHECK(n_bad_value == 0, "%d F16 values decode to the wrong F32", n_bad_value);
    CHECK(n_bad_nan == 0, "%d F16 NaNs do not stay NaN (with their sign)", n_bad_nan);

    /* random floats over the whole F16 range and beyond */
    int n_bad_random = 0;
    for (int i = 0; i < 200000; i++) {
        /* exponents from far below the subnormals to above the overflow */
        uint32_t e = 90 + (uint32_t)(rng_u64() % 60), m = (uint32_t)(rng_u64() & 0x7fffff), s = (uint32_t)(rng_u64() & 1);
        float f = bits_to_f32(s << 31 | e << 23 | m);
        if (f32_to_f16(f) != f16_reference(f)) {
            if (n_bad_random++ < 5)
                fprintf(stderr, "f32_to_f16(%a) = 0x%04x, expected 0x%04x\n", (double)f, f32_to_f16(f), f16_reference(f));
        }
    }
    CHECK(n_bad_random == 0, "%d random floats rounded differently from the reference", n_bad_random);

    /* exact halfway points between neighbours (ties to even) and one float
     * step either side of them */
    int n_bad_ties = 0;
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float mid = (float)((f16_value((uint16_t)h) + f16_value((uint16_t)(h + 1))) / 2); /* exact in float */
        float below = nextafterf(mid, 0), above = nextafterf(mid, INFINITY);
        n_bad_ties += f32_to_f16(mid) != (uint16_t)((h & 1) ? h + 1 : h);
        n_bad_ties += f32_to_f16(-mid) != (uint16_t)(0x8000 | ((h & 1) ? h + 1 : h));
        n_bad_ties += f32_to_f16(below) != (uint16_t)h;
        n_bad_ties += f32_to_f16(above) != (uint16_t)(h + 1);
    }
    CHECK(n_bad_ties == 0, "%d halfway points rounded wrongly", n_bad_ties);

    /* named edge cases */
    CHECK(f32_to_f16(65504.0f) == 0x7bff, "largest F16");
    CHECK(f32_to_f16(65519.99f) == 0x7bff, "just below the overflow threshold");
    CHECK(f32_to_f16(65520.0f) == 0x7c00, "65520 overflows to infinity");
    CHECK(f32_to_f16(1e10f) == 0x7c00 && f32_to_f16(-1e10f) == 0xfc00, "overflow keeps the sign");
    CHECK(f32_to_f16(INFINITY) == 0x7c00 && f32_to_f16(-INFINITY) == 0xfc00, "infinities");
    CHECK(f16_is_nan(f32_to_f16(NAN)), "NaN stays NaN");
    CHECK(f32_to_f16(0x1p-24f) == 0x0001, "smallest subnormal");
    CHECK(f32_to_f16(0x1p-25f) == 0x0000, "half the smallest subnormal ties to zero (even)");
    CHECK(f32_to_f16(0x1.8p-25f) == 0x0001, "three quarters of it rounds up");
    CHECK(f32_to_f16(0x1p-14f) == 0x0400, "smallest normal");
    CHECK(f32_to_f16(0x1.ff8p-15f) == 0x03ff, "largest subnormal");
    CHECK(f32_to_f16(0x1.ffcp-15f) == 0x0400, "largest subnormal + half a step ties up into the normals (even)");
    CHECK(f32_to_f16(-0.0f) == 0x8000 && f32_to_f16(0.0f) == 0, "signed zeros");
    CHECK(f16_to_f32(0x3c00) == 1.0f && f16_to_f32(0xc000) == -2.0f, "1 and -2");
}

/* BF16 reference: the two candidates are the truncated pattern and the next
 * one up (in magnitude); the nearer wins, ties to the even pattern. */
static uint16_t bf16_reference(float f)
{
    uint32_t u = f32_bits(f), sign = u & 0x80000000u, a = u & 0x7fffffffu;
    uint32_t lo = a >> 16;
    double vf = fabs((double)f);
    double vlo = fabs((double)bits_to_f32(lo << 16));
    double vhi = (lo + 1) == 0x7f80 ? ldexp(1.0, 128) : fabs((double)bits_to_f32((lo + 1) << 16));
    uint32_t pick;
    if (vf - vlo < vhi - vf)
        pick = lo;
    else if (vf - vlo > vhi - vf)
        pick = lo + 1;
    else
        pick = (lo & 1) ? lo + 1 : lo;
    return (uint16_t)((sign >> 16) | pick);
}

static void test_bf16(void)
{
    int n_bad = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t b = (uint16_t)i;
        float f = bf16_to_f32(b);
        if (isnan(f))
            n_bad += !isnan(bf16_to_f32(f32_to_bf16(f)));
        else
            n_bad += f32_to_bf16(f) != b || f32_bits(f) != (uint32_t)b << 16;
    }
    CHECK(n_bad == 0, "%d BF16 values do not round-trip", n_bad);
    int n_bad_random = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)rng_u64();
        if ((u & 0x7f800000u) == 0x7f800000u) /* inf/NaN patterns: tested below */
            continue;
        if (i % 4 == 0) /* exact ties: low half 0x8000 */
            u = (u & 0xffff0000u) | 0x8000u;
        float f = bits_to_f32(u);
        n_bad_random += f32_to_bf16(f) != bf16_reference(f);
    }
    CHECK(n_bad_random == 0, "%d random floats rounded differently from the BF16 reference", n_bad_random);
    CHECK(f32_to_bf16(INFINITY) == 0x7f80 && f32_to_bf16(-INFINITY) == 0xff80, "BF16 infinities");
    CHECK(isnan(bf16_to_f32(f32_to_bf16(NAN))), "BF16 NaN stays NaN");
    CHECK(f32_to_bf16(bits_to_f32(0x7f7fffffu)) == 0x7f80, "largest float rounds up to BF16 infinity");
}

/* ======================================================================== */
/* 2-4. Quantized formats                                                   */
/* ======================================================================== */

typedef struct {
    dtype type;
    double max_err;  /* per element, as a fraction of its block's largest |x| */
} type_case;

/* About one quantization step: the searched path may clip the largest
 * value by up to a step when that lowers the total error. A step is
 * amax / nmax for the symmetric grids and up to 2 amax / nmax for the
 * affine ones (their range can span -amax..amax); 8-bit types get half a
 * step plus the F16 scale's rounding. A misread layout gives errors of
 * order 1. */
static const type_case types[] = {
    { DT_Q8_0, 0.0045 }, { DT_Q8_1, 0.0045 }, { DT_Q8_K, 0.0045 }, { DT_Q4_0, 0.15 },
    { DT_Q5_0, 0.075 },  { DT_Q4_1, 0.14 },   { DT_Q5_1, 0.07 },   { DT_Q4_K, 0.14 },
    { DT_Q5_K, 0.07 },   { DT_Q6_K, 0.04 },
};
enum { N_TYPES = sizeof types / sizeof types[0] };

typedef enum { D_UNIFORM, D_GAUSS, D_HEAVY, D_POSITIVE, D_NEGATIVE, D_SPARSE_OUTLIERS, D_COUNT } distribution;
static const char *dist_names[D_COUNT] = { "uniform", "gaussian", "heavy-tailed", "positive", "negative",
                                           "sparse+outliers" };

static void fill(float *x, int64_t n, distribution d, double scale)
{
    for (int64_t i = 0; i < n; i++) {
        double v;
        switch (d) {
        case D_UNIFORM: v = 2 * rng_uniform() - 1; break;
        case D_GAUSS: v = rng_gauss(); break;
        case D_HEAVY: v = pow(rng_gauss(), 3); break;
        case D_POSITIVE: v = 0.2 + rng_uniform(); break;
        case D_NEGATIVE: v = -0.5 - fabs(rng_gauss()); break;
        default: v = rng_uniform() < 0.7 ? 0 : rng_gauss() * (rng_uniform() < 0.05 ? 50 : 1); break;
        }
        x[i] = (float)(v * scale);
    }
}

/* Largest |x| over the quantization block holding element i: the 32- or
 * 16-element group whose scale it shares (K-quants: the super-block, since
 * all sub-scales are relative to its largest one). */
static float block_amax(dtype t, const float *x, int64_t i)
{
    int64_t b = dtype_get(t)->block_elems, start = i / b * b;
    float a = 0;
    for (int64_t k = start; k < start + b; k++)
        a = fmaxf(a, fabsf(x[k]));
    return a;
}

/* Worst |error| / block amax over a row, and the row's squared error. */
static double row_error(dtype t, const float *x, int64_t n, bool ref, double *sq_err)
{
    void *q = ls_malloc(dtype_row_bytes(t, n));
    float *y = ls_malloc((size_t)n * sizeof(float));
    if (ref)
        quant_quantize_row_ref(t, x, q, n);
    else
        quant_quantize_row(t, x, q, n);
    quant_dequantize_row(t, q, y, n);
    double worst = 0, se = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)y[i] - x[i]);
        float a = block_amax(t, x, i);
        se += e * e;
        if (!isfinite(y[i]))
            worst = INFINITY;
        else if (a > 0)
            worst = fmax(worst, e / a);
        else if (e > 0)
            worst = INFINITY; /* an all-zero block must come back all zero */
    }
    ls_free(q);
    ls_free(y);
    *sq_err = se;
    return worst;
}

static void test_random_rows(void)
{
    static const int64_t lengths[] = { 32, 96, 256, 512, 1024, 4096 };
    for (int ti = 0; ti < N_TYPES; ti++) {
        dtype t = types[ti].type;
        double worst_seen[2] = { 0, 0 };
        for (int li = 0; li < (int)(sizeof lengths / sizeof lengths[0]); li++) {
            int64_t n = lengths[li];
            if (!dtype_row_fits(t, n))
                continue;
            for (int d = 0; d < D_COUNT; d++) {
                for (int rep = 0; rep < 3; rep++) {
                    float *x = ls_malloc((size_t)n * sizeof(float));
                    double scale = rep == 0 ? 1 : rep == 1 ? 0.02 : 30;
                    fill(x, n, (distribution)d, scale);
                    double se_q, se_r;
                    double wq = row_error(t, x, n, false, &se_q), wr = row_error(t, x, n, true, &se_r);
                    worst_seen[0] = fmax(worst_seen[0], wq);
                    worst_seen[1] = fmax(worst_seen[1], wr);
                    CHECK(wq <= types[ti].max_err, "%s %s n=%lld scale=%g: error %.4f of block max (bound %.4f)",
                          dtype_name(t), dist_names[d], (long long)n, scale, wq, types[ti].max_err);
                    CHECK(wr <= types[ti].max_err, "%s ref %s n=%lld: error %.4f of block max (bound %.4f)",
                          dtype_name(t), dist_names[d], (long long)n, wr, types[ti].max_err);
                    /* the searched path never loses to plain rounding (F16 rounding aside) */
                    CHECK(se_q <= se_r * 1.002 + 1e-30, "%s %s n=%lld: searched error %.6g > plain rounding %.6g",
                          dtype_name(t), dist_names[d], (long long)n, se_q, se_r);
                    ls_free(x);
                }
            }
        }
        printf("random_rows type=%s worst_error_of_block_max searched=%.4f reference=%.4f bound=%.4f\n",
               dtype_name(t), worst_seen[0], worst_seen[1], types[ti].max_err);
    }
}

static void test_edge_cases(void)
{
    enum { N = 512 };
    float x[N], y[N];
    uint8_t q[N * 2];
    for (int ti = 0; ti < N_TYPES; ti++) {
        dtype t = types[ti].type;
        const char *tn = dtype_name(t);
        /* zeros come back as exact zeros */
        memset(x, 0, sizeof x);
        quant_quantize_row(t, x, q, N);
        quant_dequantize_row(t, q, y, N);
        bool zero = true;
        for (int i = 0; i < N; i++)
            zero &= y[i] == 0;
        CHECK(zero, "%s: zeros do not come back as zeros", tn);

        /* constant rows, positive and negative: within a step of the value */
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            for (int i = 0; i < N; i++)
                x[i] = 0.37f * (float)sgn;
            double se;
            double w = row_error(t, x, N, false, &se);
            CHECK(w <= types[ti].max_err, "%s: constant %g off by %.4f of itself", tn, 0.37 * sgn, w);
        }

        /* one huge outlier per block among small values */
        fill(x, N, D_GAUSS, 0.01);
        for (int i = 0; i < N; i += 256)
            x[i + 17] = 1000.0f;
        double se;
        double w = row_error(t, x, N, false, &se);
        CHECK(w <= types[ti].max_err, "%s: outliers: error %.4f of block max", tn, w);
        quant_quantize_row(t, x, q, N);
        quant_dequantize_row(t, q, y, N);
        CHECK(fabsf(y[17] - 1000.0f) <= 1000.0f * (float)types[ti].max_err, "%s: the outlier 1000 came back as %g",
              tn, (double)y[17]);

        /* tiny values (scales near the bottom of F16's range) and large ones:
         * finite, and still within a step where F16 can represent the scale */
        for (int k = 0; k < 3; k++) {
            double scale = k == 0 ? 1e-3 : k == 1 ? 1e-6 : 1e3;
            fill(x, N, D_GAUSS, scale);
            quant_quantize_row(t, x, q, N);
            quant_dequantize_row(t, q, y, N);
            bool finite = true;
            double worst = 0;
            for (int i = 0; i < N; i++) {
                finite &= isfinite(y[i]) != 0;
                worst = fmax(worst, fabs((double)y[i] - x[i]) / block_amax(t, x, i));
            }
            CHECK(finite, "%s: scale %g gives non-finite values", tn, scale);
            /* at 1e-3 the 8-bit scales are F16 subnormals (fewer bits), at
             * 1e-6 all are: then only ask for "less than the values" */
            double bound = scale < 1e-5 ? 1.0 : scale < 1e-2 ? 2 * types[ti].max_err : types[ti].max_err;
            CHECK(worst <= bound, "%s: scale %g: error %.4f of block max", tn, scale, worst);
        }
    }
}

/* Quantizing values that came out of the format gives them back. The
 * reference rounding of the 32-element types reproduces the very bytes;
 * the searched path the same values (up to F16 rounding of a refitted
 * scale). The K-quants' grid has two levels, and the search does not always
 * land on the same codes again: there we only ask that values move by much
 * less than a step (see the LIMITATION in quant_k.c). */
static void test_grid_round_trip(void)
{
    enum { N = 1024 };
    float x[N], y[N], z[N];
    uint8_t q[N * 2], q2[N * 2];
    for (int ti = 0; ti < N_TYPES; ti++) {
        dtype t = types[ti].type;
        int64_t be = dtype_get(t)->block_elems;
        bool k_quant = be == QK_K;
        for (int ref = 0; ref < 2; ref++) {
            int n_blocks = 0, n_blocks_changed = 0, n_rows_bytes_changed = 0;
            double worst = 0;
            for (int d = 0; d < D_COUNT; d++) {
                fill(x, N, (distribution)d, 1);
                if (ref)
                    quant_quantize_row_ref(t, x, q, N);
                else
                    quant_quantize_row(t, x, q, N);
                quant_dequantize_row(t, q, y, N); /* y is on the grid */
                if (ref)
                    quant_quantize_row_ref(t, y, q2, N);
                else
                    quant_quantize_row(t, y, q2, N);
                quant_dequantize_row(t, q2, z, N);
                n_rows_bytes_changed += memcmp(q, q2, dtype_row_bytes(t, N)) != 0;
                for (int64_t b = 0; b < N; b += be) {
                    bool changed = false;
                    for (int64_t k = b; k < b + be; k++) {
                        changed |= z[k] != y[k]; /* by value: -0 == +0 */
                        worst = fmax(worst, fabs((double)z[k] - y[k]) / block_amax(t, y, k));
                    }
                    n_blocks++;
                    n_blocks_changed += changed;
                }
            }
            printf("grid_round_trip type=%s%s blocks=%d changed=%d worst_change_of_block_max=%.5f rows_bytes_changed=%d\n",
                   dtype_name(t), ref ? " ref" : "", n_blocks, n_blocks_changed, worst, n_rows_bytes_changed);
            const char *tn = dtype_name(t);
            if (k_quant && t != DT_Q8_K) {
                CHECK(worst <= 0.5 * types[ti].max_err, "%s: on-grid values moved by %.4f of block max", tn, worst);
            } else if (t == DT_Q8_K) { /* F32 scale stored as 1 / (1 / d): may move by an ulp */
                CHECK(worst <= 1e-6, "%s: on-grid values moved by %.2g of block max", tn, worst);
            } else {
                CHECK(worst <= 1e-3, "%s%s: on-grid values moved by %.4f of block max", tn, ref ? " ref" : "", worst);
                /* Q8_1's s is d * sum(q) with the unrounded d, as in ggml: may differ in its last bit */
                if (ref && t != DT_Q8_1)
                    CHECK(n_rows_bytes_changed == 0, "%s ref: %d on-grid rows changed bytes", tn, n_rows_bytes_changed);
                if (t == DT_Q8_0 || t == DT_Q8_1 || ref)
                    CHECK(n_blocks_changed == 0, "%s%s: %d on-grid blocks changed value", tn, ref ? " ref" : "",
                          n_blocks_changed);
            }
        }
    }
}

static void test_side_data(void)
{
    enum { N = 512 };
    float x[N];
    fill(x, N, D_HEAVY, 1);
    block_q8_1 b1[N / 32];
    quant_quantize_row(DT_Q8_1, x, b1, N);
    int n_bad = 0;
    for (int i = 0; i < N / 32; i++) {
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += b1[i].qs[j];
        n_bad += b1[i].s != f32_to_f16(f16_to_f32(b1[i].d) * (float)sum) &&
                 fabsf(f16_to_f32(b1[i].s) - f16_to_f32(b1[i].d) * (float)sum) >
                     fabsf(f16_to_f32(b1[i].d) * (float)sum) * 1e-3f;
    }
    CHECK(n_bad == 0, "Q8_1: %d blocks whose s is not d * sum(q)", n_bad);

    block_q8_k bk[N / 256];
    quant_quantize_row(DT_Q8_K, x, bk, N);
    n_bad = 0;
    for (int i = 0; i < N / 256; i++)
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int k = 0; k < 16; k++)
                sum += bk[i].qs[16 * g + k];
            n_bad += bk[i].bsums[g] != sum;
        }
    CHECK(n_bad == 0, "Q8_K: %d wrong bsums", n_bad);
}

int main(void)
{
    test_f16();
    test_bf16();
    CHECK(quant_can_dequantize(DT_Q4_K) && quant_can_quantize(DT_Q6_K) && quant_can_dequantize(DT_BF16),
          "supported types");
    CHECK(!quant_can_dequantize(DT_Q2_K) && !quant_can_quantize(DT_IQ4_NL), "unsupported types say so");
    test_random_rows();
    test_edge_cases();
    test_grid_round_trip();
    test_side_data();
    return check_done();
}
