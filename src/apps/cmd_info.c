/* cmd_info.c — `localseek info -m FILE [--ctx N] [--mem-budget SIZE] [--json]`:
 * what is in a GGUF model file, and whether it fits in memory.
 *
 * How it works: the file is opened with the validating reader (so a corrupt
 * file is reported in one sentence and never half-described), then one pass
 * gathers an info_report — architecture, hyper-parameters, tokenizer, tensor
 * types, sizes — and one of two printers shows it: a human one (units a
 * non-expert reads: "7.62 B parameters", "4.36 GiB") or one JSON object for
 * scripts, written with the small escaper below (no JSON library needed for
 * output). For a model localseek can run, the report ends with the resource
 * guard's estimate (generate/guard.h) for --ctx N tokens (default 4096)
 * and its verdict against --mem-budget or what the machine can give; info
 * is a report, so a model that is too big still exits 0 (and says so).
 * Exit status: 0 ok, 1 the file cannot be read, 2 bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "apps/options.h"
#include "base/dtype.h"
#include "base/status.h"
#include "base/utf8.h"
#include "generate/guard.h"
#include "gguf/gguf.h"
#include "model/arch.h"

/* ======================================================================== */
/* What localseek can run                                                    */
/* ======================================================================== */

/* "supported" when the model layer has a row for the architecture
 * (src/model/arch.c), "planned" for qwen3moe, "unsupported" otherwise. */
static const char *arch_status(gguf_str arch)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(arch.len < 63 ? arch.len : 63), arch.ptr);
    if (arch.len < 63 && arch_find(name))
        return "supported";
    if (gguf_str_eq(arch, "qwen3moe"))
        return "planned";
    return "unsupported";
}

/* ======================================================================== */
/* The report                                                                */
/* ======================================================================== */

typedef enum { HP_ABSENT, HP_INT, HP_FLOAT, HP_BAD_TYPE } hp_kind;

typedef struct {
    const char *json_name; /* field name in the --json output */
    const char *key;       /* suffix after "<arch>." */
    const char *label;     /* for people */
    bool is_float;
} hp_def;

static const hp_def hp_defs[] = {
    { "context_length", "context_length", "context length (training)", false },
    { "embedding_length", "embedding_length", "embedding length", false },
    { "block_count", "block_count", "layers (block count)", false },
    { "feed_forward_length", "feed_forward_length", "feed-forward length", false },
    { "head_count", "attention.head_count", "attention heads", false },
    { "head_count_kv", "attention.head_count_kv", "key/value heads", false },
    { "rope_dimension_count", "rope.dimension_count", "RoPE dimensions", false },
    { "rope_freq_base", "rope.freq_base", "RoPE base frequency", true },
    { "layer_norm_rms_epsilon", "attention.layer_norm_rms_epsilon", "RMS norm epsilon", true },
};
enum { N_HP = sizeof hp_defs / sizeof hp_defs[0] };

typedef struct {
    hp_kind kind;
    uint64_t i;
    float f;
    gguf_type bad_type; /* HP_BAD_TYPE: what the file holds */
} hp_value;

typedef struct {
    int n_tensors;
    uint64_t n_bytes;
} type_total;

typedef struct {
    const char *path;
    size_t file_size_bytes;
    uint32_t version, alignment;
    int64_t n_kv, n_tensors;
    bool has_arch, has_name, has_tok_model, has_tok_pre;
    gguf_str arch, name, tok_model, tok_pre;
    const char *arch_status;
    hp_value hp[N_HP];
    int64_t vocab_size;         /* -1 if unknown */
    const char *vocab_source;   /* which key or tensor gave vocab_size */
    bool has_chat_template;
    uint64_t n_params;
    type_total types[DT_COUNT];
    int n_unsupported_types;
    /* The resource guard: estimate and verdict, when the model is one
     * localseek can run (else guard_error says why there is none). */
    bool has_guard;
    guard_report guard;
    char guard_error[256];
} info_report;

static bool get_str(const gguf_file *f, const char *key, gguf_str *out)
{
    return gguf_get_str(f, key, out) == LS_OK;
}

static bool read_u64_arch(const gguf_file *f, gguf_str arch, const char *suffix, uint64_t *out)
{
    char key[256];
    int arch_len = arch.len > 128 ? 128 : (int)arch.len;
    snprintf(key, sizeof key, "%.*s.%s", arch_len, arch.ptr, suffix);
    return gguf_get_u64(f, key, out) == LS_OK;
}

static void read_hp(const gguf_file *f, gguf_str arch, const hp_def *d, hp_value *v)
{
    char key[256];
    int arch_len = arch.len > 128 ? 128 : (int)arch.len;
    snprintf(key, sizeof key, "%.*s.%s", arch_len, arch.ptr, d->key);
    int64_t i = gguf_find_key(f, key);
    v->kind = HP_ABSENT;
    if (i < 0)
        return;
    if (d->is_float ? gguf_get_f32(f, key, &v->f) == LS_OK : gguf_get_u64(f, key, &v->i) == LS_OK) {
        v->kind = d->is_float ? HP_FLOAT : HP_INT;
    } else {
        v->kind = HP_BAD_TYPE;
        v->bad_type = gguf_kv_type(f, i);
    }
    ls_error_clear(); /* a missing or odd key is information here, not an error */
}

/* The memory estimate at gp's context and its verdict against `lim`. */
static void build_guard(const gguf_file *f, const guard_params *gp, const guard_limit *lim, info_report *r)
{
    guard_model gm;
    if (guard_read_model(f, &gm) != LS_OK) {
        snprintf(r->guard_error, sizeof r->guard_error, "%s", ls_error_msg());
        ls_error_clear();
        return;
    }
    guard_judge(&gm, gp, lim, &r->guard);
    r->has_guard = true;
}

static void build_report(const gguf_file *f, info_report *r)
{
    memset(r, 0, sizeof *r);
    r->path = gguf_path(f);
    r->file_size_bytes = gguf_file_size(f);
    r->version = gguf_version(f);
    r->alignment = gguf_alignment(f);
    r->n_kv = gguf_n_kv(f);
    r->n_tensors = gguf_n_tensors(f);
    r->has_name = get_str(f, "general.name", &r->name);
    r->has_arch = get_str(f, "general.architecture", &r->arch);
    r->arch_status = r->has_arch ? arch_status(r->arch) : "unknown";
    for (int i = 0; i < N_HP; i++)
        if (r->has_arch)
            read_hp(f, r->arch, &hp_defs[i], &r->hp[i]);
    r->has_tok_model = get_str(f, "tokenizer.ggml.model", &r->tok_model);
    r->has_tok_pre = get_str(f, "tokenizer.ggml.pre", &r->tok_pre);
    r->has_chat_template = gguf_find_key(f, "tokenizer.chat_template") >= 0;

    /* vocabulary: the token list is authoritative; else the arch key; else the embedding rows */
    gguf_type et;
    uint64_t n;
    const gguf_tensor *emb;
    r->vocab_size = -1;
    if (gguf_get_arr_info(f, "tokenizer.ggml.tokens", &et, &n) == LS_OK) {
        r->vocab_size = (int64_t)n;
        r->vocab_source = "tokenizer.ggml.tokens";
    } else if (r->has_arch && read_u64_arch(f, r->arch, "vocab_size", &n)) {
        r->vocab_size = n > INT64_MAX ? INT64_MAX : (int64_t)n;
        r->vocab_source = "<arch>.vocab_size";
    } else if ((emb = gguf_find_tensor(f, "token_embd.weight")) != NULL && emb->n_dims >= 2) {
        r->vocab_size = emb->ne[1];
        r->vocab_source = "token_embd.weight";
    }
    ls_error_clear();

    for (int64_t i = 0; i < r->n_tensors; i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        r->n_params += (uint64_t)gguf_tensor_n_elems(t);
        r->types[t->type].n_tensors++;
        r->types[t->type].n_bytes += t->size_bytes;
    }
    for (int t = 0; t < DT_COUNT; t++)
        if (r->types[t].n_tensors && !dtype_get((uint32_t)t)->supported)
            r->n_unsupported_types++;
}

/* ======================================================================== */
/* Formatting helpers                                                        */
/* ======================================================================== */

static void fmt_bytes(char *buf, size_t n, uint64_t bytes)
{
    if (bytes < 1024)
        snprintf(buf, n, "%" PRIu64 " bytes", bytes);
    else if (bytes < 1024 * 1024)
        snprintf(buf, n, "%.1f KiB", (double)bytes / 1024.0);
    else if (bytes < 1024ull * 1024 * 1024)
        snprintf(buf, n, "%.2f MiB", (double)bytes / (1024.0 * 1024.0));
    else
        snprintf(buf, n, "%.2f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
}

static void fmt_count(char *buf, size_t n, uint64_t c)
{
    if (c < 1000)
        snprintf(buf, n, "%" PRIu64, c);
    else if (c < 1000000)
        snprintf(buf, n, "%.2f K", (double)c / 1e3);
    else if (c < 1000000000)
        snprintf(buf, n, "%.2f M", (double)c / 1e6);
    else
        snprintf(buf, n, "%.2f B", (double)c / 1e9);
}

/* Shortest decimal that reads back as the same float (1e-06, not 9.99999997e-07). */
static void fmt_float(char *buf, size_t n, float x)
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x)
            return;
    }
}

/* Length of the well-formed UTF-8 character at p (n >= 1 bytes available), or 0 if invalid. */
static size_t char_len(const unsigned char *p, size_t n)
{
    uint32_t cp;
    size_t len = utf8_decode(p, n, &cp);
    return cp == UTF8_INVALID ? 0 : len;
}

/* File strings for a terminal: control bytes and invalid UTF-8 become '?',
 * at most about `max` bytes. */
static void print_plain(FILE *out, gguf_str s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t n = s.len < max ? (size_t)s.len : max;
    for (size_t i = 0; i < n;) {
        size_t len = char_len(p + i, (size_t)s.len - i);
        if (len == 0 || p[i] < 0x20 || p[i] == 0x7f) {
            fputc('?', out);
            i++;
        } else {
            fwrite(p + i, 1, len, out);
            i += len;
        }
    }
    if (s.len > max)
        fputs("...", out);
}

/* A JSON string literal; invalid UTF-8 bytes become U+FFFD so the output always parses. */
static void json_str(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            i++;
        } else if (c == '\n') {
            fputs("\\n", out), i++;
        } else if (c == '\t') {
            fputs("\\t", out), i++;
        } else if (c == '\r') {
            fputs("\\r", out), i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c), i++;
        } else {
            size_t len = char_len(p + i, n - i);
            if (len == 0) {
                fputs("\\ufffd", out);
                i++;
            } else {
                fwrite(p + i, 1, len, out);
                i += len;
            }
        }
    }
    fputc('"', out);
}

static void json_gstr_or_null(FILE *out, bool has, gguf_str s)
{
    if (has)
        json_str(out, s.ptr, (size_t)s.len);
    else
        fputs("null", out);
}

/* ======================================================================== */
/* Printers                                                                  */
/* ======================================================================== */

static void print_human(FILE *out, const info_report *r)
{
    char a[64], b[64];
    fprintf(out, "file:          %s\n", r->path);
    fmt_bytes(a, sizeof a, r->file_size_bytes);
    if (r->file_size_bytes < 1024)
        fprintf(out, "file size:     %s\n", a);
    else
        fprintf(out, "file size:     %s (%zu bytes)\n", a, r->file_size_bytes);
    fprintf(out, "format:        GGUF version %" PRIu32 ", %" PRId64 " metadata keys, %" PRId64
                 " tensors, alignment %" PRIu32 "\n",
            r->version, r->n_kv, r->n_tensors, r->alignment);
    if (r->has_name) {
        fputs("name:          ", out);
        print_plain(out, r->name, 200);
        fputc('\n', out);
    }
    fputs("architecture:  ", out);
    if (r->has_arch) {
        print_plain(out, r->arch, 100);
        if (strcmp(r->arch_status, "supported") == 0)
            fputs(" (supported by localseek)\n", out);
        else if (strcmp(r->arch_status, "planned") == 0)
            fputs(" (not supported by localseek yet: planned)\n", out);
        else
            fputs(" (not supported by localseek)\n", out);
    } else {
        fputs("not set (no general.architecture key)\n", out);
    }
    fmt_count(a, sizeof a, r->n_params);
    if (r->n_tensors == 0)
        fprintf(out, "parameters:    0 (no tensors: a vocabulary-only file)\n");
    else if (r->n_params < 1000)
        fprintf(out, "parameters:    %s\n", a);
    else
        fprintf(out, "parameters:    %s (%" PRIu64 ")\n", a, r->n_params);

    if (r->has_arch) {
        fprintf(out, "hyper-parameters:\n");
        for (int i = 0; i < N_HP; i++) {
            const hp_value *v = &r->hp[i];
            fprintf(out, "  %-27s ", hp_defs[i].label);
            if (v->kind == HP_INT)
                fprintf(out, "%" PRIu64 "\n", v->i);
            else if (v->kind == HP_FLOAT) {
                fmt_float(a, sizeof a, v->f);
                fprintf(out, "%s\n", a);
            } else if (v->kind == HP_BAD_TYPE)
                fprintf(out, "(stored as %s, not shown)\n", gguf_type_name(v->bad_type));
            else
                fprintf(out, "not set\n");
        }
    }
    if (r->vocab_size >= 0)
        fprintf(out, "vocabulary:    %" PRId64 " tokens (from %s)\n", r->vocab_size, r->vocab_source);
    else
        fprintf(out, "vocabulary:    unknown (no token list)\n");
    fputs("tokenizer:     ", out);
    if (r->has_tok_model) {
        print_plain(out, r->tok_model, 100);
        if (r->has_tok_pre) {
            fputs(" (pre-tokenizer: ", out);
            print_plain(out, r->tok_pre, 100);
            fputc(')', out);
        }
        fputc('\n', out);
    } else {
        fputs("none (no tokenizer.ggml.model key)\n", out);
    }
    fprintf(out, "chat template: %s\n", r->has_chat_template ? "present" : "absent");

    if (r->n_tensors > 0) {
        fprintf(out, "tensor types:\n");
        for (int t = 0; t < DT_COUNT; t++) {
            if (!r->types[t].n_tensors)
                continue;
            const dtype_info *ti = dtype_get((uint32_t)t);
            fmt_bytes(b, sizeof b, r->types[t].n_bytes);
            fprintf(out, "  %-8s %5d tensor%s %12s%s\n", ti->name, r->types[t].n_tensors,
                    r->types[t].n_tensors == 1 ? " " : "s", b, ti->supported ? "" : "  (not supported by localseek)");
        }
        if (r->n_unsupported_types == 0) {
            fprintf(out, "tensor support: all tensor types are supported\n");
        } else {
            fprintf(out, "tensor support: NOT all supported; unsupported types:");
            for (int t = 0; t < DT_COUNT; t++)
                if (r->types[t].n_tensors && !dtype_get((uint32_t)t)->supported)
                    fprintf(out, " %s", dtype_get((uint32_t)t)->name);
            fputc('\n', out);
        }
    }
    if (!r->has_guard) {
        fprintf(out, "memory:        no estimate: %s\n", r->guard_error);
        return;
    }
    const guard_estimate *e = &r->guard.need;
    fprintf(out, "memory needed at --ctx %d (%d threads, %d-token prefill chunks):\n", e->n_ctx, e->n_threads,
            e->n_batch);
    fmt_bytes(a, sizeof a, e->weights_bytes);
    fprintf(out, "  %-12s %12s   every tensor of the mapped file\n", "weights", a);
    fmt_bytes(a, sizeof a, e->kv_bytes);
    fprintf(out, "  %-12s %12s   keys and values of %d tokens, F16\n", "KV cache", a, e->n_ctx);
    fmt_bytes(a, sizeof a, e->scratch_bytes);
    fprintf(out, "  %-12s %12s   activations of a prefill chunk, attention scores\n", "scratch", a);
    fmt_bytes(a, sizeof a, e->tables_bytes);
    fprintf(out, "  %-12s %12s   metadata, tokenizer, small tensors as F32, logits\n", "tables", a);
    fmt_bytes(a, sizeof a, e->program_bytes);
    fprintf(out, "  %-12s %12s   code, libraries, thread stacks\n", "program", a);
    fmt_bytes(a, sizeof a, e->total_bytes);
    fprintf(out, "  %-12s %12s\n", "total", a);
    const guard_limit *l = &r->guard.limit;
    if (l->kind != GUARD_LIMIT_NONE) {
        fmt_bytes(a, sizeof a, l->bytes);
        fprintf(out, "memory limit:  %s (%s)\n", a, guard_limit_name(l->kind));
    } else {
        fprintf(out, "memory limit:  unknown (neither /proc/meminfo nor a cgroup limit could be read)\n");
    }
    static const char *const headline[] = {
        [GUARD_FITS] = "FITS",
        [GUARD_TIGHT] = "TIGHT: it fits, with less than 15% to spare (localseek warns)",
        [GUARD_TOO_BIG] = "TOO BIG: localseek would refuse to load it with these settings",
        [GUARD_UNKNOWN] = "UNKNOWN: nothing to compare with",
    };
    fprintf(out, "verdict:       %s\n               %s\n", headline[r->guard.verdict], r->guard.sentence);
}

static void print_json(FILE *out, const info_report *r)
{
    char a[64];
    fputs("{\"file\": ", out);
    json_str(out, r->path, strlen(r->path));
    fprintf(out, ", \"file_size_bytes\": %zu, \"gguf_version\": %" PRIu32 ", \"alignment\": %" PRIu32
                 ", \"n_kv\": %" PRId64 ", \"n_tensors\": %" PRId64,
            r->file_size_bytes, r->version, r->alignment, r->n_kv, r->n_tensors);
    fputs(", \"name\": ", out);
    json_gstr_or_null(out, r->has_name, r->name);
    fputs(", \"architecture\": ", out);
    json_gstr_or_null(out, r->has_arch, r->arch);
    fprintf(out, ", \"architecture_status\": \"%s\", \"architecture_supported\": %s", r->arch_status,
            strcmp(r->arch_status, "supported") == 0 ? "true" : "false");
    fputs(", \"hyperparameters\": {", out);
    for (int i = 0; i < N_HP; i++) {
        const hp_value *v = &r->hp[i];
        fprintf(out, "%s\"%s\": ", i ? ", " : "", hp_defs[i].json_name);
        if (v->kind == HP_INT)
            fprintf(out, "%" PRIu64, v->i);
        else if (v->kind == HP_FLOAT && v->f == v->f && v->f - v->f == 0) { /* finite */
            fmt_float(a, sizeof a, v->f);
            fputs(a, out);
        } else
            fputs("null", out);
    }
    fputs("}", out);
    if (r->vocab_size >= 0)
        fprintf(out, ", \"vocab_size\": %" PRId64, r->vocab_size);
    else
        fputs(", \"vocab_size\": null", out);
    fputs(", \"tokenizer\": {\"model\": ", out);
    json_gstr_or_null(out, r->has_tok_model, r->tok_model);
    fputs(", \"pre\": ", out);
    json_gstr_or_null(out, r->has_tok_pre, r->tok_pre);
    fprintf(out, "}, \"chat_template\": %s, \"n_params\": %" PRIu64, r->has_chat_template ? "true" : "false",
            r->n_params);
    fputs(", \"tensor_types\": [", out);
    bool first = true;
    for (int t = 0; t < DT_COUNT; t++) {
        if (!r->types[t].n_tensors)
            continue;
        const dtype_info *ti = dtype_get((uint32_t)t);
        fprintf(out, "%s{\"type\": \"%s\", \"n_tensors\": %d, \"bytes\": %" PRIu64 ", \"supported\": %s}",
                first ? "" : ", ", ti->name, r->types[t].n_tensors, r->types[t].n_bytes,
                ti->supported ? "true" : "false");
        first = false;
    }
    fprintf(out, "], \"all_tensor_types_supported\": %s, \"unsupported_tensor_types\": [",
            r->n_unsupported_types ? "false" : "true");
    first = true;
    for (int t = 0; t < DT_COUNT; t++)
        if (r->types[t].n_tensors && !dtype_get((uint32_t)t)->supported) {
            fprintf(out, "%s\"%s\"", first ? "" : ", ", dtype_get((uint32_t)t)->name);
            first = false;
        }
    fputs("]", out);
    if (!r->has_guard) {
        fputs(", \"memory\": null, \"memory_error\": ", out);
        json_str(out, r->guard_error, strlen(r->guard_error));
        fputs("}\n", out);
        return;
    }
    const guard_estimate *e = &r->guard.need;
    const guard_report *g = &r->guard;
    static const char *const verdict_id[] = {
        [GUARD_FITS] = "fits", [GUARD_TIGHT] = "tight", [GUARD_TOO_BIG] = "too_big", [GUARD_UNKNOWN] = "unknown"
    };
    static const char *const limit_id[] = {
        [GUARD_LIMIT_NONE] = "none", [GUARD_LIMIT_MEMAVAILABLE] = "memavailable",
        [GUARD_LIMIT_CGROUP] = "cgroup", [GUARD_LIMIT_BUDGET] = "mem_budget"
    };
    fprintf(out, ", \"memory\": {\"n_ctx\": %d, \"n_batch\": %d, \"n_threads\": %d, \"weights_bytes\": %zu, "
                 "\"kv_bytes\": %zu, \"scratch_bytes\": %zu, \"tables_bytes\": %zu, \"program_bytes\": %zu, "
                 "\"total_bytes\": %zu, \"limit_kind\": \"%s\", \"limit\": ",
            e->n_ctx, e->n_batch, e->n_threads, e->weights_bytes, e->kv_bytes, e->scratch_bytes, e->tables_bytes,
            e->program_bytes, e->total_bytes, limit_id[g->limit.kind]);
    const char *ln = guard_limit_name(g->limit.kind);
    json_str(out, ln, strlen(ln));
    fprintf(out, ", \"limit_bytes\": %zu, \"verdict\": \"%s\", \"spare_percent\": %d, ", g->limit.bytes,
            verdict_id[g->verdict], g->spare_percent);
    if (g->suggest_ctx)
        fprintf(out, "\"suggest_ctx\": %d, \"suggest_bytes\": %zu, ", g->suggest_ctx, g->suggest_bytes);
    else
        fputs("\"suggest_ctx\": null, \"suggest_bytes\": null, ", out);
    fputs("\"sentence\": ", out);
    json_str(out, g->sentence, strlen(g->sentence));
    fputs("}}\n", out);
}

/* ======================================================================== */
/* The command                                                               */
/* ======================================================================== */

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    long n_ctx = 4096, n_threads = 0;
    size_t mem_budget = 0;
    opt_def defs[] = {
        opt_model(&path),
        opt_ctx(&n_ctx, 16),
        opt_mem_budget(&mem_budget),
        opt_threads(&n_threads),
        opt_json(&json),
    };
    /* The same options as run and chat, but here they feed an estimate. */
    defs[0].help = "the GGUF file to describe";
    defs[1].help = "context size for the memory estimate, as run and chat use it";
    defs[2].help = "judge against this much memory, e.g. 8G or 512M";
    defs[3].help = "threads for the estimate";
    const opt_spec spec = {
        .cmd = "info",
        .usage = "localseek info -m FILE [--ctx N] [--mem-budget SIZE] [-t N] [--json]",
        .intro = "Describes a GGUF model file: architecture and hyper-parameters, parameter count,\n"
                 "tensor types and their sizes, tokenizer, chat template, and whether localseek can run it;\n"
                 "then the memory a run needs (weights, KV cache, scratch, tables) and whether that fits.\n"
                 "The file is fully validated first; a damaged file is reported in one sentence.\n",
        .outro = "exit status: 0 ok (even when the model does not fit: this is a report), 1 the file cannot be\n"
                 "read or is corrupt, 2 bad usage\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    if (!*path)
        return opt_usage_error(&spec, "-m needs a file name, not ''");

    gguf_file *f;
    if (gguf_open(path, &f) != LS_OK) {
        fprintf(stderr, "localseek info: %s\n", ls_error_msg());
        return 1;
    }
    info_report r;
    build_report(f, &r);
    guard_limit lim;
    if (mem_budget)
        guard_budget_limit(mem_budget, &lim);
    else
        guard_machine_limit(NULL, &lim);
    guard_params gp = { .n_ctx = (int)n_ctx, .n_threads = (int)n_threads };
    build_guard(f, &gp, &lim, &r);
    if (json)
        print_json(stdout, &r);
    else
        print_human(stdout, &r);
    rc = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "localseek info: cannot write the report to standard output\n");
        rc = 1;
    }
    gguf_close(f);
    return rc;
}
