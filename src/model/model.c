/* model.c — binding GGUF tensors to the layer structs, with every shape checked.
 *
 * Tensor names follow the GGUF convention: "token_embd.weight",
 * "blk.<i>.attn_q.weight", ..., "output_norm.weight", "output.weight".
 * bind_mat() checks a matrix's shape and that the kernels support its type;
 * bind_vec() converts a 1-D tensor into the F32 store. The store is sized in
 * a first pass over the file's 1-D tensors, so loading allocates three blocks
 * in all (model, layers, store). */
#include "model/model.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "tensor/kernels.h"
#include "tensor/quant.h"

typedef struct {
    model *m;              /* NULL while only the shape is read */
    const gguf_file *file;
    const char *path;
    const arch_desc *arch;
    size_t store_used;     /* floats handed out from m->f32_store */
    size_t store_cap;
} loader;

/* Reads "<arch>.<suffix>" as an integer; `def` < 0 means required. */
static ls_status hp_int(loader *L, const char *suffix, int64_t def, int *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->arch->name, suffix);
    int64_t v;
    ls_status s = gguf_get_i64(L->file, key, &v);
    if (s == LS_ERR_NOT_FOUND) {
        if (def < 0)
            return ls_error(LS_ERR_FORMAT, "%s: metadata key %s is missing; it is required for a %s model",
                            L->path, key, L->arch->name);
        v = def;
    } else if (s != LS_OK) {
        return s;
    }
    if (v <= 0 || v > (1 << 30))
        return ls_error(LS_ERR_FORMAT, "%s: %s = %" PRId64 " is outside the sensible range 1..2^30", L->path, key, v);
    *out = (int)v;
    return LS_OK;
}

static ls_status hp_float(loader *L, const char *suffix, float def, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->arch->name, suffix);
    ls_status s = gguf_get_f32(L->file, key, out);
    if (s == LS_ERR_NOT_FOUND) {
        *out = def;
        return LS_OK;
    }
    return s;
}

static ls_status bind_mat(loader *L, const char *name, int64_t n_cols, int64_t n_rows, model_mat *out)
{
    const gguf_tensor *t = gguf_find_tensor(L->file, name);
    if (!t)
        return ls_error(LS_ERR_FORMAT, "%s: tensor %s is missing", L->path, name);
    if (t->n_dims != 2 || t->ne[0] != n_cols || t->ne[1] != n_rows)
        return ls_error(LS_ERR_FORMAT, "%s: tensor %s has shape [%" PRId64 ", %" PRId64 ", %" PRId64
                        "], expected [%" PRId64 ", %" PRId64 "]",
                        L->path, name, t->ne[0], t->ne[1], t->ne[2], n_cols, n_rows);
    if (!kern_supports(t->type))
        return ls_error(LS_ERR_UNSUPPORTED, "%s: tensor %s is stored as %s, which localseek cannot compute with yet "
                        "(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)",
                        L->path, name, dtype_name(t->type));
    out->data = t->data;
    out->type = t->type;
    out->n_cols = n_cols;
    out->n_rows = n_rows;
    out->row_bytes = dtype_row_bytes(t->type, n_cols);
    return LS_OK;
}

/* Binds a 1-D tensor of n elements as F32. Optional tensors that are absent
 * leave *out NULL when `required` is false. */
static ls_status bind_vec(loader *L, const char *name, int64_t n, bool required, const float **out)
{
    *out = NULL;
    const gguf_tensor *t = gguf_find_tensor(L->file, name);
    if (!t) {
        if (!required)
            return LS_OK;
        return ls_error(LS_ERR_FORMAT, "%s: tensor %s is missing", L->path, name);
    }
    if (gguf_tensor_n_elems(t) != n || t->ne[0] != n)
        return ls_error(LS_ERR_FORMAT, "%s: tensor %s has %" PRId64 " elements, expected %" PRId64,
                        L->path, name, gguf_tensor_n_elems(t), n);
    if (!quant_can_dequantize(t->type))
        return ls_error(LS_ERR_UNSUPPORTED, "%s: tensor %s is stored as %s, which localseek cannot read",
                        L->path, name, dtype_name(t->type));
    if (L->store_used + (size_t)n > L->store_cap)
        return ls_error(LS_ERR_INTERNAL, "%s: F32 store too small for %s", L->path, name);
    float *dst = L->m->f32_store + L->store_used;
    quant_dequantize_row(t->type, t->data, dst, n);
    L->store_used += (size_t)n;
    *out = dst;
    return LS_OK;
}

static ls_status bind_layer(loader *L, int i)
{
    const model_hparams *hp = &L->m->hp;
    model_layer *ly = &L->m->layers[i];
    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    char name[96];
    ls_status s;
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, i), name)
    if ((s = bind_vec(L, NAME("attn_norm.weight"), hp->n_embd, true, &ly->attn_norm)) ||
        (s = bind_mat(L, NAME("attn_q.weight"), hp->n_embd, q_dim, &ly->wq)) ||
        (s = bind_mat(L, NAME("attn_k.weight"), hp->n_embd, kv_dim, &ly->wk)) ||
        (s = bind_mat(L, NAME("attn_v.weight"), hp->n_embd, kv_dim, &ly->wv)) ||
        (s = bind_mat(L, NAME("attn_output.weight"), q_dim, hp->n_embd, &ly->wo)) ||
        (s = bind_vec(L, NAME("ffn_norm.weight"), hp->n_embd, true, &ly->ffn_norm)) ||
        (s = bind_mat(L, NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, &ly->w_gate)) ||
        (s = bind_mat(L, NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, &ly->w_up)) ||
        (s = bind_mat(L, NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, &ly->w_down)))
        return s;
    bool bias = L->arch->qkv_bias;
    if ((s = bind_vec(L, NAME("attn_q.bias"), q_dim, bias, &ly->bq)) ||
        (s = bind_vec(L, NAME("attn_k.bias"), kv_dim, bias, &ly->bk)) ||
        (s = bind_vec(L, NAME("attn_v.bias"), kv_dim, bias, &ly->bv)))
        return s;
    bool qkn = L->arch->qk_norm;
    if ((s = bind_vec(L, NAME("attn_q_norm.weight"), hp->head_dim, qkn, &ly->q_norm)) ||
        (s = bind_vec(L, NAME("attn_k_norm.weight"), hp->head_dim, qkn, &ly->k_norm)))
        return s;
#undef NAME
    return LS_OK;
}

static ls_status read_hparams(loader *L, model_hparams *hp)
{
    ls_status s;
    if ((s = hp_int(L, "embedding_length", -1, &hp->n_embd)) ||
        (s = hp_int(L, "block_count", -1, &hp->n_layer)) ||
        (s = hp_int(L, "feed_forward_length", -1, &hp->n_ff)) ||
        (s = hp_int(L, "attention.head_count", -1, &hp->n_head)) ||
        (s = hp_int(L, "attention.head_count_kv", hp->n_head, &hp->n_head_kv)) ||
        (s = hp_int(L, "context_length", 4096, &hp->n_ctx_train)))
        return s;
    if ((s = hp_int(L, "attention.key_length", hp->n_embd / hp->n_head, &hp->head_dim)) ||
        (s = hp_int(L, "rope.dimension_count", hp->head_dim, &hp->n_rot)) ||
        (s = hp_float(L, "rope.freq_base", 10000.0f, &hp->rope_base)) ||
        (s = hp_float(L, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->norm_eps)))
        return s;
    if (hp->n_head % hp->n_head_kv != 0)
        return ls_error(LS_ERR_FORMAT, "%s: %d query heads cannot be shared evenly by %d key/value heads",
                        L->path, hp->n_head, hp->n_head_kv);
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return ls_error(LS_ERR_FORMAT, "%s: rope.dimension_count %d must be even and at most the head size %d",
                        L->path, hp->n_rot, hp->head_dim);
    if (hp->head_dim % 2 != 0)
        return ls_error(LS_ERR_FORMAT, "%s: head size %d must be even", L->path, hp->head_dim);
    if (!(hp->norm_eps > 0.0f && hp->norm_eps < 1.0f) || !(hp->rope_base > 1.0f))
        return ls_error(LS_ERR_FORMAT, "%s: RMSNorm epsilon %g or RoPE base %g is out of range",
                        L->path, (double)hp->norm_eps, (double)hp->rope_base);
    const gguf_tensor *emb = gguf_find_tensor(L->file, "token_embd.weight");
    if (!emb)
        return ls_error(LS_ERR_FORMAT, "%s: tensor token_embd.weight is missing", L->path);
    if (emb->n_dims != 2 || emb->ne[0] != hp->n_embd || emb->ne[1] < 1 || emb->ne[1] > (1 << 24))
        return ls_error(LS_ERR_FORMAT, "%s: token_embd.weight must be [%d, n_vocab]", L->path, hp->n_embd);
    hp->n_vocab = (int)emb->ne[1];
    return LS_OK;
}

/* Converted-activation row bytes for the matrix `name`: 0 when its kernel
 * reads the float activations as they are (F32, F16, BF16 weights), or when
 * it is absent or of a type the kernels lack (binding reports those). */
static size_t act_row_of(const gguf_file *f, const char *name)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t || !kern_supports(t->type) || dtype_get(t->type)->dot_type == DT_F32)
        return 0;
    return kern_act_row_bytes(t->type, t->ne[0]);
}

ls_status model_read_shape(const gguf_file *f, model_shape *out)
{
    memset(out, 0, sizeof *out);
    loader L = { .file = f, .path = gguf_path(f) };
    /* 1. Which architecture: its row in arch.c names the metadata keys. */
    gguf_str arch;
    if (gguf_get_str(f, "general.architecture", &arch) != LS_OK)
        return ls_error(LS_ERR_FORMAT, "%s: metadata key general.architecture is missing or not a string", L.path);
    char arch_name[64];
    snprintf(arch_name, sizeof arch_name, "%.*s", (int)(arch.len < 63 ? arch.len : 63), arch.ptr);
    L.arch = arch_find(arch_name);
    if (!L.arch)
        return ls_error(LS_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: %s)", L.path,
                        arch_name, arch_supported_list());
    out->arch = L.arch;

    /* 2. The hyper-parameters (layer count, widths, heads). */
    ls_status s = read_hparams(&L, &out->hp);
    if (s)
        return s;

    /* 3. Sizes from the tensor table: all data, the embedding table, the
     *    1-D tensors that become F32 copies (rope_freqs is one of them). */
    const gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
    out->embd_bytes = emb->size_bytes;
    out->output_tied = !gguf_find_tensor(f, "output.weight") && L.arch->output_may_tie;
    size_t store_floats = 0;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        out->weight_bytes += t->size_bytes;
        if (t->n_dims == 1)
            store_floats += (size_t)t->ne[0];
    }
    out->f32_store_bytes = store_floats * sizeof(float);

    /* 4. The widest activation row a matrix product converts: every layer
     *    matrix and the output matrix (the embedding table when tied). */
    size_t widest = act_row_of(f, out->output_tied ? "token_embd.weight" : "output.weight");
    static const char *const mats[] = { "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                                        "ffn_down" };
    for (int i = 0; i < out->hp.n_layer; i++)
        for (size_t k = 0; k < sizeof mats / sizeof mats[0]; k++) {
            char name[96];
            snprintf(name, sizeof name, "blk.%d.%s.weight", i, mats[k]);
            size_t b = act_row_of(f, name);
            if (b > widest)
                widest = b;
        }
    out->act_row_bytes = widest;
    return LS_OK;
}

ls_status model_load(const char *path, model **out)
{
    *out = NULL;
    double t0 = plat_now_s();
    model *m = ls_calloc(1, sizeof *m);
    if (!m)
        return ls_error(LS_ERR_NOMEM, "no memory to load %s", path);
    loader L = { .m = m, .path = path };
    ls_status s = gguf_open(path, &m->file);
    if (s)
        goto fail;
    L.file = m->file;

    /* The architecture, hyper-parameters and sizes: the same reader the
     * resource guard uses before loading (generate/guard.h). */
    model_shape sh;
    if ((s = model_read_shape(m->file, &sh)))
        goto fail;
    m->arch = L.arch = sh.arch;
    m->hp = sh.hp;
    m->weight_bytes = sh.weight_bytes;
    m->act_row_bytes = sh.act_row_bytes;
    L.store_cap = sh.f32_store_bytes / sizeof(float);

    m->f32_store = ls_malloc((L.store_cap ? L.store_cap : 1) * sizeof(float));
    m->layers = ls_calloc((size_t)m->hp.n_layer, sizeof *m->layers);
    if (!m->f32_store || !m->layers) {
        s = ls_error(LS_ERR_NOMEM, "no memory to load %s", path);
        goto fail;
    }
    const model_hparams *hp = &m->hp;
    if ((s = bind_mat(&L, "token_embd.weight", hp->n_embd, hp->n_vocab, &m->tok_embd)) ||
        (s = bind_vec(&L, "output_norm.weight", hp->n_embd, true, &m->output_norm)) ||
        (s = bind_vec(&L, "rope_freqs.weight", hp->n_rot / 2, false, &m->rope_freqs)))
        goto fail;
    if (!sh.output_tied) {
        if ((s = bind_mat(&L, "output.weight", hp->n_embd, hp->n_vocab, &m->output)))
            goto fail;
    } else {
        m->output = m->tok_embd; /* tied: the embedding table doubles as the output matrix */
    }
    for (int i = 0; i < hp->n_layer; i++)
        if ((s = bind_layer(&L, i)))
            goto fail;

    /* What one decode step reads: each matrix once, one embedding row. */
    size_t per_tok = m->output.row_bytes * (size_t)m->output.n_rows + m->tok_embd.row_bytes;
    for (int i = 0; i < hp->n_layer; i++) {
        const model_layer *ly = &m->layers[i];
        const model_mat *mats[] = { &ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->w_gate, &ly->w_up, &ly->w_down };
        for (size_t k = 0; k < sizeof mats / sizeof mats[0]; k++)
            per_tok += mats[k]->row_bytes * (size_t)mats[k]->n_rows;
    }
    m->matmul_bytes_per_token = per_tok;
    log_info("loaded %s: %s, %d layers, n_embd %d, %d/%d heads, vocab %d, in %.3f s", path, m->arch->name,
             hp->n_layer, hp->n_embd, hp->n_head, hp->n_head_kv, hp->n_vocab, plat_now_s() - t0);
    *out = m;
    return LS_OK;
fail:
    model_free(m);
    return s;
}

void model_free(model *m)
{
    if (!m)
        return;
    gguf_close(m->file);
    ls_free(m->f32_store);
    ls_free(m->layers);
    ls_free(m);
}

const char *model_type_summary(const model *m)
{
    return dtype_name(m->layers[0].w_gate.type);
}
