/* forward.c — the transformer forward pass over a chunk of tokens.
 *
 * For a chunk of T tokens at positions p0 .. p0+T-1 (letters as in model.h):
 *
 *   x[T][n_embd]  = embedding rows of the tokens           (the residual stream)
 *   each layer:
 *     q,k,v       = RMSNorm(x) @ Wq, Wk, Wv  (+ bias)      (one fused job)
 *     q,k         = RoPE(q,k) by position; k,v appended to the KV cache
 *     att         = softmax(q·K / sqrt(hd), causal) · V    (per head)
 *     x          += att @ Wo
 *     x          += (SiLU(RMSNorm(x) @ Wgate) * (RMSNorm(x) @ Wup)) @ Wdown
 *   logits        = RMSNorm(x) @ Wout
 *
 * Matrix products are "jobs" on the thread pool (mm_run): phase 1 prepares
 * the activation rows (RMSNorm or SiLU·up, then conversion to the kernel's
 * 8-bit format), a barrier, phase 2 splits the weight rows across threads so
 * each weight byte is read once per chunk, and an optional phase 3 adds each
 * thread's rows of the result into the residual stream as soon as they are
 * done. Fusing these steps saves a pass over the activations and a thread
 * wake-up per step.
 *
 * KV cache layout (F16): K as [layer][pos][n_head_kv*hd] — a head's keys are
 * rows the score kernel streams; V transposed as [layer][kv_head][hd][pos] —
 * so "weights times values" is again rows times a vector. Both products use
 * the F16 matrix kernel with F32 activations.
 */
#include "model/forward.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/threadpool.h"
#include "tensor/kernels.h"
#include "tensor/quant.h"

enum {
    ATT_CHUNK = 32, /* tokens per attention work item in prefill */
    TILE_ROWS = 64, /* weight rows per matrix-product work item */
    WIDE_MIN_VECS = 16,              /* fewer vectors: the 8-bit kernels (no expansion to amortize);
                                        `bench -m r1-1.5b-q4_k_m -p 12|16 -n 0 -r 5`, 2 threads, with
                                        this set to 4 / 24: 12 tokens 48 tok/s two-level vs 40 wide,
                                        16 tokens 45 vs 52-61 */
    WIDE_CHUNK_BYTES = 384 * 1024,   /* expanded weight rows per thread: most of a 1 MiB L2 */
};

struct fwd_ctx {
    const model *m;
    fwd_params p;
    pool *pool;
    const kern_ops *ops;
    int n_past;

    ls_f16 *k_cache;   /* [n_layer][n_ctx][kv_dim] */
    ls_f16 *vt_cache;  /* [n_layer][n_head_kv][hd][n_ctx] */

    /* scratch, sized for n_batch tokens */
    float *x;          /* [B][n_embd]   residual stream */
    float *xn;         /* [B][max(n_embd, n_ff, q_dim)] prepared activations (normed, or SiLU·up) */
    float *q;          /* [B][q_dim] */
    float *k;          /* [B][kv_dim] */
    float *v;          /* [B][kv_dim] */
    float *att;        /* [B][q_dim]   attention output */
    float *gate;       /* [B][n_ff] */
    float *up;         /* [B][n_ff] */
    float *tmp;        /* [B][n_embd]  matmul output before the residual add */
    float *rope_cs;    /* [B][n_rot/2][2] cos, sin */
    int *pos;          /* [B] */
    void *act;         /* converted activations, act_bytes: per vector a "hi" row then, in
                          two-level mode, a "lo" row (see mm_worker) */
    size_t act_bytes;
    uint8_t *wide_w;   /* [n_threads][wide_chunk] weight rows expanded for the wide path */
    size_t wide_chunk;
    float *ytile;      /* [n_threads][2 * n_batch][TILE_ROWS] two-level partial products */
    float *scores;     /* [n_threads][score_rows][n_ctx] */
    int score_rows;
};

/* ======================================================================== */
/* Sizes                                                                     */
/* ======================================================================== */

fwd_params fwd_default_params(void)
{
    return (fwd_params){ .n_ctx = 4096, .n_batch = 512, .n_threads = plat_physical_cores(), .act_bits = 16 };
}

fwd_params fwd_fill_defaults(const fwd_params *in)
{
    fwd_params d = fwd_default_params(), p = in ? *in : d;
    if (p.n_ctx <= 0)
        p.n_ctx = d.n_ctx;
    if (p.n_batch <= 0)
        p.n_batch = d.n_batch;
    if (p.n_threads <= 0)
        p.n_threads = d.n_threads;
    if (p.n_batch > p.n_ctx)
        p.n_batch = p.n_ctx;
    if (p.act_bits != 8)
        p.act_bits = 16;
    return p;
}

size_t fwd_kv_bytes_hp(const model_hparams *hp, int n_ctx)
{
    return 2 * (size_t)hp->n_layer * (size_t)n_ctx * (size_t)hp->n_head_kv * (size_t)hp->head_dim * sizeof(ls_f16);
}

size_t fwd_kv_bytes(const model *m, int n_ctx)
{
    return fwd_kv_bytes_hp(&m->hp, n_ctx);
}

/* The widest activation row a layer produces: max(n_embd, n_ff, q_dim). */
static size_t widest_row(const model_hparams *hp)
{
    size_t w = (size_t)hp->n_embd, q_dim = (size_t)hp->n_head * hp->head_dim;
    if ((size_t)hp->n_ff > w)
        w = (size_t)hp->n_ff;
    return q_dim > w ? q_dim : w;
}

/* The converted-activation buffer: every vector of a chunk either as a "hi"
 * and a "lo" row of the 8-bit kernels, or as one wide row (see mm_worker),
 * as wide as the widest row any matrix product converts. None for models
 * of float weights (act_row_bytes 0). */
static size_t act_bytes_for(const model_hparams *hp, size_t act_row_bytes, int n_batch)
{
    if (act_row_bytes == 0)
        return 0;
    size_t two_level = 2 * (size_t)n_batch * act_row_bytes;
    size_t wide = (size_t)n_batch * kern_wide_row_bytes((int64_t)widest_row(hp));
    return two_level > wide ? two_level : wide;
}

/* Per thread: weight rows expanded for the wide path, at least 4 of the
 * widest (one register tile). */
static size_t wide_chunk_for(const model_hparams *hp, size_t act_row_bytes)
{
    if (act_row_bytes == 0)
        return 0;
    size_t four = 4 * kern_wide_row_bytes((int64_t)widest_row(hp));
    return four > WIDE_CHUNK_BYTES ? four : WIDE_CHUNK_BYTES;
}

static int score_rows_for(const model_hparams *hp)
{
    int g = hp->n_head / hp->n_head_kv;
    return g > ATT_CHUNK ? g : ATT_CHUNK;
}

size_t fwd_scratch_bytes_hp(const model_hparams *hp, size_t act_row_bytes, const fwd_params *pin)
{
    fwd_params p = fwd_fill_defaults(pin);
    size_t B = (size_t)p.n_batch, q_dim = (size_t)hp->n_head * hp->head_dim;
    size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim, widest = widest_row(hp);
    /* x, tmp; xn; q, att; k, v; gate, up; rope_cs — then per thread: scores, ytile;
     * then the converted activations and the per-thread expanded weights */
    size_t floats = B * ((size_t)hp->n_embd * 2 + widest + q_dim * 2 + kv_dim * 2 + (size_t)hp->n_ff * 2 +
                         (size_t)hp->n_rot) +
                    (size_t)p.n_threads * ((size_t)score_rows_for(hp) * (size_t)p.n_ctx + 2 * B * TILE_ROWS);
    return floats * sizeof(float) + B * sizeof(int) + act_bytes_for(hp, act_row_bytes, p.n_batch) +
           (size_t)p.n_threads * wide_chunk_for(hp, act_row_bytes);
}

size_t fwd_memory_bytes(const model *m, const fwd_params *pin)
{
    fwd_params p = fwd_fill_defaults(pin);
    return fwd_kv_bytes_hp(&m->hp, p.n_ctx) + fwd_scratch_bytes_hp(&m->hp, m->act_row_bytes, &p);
}

/* ======================================================================== */
/* Create / free                                                             */
/* ======================================================================== */

ls_status fwd_create(const model *m, const fwd_params *pin, fwd_ctx **out)
{
    *out = NULL;
    fwd_params p = fwd_fill_defaults(pin);
    if (p.n_ctx > (1 << 24))
        return ls_error(LS_ERR_ARG, "context of %d tokens is too large (limit 16M)", p.n_ctx);
    fwd_ctx *c = ls_calloc(1, sizeof *c);
    if (!c)
        return ls_error(LS_ERR_NOMEM, "no memory for the inference context");
    c->m = m;
    c->p = p;
    c->ops = kern_get();
    const model_hparams *hp = &m->hp;
    size_t B = (size_t)p.n_batch, q_dim = (size_t)hp->n_head * hp->head_dim;
    size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim, widest = widest_row(hp);
    c->score_rows = score_rows_for(hp);
    c->act_bytes = act_bytes_for(hp, m->act_row_bytes, p.n_batch);
    c->wide_chunk = wide_chunk_for(hp, m->act_row_bytes);
    size_t kv_half = fwd_kv_bytes(m, p.n_ctx) / 2;

    ls_status s = pool_create(p.n_threads, &c->pool);
    if (s) {
        fwd_free(c);
        return s;
    }
    size_t n_allocated = 0; /* must come to fwd_memory_bytes(): the guard's estimate uses that formula */
#define ALLOC(ptr, n_bytes) (n_allocated += (n_bytes), (ptr) = ls_malloc_aligned((n_bytes), 64))
    if (!ALLOC(c->k_cache, kv_half) || !ALLOC(c->vt_cache, kv_half) ||
        !ALLOC(c->x, B * hp->n_embd * sizeof(float)) || !ALLOC(c->xn, B * widest * sizeof(float)) ||
        !ALLOC(c->q, B * q_dim * sizeof(float)) || !ALLOC(c->k, B * kv_dim * sizeof(float)) ||
        !ALLOC(c->v, B * kv_dim * sizeof(float)) || !ALLOC(c->att, B * q_dim * sizeof(float)) ||
        !ALLOC(c->gate, B * hp->n_ff * sizeof(float)) || !ALLOC(c->up, B * hp->n_ff * sizeof(float)) ||
        !ALLOC(c->tmp, B * hp->n_embd * sizeof(float)) ||
        !ALLOC(c->rope_cs, B * (size_t)hp->n_rot * sizeof(float)) || !ALLOC(c->pos, B * sizeof(int)) ||
        !ALLOC(c->act, c->act_bytes ? c->act_bytes : 64) ||
        !ALLOC(c->wide_w, c->wide_chunk ? (size_t)p.n_threads * c->wide_chunk : 64) ||
        !ALLOC(c->scores, (size_t)p.n_threads * (size_t)c->score_rows * (size_t)p.n_ctx * sizeof(float)) ||
        !ALLOC(c->ytile, (size_t)p.n_threads * 2 * B * TILE_ROWS * sizeof(float))) {
        fwd_free(c);
        return ls_error(LS_ERR_NOMEM, "no memory for a %d-token context (%.1f MiB of KV cache and scratch)", p.n_ctx,
                        (double)fwd_memory_bytes(m, &p) / (1024.0 * 1024.0));
    }
#undef ALLOC
    assert(n_allocated == fwd_memory_bytes(m, &p) || c->act_bytes == 0);
    /* The V cache is read beyond n_past only with zero weights, but 0 * NaN
     * would still poison a sum: start from zeros. */
    memset(c->vt_cache, 0, kv_half);
    log_info("context: %d positions, batch %d, %d threads, kernels %s, KV cache %.1f MiB", p.n_ctx, p.n_batch,
             p.n_threads, c->ops->name, (double)(2 * kv_half) / (1024.0 * 1024.0));
    *out = c;
    return LS_OK;
}

void fwd_free(fwd_ctx *c)
{
    if (!c)
        return;
    pool_free(c->pool);
    void *bufs[] = { c->k_cache, c->vt_cache, c->x, c->xn, c->q, c->k, c->v, c->att, c->gate,
                     c->up, c->tmp, c->rope_cs, c->pos, c->act, c->wide_w, c->scores, c->ytile };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ls_free(bufs[i]);
    ls_free(c);
}

int fwd_n_past(const fwd_ctx *c)
{
    return c->n_past;
}

int fwd_n_ctx(const fwd_ctx *c)
{
    return c->p.n_ctx;
}

void fwd_rewind(fwd_ctx *c, int n_past)
{
    if (n_past < c->n_past && n_past >= 0)
        c->n_past = n_past;
}

/* ======================================================================== */
/* Small vector steps                                                        */
/* ======================================================================== */

/* RMSNorm: scale a row so its root-mean-square is 1, then by learned weights.
 * Like adjusting a recording's volume before the next effect: the layers
 * work on the shape of the signal, not its loudness. Sum in double: cheap
 * here, and it keeps long rows accurate. */
static void rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    double ss = 0.0;
    for (int i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++)
        out[i] = x[i] * scale * w[i];
}

/* SiLU(g) * u: the feed-forward layer's gate. SiLU(g) = g / (1 + e^-g) lets
 * positive signals through and damps negative ones smoothly. */
static void silu_mul(float *out, const float *g, const float *u, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* ======================================================================== */
/* Matrix-product jobs                                                       */
/* ======================================================================== */

typedef enum {
    PRE_COPY,     /* activations are the source rows as they are */
    PRE_RMSNORM,  /* RMSNorm(src) * norm_w */
    PRE_SILU_MUL, /* SiLU(src) * src2 */
} pre_op;

typedef struct {
    const model_mat *w;
    float *y;          /* [n_vecs][y_stride] */
    int64_t y_stride;
} mm_out;

typedef struct {
    fwd_ctx *c;
    int64_t n_vecs;
    int64_t n;             /* row length (columns of every matrix in the job) */
    pre_op pre;
    const float *src;      /* [n_vecs][src_stride] */
    const float *src2;     /* for PRE_SILU_MUL, same strides */
    int64_t src_stride;
    const float *norm_w;   /* for PRE_RMSNORM */
    mm_out outs[3];
    int n_outs;
    float *residual;       /* if set: residual[v][r] += outs[0].y[v][r] after the products */
    int64_t residual_stride;
} mm_job;

/* Two-level activations (kern_quantize2). Rounding activations to 8 bits is
 * where almost all of the arithmetic error of a quantized model comes from
 * (the golden tests show ~0.12-0.9 logits of error with it, ~0.002-0.01
 * without), so in the default mode each activation row is kept in two 8-bit
 * levels, the value and what its rounding missed, and the matmul2 kernels
 * multiply the weights they have just read with both. This serves decode and
 * short prompts; 16 or more vectors take the wide path instead (use_wide),
 * which rounds each activation once to a 16-bit integer.
 * fwd_params.act_bits = 8 turns both off: one 8-bit rounding, as llama.cpp
 * does. */

/* The wide path (tensor/kernels_wide.c): for a prompt in 16-bit mode each
 * activation row is rounded once to 16-bit integers and each thread expands
 * its weight rows, a chunk at a time, into the same integer layout, which
 * costs one pass over the weights but makes the per-vector work one
 * instruction per 32 multiply-adds. With few vectors the expansion would not
 * pay for itself: the 8-bit kernels with two levels serve (the two give the
 * same results within the activations' rounding, ~1/30000 of each block's
 * largest value either way). */
static bool use_wide(const mm_job *j)
{
    if (j->c->p.act_bits == 8 || j->n_vecs < WIDE_MIN_VECS || j->n % 32 != 0)
        return false;
    for (int o = 0; o < j->n_outs; o++)
        if (!kern_wide_supports(j->outs[o].w->type))
            return false;
    return true;
}

static void mm_worker(void *ctx, int ith, int nth)
{
    mm_job *j = ctx;
    fwd_ctx *c = j->c;
    const kern_ops *ops = c->ops;
    dtype wt = j->outs[0].w->type;
    dtype at = dtype_get(wt)->dot_type;
    bool quantized = at != DT_F32;
    bool wide = quantized && use_wide(j);
    bool two_level = quantized && !wide && c->p.act_bits != 8;
    size_t a_row_bytes = wide ? kern_wide_row_bytes(j->n) : kern_act_row_bytes(wt, j->n);
    /* Where the float activations live once prepared. */
    const float *xf = j->pre == PRE_COPY ? j->src : c->xn;
    int64_t xf_stride = j->pre == PRE_COPY ? j->src_stride : j->n;

    /* Phase 1: prepare and convert this thread's share of the vectors. */
    long b, e;
    pool_share(j->n_vecs, ith, nth, &b, &e);
    for (long v = b; v < e; v++) {
        const float *s = j->src + v * j->src_stride;
        float *dst = c->xn + v * j->n;
        if (j->pre == PRE_RMSNORM)
            rmsnorm(dst, s, j->norm_w, (int)j->n, c->m->hp.norm_eps);
        else if (j->pre == PRE_SILU_MUL)
            silu_mul(dst, s, j->src2 + v * j->src_stride, (int)j->n);
        if (wide)
            ops->wide_quantize(xf + v * xf_stride, j->n, (uint8_t *)c->act + (size_t)v * a_row_bytes);
        else if (two_level)
            kern_quantize2(ops, at, xf + v * xf_stride, j->n, (uint8_t *)c->act + (size_t)v * 2 * a_row_bytes);
        else if (quantized)
            ops->quantize[at](xf + v * xf_stride, (uint8_t *)c->act + (size_t)v * a_row_bytes, j->n);
    }
    pool_barrier(c->pool);

    /* Phase 2: the weight rows in tiles of TILE_ROWS, shared across threads;
     * each tile is multiplied with all vectors while it sits in cache. */
    const void *a = quantized ? c->act : (const void *)xf;
    size_t a_stride_bytes = quantized ? a_row_bytes : (size_t)xf_stride * sizeof(float);
    float *ytile = c->ytile + (size_t)ith * 2 * c->p.n_batch * TILE_ROWS;
    for (int o = 0; o < j->n_outs; o++) {
        const model_mat *w = j->outs[o].w;
        float *y = j->outs[o].y;
        int64_t ys = j->outs[o].y_stride;
        long n_tiles = (long)((w->n_rows + TILE_ROWS - 1) / TILE_ROWS), tb, te;
        pool_share(n_tiles, ith, nth, &tb, &te);
        for (long tile = tb; tile < te; tile++) {
            int64_t r0 = tile * TILE_ROWS, nr = w->n_rows - r0 < TILE_ROWS ? w->n_rows - r0 : TILE_ROWS;
            const uint8_t *wr = (const uint8_t *)w->data + (size_t)r0 * w->row_bytes;
            if (wide) {
                kern_wide_rows(ops, w->type, w->data, w->row_bytes, j->n, r0, nr, c->act, j->n_vecs, y, ys,
                               c->wide_w + (size_t)ith * c->wide_chunk, c->wide_chunk);
            } else if (!two_level) {
                ops->matmul[w->type](j->n, wr, w->row_bytes, nr, a, a_stride_bytes, j->n_vecs, y + r0, ys);
            } else if (ops->matmul2[w->type]) {
                ops->matmul2[w->type](j->n, wr, w->row_bytes, nr, a, a_stride_bytes, 2 * j->n_vecs, y + r0, ys);
            } else {
                ops->matmul[w->type](j->n, wr, w->row_bytes, nr, a, a_stride_bytes, 2 * j->n_vecs, ytile,
                                     TILE_ROWS);
                for (int64_t v = 0; v < j->n_vecs; v++) {
                    const float *yh = ytile + (size_t)(2 * v) * TILE_ROWS, *yl = yh + TILE_ROWS;
                    float *yo = y + v * ys + r0;
                    for (int64_t r = 0; r < nr; r++)
                        yo[r] = yh[r] + yl[r];
                }
            }
            /* Phase 3, per tile: add this tile's rows into the residual
             * stream (no other thread touches these rows, so no barrier). */
            if (o == 0 && j->residual)
                for (int64_t v = 0; v < j->n_vecs; v++) {
                    float *rs = j->residual + v * j->residual_stride + r0;
                    const float *yo = y + v * ys + r0;
                    for (int64_t r = 0; r < nr; r++)
                        rs[r] += yo[r];
                }
        }
    }
}

/* Runs one job; matrices whose activation formats differ (a file mixing
 * K-quants with 32-blocks) are run as separate jobs sharing the same input,
 * except on the wide path, whose activation rows serve every weight type. */
static void mm_run(mm_job *j)
{
    int n = j->n_outs;
    bool same = true;
    for (int o = 1; o < n; o++)
        same = same && dtype_get(j->outs[o].w->type)->dot_type == dtype_get(j->outs[0].w->type)->dot_type;
    if (same || use_wide(j)) {
        pool_run(j->c->pool, mm_worker, j);
        return;
    }
    mm_job one = *j;
    for (int o = 0; o < n; o++) {
        one.outs[0] = j->outs[o];
        one.n_outs = 1;
        pool_run(j->c->pool, mm_worker, &one);
    }
}

/* ======================================================================== */
/* Positions: biases, RoPE, KV cache                                         */
/* ======================================================================== */

/* RoPE — how the model knows word order. Each pair of numbers in a query or
 * key is treated as a point and rotated by an angle proportional to the
 * token's position; pair i turns at its own speed base^(-2i/n_rot). The dot
 * product of a rotated query and key then depends on how far apart the two
 * tokens are, which is what attention needs. */
static void rope_tables(fwd_ctx *c, int n_tokens)
{
    const model_hparams *hp = &c->m->hp;
    int half = hp->n_rot / 2;
    for (int t = 0; t < n_tokens; t++) {
        for (int i = 0; i < half; i++) {
            double inv_freq = pow((double)hp->rope_base, -2.0 * i / hp->n_rot);
            if (c->m->rope_freqs)
                inv_freq /= c->m->rope_freqs[i];
            double angle = c->pos[t] * inv_freq;
            c->rope_cs[((size_t)t * half + i) * 2] = (float)cos(angle);
            c->rope_cs[((size_t)t * half + i) * 2 + 1] = (float)sin(angle);
        }
    }
}

static void rope_apply(float *v, const float *cs, int n_rot, rope_style style)
{
    int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        int i0 = style == ROPE_NEOX ? i : 2 * i;
        int i1 = style == ROPE_NEOX ? i + half : 2 * i + 1;
        float x0 = v[i0], x1 = v[i1], co = cs[2 * i], si = cs[2 * i + 1];
        v[i0] = x0 * co - x1 * si;
        v[i1] = x0 * si + x1 * co;
    }
}

typedef struct {
    fwd_ctx *c;
    int layer, n_tokens;
} pos_job;

/* Per token: biases, optional Q/K norm, RoPE, then K and V into the cache. */
static void pos_worker(void *ctx, int ith, int nth)
{
    pos_job *j = ctx;
    fwd_ctx *c = j->c;
    const model *m = c->m;
    const model_hparams *hp = &m->hp;
    const model_layer *ly = &m->layers[j->layer];
    int hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd, n_ctx = c->p.n_ctx;
    ls_f16 *kc = c->k_cache + (size_t)j->layer * n_ctx * kv_dim;
    ls_f16 *vt = c->vt_cache + (size_t)j->layer * hp->n_head_kv * hd * n_ctx;
    long b, e;
    pool_share(j->n_tokens, ith, nth, &b, &e);
    for (long t = b; t < e; t++) {
        float *q = c->q + t * q_dim, *k = c->k + t * kv_dim, *v = c->v + t * kv_dim;
        if (ly->bq) {
            for (int i = 0; i < q_dim; i++)
                q[i] += ly->bq[i];
            for (int i = 0; i < kv_dim; i++) {
                k[i] += ly->bk[i];
                v[i] += ly->bv[i];
            }
        }
        const float *cs = c->rope_cs + (size_t)t * hp->n_rot;
        for (int h = 0; h < hp->n_head; h++) {
            if (ly->q_norm)
                rmsnorm(q + h * hd, q + h * hd, ly->q_norm, hd, hp->norm_eps);
            rope_apply(q + h * hd, cs, hp->n_rot, m->arch->rope);
        }
        for (int h = 0; h < hp->n_head_kv; h++) {
            if (ly->k_norm)
                rmsnorm(k + h * hd, k + h * hd, ly->k_norm, hd, hp->norm_eps);
            rope_apply(k + h * hd, cs, hp->n_rot, m->arch->rope);
        }
        int p = c->pos[t];
        for (int i = 0; i < kv_dim; i++) {
            kc[(size_t)p * kv_dim + i] = f32_to_f16(k[i]);
            vt[(size_t)i * n_ctx + p] = f32_to_f16(v[i]); /* i = kv_head * hd + d */
        }
    }
}

/* ======================================================================== */
/* Attention                                                                 */
/* ======================================================================== */
/* Attention lets each token look back at every earlier token and take what it
 * needs: its query is compared with every key (a score per earlier token),
 * the scores become weights that sum to 1 (softmax), and the output is the
 * weighted mix of the values. Grouped-query attention: n_head/n_head_kv query
 * heads share each key/value head.
 *
 * Work items: in prefill, (query head, chunk of ATT_CHUNK tokens); in decode
 * (one token), one key/value head with its whole group of query heads as
 * the vectors, so each cached key is read once per group. */

typedef struct {
    fwd_ctx *c;
    int layer, n_tokens;
} att_job;

/* scores: [n_rows][row_stride]; row r may see positions 0..limit[r]-1. */
static void softmax_rows(float *scores, int n_rows, int row_stride, const int *limit, int n_cols, float scale)
{
    for (int r = 0; r < n_rows; r++) {
        float *s = scores + (size_t)r * row_stride;
        int n = limit[r];
        float mx = -INFINITY;
        for (int i = 0; i < n; i++) {
            s[i] *= scale;
            if (s[i] > mx)
                mx = s[i];
        }
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            s[i] = expf(s[i] - mx);
            sum += s[i];
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++)
            s[i] *= inv;
        for (int i = n; i < n_cols; i++)
            s[i] = 0.0f; /* masked: a future token, not yet written */
    }
}

static void att_worker(void *ctx, int ith, int nth)
{
    att_job *j = ctx;
    fwd_ctx *c = j->c;
    const kern_ops *ops = c->ops;
    const model_hparams *hp = &c->m->hp;
    int hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd, n_ctx = c->p.n_ctx;
    int group = hp->n_head / hp->n_head_kv;
    const ls_f16 *kc = c->k_cache + (size_t)j->layer * n_ctx * kv_dim;
    const ls_f16 *vt = c->vt_cache + (size_t)j->layer * hp->n_head_kv * hd * n_ctx;
    float *scores = c->scores + (size_t)ith * c->score_rows * n_ctx;
    float scale = 1.0f / sqrtf((float)hd);
    int limit[ATT_CHUNK > 64 ? ATT_CHUNK : 64];
    int p0 = c->pos[0];

    if (j->n_tokens == 1 && group <= 64) {
        int n_kv = p0 + 1;
        long b, e;
        pool_share(hp->n_head_kv, ith, nth, &b, &e);
        for (long g = b; g < e; g++) {
            const float *q = c->q + g * group * hd; /* the group's query heads, hd apart */
            ops->matmul[DT_F16](hd, kc + g * hd, (size_t)kv_dim * sizeof(ls_f16), n_kv, q, (size_t)hd * sizeof(float),
                                group, scores, n_ctx);
            for (int r = 0; r < group; r++)
                limit[r] = n_kv;
            softmax_rows(scores, group, n_ctx, limit, n_kv, scale);
            ops->matmul[DT_F16](n_kv, vt + (size_t)g * hd * n_ctx, (size_t)n_ctx * sizeof(ls_f16), hd, scores,
                                (size_t)n_ctx * sizeof(float), group, c->att + g * group * hd, hd);
        }
        return;
    }

    int n_chunks = (j->n_tokens + ATT_CHUNK - 1) / ATT_CHUNK;
    long b, e;
    pool_share((long)hp->n_head * n_chunks, ith, nth, &b, &e);
    for (long item = b; item < e; item++) {
        int h = (int)(item / n_chunks), ch = (int)(item % n_chunks), g = h / group;
        int t0 = ch * ATT_CHUNK, t1 = t0 + ATT_CHUNK < j->n_tokens ? t0 + ATT_CHUNK : j->n_tokens;
        int n_kv = p0 + t1; /* the last token of the chunk sees this many positions */
        ops->matmul[DT_F16](hd, kc + g * hd, (size_t)kv_dim * sizeof(ls_f16), n_kv, c->q + (size_t)t0 * q_dim + h * hd,
                            (size_t)q_dim * sizeof(float), t1 - t0, scores, n_ctx);
        for (int t = t0; t < t1; t++)
            limit[t - t0] = c->pos[t] + 1;
        softmax_rows(scores, t1 - t0, n_ctx, limit, n_kv, scale);
        ops->matmul[DT_F16](n_kv, vt + (size_t)g * hd * n_ctx, (size_t)n_ctx * sizeof(ls_f16), hd, scores,
                            (size_t)n_ctx * sizeof(float), t1 - t0, c->att + (size_t)t0 * q_dim + h * hd, q_dim);
    }
}

/* ======================================================================== */
/* One chunk through the model                                               */
/* ======================================================================== */

static void eval_chunk(fwd_ctx *c, const int32_t *tokens, int T, float *logits, bool all_logits)
{
    const model *m = c->m;
    const model_hparams *hp = &m->hp;
    int n_embd = hp->n_embd, hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd;

    for (int t = 0; t < T; t++) {
        c->pos[t] = c->n_past + t;
        quant_dequantize_row(m->tok_embd.type, (const uint8_t *)m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes,
                             c->x + (size_t)t * n_embd, n_embd);
    }
    rope_tables(c, T);

    for (int l = 0; l < hp->n_layer; l++) {
        const model_layer *ly = &m->layers[l];
        mm_job qkv = { .c = c, .n_vecs = T, .n = n_embd, .pre = PRE_RMSNORM, .src = c->x, .src_stride = n_embd,
                       .norm_w = ly->attn_norm, .n_outs = 3,
                       .outs = { { &ly->wq, c->q, q_dim }, { &ly->wk, c->k, kv_dim }, { &ly->wv, c->v, kv_dim } } };
        mm_run(&qkv);

        pos_job pj = { c, l, T };
        pool_run(c->pool, pos_worker, &pj);
        att_job aj = { c, l, T };
        pool_run(c->pool, att_worker, &aj);

        mm_job wo = { .c = c, .n_vecs = T, .n = q_dim, .pre = PRE_COPY, .src = c->att, .src_stride = q_dim,
                      .n_outs = 1, .outs = { { &ly->wo, c->tmp, n_embd } }, .residual = c->x,
                      .residual_stride = n_embd };
        mm_run(&wo);

        mm_job gu = { .c = c, .n_vecs = T, .n = n_embd, .pre = PRE_RMSNORM, .src = c->x, .src_stride = n_embd,
                      .norm_w = ly->ffn_norm, .n_outs = 2,
                      .outs = { { &ly->w_gate, c->gate, hp->n_ff }, { &ly->w_up, c->up, hp->n_ff } } };
        mm_run(&gu);

        mm_job down = { .c = c, .n_vecs = T, .n = hp->n_ff, .pre = PRE_SILU_MUL, .src = c->gate, .src2 = c->up,
                        .src_stride = hp->n_ff, .n_outs = 1, .outs = { { &ly->w_down, c->tmp, n_embd } },
                        .residual = c->x, .residual_stride = n_embd };
        mm_run(&down);
    }

    if (logits) {
        /* Final norm and the output matrix: for every token, or the last one only. */
        int first = all_logits ? 0 : T - 1;
        mm_job out = { .c = c, .n_vecs = T - first, .n = n_embd, .pre = PRE_RMSNORM,
                       .src = c->x + (size_t)first * n_embd, .src_stride = n_embd, .norm_w = m->output_norm,
                       .n_outs = 1, .outs = { { &m->output, logits, hp->n_vocab } } };
        mm_run(&out);
    }
    c->n_past += T;
}

ls_status fwd_eval(fwd_ctx *c, const int32_t *tokens, int n_tokens, float *logits, bool all_logits)
{
    const model_hparams *hp = &c->m->hp;
    if (n_tokens <= 0)
        return ls_error(LS_ERR_ARG, "no tokens to evaluate");
    if (n_tokens > c->p.n_ctx - c->n_past)
        return ls_error(LS_ERR_LIMIT, "the context is full: %d tokens cached + %d new > %d positions (use a larger --ctx)",
                        c->n_past, n_tokens, c->p.n_ctx);
    for (int i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return ls_error(LS_ERR_ARG, "token id %d at position %d is outside the vocabulary (0..%d)", tokens[i], i,
                            hp->n_vocab - 1);
    for (int done = 0; done < n_tokens;) {
        int T = n_tokens - done < c->p.n_batch ? n_tokens - done : c->p.n_batch;
        bool last = done + T == n_tokens;
        float *out = NULL;
        if (logits && all_logits)
            out = logits + (size_t)done * hp->n_vocab;
        else if (logits && last)
            out = logits;
        eval_chunk(c, tokens + done, T, out, all_logits);
        done += T;
    }
    return LS_OK;
}
