/* test_kernels.c — every kernel path against the scalar reference, and the
 * scalar reference against exact arithmetic.
 *
 * What a user would notice if these failed: wrong answers from the model on
 * one CPU but not another (SIMD != scalar), or answers less accurate than
 * the format allows (scalar != exact), or LOCALSEEK_CPU not doing what it
 * says.
 *
 * Error bounds (u = 2^-24, the unit roundoff of F32; S = sum_i |w_i * a_i|
 * over the dequantized weights and activations, computed in double):
 *   - integer formats, SIMD vs scalar: both paths compute the same exact
 *     int32 sum per block; they differ only in how nb block results (two
 *     terms per block for formats with mins) are scaled and added in F32. A
 *     sum of k F32 terms in any order is within k*u*S of the exact sum, so
 *     the two results are within (2*nb + 32) * 2u * S of each other (the 32
 *     covers the lane reductions and the d_w * d_a products).
 *   - float formats, SIMD vs scalar (double): the SIMD lanes each add about
 *     n/8 products, then the lanes are reduced: (n/8 + 32) * 2u * S.
 *   - scalar vs exact on the same (dequantized) activations: the scalar
 *     path's own float summation, (2*nb + 32) * 2u * S, plus, for Q4_1/Q5_1,
 *     the F16 rounding of the activation's stored s = d * sum(q), which the
 *     format itself imposes: |m| * |d * sum(q)| * 2^-11 per block.
 *   - scalar vs the unrounded float activations: additionally each
 *     activation moves by at most half its block's step d/2 when rounded to
 *     8 bits, so the result moves by at most sum_i |w_i| * d_i / 2.
 * Activation quantizers must give identical bytes on every path (they use
 * the same float operations in the same order).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/threadpool.h"
#include "check.h"
#include "tensor/kernels.h"
#include "tensor/quant.h"

static const dtype weight_types[] = { DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_Q4_0, DT_Q4_1,
                                      DT_Q5_0, DT_Q5_1, DT_Q4_K, DT_Q5_K, DT_Q6_K };
enum { N_WEIGHT_TYPES = sizeof weight_types / sizeof weight_types[0] };

static const int shapes[] = { 1, 3, 5, 7, 17 }; /* rows and vectors: not multiples of any tile */
enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };

static const double U = 1.0 / 16777216.0; /* 2^-24 */

/* ======================================================================== */
/* Random data                                                               */
/* ======================================================================== */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

static float gauss(void)
{
    double u1 = urand(), u2 = urand();
    if (u1 < 1e-300)
        u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* Activation-like values: Gaussian with a scale that changes every 32
 * values (1e-3 .. 10), a few large outliers, and now and then an all-zero
 * block. */
static void random_activations(float *x, int64_t n)
{
    for (int64_t b = 0; b < n; b += 32) {
        double scale = pow(10.0, -3.0 + 4.0 * urand());
        bool zero = urand() < 0.03;
        for (int64_t i = b; i < b + 32 && i < n; i++) {
            x[i] = zero ? 0.0f : (float)(gauss() * scale);
            if (urand() < 0.01)
                x[i] *= 20.0f;
        }
    }
}

/* Weight rows: even rows random valid blocks (every bit pattern of the
 * quants occurs), odd rows quantized from Gaussians by the project's
 * quantizer (realistic blocks). */
static void random_weights(dtype t, uint8_t *w, size_t w_row_bytes, int64_t n_rows, int64_t n)
{
    float *tmp = ls_malloc((size_t)n * sizeof(float));
    for (int64_t r = 0; r < n_rows; r++) {
        uint8_t *row = w + (size_t)r * w_row_bytes;
        if (r % 2 == 0 || !quant_can_quantize(t)) {
            kern_fill_random_row(t, row, n, &rng);
        } else {
            for (int64_t i = 0; i < n; i++)
                tmp[i] = 0.05f * gauss();
            quant_quantize_row(t, tmp, row, n);
        }
    }
    ls_free(tmp);
}

/* ======================================================================== */
/* Helpers                                                                   */
/* ======================================================================== */

static dtype act_type(dtype t)
{
    return dtype_get((uint32_t)t)->dot_type;
}

static int64_t block_elems(dtype t)
{
    return dtype_get((uint32_t)t)->block_elems;
}

/* Dequantized row as doubles (activation rows of type F32 are floats). */
static void to_double(dtype t, const void *src, double *dst, int64_t n)
{
    float *tmp = ls_malloc((size_t)n * sizeof(float));
    if (t == DT_F32)
        memcpy(tmp, src, (size_t)n * sizeof(float));
    else
        quant_dequantize_row(t, src, tmp, n);
    for (int64_t i = 0; i < n; i++)
        dst[i] = tmp[i];
    ls_free(tmp);
}

/* Number of float terms a path adds per row: blocks for integer formats,
 * elements / 8 for float ones (see the bounds at the top). */
static double sum_terms(dtype t, int64_t n)
{
    if (act_type(t) == DT_F32)
        return (double)n / 8.0;
    return 2.0 * (double)(n / block_elems(t));
}

/* The F16 rounding of Q8_1's s, weighted by |m|: the part of the Q4_1/Q5_1
 * result that the format (not the kernel) rounds. */
static double q81_s_error(dtype t, const void *wrow, const void *arow, int64_t n)
{
    if (t != DT_Q4_1 && t != DT_Q5_1)
        return 0.0;
    const block_q8_1 *a = arow;
    double e = 0.0;
    for (int64_t b = 0; b < n / 32; b++) {
        ls_f16 m16 = t == DT_Q4_1 ? ((const block_q4_1 *)wrow)[b].m : ((const block_q5_1 *)wrow)[b].m;
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += a[b].qs[j];
        double ds = (double)f16_to_f32(a[b].d) * sum;
        /* f16(fl(d * sum)): half an F16 ulp (2^-11 relative, or 2^-25
         * absolute below the normal range) after one F32 rounding */
        e += fabs((double)f16_to_f32(m16)) * (fabs(ds) * (1.0 / 2048.0 + 4 * U) + U);
    }
    return e;
}

/* ======================================================================== */
/* LOCALSEEK_CPU                                                             */
/* ======================================================================== */

/* Runs kern_get() in a child process with LOCALSEEK_CPU=request (the
 * selection is made once per process) and returns the chosen isa, or -1. */
static int selection_in_child(const char *request)
{
    pid_t pid = fork();
    if (pid == 0) {
        log_set_level(LOG_ERROR); /* the refusal warning is expected here */
        setenv("LOCALSEEK_CPU", request, 1);
        _exit((int)kern_get()->isa);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void test_selection(void)
{
    /* The children must fork before this process initializes the kernels
     * (a forked child inherits the parent's one-time choice). */
    int child[KERN_ISA_COUNT];
    for (int i = 0; i < KERN_ISA_COUNT; i++)
        child[i] = selection_in_child(kern_isa_name((kern_isa)i));
    int child_unknown = selection_in_child("sse9");

    const char *note = NULL;
    kern_isa best = kern_choose(NULL, &note);
    CHECK(note == NULL, "no request must give no note");
    CHECK(kern_get_isa(best) != NULL, "best path %s must be available", kern_isa_name(best));
    CHECK(child[KERN_SCALAR] == KERN_SCALAR, "LOCALSEEK_CPU=scalar chose %d", child[KERN_SCALAR]);
    for (int i = 0; i < KERN_ISA_COUNT; i++) {
        bool have = kern_get_isa((kern_isa)i) != NULL;
        CHECK(child[i] == (have ? i : (int)best), "LOCALSEEK_CPU=%s chose %d (available: %d)",
              kern_isa_name((kern_isa)i), child[i], have);
        kern_isa c = kern_choose(kern_isa_name((kern_isa)i), &note);
        CHECK(c == (have ? (kern_isa)i : best) && (note != NULL) == !have, "kern_choose(%s) = %d, note %s",
              kern_isa_name((kern_isa)i), c, note ? note : "none");
    }
    CHECK(child_unknown == (int)best, "an unknown LOCALSEEK_CPU must fall back to the best path, got %d",
          child_unknown);
    kern_isa c = kern_choose("sse9", &note);
    CHECK(c == best && note && strstr(note, "sse9"), "unknown request: %d, note %s", c, note ? note : "none");
    CHECK(kern_get_isa(KERN_SCALAR) != NULL, "scalar is always available");
    printf("kernel paths on this CPU:");
    for (int i = 0; i < KERN_ISA_COUNT; i++)
        if (kern_get_isa((kern_isa)i))
            printf(" %s", kern_isa_name((kern_isa)i));
    printf(" (selected: %s)\n", kern_get()->name);

    for (int i = 0; i < N_WEIGHT_TYPES; i++)
        CHECK(kern_supports(weight_types[i]), "%s must be supported", dtype_name(weight_types[i]));
    CHECK(!kern_supports(DT_Q8_K) && !kern_supports(DT_Q2_K) && !kern_supports(DT_IQ4_XS),
          "activation-only and unimplemented types are not weight types");
}

/* ======================================================================== */
/* Activation quantizers                                                     */
/* ======================================================================== */

static void test_quantizers(void)
{
    const kern_ops *ref = kern_get_isa(KERN_SCALAR);
    const dtype acts[] = { DT_Q8_0, DT_Q8_1, DT_Q8_K };
    const int64_t n = 256 * 7;
    float *x = ls_malloc((size_t)n * sizeof(float));
    float *back = ls_malloc((size_t)n * sizeof(float));
    uint8_t *q_ref = ls_malloc(dtype_row_bytes(DT_Q8_K, n) + dtype_row_bytes(DT_Q8_1, n));
    uint8_t *q_simd = ls_malloc(dtype_row_bytes(DT_Q8_K, n) + dtype_row_bytes(DT_Q8_1, n));
    for (int rep = 0; rep < 20; rep++) {
        random_activations(x, n);
        if (rep == 0) {
            /* exact ties: block max 127 gives d = 1, so k + 0.5 must round to even */
            x[0] = 127.0f;
            x[1] = 0.5f;
            x[2] = 1.5f;
            x[3] = 2.5f;
            x[4] = -0.5f;
            x[5] = -1.5f;
        }
        for (int k = 0; k < 3; k++) {
            dtype at = acts[k];
            size_t bytes = dtype_row_bytes(at, n);
            ref->quantize[at](x, q_ref, n);
            if (rep == 0 && at == DT_Q8_0) {
                const block_q8_0 *b = (const block_q8_0 *)q_ref;
                CHECK(f16_to_f32(b->d) == 1.0f && b->qs[0] == 127 && b->qs[1] == 0 && b->qs[2] == 2 &&
                          b->qs[3] == 2 && b->qs[4] == 0 && b->qs[5] == -2,
                      "ties must round to even: d %g, q %d %d %d %d %d %d", f16_to_f32(b->d), b->qs[0], b->qs[1],
                      b->qs[2], b->qs[3], b->qs[4], b->qs[5]);
            }
            /* Semantics: every value within half a step of the input. */
            quant_dequantize_row(at, q_ref, back, n);
            int64_t be = block_elems(at);
            double worst = 0.0;
            for (int64_t b = 0; b < n / be; b++) {
                double d = at == DT_Q8_K ? ((const block_q8_k *)q_ref)[b].d
                         : at == DT_Q8_0 ? f16_to_f32(((const block_q8_0 *)q_ref)[b].d)
                                         : f16_to_f32(((const block_q8_1 *)q_ref)[b].d);
                for (int64_t i = b * be; i < (b + 1) * be; i++) {
                    double err = fabs((double)back[i] - x[i]);
                    double lim = d / 2 * (1 + 1e-6) + fabs(x[i]) * 4 * U + 1e-30;
                    if (err / lim > worst)
                        worst = err / lim;
                }
            }
            CHECK(worst <= 1.0, "%s quantizer: an element moved by %.3f x half a step", dtype_name(at), worst);
            if (at == DT_Q8_1) {
                const block_q8_1 *b = (const block_q8_1 *)q_ref;
                bool ok = true;
                for (int64_t i = 0; i < n / 32 && ok; i++) {
                    int sum = 0;
                    for (int j = 0; j < 32; j++)
                        sum += b[i].qs[j];
                    double want = (double)f16_to_f32(b[i].d) * sum;
                    ok = fabs(f16_to_f32(b[i].s) - want) <= fabs(want) / 1024 + 1e-7;
                }
                CHECK(ok, "Q8_1 s must be d * sum(q)");
            }
            if (at == DT_Q8_K) {
                const block_q8_k *b = (const block_q8_k *)q_ref;
                bool ok = true;
                for (int64_t i = 0; i < n / 256; i++)
                    for (int g = 0; g < 16; g++) {
                        int sum = 0;
                        for (int j = 0; j < 16; j++)
                            sum += b[i].qs[16 * g + j];
                        ok = ok && sum == b[i].bsums[g];
                    }
                CHECK(ok, "Q8_K bsums must be the sums of each 16 quants");
            }
            for (int isa = 1; isa < KERN_ISA_COUNT; isa++) {
                const kern_ops *ops = kern_get_isa((kern_isa)isa);
                if (!ops)
                    continue;
                memset(q_simd, 0xAA, bytes);
                ops->quantize[at](x, q_simd, n);
                size_t first = bytes;
                for (size_t i = 0; i < bytes && first == bytes; i++)
                    if (q_simd[i] != q_ref[i])
                        first = i;
                CHECK(first == bytes, "%s %s quantizer differs from scalar at byte %zu (%d vs %d)", ops->name,
                      dtype_name(at), first, first < bytes ? q_simd[first] : 0, first < bytes ? q_ref[first] : 0);
            }
        }
    }
    ls_free(x);
    ls_free(back);
    ls_free(q_ref);
    ls_free(q_simd);
}

/* ======================================================================== */
/* Matrix products                                                           */
/* ======================================================================== */

typedef struct {
    dtype t;
    int64_t n, n_rows, n_vecs;
    size_t w_row_bytes, a_row_bytes; /* with padding, to test the strides */
    int64_t y_stride;
    uint8_t *w;
    float *x;      /* [n_vecs][n] */
    uint8_t *a;    /* [n_vecs] activation rows (scalar quantizer) */
    double *wd;    /* [n_rows][n] dequantized weights */
    double *ad;    /* [n_vecs][n] dequantized activations */
} problem;

static void problem_make(problem *p, dtype t, int64_t n, int64_t n_rows, int64_t n_vecs)
{
    memset(p, 0, sizeof *p);
    p->t = t;
    p->n = n;
    p->n_rows = n_rows;
    p->n_vecs = n_vecs;
    p->w_row_bytes = dtype_row_bytes(t, n) + 40;
    p->a_row_bytes = kern_act_row_bytes(t, n) + 24;
    p->y_stride = n_rows + 3;
    p->w = ls_malloc(p->w_row_bytes * (size_t)n_rows);
    p->x = ls_malloc((size_t)(n * n_vecs) * sizeof(float));
    p->a = ls_malloc(p->a_row_bytes * (size_t)n_vecs);
    p->wd = ls_malloc((size_t)(n * n_rows) * sizeof(double));
    p->ad = ls_malloc((size_t)(n * n_vecs) * sizeof(double));
    random_weights(t, p->w, p->w_row_bytes, n_rows, n);
    for (int64_t r = 0; r < n_rows; r++)
        to_double(t, p->w + (size_t)r * p->w_row_bytes, p->wd + r * n, n);
    const kern_ops *ref = kern_get_isa(KERN_SCALAR);
    dtype at = act_type(t);
    for (int64_t v = 0; v < n_vecs; v++) {
        float *xv = p->x + v * n;
        random_activations(xv, n);
        uint8_t *av = p->a + (size_t)v * p->a_row_bytes;
        if (at == DT_F32)
            memcpy(av, xv, (size_t)n * sizeof(float));
        else
            ref->quantize[at](xv, av, n);
        to_double(at, av, p->ad + v * n, n);
    }
}

static void problem_free(problem *p)
{
    ls_free(p->w);
    ls_free(p->x);
    ls_free(p->a);
    ls_free(p->wd);
    ls_free(p->ad);
}

static void run_matmul(const kern_ops *ops, const problem *p, float *y)
{
    for (int64_t i = 0; i < p->n_vecs * p->y_stride; i++)
        y[i] = NAN; /* padding must stay untouched */
    ops->matmul[p->t](p->n, p->w, p->w_row_bytes, p->n_rows, p->a, p->a_row_bytes, p->n_vecs, y, p->y_stride);
}

static bool padding_untouched(const problem *p, const float *y)
{
    for (int64_t v = 0; v < p->n_vecs; v++)
        for (int64_t r = p->n_rows; r < p->y_stride; r++)
            if (!isnan(y[v * p->y_stride + r]))
                return false;
    return true;
}

/* Half-step activation rounding bound: sum_i |w_i| * d_i / 2 (+ float slop). */
static double rounding_bound(const problem *p, int64_t r, int64_t v)
{
    dtype at = act_type(p->t);
    if (at == DT_F32)
        return 0.0;
    const uint8_t *av = p->a + (size_t)v * p->a_row_bytes;
    const double *wd = p->wd + r * p->n;
    const float *x = p->x + v * p->n;
    int64_t be = block_elems(at);
    double e = 0.0;
    for (int64_t b = 0; b < p->n / be; b++) {
        double d = at == DT_Q8_K ? ((const block_q8_k *)av)[b].d
                 : at == DT_Q8_0 ? f16_to_f32(((const block_q8_0 *)av)[b].d)
                                 : f16_to_f32(((const block_q8_1 *)av)[b].d);
        for (int64_t i = b * be; i < (b + 1) * be; i++)
            e += fabs(wd[i]) * (d / 2 * (1 + 1e-6) + fabs(x[i]) * 4 * U);
    }
    return e;
}

typedef struct {
    double simd_vs_scalar;  /* worst error / bound over the tests */
    double scalar_vs_exact;
    double scalar_vs_float;
    double typical_rel;     /* mean |scalar - float-exact| / sqrt(sum (w x)^2): for the log */
    long n_typical;
} worst;

static void check_problem(const problem *p, worst *wst)
{
    const kern_ops *ref = kern_get_isa(KERN_SCALAR);
    size_t y_count = (size_t)(p->n_vecs * p->y_stride);
    float *y_ref = ls_malloc(y_count * sizeof(float));
    float *y = ls_malloc(y_count * sizeof(float));
    run_matmul(ref, p, y_ref);
    CHECK(padding_untouched(p, y_ref), "scalar %s wrote outside its rows", dtype_name(p->t));

    /* scalar against exact arithmetic */
    for (int64_t v = 0; v < p->n_vecs; v++) {
        for (int64_t r = 0; r < p->n_rows; r++) {
            const double *wd = p->wd + r * p->n, *ad = p->ad + v * p->n;
            const float *x = p->x + v * p->n;
            double exact = 0, exact_x = 0, s = 0, s2 = 0;
            for (int64_t i = 0; i < p->n; i++) {
                exact += wd[i] * ad[i];
                exact_x += wd[i] * x[i];
                s += fabs(wd[i] * ad[i]);
                s2 += (wd[i] * x[i]) * (wd[i] * x[i]);
            }
            double yr = y_ref[v * p->y_stride + r];
            double tol = (sum_terms(p->t, p->n) + 32) * 2 * U * s + 1e-30;
            tol += q81_s_error(p->t, p->w + (size_t)r * p->w_row_bytes, p->a + (size_t)v * p->a_row_bytes, p->n);
            double ratio = fabs(yr - exact) / tol;
            if (ratio > wst->scalar_vs_exact)
                wst->scalar_vs_exact = ratio;
            CHECK(ratio <= 1.0, "scalar %s n=%lld row %lld vec %lld: %.9g vs exact %.9g (tolerance %.3g)",
                  dtype_name(p->t), (long long)p->n, (long long)r, (long long)v, yr, exact, tol);
            double tol_x = tol + rounding_bound(p, r, v);
            ratio = fabs(yr - exact_x) / tol_x;
            if (ratio > wst->scalar_vs_float)
                wst->scalar_vs_float = ratio;
            CHECK(ratio <= 1.0, "scalar %s n=%lld row %lld vec %lld: %.9g vs float-exact %.9g (tolerance %.3g)",
                  dtype_name(p->t), (long long)p->n, (long long)r, (long long)v, yr, exact_x, tol_x);
            if (s2 > 0) {
                wst->typical_rel += fabs(yr - exact_x) / sqrt(s2);
                wst->n_typical++;
            }
        }
    }

    /* every SIMD path against scalar */
    for (int isa = 1; isa < KERN_ISA_COUNT; isa++) {
        const kern_ops *ops = kern_get_isa((kern_isa)isa);
        if (!ops)
            continue;
        run_matmul(ops, p, y);
        CHECK(padding_untouched(p, y), "%s %s wrote outside its rows", ops->name, dtype_name(p->t));
        double worst_ratio = 0;
        int64_t wr = 0, wv = 0;
        for (int64_t v = 0; v < p->n_vecs; v++) {
            for (int64_t r = 0; r < p->n_rows; r++) {
                const double *wd = p->wd + r * p->n, *ad = p->ad + v * p->n;
                double s = 0;
                for (int64_t i = 0; i < p->n; i++)
                    s += fabs(wd[i] * ad[i]);
                double tol = (sum_terms(p->t, p->n) + 32) * 2 * U * s + 1e-30;
                double diff = fabs((double)y[v * p->y_stride + r] - y_ref[v * p->y_stride + r]);
                double ratio = diff / tol;
                if (!(ratio <= worst_ratio)) { /* also catches NaN */
                    worst_ratio = isnan(ratio) ? INFINITY : ratio;
                    wr = r;
                    wv = v;
                }
            }
        }
        if (worst_ratio > wst->simd_vs_scalar)
            wst->simd_vs_scalar = worst_ratio;
        CHECK(worst_ratio <= 1.0,
              "%s %s n=%lld rows=%lld vecs=%lld: row %lld vec %lld gives %.9g, scalar %.9g (%.2f x the bound)",
              ops->name, dtype_name(p->t), (long long)p->n, (long long)p->n_rows, (long long)p->n_vecs,
              (long long)wr, (long long)wv, y[wv * p->y_stride + wr], y_ref[wv * p->y_stride + wr], worst_ratio);
        /* kern_dot: the 1 x 1 tile (its own accumulation order), same bound */
        double s0 = 0;
        for (int64_t i = 0; i < p->n; i++)
            s0 += fabs(p->wd[i] * p->ad[i]);
        float d = kern_dot(ops, p->t, p->n, p->w, p->a);
        double tol0 = (sum_terms(p->t, p->n) + 32) * 2 * U * s0 + 1e-30;
        CHECK(fabs((double)d - y_ref[0]) <= tol0, "%s %s kern_dot %.9g vs scalar %.9g (tolerance %.3g)", ops->name,
              dtype_name(p->t), d, y_ref[0], tol0);
    }
    ls_free(y_ref);
    ls_free(y);
}

static void test_matmul(void)
{
    const int64_t k32[] = { 1, 3, 5, 8, 24, 88 };   /* n = 32 .. 2816 */
    const int64_t k256[] = { 1, 3, 5, 11 };         /* n = 256 .. 2816 */
    const int64_t odd_n[] = { 7, 33, 100 };         /* float rows of any length */
    for (int ti = 0; ti < N_WEIGHT_TYPES; ti++) {
        dtype t = weight_types[ti];
        worst wst = { 0 };
        int64_t ns[16];
        int n_ns = 0;
        if (block_elems(t) == 256) {
            for (size_t i = 0; i < sizeof k256 / sizeof k256[0]; i++)
                ns[n_ns++] = 256 * k256[i];
        } else {
            for (size_t i = 0; i < sizeof k32 / sizeof k32[0]; i++)
                ns[n_ns++] = 32 * k32[i];
        }
        if (block_elems(t) == 1)
            for (size_t i = 0; i < sizeof odd_n / sizeof odd_n[0]; i++)
                ns[n_ns++] = odd_n[i];
        for (int ni = 0; ni < n_ns; ni++) {
            for (int ri = 0; ri < N_SHAPES; ri++) {
                for (int vi = 0; vi < N_SHAPES; vi++) {
                    /* the full cross product for short rows, a diagonal for long ones */
                    if (ns[ni] > 1024 && ri != vi && !(ri == 4 && vi == 2))
                        continue;
                    problem p;
                    problem_make(&p, t, ns[ni], shapes[ri], shapes[vi]);
                    check_problem(&p, &wst);
                    problem_free(&p);
                }
            }
        }
        /* Many rows and vectors: exercises the row chunks of the tile walk. */
        problem p;
        problem_make(&p, t, block_elems(t) == 256 ? 2816 : 2816, 300, 19);
        check_problem(&p, &wst);
        problem_free(&p);
        printf("%-5s worst error / bound: simd-vs-scalar %.3f, scalar-vs-exact %.3f, scalar-vs-float %.3f; "
               "typical |err| / |w.x|_2 = %.2e\n",
               dtype_name(t), wst.simd_vs_scalar, wst.scalar_vs_exact, wst.scalar_vs_float,
               wst.n_typical ? wst.typical_rel / (double)wst.n_typical : 0.0);
    }
}

/* ======================================================================== */
/* Two-level pairs                                                           */
/* ======================================================================== */

/* kern_quantize2, every path and activation type: the two levels together
 * represent each activation to within 1/400 of its block's 8-bit step
 * amax/127 (the lo step is ~1/254 of it in the generic form, 1/256 in the
 * AVX-512 pair form; 1/400 leaves room for the F16 rounding of the Q8_0/Q8_1
 * scales, which can make a residual up to ~0.56 steps). An F16 scale also
 * has an absolute floor: below 2^-14 it keeps steps of 2^-24, so the lo
 * level of a 32-block with tiny values may be off by up to 127 of those. */
static void test_quantize2(void)
{
    const dtype ats[] = { DT_Q8_0, DT_Q8_1, DT_Q8_K };
    const int64_t n_max = 1056;
    float *x = ls_malloc(sizeof(float) * n_max), *back = ls_malloc(sizeof(float) * n_max);
    size_t a_max = 2 * dtype_row_bytes(DT_Q8_0, n_max) + 2 * dtype_row_bytes(DT_Q8_K, n_max);
    uint8_t *a = ls_malloc(a_max), *first = ls_malloc(a_max);
    int checked = 0;
    for (int k = 0; k < 3; k++) {
        dtype at = ats[k];
        const int be = dtype_get(at)->block_elems;
        const int64_t n = be == 256 ? 1024 : n_max; /* 33 blocks of 32: a pair-form row ends in a lone block */
        const size_t a_bytes = 2 * dtype_row_bytes(at, n);
        for (int round = 0; round < 4; round++) {
            random_activations(x, n);
            if (round == 1)
                memset(x, 0, sizeof(float) * 64); /* all-zero blocks */
            void (*first_form)(const void *, float *, int64_t) = NULL;
            const char *first_name = NULL;
            for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
                const kern_ops *ops = kern_get_isa((kern_isa)isa);
                if (!ops)
                    continue;
                kern_quantize2(ops, at, x, n, a);
                kern_dequantize2(ops, at, a, n, back);
                int bad = 0;
                for (int64_t b0 = 0; b0 < n; b0 += be) {
                    double amax = 0.0;
                    for (int i = 0; i < be; i++)
                        amax = fmax(amax, fabs(x[b0 + i]));
                    double floor16 = at == DT_Q8_K ? 0.0 : 127.0 * ldexp(1.0, -24);
                    for (int i = 0; i < be; i++)
                        if (!(fabs((double)back[b0 + i] - x[b0 + i]) <= amax / 127.0 / 400.0 + floor16 + 1e-30))
                            bad++;
                }
                CHECK(bad == 0, "%s %s two-level form: %d of %lld values off by more than 1/400 of a step", ops->name,
                      dtype_name(at), bad, (long long)n);
                /* Paths that share a path-specific form write the same bytes. */
                if (ops->dequantize2[at] && !first_form) {
                    first_form = ops->dequantize2[at];
                    first_name = ops->name;
                    memcpy(first, a, a_bytes);
                } else if (ops->dequantize2[at] && ops->dequantize2[at] == first_form) {
                    CHECK(memcmp(first, a, a_bytes) == 0, "%s and %s write different %s pair-form bytes", first_name,
                          ops->name, dtype_name(at));
                }
                checked++;
            }
        }
    }
    ls_free(x);
    ls_free(back);
    ls_free(a);
    ls_free(first);
    printf("quantize2: %d path/type/data cases checked\n", checked);
}

/* matmul2 (activation rows in pairs written by kern_quantize2, output = the
 * product with the whole pair) equals the exact product of the dequantized
 * weights with what kern_dequantize2 reads back, within the float rounding
 * of the SIMD-vs-scalar bound over both levels, (2 * nb + 32) * 2u * S * 2,
 * plus for Q4_1/Q5_1 the F16 rounding of each level's s. */
static void test_matmul2(void)
{
    int checked = 0;
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        const kern_ops *ops = kern_get_isa((kern_isa)isa);
        if (!ops)
            continue;
        for (int ti = 0; ti < N_WEIGHT_TYPES; ti++) {
            dtype t = weight_types[ti];
            if (!ops->matmul2[t])
                continue;
            const int64_t n = block_elems(t) == 256 ? 1536 : 1536 + 32 * 3, rows = 37;
            const int pairs[] = { 1, 2, 5 };
            for (int k = 0; k < 3; k++) {
                int np = pairs[k];
                size_t wrb = dtype_row_bytes(t, n), arb = kern_act_row_bytes(t, n);
                uint8_t *w = ls_malloc(wrb * rows), *a = ls_malloc(2 * arb * (size_t)np);
                float *x = ls_malloc((size_t)n * sizeof(float)), *y = ls_malloc(sizeof(float) * rows * np);
                double *wd = ls_malloc(sizeof(double) * (size_t)n);
                float *ad = ls_malloc(sizeof(float) * (size_t)n * np);
                random_weights(t, w, wrb, rows, n);
                for (int p = 0; p < np; p++) {
                    random_activations(x, n);
                    kern_quantize2(ops, act_type(t), x, n, a + 2 * arb * (size_t)p);
                    kern_dequantize2(ops, act_type(t), a + 2 * arb * (size_t)p, n, ad + (size_t)p * n);
                }
                ops->matmul2[t](n, w, wrb, rows, a, arb, 2 * np, y, rows);
                int bad = 0;
                for (int r = 0; r < rows; r++) {
                    to_double(t, w + (size_t)r * wrb, wd, n);
                    for (int p = 0; p < np; p++) {
                        double ref = 0.0, S = 0.0;
                        for (int64_t i = 0; i < n; i++) {
                            ref += wd[i] * ad[(size_t)p * n + i];
                            S += fabs(wd[i] * ad[(size_t)p * n + i]);
                        }
                        /* Q4_1/Q5_1: the F16 s of both generic rows */
                        const uint8_t *wr = w + (size_t)r * wrb, *pair = a + 2 * arb * (size_t)p;
                        double bound = (2.0 * sum_terms(t, n) + 32.0) * 2.0 * U * S * 2.0 +
                                       q81_s_error(t, wr, pair, n) + q81_s_error(t, wr, pair + arb, n) + 1e-30;
                        if (fabs(y[p * rows + r] - ref) > bound)
                            bad++;
                    }
                }
                CHECK(bad == 0, "%s %s matmul2 with %d pairs: %d results differ from the exact product", ops->name,
                      dtype_name(t), np, bad);
                checked++;
                ls_free(w);
                ls_free(a);
                ls_free(x);
                ls_free(y);
                ls_free(wd);
                ls_free(ad);
            }
        }
    }
    printf("matmul2: %d type/path/shape cases checked\n", checked);
}

/* ======================================================================== */
/* The pool wrapper                                                          */
/* ======================================================================== */

static void test_pool(void)
{
    pool *p2 = NULL;
    CHECK(pool_create(2, &p2) == LS_OK, "pool");
    const kern_ops *ops = kern_get();
    for (int ti = 0; ti < N_WEIGHT_TYPES; ti++) {
        dtype t = weight_types[ti];
        const int64_t n = block_elems(t) == 256 ? 1536 : 1536 + 32 * 3;
        const int64_t vecs[] = { 1, 2, 9 };
        for (int k = 0; k < 3; k++) {
            problem p;
            problem_make(&p, t, n, 37, vecs[k]);
            /* y from the selected path with the scalar quantizer's rows: the
             * pool must give exactly the same numbers (same kernels, same
             * bytes, just split across threads). */
            size_t y_count = (size_t)(p.n_vecs * p.y_stride);
            float *y_ref = ls_malloc(y_count * sizeof(float)), *y = ls_malloc(y_count * sizeof(float));
            run_matmul(ops, &p, y_ref);
            size_t scratch_bytes = (size_t)p.n_vecs * kern_act_row_bytes(t, n);
            void *scratch = ls_malloc(scratch_bytes);
            for (int use_pool = 0; use_pool < 2; use_pool++) {
                for (size_t i = 0; i < y_count; i++)
                    y[i] = NAN;
                bool f = act_type(t) == DT_F32;
                kern_matmul_pool(use_pool ? p2 : NULL, t, p.w, p.w_row_bytes, p.n_rows, n, p.x, n, p.n_vecs, y,
                                 p.y_stride, f ? NULL : scratch, f ? 0 : scratch_bytes);
                bool same = true;
                for (int64_t v = 0; v < p.n_vecs; v++)
                    for (int64_t r = 0; r < p.n_rows; r++)
                        same = same && y[v * p.y_stride + r] == y_ref[v * p.y_stride + r];
                CHECK(same && padding_untouched(&p, y), "kern_matmul_pool %s (%s, %d threads, %lld vecs) differs",
                      dtype_name(t), ops->name, use_pool ? 2 : 1, (long long)p.n_vecs);
            }
            ls_free(scratch);
            ls_free(y_ref);
            ls_free(y);
            problem_free(&p);
        }
    }
    /* zero activations give exactly zero */
    {
        const int64_t n = 512, rows = 5;
        uint8_t *w = ls_malloc(dtype_row_bytes(DT_Q4_K, n) * rows);
        for (int64_t r = 0; r < rows; r++)
            kern_fill_random_row(DT_Q4_K, w + dtype_row_bytes(DT_Q4_K, n) * (size_t)r, n, &rng);
        float *x = ls_calloc((size_t)n, sizeof(float));
        float y[5];
        void *scratch = ls_malloc(kern_act_row_bytes(DT_Q4_K, n));
        kern_matmul_pool(p2, DT_Q4_K, w, dtype_row_bytes(DT_Q4_K, n), rows, n, x, n, 1, y, rows, scratch,
                         kern_act_row_bytes(DT_Q4_K, n));
        CHECK(y[0] == 0 && y[1] == 0 && y[4] == 0, "zero input must give zero output: %g %g", y[0], y[4]);
        ls_free(scratch);
        ls_free(x);
        ls_free(w);
    }
    pool_free(p2);
}

int main(void)
{
    long live0 = ls_alloc_live();
    test_selection();
    test_quantizers();
    test_matmul();
    test_quantize2();
    test_matmul2();
    test_pool();
    CHECK(ls_alloc_live() == live0, "leaked %ld blocks", ls_alloc_live() - live0);
    return check_done();
}
