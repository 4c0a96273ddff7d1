/* qmodel.c — the model quantizer: plan per-tensor types, then stream.
 *
 * How it works. qmodel_plan() classifies each tensor by name (output,
 * token embedding, attn_v-like, ffn_down, other), decides whether it may be
 * quantized at all, applies the preset's rules (see qmodel.h) and the
 * row-length fallback. The layer counters follow llama.cpp: attn_v tensors
 * are numbered in (layer, name) order, ffn_down tensors by their layer, and
 * the layer count is "<arch>.block_count".
 *
 * qmodel_quantize() declares every tensor to a gguf_writer in file order,
 * begins the output, then for each tensor either passes the mapped bytes
 * straight through (type unchanged) or converts it: the pool's threads take
 * chunks of rows from a shared counter, read each row to F32 in their own
 * scratch buffer, check it is finite, and quantize it into the tensor's
 * output buffer (rows are independent, so the result does not depend on the
 * thread count). The buffer grows to the largest output tensor and is
 * reused. Nothing else scales with the model.
 */
#include "tensor/qmodel.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/threadpool.h"
#include "gguf/gguf_write.h"
#include "tensor/quant.h"

/* ======================================================================== */
/* Presets                                                                  */
/* ======================================================================== */

/* file_type numbers are llama.cpp's LLAMA_FTYPE_MOSTLY_* values. */
static const qmodel_preset presets[] = {
    { "F16", 1, DT_F16, false },     { "BF16", 32, DT_BF16, false },  { "Q8_0", 7, DT_Q8_0, false },
    { "Q4_0", 2, DT_Q4_0, false },   { "Q4_1", 3, DT_Q4_1, false },   { "Q5_0", 8, DT_Q5_0, false },
    { "Q5_1", 9, DT_Q5_1, false },   { "Q4_K_M", 15, DT_Q4_K, true }, { "Q5_K_M", 17, DT_Q5_K, true },
    { "Q6_K", 18, DT_Q6_K, false },
};
enum { N_PRESETS = sizeof presets / sizeof presets[0] };

const qmodel_preset *qmodel_preset_find(const char *name)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (strcasecmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

const char *qmodel_preset_names(void)
{
    return "F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_M, Q5_K_M, Q6_K";
}

/* ======================================================================== */
/* Planning                                                                 */
/* ======================================================================== */

typedef enum { CAT_OTHER, CAT_OUTPUT, CAT_TOKEN_EMBD, CAT_ATTN_V, CAT_FFN_DOWN } category;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static category classify(const char *name)
{
    if (strcmp(name, "output.weight") == 0)
        return CAT_OUTPUT;
    if (strcmp(name, "token_embd.weight") == 0)
        return CAT_TOKEN_EMBD;
    /* fused QKV and MLA's kv_b carry the values too: treated like attn_v */
    if (strstr(name, "attn_v.weight") || strstr(name, "attn_qkv.weight") || strstr(name, "attn_kv_b.weight"))
        return CAT_ATTN_V;
    if (strstr(name, "ffn_down"))
        return CAT_FFN_DOWN;
    return CAT_OTHER;
}

/* Layer index from "blk.N.", or -1. */
static int layer_of(const char *name)
{
    if (strncmp(name, "blk.", 4) != 0)
        return -1;
    char *end;
    long v = strtol(name + 4, &end, 10);
    return (end != name + 4 && *end == '.' && v >= 0 && v < 100000) ? (int)v : -1;
}

/* Dimensions that count: a [512, 1] tensor is 1-D (as ggml_n_dims says). */
static int effective_dims(const gguf_tensor *t)
{
    int n = 1;
    for (int i = 1; i < (int)t->n_dims; i++)
        if (t->ne[i] > 1)
            n = i + 1;
    return n;
}

/* Matrices that are weights get quantized; norms, biases, gating and
 * position tables stay as they are (llama.cpp's list, for the tensors of
 * the architectures we know). */
static bool may_quantize(const gguf_tensor *t, const char *name)
{
    if (effective_dims(t) < 2 || !ends_with(name, "weight"))
        return false;
    static const char *const keep[] = { "_norm.weight", "ffn_gate_inp.weight", "position_embd", "token_types",
                                        "ssm_conv1d", "attn_rel_b.weight" };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (strstr(name, keep[i]))
            return false;
    return true;
}

/* The "more bits" layers of the _M presets: first and last eighth, and
 * every third layer in between. */
static bool use_more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static bool is_quantized(dtype t)
{
    return t != DT_F32 && t != DT_F16 && t != DT_BF16;
}

/* The row-length fallback: a 32-element type of about the same size. */
static dtype fallback(dtype wanted, int64_t ne0)
{
    if (dtype_row_fits(wanted, ne0))
        return wanted;
    dtype f;
    switch (wanted) {
    case DT_Q4_K: f = DT_Q5_0; break;
    case DT_Q5_K: f = DT_Q5_1; break;
    case DT_Q6_K: f = DT_Q8_0; break;
    default: f = DT_F16; break;
    }
    return dtype_row_fits(f, ne0) ? f : DT_F16;
}

static int count_layers(const gguf_file *f)
{
    gguf_str arch;
    if (gguf_get_str(f, "general.architecture", &arch) == LS_OK && arch.len < 64) {
        char key[96];
        uint32_t n;
        snprintf(key, sizeof key, "%.*s.block_count", (int)arch.len, arch.ptr);
        if (gguf_get_u32(f, key, &n) == LS_OK && n > 0 && n < 100000)
            return (int)n;
    }
    int max = -1;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        int l = layer_of(name);
        if (l > max)
            max = l;
    }
    return max + 1;
}

/* (layer, name) order, as llama.cpp iterates its tensors. */
static bool before(const qmodel_tensor *a, const qmodel_tensor *b)
{
    int la = layer_of(a->name), lb = layer_of(b->name);
    return la != lb ? la < lb : strcmp(a->name, b->name) < 0;
}

ls_status qmodel_plan(const gguf_file *f, const qmodel_preset *preset, qmodel_tensor **out)
{
    *out = NULL;
    int64_t n = gguf_n_tensors(f);
    qmodel_tensor *plan = ls_calloc(n > 0 ? (size_t)n : 1, sizeof *plan);
    bool *quantize = ls_calloc(n > 0 ? (size_t)n : 1, sizeof *quantize);
    if (!plan || !quantize) {
        ls_free(plan);
        ls_free(quantize);
        return ls_error(LS_ERR_NOMEM, "quantize: out of memory planning %lld tensors", (long long)n);
    }
    bool tied = true; /* no output.weight: the output layer reuses token_embd */
    int n_attn_v = 0;
    for (int64_t i = 0; i < n; i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        qmodel_tensor *p = &plan[i];
        snprintf(p->name, sizeof p->name, "%.*s", (int)t->name.len, t->name.ptr);
        p->n_dims = t->n_dims;
        for (int d = 0; d < GGUF_MAX_DIMS; d++)
            p->ne[d] = t->ne[d];
        p->from = p->wanted = p->to = t->type;
        quantize[i] = may_quantize(t, p->name);
        if (classify(p->name) == CAT_OUTPUT)
            tied = false;
        if (classify(p->name) == CAT_ATTN_V)
            n_attn_v++;
    }
    int n_layers = count_layers(f);
    dtype base = preset->base;

    ls_status st = LS_OK;
    for (int64_t i = 0; i < n && st == LS_OK; i++) {
        qmodel_tensor *p = &plan[i];
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (quantize[i]) {
            dtype want = base;
            category c = classify(p->name);
            if (is_quantized(base)) {
                if (c == CAT_OUTPUT || (tied && c == CAT_TOKEN_EMBD)) {
                    /* the output layer decides every token: 6 bits at least */
                    if (!dtype_row_fits(base, p->ne[0]))
                        want = DT_Q8_0;
                    else if (base != DT_Q8_0)
                        want = DT_Q6_K;
                } else if (c == CAT_ATTN_V && preset->mixed) {
                    int rank = 0; /* this tensor's position among the attn_v-like ones */
                    for (int64_t k = 0; k < n; k++)
                        if (k != i && classify(plan[k].name) == CAT_ATTN_V && before(&plan[k], p))
                            rank++;
                    if (use_more_bits(rank, n_attn_v))
                        want = DT_Q6_K;
                } else if (c == CAT_FFN_DOWN && preset->mixed) {
                    int layer = layer_of(p->name);
                    if (layer >= 0 && use_more_bits(layer, n_layers))
                        want = DT_Q6_K;
                }
            }
            p->wanted = want;
            p->to = fallback(want, p->ne[0]);
            if (p->to != p->from && !quant_can_dequantize(p->from))
                st = ls_error(LS_ERR_UNSUPPORTED,
                              "%s: tensor %s is %s, which localseek cannot convert (it can read F32, F16, BF16, "
                              "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)",
                              gguf_path(f), p->name, dtype_name(p->from));
        }
        p->bytes_in = t->size_bytes;
        p->bytes_out = p->to == p->from ? t->size_bytes
                                        : dtype_row_bytes(p->to, p->ne[0]) *
                                              (uint64_t)(gguf_tensor_n_elems(t) / p->ne[0]);
    }
    ls_free(quantize);
    if (st != LS_OK) {
        ls_free(plan);
        return st;
    }
    *out = plan;
    return LS_OK;
}

/* ======================================================================== */
/* Converting one tensor on the thread pool                                 */
/* ======================================================================== */

typedef struct {
    const gguf_tensor *t;
    const qmodel_tensor *p;
    uint8_t *out;               /* [n_rows][row_bytes_out] */
    int64_t n_rows;
    size_t row_bytes_in, row_bytes_out;
    float **scratch;            /* one row of floats per thread */
    bool reference_rounding;
    atomic_llong next_row;      /* first row not yet taken by a thread */
    atomic_llong bad_row;       /* first row found with a non-finite value, or -1 */
} convert_job;

/* Rows are handed out in small chunks from a shared counter rather than in
 * equal shares: on a laptop with fast and slow cores, or a machine busy with
 * something else, equal shares would leave every thread waiting for the
 * slowest. A chunk is ~64 K weights, so the counter is touched rarely. */
static void convert_rows(void *ctx, int ith, int nth)
{
    (void)nth;
    convert_job *j = ctx;
    int64_t ne0 = j->p->ne[0];
    long long chunk = 65536 / ne0 > 1 ? 65536 / ne0 : 1;
    float *row = j->scratch[ith];
    const uint8_t *src = j->t->data;
    for (;;) {
        long long begin = atomic_fetch_add(&j->next_row, chunk);
        if (begin >= j->n_rows || atomic_load(&j->bad_row) >= 0)
            return;
        long long end = begin + chunk < j->n_rows ? begin + chunk : j->n_rows;
        for (long long r = begin; r < end; r++) {
            quant_dequantize_row(j->p->from, src + (size_t)r * j->row_bytes_in, row, ne0);
            bool finite = true;
            for (int64_t k = 0; k < ne0; k++)
                finite &= isfinite(row[k]) != 0;
            if (!finite) {
                /* keep the lowest bad row, whichever thread finds it */
                long long seen = atomic_load(&j->bad_row);
                while ((seen < 0 || r < seen) && !atomic_compare_exchange_weak(&j->bad_row, &seen, r))
                    ;
                return;
            }
            uint8_t *dst = j->out + (size_t)r * j->row_bytes_out;
            if (j->reference_rounding)
                quant_quantize_row_ref(j->p->to, row, dst, ne0);
            else
                quant_quantize_row(j->p->to, row, dst, ne0);
        }
    }
}

/* ======================================================================== */
/* The whole file                                                           */
/* ======================================================================== */

/* Keys that describe how a model was split into several files: the output
 * is one file, so they must not be carried over. */
static bool is_split_key(gguf_str key)
{
    return gguf_str_eq(key, "split.no") || gguf_str_eq(key, "split.count") ||
           gguf_str_eq(key, "split.tensors.count");
}

static ls_status describe_output(gguf_writer *w, const gguf_file *in, const qmodel_tensor *plan, int64_t n,
                                 const qmodel_preset *preset)
{
    ls_status s = LS_OK;
    for (int64_t i = 0; i < gguf_n_kv(in) && s == LS_OK; i++)
        if (!is_split_key(gguf_key_name(in, i)))
            s = gguf_writer_copy_kv(w, in, i);
    if (s == LS_OK)
        s = gguf_writer_set_u32(w, "general.quantization_version", 2);
    if (s == LS_OK)
        s = gguf_writer_set_u32(w, "general.file_type", preset->file_type);
    for (int64_t i = 0; i < n && s == LS_OK; i++)
        s = gguf_writer_add_tensor(w, plan[i].name, plan[i].to, plan[i].n_dims, plan[i].ne);
    return s;
}

void qmodel_stats_free(qmodel_stats *s)
{
    if (!s)
        return;
    ls_free(s->tensors);
    memset(s, 0, sizeof *s);
}

ls_status qmodel_quantize(const char *in_path, const char *out_path, const qmodel_preset *preset,
                          const qmodel_params *params, qmodel_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    double t0 = plat_now_s();
    int n_threads = params && params->n_threads > 0 ? params->n_threads : 1;
    gguf_file *in = NULL;
    gguf_writer *w = NULL;
    pool *tp = NULL;
    qmodel_tensor *plan = NULL;
    uint8_t *buf = NULL;
    size_t buf_bytes = 0;
    float **scratch = NULL;
    ls_status s = gguf_open(in_path, &in);
    if (s != LS_OK)
        goto done;
    s = qmodel_plan(in, preset, &plan);
    if (s != LS_OK)
        goto done;
    int64_t n = gguf_n_tensors(in);
    uint64_t bytes_total = 0, max_ne0 = 1;
    for (int64_t i = 0; i < n; i++) {
        bytes_total += plan[i].bytes_in;
        if ((uint64_t)plan[i].ne[0] > max_ne0)
            max_ne0 = (uint64_t)plan[i].ne[0];
    }
    s = pool_create(n_threads, &tp);
    if (s != LS_OK)
        goto done;
    scratch = ls_calloc((size_t)n_threads, sizeof *scratch);
    if (!scratch) {
        s = ls_error(LS_ERR_NOMEM, "quantize: out of memory");
        goto done;
    }
    for (int k = 0; k < n_threads; k++)
        if (!(scratch[k] = ls_malloc(max_ne0 * sizeof(float)))) {
            s = ls_error(LS_ERR_NOMEM, "quantize: out of memory for row buffers");
            goto done;
        }
    s = gguf_writer_create(&w);
    if (s == LS_OK)
        s = describe_output(w, in, plan, n, preset);
    if (s == LS_OK)
        s = gguf_writer_begin(w, out_path);
    if (s != LS_OK)
        goto done;

    uint64_t bytes_done = 0;
    for (int64_t i = 0; i < n; i++) {
        const gguf_tensor *t = gguf_tensor_at(in, i);
        const qmodel_tensor *p = &plan[i];
        if (p->to == p->from) {
            s = gguf_writer_write_data(w, t->data, t->size_bytes);
        } else {
            if (p->bytes_out > buf_bytes) {
                uint8_t *nb = ls_realloc(buf, p->bytes_out);
                if (!nb) {
                    s = ls_error(LS_ERR_NOMEM, "quantize: out of memory for tensor %s (%llu bytes)", p->name,
                                 (unsigned long long)p->bytes_out);
                    goto done;
                }
                buf = nb;
                buf_bytes = p->bytes_out;
            }
            convert_job job = {
                .t = t,
                .p = p,
                .out = buf,
                .n_rows = gguf_tensor_n_elems(t) / p->ne[0],
                .row_bytes_in = dtype_row_bytes(p->from, p->ne[0]),
                .row_bytes_out = dtype_row_bytes(p->to, p->ne[0]),
                .scratch = scratch,
                .reference_rounding = params && params->reference_rounding,
            };
            atomic_init(&job.next_row, 0);
            atomic_init(&job.bad_row, -1);
            pool_run(tp, convert_rows, &job);
            long long bad = atomic_load(&job.bad_row);
            if (bad >= 0) {
                s = ls_error(LS_ERR_FORMAT, "%s: tensor %s row %lld contains a NaN or infinite value", in_path,
                             p->name, bad);
                goto done;
            }
            s = gguf_writer_write_data(w, buf, p->bytes_out);
        }
        if (s != LS_OK)
            goto done;
        bytes_done += p->bytes_in;
        if (params && params->progress) {
            qmodel_progress pr = { i, n, p, bytes_done, bytes_total, plat_now_s() - t0 };
            params->progress(params->progress_user, &pr);
        }
    }
    s = gguf_writer_finish(w);
    if (s != LS_OK)
        goto done;

    stats->n_tensors = n;
    stats->tensors = plan;
    plan = NULL;
    for (int64_t i = 0; i < n; i++) {
        stats->n_fallbacks += qmodel_is_fallback(&stats->tensors[i]);
        stats->tensor_bytes_in += stats->tensors[i].bytes_in;
        stats->tensor_bytes_out += stats->tensors[i].bytes_out;
    }
    stats->file_bytes_in = gguf_file_size(in);
    struct stat sb;
    stats->file_bytes_out = stat(out_path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    stats->seconds = plat_now_s() - t0;
    log_info("quantize: %s -> %s (%s) in %.2f s", in_path, out_path, preset->name, stats->seconds);

done:
    gguf_writer_free(w); /* removes an unfinished .tmp file */
    if (scratch)
        for (int k = 0; k < n_threads; k++)
            ls_free(scratch[k]);
    ls_free(scratch);
    ls_free(buf);
    ls_free(plan);
    pool_free(tp);
    gguf_close(in);
    return s;
}
