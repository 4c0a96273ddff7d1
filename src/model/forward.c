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
 * Several sequences in one chunk: the rows of x are the tokens of every
 * sequence, one after another (a "segment" per sequence), and every step but
 * attention treats them as one matrix, so the weights are read once for all.
 * Each row knows its segment (row_seg) and position (pos); the K/V writes and
 * attention use that segment's own cache (kvcache.h draws its layout). Both
 * attention products use the F16 matrix kernel with F32 activations.
 */
#include "model/forward.h"
#include "model/kvcache_internal.h"

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

/* One sequence's rows in the chunk being evaluated. */
typedef struct {
    kv_cache *kv;
    int seq;           /* index in the caller's fwd_seq array */
    int t0;            /* its first token here, as an index into that sequence's tokens */
    int row0, n;       /* rows [row0, row0 + n) of the chunk */
    int p0;            /* positions the cache held before this chunk */
    int item0;         /* its first attention work item (att_worker) */
} fwd_seg;

struct fwd_runner {
    const model *m;
    fwd_params p;
    pool *pool;
    bool own_pool;
    const kern_ops *ops;

    /* the chunk being evaluated */
    fwd_seg *segs;     /* [n_seq_max] */
    int n_segs;
    int *row_seg;      /* [B] segment of each row */
    float *logits_rows; /* [n_seq_max][n_vocab] last-token logits of several sequences (n_seq_max > 1) */

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
    float *scores;     /* [n_threads][score_rows][n_ctx] (n_ctx: the longest cache served) */
    int score_rows;
};

/* ======================================================================== */
/* Sizes                                                                     */
/* ======================================================================== */

fwd_params fwd_default_params(void)
{
    return (fwd_params){ .n_ctx = 4096, .n_batch = 512, .n_threads = plat_physical_cores(), .act_bits = 16,
                         .n_seq_max = 1 };
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
    if (p.n_seq_max <= 0)
        p.n_seq_max = d.n_seq_max;
    return p;
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

/* The bookkeeping of a batch: segments, the segment of each row, and, when
 * several sequences may want logits, a row each. */
static size_t batch_bytes_for(const model_hparams *hp, const fwd_params *p)
{
    size_t rows = p->n_seq_max > 1 ? (size_t)p->n_seq_max * (size_t)hp->n_vocab * sizeof(float) : 0;
    return (size_t)p->n_seq_max * sizeof(fwd_seg) + (size_t)p->n_batch * sizeof(int) + rows;
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
           (size_t)p.n_threads * wide_chunk_for(hp, act_row_bytes) + batch_bytes_for(hp, &p);
}

size_t fwd_memory_bytes(const model *m, const fwd_params *pin)
{
    fwd_params p = fwd_fill_defaults(pin);
    return kv_bytes_hp(&m->hp, p.n_ctx) + fwd_scratch_bytes_hp(&m->hp, m->act_row_bytes, &p);
}

/* ======================================================================== */
/* Create / free                                                             */
/* ======================================================================== */

ls_status fwd_create(const model *m, const fwd_params *pin, pool *shared, fwd_runner **out)
{
    *out = NULL;
    fwd_params p = fwd_fill_defaults(pin);
    if (shared)
        p.n_threads = pool_size(shared);
    if (p.n_ctx > (1 << 24))
        return ls_error(LS_ERR_ARG, "context of %d tokens is too large (limit 16M)", p.n_ctx);
    if (p.n_seq_max > 4096)
        return ls_error(LS_ERR_ARG, "%d sequences in one batch is too many (limit 4096)", p.n_seq_max);
    fwd_runner *c = ls_calloc(1, sizeof *c);
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
    size_t S = (size_t)p.n_seq_max;

    c->pool = shared;
    if (!shared) {
        ls_status s = pool_create(p.n_threads, &c->pool);
        if (s) {
            fwd_free(c);
            return s;
        }
        c->own_pool = true;
    }
    size_t n_allocated = 0; /* must come to fwd_scratch_bytes_hp(): the guard's estimate uses that formula */
#define ALLOC(ptr, n_bytes) (n_allocated += (n_bytes), (ptr) = ls_malloc_aligned((n_bytes), 64))
    if (!ALLOC(c->segs, S * sizeof(fwd_seg)) ||
        !ALLOC(c->row_seg, B * sizeof(int)) ||
        (S > 1 && !ALLOC(c->logits_rows, S * (size_t)hp->n_vocab * sizeof(float))) ||
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
        return ls_error(LS_ERR_NOMEM, "no memory for the scratch of a %d-token context (%.1f MiB)", p.n_ctx,
                        (double)fwd_scratch_bytes_hp(hp, m->act_row_bytes, &p) / (1024.0 * 1024.0));
    }
#undef ALLOC
    assert(n_allocated == fwd_scratch_bytes_hp(hp, m->act_row_bytes, &p) || c->act_bytes == 0);
    log_info("runner: caches up to %d positions, batch %d tokens of up to %d sequences, %d threads, kernels %s",
             p.n_ctx, p.n_batch, p.n_seq_max, p.n_threads, c->ops->name);
    *out = c;
    return LS_OK;
}

void fwd_free(fwd_runner *c)
{
    if (!c)
        return;
    if (c->own_pool)
        pool_free(c->pool);
    void *bufs[] = { c->segs, c->row_seg, c->logits_rows, c->x, c->xn, c->q, c->k, c->v, c->att,
                     c->gate, c->up, c->tmp, c->rope_cs, c->pos, c->act, c->wide_w, c->scores, c->ytile };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ls_free(bufs[i]);
    ls_free(c);
}

fwd_params fwd_get_params(const fwd_runner *r)
{
    return r->p;
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
    fwd_runner *c;
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
    fwd_runner *c = j->c;
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
static void rope_tables(fwd_runner *c, int n_tokens)
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
    fwd_runner *c;
    int layer, n_tokens;
} pos_job;

/* Per token: biases, optional Q/K norm, RoPE, then K and V into the cache. */
static void pos_worker(void *ctx, int ith, int nth)
{
    pos_job *j = ctx;
    fwd_runner *c = j->c;
    const model *m = c->m;
    const model_hparams *hp = &m->hp;
    const model_layer *ly = &m->layers[j->layer];
    int hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd;
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
        kv_cache *kv = c->segs[c->row_seg[t]].kv;
        int p = c->pos[t], n_ctx = kv->n_ctx;
        ls_f16 *kc = kv->k + (size_t)j->layer * n_ctx * kv_dim;
        ls_f16 *vt = kv->vt + (size_t)j->layer * hp->n_head_kv * hd * n_ctx;
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
 * Work items, per segment (one sequence's rows in the chunk): a segment of
 * several tokens gives (query head, block of ATT_CHUNK tokens) items; a
 * segment of one token (decode) gives one item per key/value head, with the
 * head's whole group of query heads as the vectors, so each cached key is
 * read once per group. The items of all segments are numbered one after
 * another (fwd_seg.item0) and shared across threads as one list. */

typedef struct {
    fwd_runner *c;
    int layer, n_items;
} att_job;

static bool seg_is_decode(const fwd_runner *c, const fwd_seg *g)
{
    return g->n == 1 && c->m->hp.n_head / c->m->hp.n_head_kv <= 64;
}

static int seg_n_items(const fwd_runner *c, const fwd_seg *g)
{
    const model_hparams *hp = &c->m->hp;
    return seg_is_decode(c, g) ? hp->n_head_kv : hp->n_head * ((g->n + ATT_CHUNK - 1) / ATT_CHUNK);
}

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
    fwd_runner *c = j->c;
    const kern_ops *ops = c->ops;
    const model_hparams *hp = &c->m->hp;
    int hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd, score_stride = c->p.n_ctx;
    int group = hp->n_head / hp->n_head_kv;
    float *scores = c->scores + (size_t)ith * c->score_rows * score_stride;
    float scale = 1.0f / sqrtf((float)hd);
    int limit[ATT_CHUNK > 64 ? ATT_CHUNK : 64];

    long b, e;
    pool_share(j->n_items, ith, nth, &b, &e);
    int si = 0;
    for (long item = b; item < e; item++) {
        while (si + 1 < c->n_segs && item >= c->segs[si + 1].item0)
            si++;
        const fwd_seg *g = &c->segs[si];
        const kv_cache *kv = g->kv;
        int n_ctx = kv->n_ctx, local = (int)(item - g->item0);
        const ls_f16 *kc = kv->k + (size_t)j->layer * n_ctx * kv_dim;
        const ls_f16 *vt = kv->vt + (size_t)j->layer * hp->n_head_kv * hd * n_ctx;
        const float *q_rows = c->q + (size_t)g->row0 * q_dim;
        float *att_rows = c->att + (size_t)g->row0 * q_dim;

        if (seg_is_decode(c, g)) {
            int kvh = local, n_kv = g->p0 + 1;
            const float *q = q_rows + kvh * group * hd; /* the group's query heads, hd apart */
            ops->matmul[DT_F16](hd, kc + kvh * hd, (size_t)kv_dim * sizeof(ls_f16), n_kv, q,
                                (size_t)hd * sizeof(float), group, scores, score_stride);
            for (int r = 0; r < group; r++)
                limit[r] = n_kv;
            softmax_rows(scores, group, score_stride, limit, n_kv, scale);
            ops->matmul[DT_F16](n_kv, vt + (size_t)kvh * hd * n_ctx, (size_t)n_ctx * sizeof(ls_f16), hd, scores,
                                (size_t)score_stride * sizeof(float), group, att_rows + kvh * group * hd, hd);
            continue;
        }
        int n_chunks = (g->n + ATT_CHUNK - 1) / ATT_CHUNK;
        int h = local / n_chunks, ch = local % n_chunks, kvh = h / group;
        int t0 = ch * ATT_CHUNK, t1 = t0 + ATT_CHUNK < g->n ? t0 + ATT_CHUNK : g->n;
        int n_kv = g->p0 + t1; /* the last token of the block sees this many positions */
        ops->matmul[DT_F16](hd, kc + kvh * hd, (size_t)kv_dim * sizeof(ls_f16), n_kv,
                            q_rows + (size_t)t0 * q_dim + h * hd, (size_t)q_dim * sizeof(float), t1 - t0, scores,
                            score_stride);
        for (int t = t0; t < t1; t++)
            limit[t - t0] = g->p0 + t + 1;
        softmax_rows(scores, t1 - t0, score_stride, limit, n_kv, scale);
        ops->matmul[DT_F16](n_kv, vt + (size_t)kvh * hd * n_ctx, (size_t)n_ctx * sizeof(ls_f16), hd, scores,
                            (size_t)score_stride * sizeof(float), t1 - t0, att_rows + (size_t)t0 * q_dim + h * hd,
                            q_dim);
    }
}

/* ======================================================================== */
/* One chunk through the model                                               */
/* ======================================================================== */

/* Final norm and the output matrix for the logits the segments want: every
 * row of an all_logits sequence straight into its buffer; the last row of
 * the others, which for several sequences are gathered so the output matrix
 * is read once for all of them. */
static void output_logits(fwd_runner *c, const fwd_seq *seqs)
{
    const model *m = c->m;
    int n_embd = m->hp.n_embd, n_vocab = m->hp.n_vocab, n_last = 0;
    mm_job out = { .c = c, .n = n_embd, .pre = PRE_RMSNORM, .src_stride = n_embd, .norm_w = m->output_norm,
                   .n_outs = 1, .outs = { { &m->output, NULL, n_vocab } } };
    const fwd_seg *last = NULL;
    for (int s = 0; s < c->n_segs; s++) {
        const fwd_seg *g = &c->segs[s];
        const fwd_seq *sq = &seqs[g->seq];
        if (!sq->logits)
            continue;
        if (sq->all_logits) {
            out.n_vecs = g->n;
            out.src = c->x + (size_t)g->row0 * n_embd;
            out.outs[0].y = sq->logits + (size_t)g->t0 * n_vocab;
            mm_run(&out);
        } else if (g->t0 + g->n == sq->n_tokens) {
            /* rows are gathered into tmp (free at this point) */
            memcpy(c->tmp + (size_t)n_last * n_embd, c->x + (size_t)(g->row0 + g->n - 1) * n_embd,
                   sizeof(float) * (size_t)n_embd);
            n_last++;
            last = g;
        }
    }
    if (n_last == 0)
        return;
    out.n_vecs = n_last;
    out.src = c->tmp;
    out.outs[0].y = n_last == 1 ? seqs[last->seq].logits : c->logits_rows;
    mm_run(&out);
    if (n_last == 1)
        return;
    for (int s = 0, k = 0; s < c->n_segs; s++) {
        const fwd_seg *g = &c->segs[s];
        const fwd_seq *sq = &seqs[g->seq];
        if (sq->logits && !sq->all_logits && g->t0 + g->n == sq->n_tokens)
            memcpy(sq->logits, c->logits_rows + (size_t)k++ * n_vocab, sizeof(float) * (size_t)n_vocab);
    }
}

/* The chunk described by c->segs (T rows in all) through the model. */
static void eval_chunk(fwd_runner *c, const fwd_seq *seqs, int T)
{
    const model *m = c->m;
    const model_hparams *hp = &m->hp;
    int n_embd = hp->n_embd, hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd;

    int n_items = 0;
    for (int s = 0; s < c->n_segs; s++) {
        fwd_seg *g = &c->segs[s];
        g->item0 = n_items;
        n_items += seg_n_items(c, g);
        const int32_t *tokens = seqs[g->seq].tokens + g->t0;
        for (int i = 0; i < g->n; i++) {
            int row = g->row0 + i;
            c->pos[row] = g->p0 + i;
            c->row_seg[row] = s;
            quant_dequantize_row(m->tok_embd.type,
                                 (const uint8_t *)m->tok_embd.data + (size_t)tokens[i] * m->tok_embd.row_bytes,
                                 c->x + (size_t)row * n_embd, n_embd);
        }
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
        att_job aj = { c, l, n_items };
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
    output_logits(c, seqs);

    for (int s = 0; s < c->n_segs; s++) {
        fwd_seg *g = &c->segs[s];
        memcpy(g->kv->ids + g->p0, seqs[g->seq].tokens + g->t0, sizeof(int32_t) * (size_t)g->n);
        g->kv->n_past += g->n;
    }
}

/* Everything that can be wrong with a batch, checked before any work. */
static ls_status check_batch(const fwd_runner *c, const fwd_seq *seqs, int n_seqs)
{
    const model_hparams *hp = &c->m->hp;
    if (n_seqs < 1 || n_seqs > c->p.n_seq_max)
        return ls_error(LS_ERR_ARG, "a batch of %d sequences: this runner takes 1 to %d", n_seqs, c->p.n_seq_max);
    for (int s = 0; s < n_seqs; s++) {
        const fwd_seq *sq = &seqs[s];
        const kv_cache *kv = sq->kv;
        if (!kv || kv->m != c->m || kv->n_ctx > c->p.n_ctx)
            return ls_error(LS_ERR_ARG, "sequence %d: %s", s,
                            !kv ? "no KV cache" : kv->m != c->m ? "its KV cache belongs to another model"
                                                                : "its KV cache is longer than the runner serves");
        for (int o = 0; o < s; o++)
            if (seqs[o].kv == kv)
                return ls_error(LS_ERR_ARG, "sequences %d and %d share one KV cache", o, s);
        if (sq->n_tokens <= 0)
            return ls_error(LS_ERR_ARG, "no tokens to evaluate");
        if (sq->n_tokens > kv->n_ctx - kv->n_past)
            return ls_error(LS_ERR_LIMIT,
                            "the context is full: %d tokens cached + %d new > %d positions (use a larger --ctx)",
                            kv->n_past, sq->n_tokens, kv->n_ctx);
        for (int i = 0; i < sq->n_tokens; i++)
            if (sq->tokens[i] < 0 || sq->tokens[i] >= hp->n_vocab)
                return ls_error(LS_ERR_ARG, "token id %d at position %d is outside the vocabulary (0..%d)",
                                sq->tokens[i], i, hp->n_vocab - 1);
    }
    return LS_OK;
}

ls_status fwd_eval(fwd_runner *c, const fwd_seq *seqs, int n_seqs)
{
    ls_status st = check_batch(c, seqs, n_seqs);
    if (st)
        return st;
    /* Chunks of up to n_batch rows, filled with the sequences in order; a
     * sequence longer than the room left goes on in the next chunk. */
    int cur = 0, off = 0;
    while (cur < n_seqs) {
        int T = 0;
        c->n_segs = 0;
        while (cur < n_seqs && T < c->p.n_batch) {
            const fwd_seq *sq = &seqs[cur];
            int take = sq->n_tokens - off < c->p.n_batch - T ? sq->n_tokens - off : c->p.n_batch - T;
            c->segs[c->n_segs++] = (fwd_seg){ .kv = sq->kv, .seq = cur, .t0 = off, .row0 = T, .n = take,
                                              .p0 = sq->kv->n_past };
            T += take;
            off += take;
            if (off == sq->n_tokens) {
                cur++;
                off = 0;
            }
        }
        eval_chunk(c, seqs, T);
    }
    return LS_OK;
}

ls_status fwd_eval_one(fwd_runner *r, kv_cache *kv, const int32_t *tokens, int n_tokens, float *logits,
                       bool all_logits)
{
    fwd_seq one = { .kv = kv, .tokens = tokens, .n_tokens = n_tokens, .logits = logits, .all_logits = all_logits };
    return fwd_eval(r, &one, 1);
}
