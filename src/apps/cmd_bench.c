/* cmd_bench.c — `localseek bench`: how fast is this machine, and how close
 * to its limits do our kernels get?
 *
 *   localseek bench --kernels [-t N] [--json] [--type Q4_K,Q6_K] [--rows R]
 *                   [--cols C] [--vecs V] [--quick]
 *
 * How it works, for the selected kernel path (LOCALSEEK_CPU picks another):
 *   1. memory read bandwidth with N threads (tensor/membw.h): the ceiling
 *      for decode;
 *   2. the int8 multiply-add ceiling of this path (kern_ops.int8_spin on
 *      every thread): the ceiling for prefill;
 *   3. per weight type, a matrix of R x C (default 8960 x 1536, the
 *      feed-forward "up" matrix of DeepSeek-R1-Distill-Qwen-1.5B), in as many
 *      copies as it takes to exceed 4 x the last-level cache (at most 64), so
 *      that every decode call really streams its weights from memory:
 *        - results are first checked against the scalar reference on a
 *          sample of rows (a mismatch aborts the benchmark);
 *        - decode: matrix x 1 vector through kern_matmul_pool, cycling over
 *          the copies; GB/s of weights streamed and % of the bandwidth;
 *        - decode2 (paths with two-level kernels): the same with the vector
 *          in two 8-bit levels, as the default 16-bit mode decodes;
 *        - prefill: matrix x V vectors (default 512); GOPS (2 per
 *          multiply-add) and % of the int8 ceiling;
 *        - prefill16 (integer types): the same on the wide path that the
 *          default 16-bit mode uses for prompts (tensor/kernels_wide.c):
 *          rows expanded to 16-bit integers and multiplied, both timed.
 * Output: one `key=value` line per result, or with --json one JSON array.
 * Exit status: 0 ok, 1 failure (no memory, mismatch), 2 bad usage.
 *
 * Model benchmarks (`-m MODEL`: tokens/s of prefill and decode) live in
 * apps/bench_model.c; cmd_bench hands them the whole command line.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/bench_chat.h"
#include "apps/bench_memory.h"
#include "apps/bench_model.h"
#include "apps/commands.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/dtype.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/stats.h"
#include "base/status.h"
#include "base/threadpool.h"
#include "tensor/kernels.h"
#include "tensor/membw.h"
#include "tensor/quant.h"

typedef struct {
    bool kernels;
    int n_threads;
    bool json;
    bool quick;            /* few repetitions, small bandwidth probe: for tests */
    int64_t rows, cols, vecs;
    dtype types[DT_COUNT];
    int n_types;
} bench_opts;

static const dtype all_types[] = { DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_Q4_0, DT_Q4_1,
                                   DT_Q5_0, DT_Q5_1, DT_Q4_K, DT_Q5_K, DT_Q6_K };

/* ======================================================================== */
/* Output: key=value lines or a JSON array                                   */
/* ======================================================================== */

enum { MAX_FIELDS = 20 };

typedef struct {
    int n;
    char key[MAX_FIELDS][24];
    char val[MAX_FIELDS][64];
    bool is_num[MAX_FIELDS];
} result;

typedef struct {
    bool json;
    int n_emitted;
} emitter;

static void add_field(result *r, bool is_num, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_field(result *r, bool is_num, const char *key, const char *fmt, ...)
{
    if (r->n >= MAX_FIELDS)
        return;
    snprintf(r->key[r->n], sizeof r->key[0], "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->val[r->n], sizeof r->val[0], fmt, ap);
    va_end(ap);
    r->is_num[r->n] = is_num;
    r->n++;
}

static void emit(emitter *e, const result *r)
{
    if (e->json) {
        printf("%s  {", e->n_emitted ? ",\n" : "[\n");
        for (int i = 0; i < r->n; i++)
            printf(r->is_num[i] ? "%s\"%s\": %s" : "%s\"%s\": \"%s\"", i ? ", " : "", r->key[i], r->val[i]);
        printf("}");
    } else {
        for (int i = 0; i < r->n; i++)
            printf(i ? " %s=%s" : "%s=%s", r->key[i], r->val[i]);
        printf("\n");
    }
    fflush(stdout);
    e->n_emitted++;
}

static void emit_end(emitter *e)
{
    if (e->json)
        printf(e->n_emitted ? "\n]\n" : "[]\n");
}

/* ======================================================================== */
/* Ceilings                                                                  */
/* ======================================================================== */

typedef struct {
    const kern_ops *ops;
    int64_t iters;
    uint64_t macs[256];
} spin_job;

static void spin_run(void *ctx, int ith, int nth)
{
    (void)nth;
    spin_job *j = ctx;
    j->macs[ith & 255] = j->ops->int8_spin(j->iters);
}

/* Multiply-adds per second of the path's int8 sequence on all threads (0 if
 * the path has none). Best of three runs of ~0.1 s. */
static double int8_peak_macs(pool *p, const kern_ops *ops)
{
    spin_job j = { .ops = ops, .iters = 1 << 16 };
    double best = 0;
    for (int rep = 0; rep < 4; rep++) {
        memset(j.macs, 0, sizeof j.macs);
        double t0 = plat_now_s();
        pool_run(p, spin_run, &j);
        double dt = plat_now_s() - t0;
        uint64_t total = 0;
        for (int i = 0; i < pool_size(p) && i < 256; i++)
            total += j.macs[i];
        if (total == 0)
            return 0;
        if (dt < 0.05) { /* too short to time: scale up and retry */
            j.iters *= 4;
            rep--;
            continue;
        }
        if (total / dt > best)
            best = (double)total / dt;
    }
    return best;
}

/* ======================================================================== */
/* One weight type                                                           */
/* ======================================================================== */

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

/* Compares rows [0, n_check) x vectors [0, n_vecs) of y (selected path) with
 * the scalar kernel on the same activation rows; tolerance 1e-4 of
 * sum |w * a| (the tests hold the kernels to ~1e-5; this only catches a
 * broken build or path before it is timed). */
static bool check_against_scalar(dtype t, const uint8_t *w, size_t row_bytes, int64_t n_check, int64_t n,
                                 const void *act, size_t act_row_bytes, int64_t n_vecs, const float *y,
                                 int64_t y_stride, char *why, size_t why_size)
{
    const kern_ops *ref = kern_get_isa(KERN_SCALAR);
    dtype at = dtype_get((uint32_t)t)->dot_type;
    float *y_ref = ls_malloc((size_t)(n_check * n_vecs) * sizeof(float));
    float *wf = ls_malloc((size_t)n * sizeof(float));
    float *af = ls_malloc((size_t)(n * n_vecs) * sizeof(float));
    bool ok = y_ref && wf && af;
    if (!ok) {
        snprintf(why, why_size, "no memory for the check");
        goto done;
    }
    ref->matmul[t](n, w, row_bytes, n_check, act, act_row_bytes, n_vecs, y_ref, n_check);
    for (int64_t v = 0; v < n_vecs; v++) {
        const uint8_t *av = (const uint8_t *)act + (size_t)v * act_row_bytes;
        if (at == DT_F32)
            memcpy(af + v * n, av, (size_t)n * sizeof(float));
        else
            quant_dequantize_row(at, av, af + v * n, n);
    }
    for (int64_t r = 0; r < n_check && ok; r++) {
        quant_dequantize_row(t, w + (size_t)r * row_bytes, wf, n);
        for (int64_t v = 0; v < n_vecs && ok; v++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++)
                s += fabs((double)wf[i] * af[v * n + i]);
            double got = y[v * y_stride + r], want = y_ref[v * n_check + r];
            if (!(fabs(got - want) <= 1e-4 * s + 1e-6)) {
                snprintf(why, why_size, "row %lld vector %lld: %.7g, scalar reference %.7g", (long long)r,
                         (long long)v, got, want);
                ok = false;
            }
        }
    }
done:
    ls_free(y_ref);
    ls_free(wf);
    ls_free(af);
    return ok;
}

/* The bandwidth probe's buffer: honest by default (>= 8 x LLC), small with
 * --quick (then it partly measures the cache, which is fine for a test). */
static size_t membw_bytes(const bench_opts *o)
{
    return o->quick ? (size_t)32 << 20 : membw_default_bytes();
}

/* Returns 0, or 1 after printing why. */

/* One decode sweep target: the matrix (copy c) times one vector. */
typedef struct {
    pool *p;
    const kern_ops *ops;
    dtype t;
    const uint8_t *w;
    size_t mat_bytes, row_bytes, act_row;
    int64_t rows, cols;
    const float *x;
    float *y;
    void *scratch;
    const uint8_t *a2; /* decode2: the (hi, lo) activation rows */
} decode_ctx;

static void decode_one(void *ctx, int c)
{
    decode_ctx *d = ctx;
    kern_matmul_pool(d->p, d->t, d->w + d->mat_bytes * (size_t)c, d->row_bytes, d->rows, d->cols, d->x, d->cols, 1,
                     d->y, d->rows, d->scratch, d->act_row);
}

/* Two-level decode on the pool: each thread its share of the rows. */
typedef struct {
    const decode_ctx *d;
    const uint8_t *w;
} decode2_job;

static void decode2_run(void *ctx, int ith, int nth)
{
    decode2_job *j = ctx;
    const decode_ctx *d = j->d;
    long r0, r1;
    pool_share((long)d->rows, ith, nth, &r0, &r1);
    d->ops->matmul2[d->t](d->cols, j->w + (size_t)r0 * d->row_bytes, d->row_bytes, r1 - r0, d->a2, d->act_row, 2,
                          d->y + r0, d->rows);
}

static void decode2_one(void *ctx, int c)
{
    decode_ctx *d = ctx;
    decode2_job j = { .d = d, .w = d->w + d->mat_bytes * (size_t)c };
    pool_run(d->p, decode2_run, &j);
}

/* The fields every kernel result line starts with. */
static void add_kernel_fields(result *r, const char *bench, const char *type, const kern_ops *ops, int threads,
                              int64_t rows, int64_t cols)
{
    add_field(r, false, "bench", "%s", bench);
    add_field(r, false, "type", "%s", type);
    add_field(r, false, "isa", "%s", ops->name);
    add_field(r, true, "threads", "%d", threads);
    add_field(r, true, "rows", "%lld", (long long)rows);
    add_field(r, true, "cols", "%lld", (long long)cols);
}

/* Sweeps over the n_copies copies (at least 5, or 2 with --quick, and at
 * least a second): seconds per matrix, best and median. */
static void time_sweeps(void (*one)(void *ctx, int c), void *ctx, int n_copies, bool quick, double *t_best,
                        double *t_med)
{
    enum { MAX_SWEEPS = 64 };
    double sweep_s[MAX_SWEEPS];
    int n_sweeps = 0;
    double t_start = plat_now_s();
    const int min_sweeps = quick ? 2 : 5;
    const double min_s = quick ? 0.0 : 1.0;
    while (n_sweeps < MAX_SWEEPS && (n_sweeps < min_sweeps || plat_now_s() - t_start < min_s)) {
        double t0 = plat_now_s();
        for (int c = 0; c < n_copies; c++)
            one(ctx, c);
        sweep_s[n_sweeps++] = (plat_now_s() - t0) / n_copies;
    }
    ls_sort_doubles(sweep_s, (size_t)n_sweeps);
    *t_best = sweep_s[0];
    *t_med = sweep_s[n_sweeps / 2];
}

static void emit_decode(emitter *em, const char *bench, const char *type, const kern_ops *ops, int threads,
                        int64_t rows, int64_t cols, size_t mat_bytes, int n_copies, double t_best, double t_med,
                        double bw_gbps)
{
    double gbps = (double)mat_bytes / t_med * 1e-9, gbps_best = (double)mat_bytes / t_best * 1e-9;
    result r = { 0 };
    add_kernel_fields(&r, bench, type, ops, threads, rows, cols);
    add_field(&r, true, "weight_mib", "%.2f", (double)mat_bytes / 1048576.0);
    add_field(&r, true, "copies", "%d", n_copies);
    add_field(&r, true, "stream_mib", "%.1f", (double)mat_bytes * n_copies / 1048576.0);
    add_field(&r, true, "us_median", "%.1f", t_med * 1e6);
    add_field(&r, true, "us_best", "%.1f", t_best * 1e6);
    add_field(&r, true, "gbps", "%.2f", gbps);
    add_field(&r, true, "gbps_best", "%.2f", gbps_best);
    add_field(&r, true, "membw_gbps", "%.2f", bw_gbps);
    add_field(&r, true, "pct_bw", "%.1f", bw_gbps > 0 ? 100.0 * gbps_best / bw_gbps : 0.0);
    emit(em, &r);
}

/* bench=decode2: the matrix times one activation in two 8-bit levels
 * (kern_quantize2), as the default 16-bit mode decodes. Checked first against
 * the exact product of the first rows with the vector the two levels
 * represent: they must agree to float rounding, 1e-5 of sum |w * x|. */
static int bench_decode2(decode_ctx *d, int n_copies, const bench_opts *o, emitter *em, double bw_gbps)
{
    const char *tn = dtype_name(d->t);
    dtype at = dtype_get((uint32_t)d->t)->dot_type;
    uint8_t *a2 = ls_malloc_aligned(2 * d->act_row, 64);
    float *xd = ls_malloc(sizeof(float) * (size_t)d->cols), *wd = ls_malloc(sizeof(float) * (size_t)d->cols);
    int rc = 0;
    if (!a2 || !xd || !wd) {
        fprintf(stderr, "localseek bench: no memory for the %s two-level benchmark\n", tn);
        rc = 1;
        goto done;
    }
    kern_quantize2(d->ops, at, d->x, d->cols, a2);
    kern_dequantize2(d->ops, at, a2, d->cols, xd);
    d->a2 = a2;
    decode2_one(d, 0);
    for (int64_t r = 0; r < (d->rows < 64 ? d->rows : 64); r++) {
        quant_dequantize_row(d->t, d->w + (size_t)r * d->row_bytes, wd, d->cols);
        double want = 0.0, size = 0.0;
        for (int64_t i = 0; i < d->cols; i++) {
            want += (double)wd[i] * xd[i];
            size += fabs((double)wd[i] * xd[i]);
        }
        if (!(fabs(d->y[r] - want) <= 1e-5 * size + 1e-30)) {
            fprintf(stderr, "localseek bench: %s %s two-level decode is wrong: row %lld: %g, exact %g\n", d->ops->name,
                    tn, (long long)r, d->y[r], want);
            rc = 1;
            goto done;
        }
    }
    double t_best, t_med;
    time_sweeps(decode2_one, d, n_copies, o->quick, &t_best, &t_med);
    emit_decode(em, "decode2", tn, d->ops, pool_size(d->p), d->rows, d->cols, d->mat_bytes, n_copies, t_best, t_med,
                bw_gbps);
done:
    d->a2 = NULL;
    ls_free(a2);
    ls_free(xd);
    ls_free(wd);
    return rc;
}

/* One prefill result line: a rows x cols matrix times vecs vectors in best
 * seconds; the % of the int8 ceiling when peak_gops > 0. */
static void emit_prefill(emitter *em, const char *bench, const char *type, const kern_ops *ops, int threads,
                         int64_t rows, int64_t cols, int64_t vecs, double best, double peak_gops)
{
    double gops = 2.0 * (double)rows * (double)cols * (double)vecs / best * 1e-9;
    result q = { 0 };
    add_kernel_fields(&q, bench, type, ops, threads, rows, cols);
    add_field(&q, true, "vecs", "%lld", (long long)vecs);
    add_field(&q, true, "ms", "%.3f", best * 1e3);
    add_field(&q, true, "gops", "%.1f", gops);
    add_field(&q, true, "vecs_per_s", "%.1f", (double)vecs / best);
    if (peak_gops > 0)
        add_field(&q, true, "pct_int8_peak", "%.1f", 100.0 * gops / peak_gops);
    emit(em, &q);
}

/* The wide path on the pool: every thread expands its share of the rows, an
 * L2-sized chunk at a time, and multiplies them with all vectors, as the
 * forward pass does for a prompt. */
typedef struct {
    const kern_ops *ops;
    dtype t;
    const uint8_t *w;
    size_t w_row_bytes;
    int64_t n_rows, n, n_vecs;
    const uint8_t *a;
    float *y;
    uint8_t *buf;
    size_t buf_bytes;
} wide_job;

static void wide_run(void *ctx, int ith, int nth)
{
    wide_job *j = ctx;
    long r0, r1;
    pool_share((long)j->n_rows, ith, nth, &r0, &r1);
    kern_wide_rows(j->ops, j->t, j->w, j->w_row_bytes, j->n, r0, r1 - r0, j->a, j->n_vecs, j->y, j->n_rows,
                   j->buf + (size_t)ith * j->buf_bytes, j->buf_bytes);
}

/* bench=prefill16: activations rounded to 16 bits (not timed, as in the
 * prefill line), weights expanded and multiplied (timed); checked first
 * against the scalar path's wide product on a few rows. */
static int bench_wide(pool *p, const kern_ops *ops, dtype t, const uint8_t *w, size_t row_bytes, int64_t rows,
                      int64_t cols, const float *x, int64_t vecs, float *y, double peak_gops, const bench_opts *o,
                      emitter *em)
{
    size_t wrb = kern_wide_row_bytes(cols), buf_bytes = 384 * 1024;
    if (buf_bytes < wrb)
        buf_bytes = wrb;
    int nth = pool_size(p);
    uint8_t *a = ls_malloc_aligned(wrb * (size_t)vecs, 64), *buf = ls_malloc_aligned(buf_bytes * (size_t)nth, 64);
    float *yref = ls_malloc(sizeof(float) * (size_t)vecs * 8);
    int rc = 0;
    if (!a || !buf || !yref) {
        fprintf(stderr, "localseek bench: no memory for the %s wide benchmark\n", dtype_name(t));
        rc = 1;
        goto done;
    }
    for (int64_t v = 0; v < vecs; v++)
        ops->wide_quantize(x + v * cols, cols, a + (size_t)v * wrb);
    wide_job j = { .ops = ops, .t = t, .w = w, .w_row_bytes = row_bytes, .n_rows = rows, .n = cols,
                   .n_vecs = vecs, .a = a, .y = y, .buf = buf, .buf_bytes = buf_bytes };
    pool_run(p, wide_run, &j);
    int64_t nchk = rows < 8 ? rows : 8;
    kern_wide_rows(kern_get_isa(KERN_SCALAR), t, w, row_bytes, cols, 0, nchk, a, vecs, yref, nchk, buf, buf_bytes);
    for (int64_t r = 0; r < nchk; r++)
        for (int64_t v = 0; v < vecs; v++) {
            float got = y[v * rows + r], want = yref[v * nchk + r];
            if (!(fabsf(got - want) <= 1e-4f * (fabsf(want) + 1.0f))) {
                fprintf(stderr, "localseek bench: %s %s wide prefill differs from the scalar path: row %lld vector "
                        "%lld: %g vs %g\n", ops->name, dtype_name(t), (long long)r, (long long)v, got, want);
                rc = 1;
                goto done;
            }
        }
    double best = INFINITY, t_start = plat_now_s();
    for (int rep = 0; rep < (o->quick ? 1 : 5) && (rep < 1 || plat_now_s() - t_start < 2.0); rep++) {
        double t0 = plat_now_s();
        pool_run(p, wide_run, &j);
        double dt = plat_now_s() - t0;
        best = dt < best ? dt : best;
    }
    emit_prefill(em, "prefill16", dtype_name(t), ops, nth, rows, cols, vecs, best, peak_gops);
done:
    ls_free(a);
    ls_free(buf);
    ls_free(yref);
    return rc;
}

static int bench_type(const bench_opts *o, pool *p, const kern_ops *ops, dtype t, double peak_gops,
                      emitter *em)
{
    const int64_t rows = o->rows, cols = o->cols, vecs = o->vecs;
    const char *tn = dtype_name(t);
    if (!dtype_row_fits(t, cols)) {
        fprintf(stderr, "localseek bench: --cols %lld is not a multiple of %s's block of %d; skipping %s\n",
                (long long)cols, tn, dtype_get((uint32_t)t)->block_elems, tn);
        return 0;
    }
    size_t row_bytes = dtype_row_bytes(t, cols);
    size_t mat_bytes = row_bytes * (size_t)rows;
    size_t llc = membw_llc_bytes();
    if (llc == 0)
        llc = (size_t)32 << 20;
    /* Enough copies to stream 4 x LLC per sweep; a small matrix (--rows,
     * --cols) is capped at 64 copies and then measures cache speed, which
     * the stream_mib field makes visible. */
    int64_t want = (int64_t)((4 * llc + mat_bytes - 1) / mat_bytes);
    int n_copies = want < 1 ? 1 : want > 64 ? 64 : (int)want;
    size_t act_row = kern_act_row_bytes(t, cols);
    bool float_act = dtype_get((uint32_t)t)->dot_type == DT_F32;

    size_t n_act = vecs > 1 ? (size_t)vecs : 1; /* decode needs one row even with --vecs 0 */
    uint8_t *w = ls_malloc_aligned(mat_bytes * (size_t)n_copies, 64);
    float *x = ls_malloc((size_t)cols * n_act * sizeof(float));
    float *y = ls_malloc((size_t)rows * n_act * sizeof(float));
    void *scratch = ls_malloc(act_row * n_act);
    int rc = 0;
    if (!w || !x || !y || !scratch) {
        fprintf(stderr, "localseek bench: no memory for the %s benchmark (%zu MiB of weights)\n", tn,
                (mat_bytes * (size_t)n_copies) >> 20);
        rc = 1;
        goto done;
    }
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (uint64_t)t;
    for (int64_t r = 0; r < rows; r++)
        kern_fill_random_row(t, w + (size_t)r * row_bytes, cols, &seed);
    for (int c = 1; c < n_copies; c++)
        memcpy(w + mat_bytes * (size_t)c, w, mat_bytes);
    for (size_t i = 0; i < (size_t)cols * n_act; i++)
        x[i] = frand();

    /* ---- decode: check, then time ---- */
    char why[160];
    const void *act1 = float_act ? (const void *)x : scratch;
    size_t act1_row = float_act ? (size_t)cols * sizeof(float) : act_row;
    kern_matmul_pool(p, t, w, row_bytes, rows, cols, x, cols, 1, y, rows, scratch, act_row);
    if (!check_against_scalar(t, w, row_bytes, 64 < rows ? 64 : rows, cols, act1, act1_row, 1, y, rows, why,
                              sizeof why)) {
        fprintf(stderr, "localseek bench: %s %s decode result differs from the scalar reference: %s\n", ops->name,
                tn, why);
        rc = 1;
        goto done;
    }
    decode_ctx dc = { .p = p, .ops = ops, .t = t, .w = w, .mat_bytes = mat_bytes, .row_bytes = row_bytes,
                      .rows = rows, .cols = cols, .x = x, .y = y, .scratch = scratch, .act_row = act_row };
    double t_best, t_med;
    time_sweeps(decode_one, &dc, n_copies, o->quick, &t_best, &t_med);
    /* Memory bandwidth of shared machines drifts from second to second, so
     * the reference is measured right here, beside the kernel, and the
     * best-of figures are compared (each is the least disturbed run). */
    membw_result bw_here;
    double bw_gbps = membw_measure(p, membw_bytes(o), o->quick ? 2 : 5, &bw_here) == LS_OK ? bw_here.best_gbps : 0.0;
    emit_decode(em, "decode", tn, ops, pool_size(p), rows, cols, mat_bytes, n_copies, t_best, t_med, bw_gbps);

    /* ---- decode with two-level activations (the default 16-bit mode) ---- */
    if (ops->matmul2[t] && !float_act) {
        rc = bench_decode2(&dc, n_copies, o, em, bw_gbps);
        if (rc)
            goto done;
    }

    /* ---- prefill: check, then time ---- */
    if (vecs > 0) {
        kern_matmul_pool(p, t, w, row_bytes, rows, cols, x, cols, vecs, y, rows, scratch, act_row * (size_t)vecs);
        const void *actv = float_act ? (const void *)x : scratch;
        if (!check_against_scalar(t, w, row_bytes, 8 < rows ? 8 : rows, cols, actv, act1_row, vecs, y, rows, why,
                                  sizeof why)) {
            fprintf(stderr, "localseek bench: %s %s prefill result differs from the scalar reference: %s\n",
                    ops->name, tn, why);
            rc = 1;
            goto done;
        }
        double best = INFINITY;
        double t_start = plat_now_s();
        for (int rep = 0; rep < (o->quick ? 1 : 5) && (rep < 1 || plat_now_s() - t_start < 2.0); rep++) {
            double t0 = plat_now_s();
            kern_matmul_pool(p, t, w, row_bytes, rows, cols, x, cols, vecs, y, rows, scratch,
                             act_row * (size_t)vecs);
            double dt = plat_now_s() - t0;
            best = dt < best ? dt : best;
        }
        emit_prefill(em, "prefill", tn, ops, pool_size(p), rows, cols, vecs, best, float_act ? 0.0 : peak_gops);
    }
    /* ---- prefill on the wide path (16-bit activations): check, then time ---- */
    if (vecs > 0 && kern_wide_supports(t) && cols % 32 == 0)
        rc = bench_wide(p, ops, t, w, row_bytes, rows, cols, x, vecs, y, peak_gops, o, em);
done:
    ls_free(w);
    ls_free(x);
    ls_free(y);
    ls_free(scratch);
    return rc;
}

/* ======================================================================== */
/* The command                                                               */
/* ======================================================================== */

static int bench_kernels(const bench_opts *o)
{
    pool *p = NULL;
    if (pool_create(o->n_threads, &p) != LS_OK) {
        fprintf(stderr, "localseek bench: %s\n", ls_error_msg());
        return 1;
    }
    const kern_ops *ops = kern_get();
    emitter em = { .json = o->json };
    result r = { 0 };
    add_field(&r, false, "bench", "machine");
    add_field(&r, false, "isa", "%s", ops->name);
    add_field(&r, false, "features", "%s", ops->features);
    add_field(&r, true, "threads", "%d", o->n_threads);
    add_field(&r, true, "cores", "%d", plat_physical_cores());
    add_field(&r, true, "llc_mib", "%.1f", (double)membw_llc_bytes() / 1048576.0);
    emit(&em, &r);

    membw_result bw;
    if (membw_measure(p, membw_bytes(o), o->quick ? 2 : 7, &bw) != LS_OK) {
        fprintf(stderr, "localseek bench: %s\n", ls_error_msg());
        pool_free(p);
        return 1;
    }
    r = (result){ 0 };
    add_field(&r, false, "bench", "membw");
    add_field(&r, true, "threads", "%d", bw.n_threads);
    add_field(&r, true, "buffer_mib", "%zu", bw.buffer_bytes >> 20);
    add_field(&r, true, "passes", "%d", bw.n_passes);
    add_field(&r, true, "gbps_best", "%.2f", bw.best_gbps);
    add_field(&r, true, "gbps_median", "%.2f", bw.median_gbps);
    emit(&em, &r);

    double peak_gops = 2.0 * int8_peak_macs(p, ops) * 1e-9;
    if (peak_gops > 0) {
        r = (result){ 0 };
        add_field(&r, false, "bench", "int8_peak");
        add_field(&r, false, "isa", "%s", ops->name);
        add_field(&r, true, "threads", "%d", pool_size(p));
        add_field(&r, true, "gops", "%.1f", peak_gops);
        emit(&em, &r);
    }

    int rc = 0;
    for (int i = 0; i < o->n_types && rc == 0; i++)
        rc = bench_type(o, p, ops, o->types[i], peak_gops, &em);
    emit_end(&em);
    pool_free(p);
    return rc;
}

/* --type T,T...: the weight types to measure; false after saying which
 * name is not one (with the usage, as a bad value of any option). */
static bool parse_types(const opt_spec *spec, const char *list, bench_opts *o)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    o->n_types = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int t = dtype_from_name(tok);
        if (t < 0 || !kern_supports((dtype)t) || o->n_types >= DT_COUNT) {
            opt_usage_error(spec, "--type: '%s' is not a weight type the kernels support", tok);
            return false;
        }
        o->types[o->n_types++] = (dtype)t;
    }
    if (o->n_types == 0)
        opt_usage_error(spec, "--type expects weight type names separated by commas, not '%s'", list);
    return o->n_types > 0;
}

/* True if argv asks for a model benchmark (-m/--model) and not --kernels. */
static bool wants_model(int argc, char **argv)
{
    bool model = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kernels") == 0)
            return false;
        if (strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--model") == 0 || strncmp(argv[i], "--model=", 8) == 0)
            model = true;
    }
    return model;
}

int cmd_bench(int argc, char **argv)
{
    /* Model, chat and memory benchmarks have their own options (apps/bench_*.h). */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--chat") == 0)
            return bench_chat_main(argc, argv);
        else if (strcmp(argv[i], "--memory") == 0)
            return bench_memory_main(argc, argv);
    if (wants_model(argc, argv))
        return bench_model_main(argc, argv);
    bench_opts o = { 0 };
    for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++)
        o.types[o.n_types++] = all_types[i];
    long n_threads = plat_physical_cores(), rows = 8960, cols = 1536, vecs = 512;
    const char *model = NULL, *types = NULL;
    bool chat = false, memory = false; /* never true here: cmd_bench hands those runs on first */
    const opt_def defs[] = {
        { .kind = OPT_SECTION, .help = "what to measure:" },
        { .kind = OPT_FLAG, .name = "--kernels", .flag = &o.kernels,
          .help = "memory bandwidth, int8 ceiling, and every weight type's decode (matrix x 1 vector, GB/s) "
                  "and prefill (matrix x V vectors, GOPS; prefill16: the 16-bit prompt path) on the selected path" },
        { .kind = OPT_STRING, .name = "-m", .alias = "--model", .value_name = "FILE", .str = &model,
          .help = "a model's prefill and decode speed (options: localseek bench -m MODEL --help)" },
        { .kind = OPT_FLAG, .name = "--chat", .flag = &chat,
          .help = "chat turns with -m MODEL: time to first token, warm against cold (bench --chat --help)" },
        { .kind = OPT_FLAG, .name = "--memory", .flag = &memory,
          .help = "retrieval time in a memory of N messages (bench --memory --help)" },
        { .kind = OPT_SECTION, .help = "options of --kernels:" },
        opt_threads(&n_threads),
        opt_json(&o.json),
        { .kind = OPT_STRING, .name = "--type", .value_name = "T,T...", .str = &types,
          .help = "only these weight types", .dflt = "F32,F16,BF16,Q8_0,Q4_0,Q4_1,Q5_0,Q5_1,Q4_K,Q5_K,Q6_K" },
        { .kind = OPT_INT, .name = "--rows", .value_name = "R", .i = &rows, .lo = 1, .hi = 1 << 20,
          .help = "matrix rows", .dflt = "8960" },
        { .kind = OPT_INT, .name = "--cols", .value_name = "C", .i = &cols, .lo = 1, .hi = 1 << 20,
          .help = "matrix columns", .dflt = "1536, the shape of DeepSeek-R1-Distill-Qwen-1.5B's up matrix" },
        { .kind = OPT_INT, .name = "--vecs", .value_name = "V", .i = &vecs, .lo = 0, .hi = 1 << 20,
          .help = "vectors in the prefill test; 0 skips it", .dflt = "512" },
        { .kind = OPT_FLAG, .name = "--quick", .flag = &o.quick,
          .help = "few repetitions and a small bandwidth probe (checks run as always; for tests)" },
    };
    const opt_spec spec = {
        .cmd = "bench",
        .usage = "localseek bench --kernels [-t N] [--json] [--type T,T...] [--rows R] [--cols C] [--vecs V] "
                 "[--quick]\n"
                 "       localseek bench -m MODEL [...]          (model speed)\n"
                 "       localseek bench --chat -m MODEL [...]   (chat turns: time to first token)\n"
                 "       localseek bench --memory [...]          (retrieval time in a memory file)",
        .outro = "Set LOCALSEEK_CPU=scalar|avx2|avx512 to measure another kernel path.\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    if (model)
        return opt_usage_error(&spec, "--kernels and -m are separate runs; run them one after the other");
    if (!o.kernels)
        return opt_usage_error(&spec, "say what to measure (--kernels, or -m MODEL)");
    if (types && !parse_types(&spec, types, &o))
        return OPT_BAD_USAGE;
    o.n_threads = (int)n_threads;
    o.rows = rows;
    o.cols = cols;
    o.vecs = vecs;
    return bench_kernels(&o);
}
