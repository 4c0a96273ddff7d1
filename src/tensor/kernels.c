/* kernels.c — choosing a kernel path, and the loops around the kernels.
 *
 * Detection: CPUID says what the processor implements; XGETBV says whether
 * the operating system saves the wider registers on a context switch (an OS
 * that does not would corrupt them). A path is usable only when both agree:
 *   avx2   needs AVX2, FMA, F16C and OS support for 256-bit YMM state;
 *   avx512 needs all of that plus AVX-512 F/BW/DQ/VL, VNNI, and OS support
 *          for the opmask and 512-bit ZMM state.
 * The three tables are built once (pthread_once) from the per-ISA files'
 * fillers; the avx2/avx512 fillers are only ever *called* on CPUs that pass
 * the check, so their instructions never run where they would fault.
 *
 * kern_run_tiles is the loop nest of every SIMD matrix product:
 *   for each chunk of rows whose weights fit in L2 (~256 KiB):
 *     for each group of V <= v_max vectors:
 *       tile_V(chunk rows x V vectors)      -- unpacks each weight block once
 *                                              and uses it for all V vectors
 * so for prefill the weights come from memory once per call and from L2
 * once per group of vectors, and the activations of one group stay in L1/L2.
 *
 * kern_matmul_pool converts the activations (on the calling thread for a
 * few vectors; for many, every thread converts a share inside the pool job,
 * then a barrier), then the threads take chunks of rows (all vectors each)
 * from an atomic counter.
 */
#include "tensor/kernels.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "tensor/kernels_internal.h"
#include "tensor/quant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define KERN_X86 1
#else
#define KERN_X86 0
#endif

/* ======================================================================== */
/* CPU detection                                                             */
/* ======================================================================== */

static bool cpu_has[KERN_ISA_COUNT];

#if KERN_X86
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void detect_cpu(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!osxsave || !avx)
        return;
    uint64_t xcr0 = read_xcr0();
    bool os_ymm = (xcr0 & 0x6) == 0x6;    /* SSE and AVX state */
    bool os_zmm = (xcr0 & 0xe6) == 0xe6;  /* plus opmask, ZMM0-15 upper halves, ZMM16-31 */
    if (__get_cpuid_max(0, NULL) < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    bool avx2 = b & (1u << 5);
    bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
         avx512vl = b & (1u << 31), avx512vnni = c & (1u << 11);
    cpu_has[KERN_AVX2] = os_ymm && avx2 && fma && f16c;
    cpu_has[KERN_AVX512] = cpu_has[KERN_AVX2] && os_zmm && avx512f && avx512dq && avx512bw && avx512vl && avx512vnni;
}
#else
static void detect_cpu(void) {}
#endif

/* ======================================================================== */
/* Tables and selection                                                      */
/* ======================================================================== */

static kern_ops tables[KERN_ISA_COUNT];
static const kern_ops *selected;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static const char *const isa_names[KERN_ISA_COUNT] = { "scalar", "avx2", "avx512" };
static const char *const isa_features[KERN_ISA_COUNT] = {
    "plain C",
    "AVX2 + FMA + F16C",
    "AVX-512 F/BW/DQ/VL + VNNI",
};

const char *kern_isa_name(kern_isa isa)
{
    return (unsigned)isa < KERN_ISA_COUNT ? isa_names[isa] : "?";
}

static kern_isa best_isa(void)
{
    return cpu_has[KERN_AVX512] ? KERN_AVX512 : cpu_has[KERN_AVX2] ? KERN_AVX2 : KERN_SCALAR;
}

static kern_isa choose_isa(const char *request, const char **note);

static void init_tables(void)
{
    detect_cpu();
    cpu_has[KERN_SCALAR] = true;
    for (int i = 0; i < KERN_ISA_COUNT; i++) {
        tables[i].isa = (kern_isa)i;
        tables[i].name = isa_names[i];
        tables[i].features = isa_features[i];
    }
    kern_fill_scalar(&tables[KERN_SCALAR]);
    kern_fill_wide_scalar(&tables[KERN_SCALAR]);
    /* Building the other tables only stores function addresses; nothing in
     * them runs unless the CPU check passed, and kern_get_isa hides them. */
    tables[KERN_AVX2] = tables[KERN_SCALAR]; /* fallback for anything not yet vectorized */
    tables[KERN_AVX2].isa = KERN_AVX2;
    tables[KERN_AVX2].name = isa_names[KERN_AVX2];
    tables[KERN_AVX2].features = isa_features[KERN_AVX2];
    kern_fill_avx2(&tables[KERN_AVX2]);
    kern_fill_wide_avx2(&tables[KERN_AVX2]);
    kern_fill_q_avx2(&tables[KERN_AVX2]);
    kern_fill_k_avx2(&tables[KERN_AVX2]);
    tables[KERN_AVX512] = tables[KERN_AVX2];
    tables[KERN_AVX512].isa = KERN_AVX512;
    tables[KERN_AVX512].name = isa_names[KERN_AVX512];
    tables[KERN_AVX512].features = isa_features[KERN_AVX512];
    kern_fill_avx512(&tables[KERN_AVX512]);
    kern_fill_q_avx512(&tables[KERN_AVX512]);
    kern_fill_k_avx512(&tables[KERN_AVX512]);
    kern_fill_wide_avx512(&tables[KERN_AVX512]);

    const char *note = NULL;
    kern_isa isa = choose_isa(getenv("LOCALSEEK_CPU"), &note);
    if (note)
        log_warn("%s", note);
    selected = &tables[isa];
    log_info("kernels: %s (%s)", selected->name, selected->features);
}

static void ensure_init(void)
{
    pthread_once(&init_once, init_tables);
}

kern_isa kern_choose(const char *request, const char **note)
{
    ensure_init();
    return choose_isa(request, note);
}

/* kern_choose without the initialization (init_tables itself calls it). */
static kern_isa choose_isa(const char *request, const char **note)
{
    static _Thread_local char msg[160];
    if (note)
        *note = NULL;
    kern_isa best = best_isa();
    if (!request || !*request)
        return best;
    for (int i = 0; i < KERN_ISA_COUNT; i++) {
        if (strcmp(request, isa_names[i]) != 0)
            continue;
        if (cpu_has[i])
            return (kern_isa)i;
        snprintf(msg, sizeof msg, "LOCALSEEK_CPU=%s: this CPU or OS lacks %s; using %s instead", request,
                 isa_features[i], isa_names[best]);
        if (note)
            *note = msg;
        return best;
    }
    snprintf(msg, sizeof msg, "LOCALSEEK_CPU=%s is not one of scalar, avx2, avx512; using %s", request,
             isa_names[best]);
    if (note)
        *note = msg;
    return best;
}

const kern_ops *kern_get(void)
{
    ensure_init();
    return selected;
}

const kern_ops *kern_get_isa(kern_isa isa)
{
    ensure_init();
    if ((unsigned)isa >= KERN_ISA_COUNT || !cpu_has[isa])
        return NULL;
    return &tables[isa];
}

bool kern_supports(dtype t)
{
    ensure_init();
    if ((unsigned)t >= DT_COUNT || t == DT_Q8_1 || t == DT_Q8_K)
        return false;
    for (int i = 0; i < KERN_ISA_COUNT; i++)
        if (!tables[i].matmul[t])
            return false;
    return true;
}

/* The generic two-level form, one block at a time (so no scratch row is
 * needed): hi = the block rounded, lo = the rounding's residual rounded. */
void kern_quantize2(const kern_ops *ops, dtype at, const float *x, int64_t n, void *dst)
{
    if (ops->quantize2[at]) {
        ops->quantize2[at](x, dst, n);
        return;
    }
    const dtype_info *ai = dtype_get((uint32_t)at);
    const int be = ai->block_elems;
    const size_t bb = (size_t)ai->block_bytes, row_bytes = dtype_row_bytes(at, n);
    uint8_t *hi = dst;
    float resid[QK_K];
    assert(be <= QK_K);
    for (int64_t b = 0; b < n / be; b++) {
        const float *xb = x + b * be;
        uint8_t *hb = hi + (size_t)b * bb;
        ops->quantize[at](xb, hb, be);
        quant_dequantize_row(at, hb, resid, be);
        for (int i = 0; i < be; i++)
            resid[i] = xb[i] - resid[i];
        ops->quantize[at](resid, hb + row_bytes, be);
    }
}

void kern_dequantize2(const kern_ops *ops, dtype at, const void *src, int64_t n, float *y)
{
    if (ops->dequantize2[at]) {
        ops->dequantize2[at](src, y, n);
        return;
    }
    quant_dequantize_row(at, src, y, n);
    for (int64_t i = 0; i < n; i += QK_K) {
        float lo[QK_K];
        int64_t m = n - i < QK_K ? n - i : QK_K;
        /* rows of 32-element blocks may end inside a 256-element step */
        quant_dequantize_row(at, (const uint8_t *)src + dtype_row_bytes(at, n) + dtype_row_bytes(at, i), lo, m);
        for (int64_t k = 0; k < m; k++)
            y[i + k] += lo[k];
    }
}

void kern_dequantize2_q8_0_pair(const void *src, float *y, int64_t n)
{
    const uint8_t *a = src;
    const int64_t nb = n / QK8_0;
    for (int64_t u = 0; u < nb; u += 2) {
        int nbu = nb - u >= 2 ? 2 : 1;
        const int8_t *hi = (const int8_t *)a, *lo = hi + 32 * nbu;
        for (int k = 0; k < nbu; k++) {
            float d;
            memcpy(&d, lo + 32 * nbu + 4 * k, sizeof d);
            for (int i = 0; i < 32; i++)
                y[QK8_0 * (u + k) + i] = (float)(KERN_Q8_0_PAIR_RATIO * hi[32 * k + i] + lo[32 * k + i]) * d;
        }
        a += 68 * nbu;
    }
}

size_t kern_act_row_bytes(dtype t, int64_t n)
{
    const dtype_info *ti = dtype_get((uint32_t)t);
    assert(ti && ti->supported);
    if (ti->dot_type == DT_F32)
        return (size_t)n * sizeof(float);
    return dtype_row_bytes(ti->dot_type, n);
}

/* ======================================================================== */
/* The tile walk                                                             */
/* ======================================================================== */

/* Weight bytes per row chunk: a quarter of a 1 MiB L2, leaving room for the
 * activations of one group of vectors. */
enum { CHUNK_TARGET_BYTES = 256 * 1024 };

/* pairs = 1: output row v >> 1 (two-level tiles), else v. */
static void run_tiles(kern_tile_fn tile, int v_max, int64_t n, const void *w, size_t w_row_bytes, int64_t n_rows,
                      const void *a, size_t a_row_bytes, int64_t n_vecs, float *y, int64_t y_stride, int pairs)
{
    const uint8_t *wb = w, *ab = a;
    /* With a single group of vectors each weight is read once anyway: no chunks. */
    int64_t chunk = n_rows;
    if (n_vecs > v_max && w_row_bytes > 0) {
        chunk = (int64_t)(CHUNK_TARGET_BYTES / w_row_bytes);
        if (chunk < 1)
            chunk = 1;
    }
    for (int64_t r0 = 0; r0 < n_rows; r0 += chunk) {
        int64_t nr = n_rows - r0 < chunk ? n_rows - r0 : chunk;
        for (int64_t v0 = 0; v0 < n_vecs; v0 += v_max) {
            int vt = (int)(n_vecs - v0 < v_max ? n_vecs - v0 : v_max);
            tile(vt, n, wb + (size_t)r0 * w_row_bytes, w_row_bytes, nr, ab + (size_t)v0 * a_row_bytes,
                 a_row_bytes, y + (v0 >> pairs) * y_stride + r0, y_stride);
        }
    }
}

void kern_run_tiles(kern_tile_fn tile, int v_max, int64_t n, const void *w, size_t w_row_bytes,
                    int64_t n_rows, const void *a, size_t a_row_bytes, int64_t n_vecs, float *y,
                    int64_t y_stride)
{
    run_tiles(tile, v_max, n, w, w_row_bytes, n_rows, a, a_row_bytes, n_vecs, y, y_stride, 0);
}

void kern_run_tiles2(kern_tile_fn tile, int v_max, int64_t n, const void *w, size_t w_row_bytes,
                     int64_t n_rows, const void *a, size_t a_row_bytes, int64_t n_vecs, float *y,
                     int64_t y_stride)
{
    assert(v_max % 2 == 0 && n_vecs % 2 == 0);
    run_tiles(tile, v_max, n, w, w_row_bytes, n_rows, a, a_row_bytes, n_vecs, y, y_stride, 1);
}

/* ======================================================================== */
/* Matrix product on the pool                                                */
/* ======================================================================== */

typedef struct {
    pool *p;
    const kern_ops *ops;
    dtype t;
    const uint8_t *w;
    size_t w_row_bytes;
    int64_t n_rows, n;
    const float *x;
    int64_t x_stride, n_vecs;
    float *y;
    int64_t y_stride;
    uint8_t *act;          /* [n_vecs][act_row_bytes], or NULL for float weights */
    size_t act_row_bytes;
    dtype act_type;
    int act_block;         /* elements per activation block */
    size_t act_block_bytes;
    bool parallel_quantize; /* convert activations inside the job (else done before it) */
    int64_t chunk_rows;    /* rows handed out per counter step */
    atomic_int_fast64_t next_chunk;
} matmul_job;

/* Converts activation blocks [b0, b1) of the whole [n_vecs][n] input. */
static void quantize_blocks(const matmul_job *j, long b0, long b1)
{
    int64_t blocks_per_row = j->n / j->act_block;
    kern_quantize_fn q = j->ops->quantize[j->act_type];
    while (b0 < b1) {
        int64_t v = b0 / blocks_per_row, bi = b0 % blocks_per_row;
        int64_t nb = blocks_per_row - bi < b1 - b0 ? blocks_per_row - bi : b1 - b0;
        q(j->x + v * j->x_stride + bi * j->act_block,
          j->act + (size_t)v * j->act_row_bytes + (size_t)bi * j->act_block_bytes, nb * j->act_block);
        b0 += nb;
    }
}

static void matmul_job_run(void *ctx, int ith, int nth)
{
    matmul_job *j = ctx;
    const void *a = j->x;
    size_t a_row_bytes = (size_t)j->x_stride * sizeof(float);
    if (j->act) {
        if (j->parallel_quantize) {
            /* Phase 1: every thread converts a share of all activation blocks. */
            long b0, b1;
            pool_share((long)(j->n / j->act_block * j->n_vecs), ith, nth, &b0, &b1);
            quantize_blocks(j, b0, b1);
            if (nth > 1)
                pool_barrier(j->p);
        }
        a = j->act;
        a_row_bytes = j->act_row_bytes;
    }
    /* Phase 2: threads take chunks of rows (all vectors each) from a shared
     * counter until none are left, so a thread that is slowed down (another
     * program, a slower core) takes fewer chunks instead of holding up all. */
    for (;;) {
        int64_t c = atomic_fetch_add_explicit(&j->next_chunk, 1, memory_order_relaxed);
        int64_t r0 = c * j->chunk_rows;
        if (r0 >= j->n_rows)
            break;
        int64_t nr = j->n_rows - r0 < j->chunk_rows ? j->n_rows - r0 : j->chunk_rows;
        j->ops->matmul[j->t](j->n, j->w + (size_t)r0 * j->w_row_bytes, j->w_row_bytes, nr, a, a_row_bytes,
                             j->n_vecs, j->y + r0, j->y_stride);
    }
}

/* Rows per chunk: about 8 chunks per thread (so uneven progress evens out)
 * but at least 16 rows (so the counter costs nothing), and at least 64 KiB
 * of weights for decode, where each chunk streams from memory. */
static int64_t chunk_rows_for(int64_t n_rows, size_t w_row_bytes, int nth)
{
    if (nth <= 1)
        return n_rows > 0 ? n_rows : 1;
    int64_t c = n_rows / ((int64_t)nth * 8);
    int64_t min_rows = w_row_bytes > 0 ? (int64_t)((64 * 1024) / w_row_bytes) : 16;
    if (min_rows < 16)
        min_rows = 16;
    return c > min_rows ? c : min_rows;
}

void kern_matmul_pool(pool *p, dtype t, const void *w, size_t w_row_bytes, int64_t n_rows, int64_t n,
                      const float *x, int64_t x_stride, int64_t n_vecs,
                      float *y, int64_t y_stride, void *scratch, size_t scratch_bytes)
{
    const dtype_info *ti = dtype_get((uint32_t)t);
    assert(ti && ti->supported && dtype_row_fits(t, n));
    const kern_ops *ops = kern_get();
    matmul_job j = {
        .p = p, .ops = ops, .t = t, .w = w, .w_row_bytes = w_row_bytes, .n_rows = n_rows, .n = n,
        .x = x, .x_stride = x_stride, .n_vecs = n_vecs, .y = y, .y_stride = y_stride,
    };
    if (ti->dot_type != DT_F32) {
        const dtype_info *at = dtype_get((uint32_t)ti->dot_type);
        j.act_type = ti->dot_type;
        j.act_block = at->block_elems;
        j.act_block_bytes = (size_t)at->block_bytes;
        j.act_row_bytes = kern_act_row_bytes(t, n);
        j.act = scratch;
        assert(scratch && scratch_bytes >= (size_t)n_vecs * j.act_row_bytes);
        assert(n % j.act_block == 0);
    }
    (void)scratch_bytes;
    int nth = p ? pool_size(p) : 1;
    /* A few vectors (decode) are converted right here: it takes about a
     * microsecond, and a barrier after a shared conversion would make the
     * caller wait for the slowest thread to arrive, which the row chunks
     * below are designed to avoid. Many vectors (prefill) are converted by
     * all threads. */
    if (j.act) {
        j.parallel_quantize = nth > 1 && n_vecs >= 4 * (int64_t)nth;
        if (!j.parallel_quantize)
            quantize_blocks(&j, 0, (long)(n / j.act_block * n_vecs));
    }
    j.chunk_rows = chunk_rows_for(n_rows, w_row_bytes, nth);
    atomic_init(&j.next_chunk, 0);
    if (p)
        pool_run(p, matmul_job_run, &j);
    else
        matmul_job_run(&j, 0, 1);
}

/* ======================================================================== */
/* Random valid rows for tests and benchmarks                                */
/* ======================================================================== */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* Uniform in [lo, hi). */
static float rand_range(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(next_rand(s) >> 40) * (1.0f / 16777216.0f);
}

/* A positive F16 scale in [lo, hi), random sign when signed_ok. */
static ls_f16 rand_scale(uint64_t *s, float lo, float hi, bool signed_ok)
{
    float v = rand_range(s, lo, hi);
    if (signed_ok && (next_rand(s) & 1))
        v = -v;
    return f32_to_f16(v);
}

void kern_fill_random_row(dtype t, void *row, int64_t n, uint64_t *seed)
{
    assert(dtype_row_fits(t, n));
    size_t n_bytes = dtype_row_bytes(t, n);
    uint8_t *p = row;
    for (size_t i = 0; i < n_bytes; i++)
        p[i] = (uint8_t)(next_rand(seed) >> 56);
    /* Scales: sized so that weights land around |w| ~ 0.01..0.1, like a
     * trained model's; quants stay arbitrary. */
    int64_t nb = n / dtype_get((uint32_t)t)->block_elems;
    switch (t) {
    case DT_F32:
        for (int64_t i = 0; i < n; i++)
            ((float *)row)[i] = rand_range(seed, -0.1f, 0.1f);
        break;
    case DT_F16:
        for (int64_t i = 0; i < n; i++)
            ((ls_f16 *)row)[i] = f32_to_f16(rand_range(seed, -0.1f, 0.1f));
        break;
    case DT_BF16:
        for (int64_t i = 0; i < n; i++)
            ((ls_bf16 *)row)[i] = f32_to_bf16(rand_range(seed, -0.1f, 0.1f));
        break;
    case DT_Q8_0:
        for (int64_t b = 0; b < nb; b++)
            ((block_q8_0 *)row)[b].d = rand_scale(seed, 2e-4f, 1e-3f, true);
        break;
    case DT_Q4_0:
        for (int64_t b = 0; b < nb; b++)
            ((block_q4_0 *)row)[b].d = rand_scale(seed, 4e-3f, 1.5e-2f, true);
        break;
    case DT_Q5_0:
        for (int64_t b = 0; b < nb; b++)
            ((block_q5_0 *)row)[b].d = rand_scale(seed, 2e-3f, 7e-3f, true);
        break;
    case DT_Q4_1:
        for (int64_t b = 0; b < nb; b++) {
            ((block_q4_1 *)row)[b].d = rand_scale(seed, 4e-3f, 1.5e-2f, false);
            ((block_q4_1 *)row)[b].m = rand_scale(seed, 0.03f, 0.1f, true);
        }
        break;
    case DT_Q5_1:
        for (int64_t b = 0; b < nb; b++) {
            ((block_q5_1 *)row)[b].d = rand_scale(seed, 2e-3f, 7e-3f, false);
            ((block_q5_1 *)row)[b].m = rand_scale(seed, 0.03f, 0.1f, true);
        }
        break;
    case DT_Q4_K:
        for (int64_t b = 0; b < nb; b++) {
            ((block_q4_k *)row)[b].d = rand_scale(seed, 1e-4f, 3e-4f, false);
            ((block_q4_k *)row)[b].dmin = rand_scale(seed, 1e-4f, 3e-4f, false);
        }
        break;
    case DT_Q5_K:
        for (int64_t b = 0; b < nb; b++) {
            ((block_q5_k *)row)[b].d = rand_scale(seed, 5e-5f, 1.5e-4f, false);
            ((block_q5_k *)row)[b].dmin = rand_scale(seed, 1e-4f, 3e-4f, false);
        }
        break;
    case DT_Q6_K:
        for (int64_t b = 0; b < nb; b++)
            ((block_q6_k *)row)[b].d = rand_scale(seed, 2e-5f, 6e-5f, true);
        break;
    default:
        break; /* other types: random bytes (only meaningful for integer types) */
    }
}
