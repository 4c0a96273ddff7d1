/* guard.c — the memory estimate, the machine's limit, the verdict, the watch.
 *
 * How it works. guard_read_model() collects the few numbers a file implies
 * (model_read_shape, the header length, the index and tokenizer sizes); the
 * estimate is then pure arithmetic over them, so guard_judge() can try every
 * power-of-two --ctx to find one that fits without touching the file again.
 * The KV cache and scratch come from the engine's own formulas
 * (kv_bytes_hp, fwd_scratch_bytes_hp): fwd_create() asserts it
 * allocates exactly that, so the two cannot drift apart.
 *
 * The estimate is of resident memory (what the kernel must find room for)
 * once a context is full: every weight page read, the whole KV cache and
 * scratch written. A short run touches less (the cache fills as the text
 * grows, a few-token prompt uses a few rows of the prefill scratch), so
 * measured peaks of short runs come out below it — never above, if it is
 * right. tests/test_guard.sh fills a context and compares.
 *
 * The limit. base/platform reads the machine's figures (plat_mem_limit_read:
 * MemAvailable, or a cgroup's memory.max − memory.current (v2) or
 * limit_in_bytes − usage (v1), the tightest of the cgroup and its parents,
 * whichever leaves less room). The process's own resident memory is added
 * back here, because the estimate counts the program itself.
 *
 * LIMITATION: a cgroup's usage counts page cache it could drop (e.g. a model
 * file read earlier), so the room left may be understated there (see
 * platform.h); and the estimate does not cover `logits`' all-positions score buffer or a chat's
 * history text (both small next to the weights for real use).
 */
#include "generate/guard.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/platform.h"
#include "model/forward.h"
#include "tokenizer/tokenizer.h"

/* The program itself: the localseek binary, the C library and the other
 * shared libraries (utf8proc, cJSON, SQLite, libedit), the code pages a run
 * touches, malloc's bookkeeping, and the main thread's stack. Measured on
 * Debian 12 x86-64 as the peak resident memory of `localseek run` on
 * stories260K minus everything else this file counts (the model there is
 * about 1 MiB, so the program is most of it); see docs/resource-guard.md. */
enum { GUARD_PROGRAM_BYTES = (3 * 1024 + 600) * 1024 };
/* Each worker thread: the stack pages it touches and its thread-local state. */
enum { GUARD_THREAD_BYTES = 32 * 1024 };
/* Arrays with one entry per vocabulary token outside the tokenizer: the
 * logits (a float) and the sampler's candidates (id and score), counts and
 * positions (4 bytes each). */
enum { GUARD_VOCAB_ARRAY_BYTES = 4 + 8 + 4 + 4 };

/* ======================================================================== */
/* Sizes                                                                     */
/* ======================================================================== */

ls_status guard_parse_size(const char *text, size_t *out_bytes)
{
    *out_bytes = 0;
    const char *p = text ? text : "";
    if (!*p)
        return ls_error(LS_ERR_ARG, "an empty memory size; expected a number and a unit such as 512M, 8G or 1.5GiB");
    /* 1. The number: digits, at most one point, nothing else (no sign, no
     *    exponent, no hex: "1e9" or "-1G" are mistakes worth telling). */
    const char *num = p;
    int n_digits = 0, n_points = 0;
    while (isdigit((unsigned char)*p) || *p == '.') {
        n_digits += *p != '.';
        n_points += *p == '.';
        p++;
    }
    if (n_digits == 0 || n_points > 1)
        return ls_error(LS_ERR_ARG, "'%s' is not a memory size; expected a number and a unit such as 512M, 8G or "
                        "1.5GiB (a plain number is bytes)", text);
    /* 2. The unit: K, M, G, T (powers of 1024), then optionally "B" or
     *    "iB"; or a bare "B"; or nothing (bytes). */
    int shift = 0;
    switch (tolower((unsigned char)*p)) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: break;
    }
    if (shift) {
        p++;
        if (tolower((unsigned char)p[0]) == 'i' && tolower((unsigned char)p[1]) == 'b')
            p += 2;
        else if (tolower((unsigned char)p[0]) == 'b')
            p++;
    } else if (tolower((unsigned char)*p) == 'b') {
        p++;
    }
    if (*p)
        return ls_error(LS_ERR_ARG, "'%s' has an unknown unit; expected K, M, G or T (powers of 1024, optionally "
                        "followed by B or iB), e.g. 512M or 8G", text);
    /* 3. The value: exact for whole bytes, rounded down for fractions of a unit. */
    const double max_bytes = 4611686018427387904.0; /* 2^62 */
    double v = strtod(num, NULL);
    if (shift == 0 && n_points)
        return ls_error(LS_ERR_ARG, "'%s' is a fraction of a byte; give whole bytes or a unit (e.g. 1.5G)", text);
    double bytes = ldexp(v, shift);
    if (!(bytes < max_bytes))
        return ls_error(LS_ERR_ARG, "'%s' is too large a memory size (more than 4 EiB)", text);
    if (bytes < 1.0)
        return ls_error(LS_ERR_ARG, "'%s' is no memory at all; a size must be at least one byte", text);
    *out_bytes = shift == 0 ? (size_t)strtoull(num, NULL, 10) : (size_t)bytes;
    return LS_OK;
}

void guard_format_bytes(char *buf, size_t cap, size_t bytes)
{
    double b = (double)bytes;
    if (bytes < 1024)
        snprintf(buf, cap, "%zu bytes", bytes);
    else if (b < 1024.0 * 1024)
        snprintf(buf, cap, "%.1f KiB", b / 1024.0);
    else if (b < 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%.1f MiB", b / (1024.0 * 1024));
    else
        snprintf(buf, cap, "%.1f GiB", b / (1024.0 * 1024 * 1024));
}

/* The same number in a given unit (the unit of a total, so its parts add up
 * on the page): `gib` true for GiB, else MiB. */
static void format_in(char *buf, size_t cap, size_t bytes, bool gib)
{
    snprintf(buf, cap, "%.1f %s", (double)bytes / (gib ? 1024.0 * 1024 * 1024 : 1024.0 * 1024), gib ? "GiB" : "MiB");
}

/* ======================================================================== */
/* The estimate                                                              */
/* ======================================================================== */

ls_status guard_read_model(const gguf_file *f, guard_model *out)
{
    memset(out, 0, sizeof *out);
    ls_status s = model_read_shape(f, &out->shape);
    if (s)
        return s;
    /* The metadata (names, vocabulary, merges, chat template) lies before
     * the data section; opening the file reads all of it. */
    size_t data_off = gguf_data_offset(f), size = gguf_file_size(f);
    out->header_bytes = data_off < size ? data_off : size;
    out->index_bytes = gguf_index_bytes(f);
    out->tokenizer_bytes = tok_memory_bytes(f);
    return LS_OK;
}

void guard_estimate_model(const guard_model *gm, const guard_params *p, guard_estimate *out)
{
    memset(out, 0, sizeof *out);
    const model_shape *sh = &gm->shape;
    /* The engine's own defaults: the parameters fwd_create() would use. */
    fwd_params fp = { .n_ctx = p ? p->n_ctx : 0, .n_batch = p ? p->n_batch : 0, .n_threads = p ? p->n_threads : 0,
                      .n_seq_max = p ? p->n_seq : 0 };
    fp = fwd_fill_defaults(&fp);
    out->n_ctx = fp.n_ctx;
    out->n_batch = fp.n_batch;
    out->n_threads = fp.n_threads;
    out->n_seq = fp.n_seq_max;

    /* 1. Weights: the file is mapped and a forward pass reads every matrix,
     *    so every tensor byte becomes resident (the embedding table is read
     *    a row per token, but the kernel maps 64 KiB around each row read,
     *    and a few thousand different tokens cover nearly all of it). */
    out->weights_bytes = sh->weight_bytes;
    /* 2. The KV cache and 3. scratch: the formulas fwd_create() sizes with. */
    out->kv_bytes = (size_t)fp.n_seq_max * kv_bytes_hp(&sh->hp, fp.n_ctx); /* one cache a sequence */
    out->scratch_bytes = fwd_scratch_bytes_hp(&sh->hp, sh->act_row_bytes, &fp);
    /* 4. Tables: metadata and its index, the tokenizer, the model's F32
     *    copies and layer records, and the per-token arrays of a run. */
    out->tables_bytes = gm->header_bytes + gm->index_bytes + gm->tokenizer_bytes + sh->f32_store_bytes +
                        sizeof(model) + (size_t)sh->hp.n_layer * sizeof(model_layer) +
                        (size_t)sh->hp.n_vocab * GUARD_VOCAB_ARRAY_BYTES;
    /* 5. The program itself, and a stack for each worker thread. */
    out->program_bytes = GUARD_PROGRAM_BYTES + (size_t)fp.n_threads * GUARD_THREAD_BYTES;
    out->total_bytes =
        out->weights_bytes + out->kv_bytes + out->scratch_bytes + out->tables_bytes + out->program_bytes;
}

/* ======================================================================== */
/* The limit                                                                 */
/* ======================================================================== */

const char *guard_limit_name(guard_limit_kind kind)
{
    switch (kind) {
    case GUARD_LIMIT_MEMAVAILABLE: return plat_mem_limit_name(PLAT_MEM_LIMIT_MEMAVAILABLE);
    case GUARD_LIMIT_CGROUP: return plat_mem_limit_name(PLAT_MEM_LIMIT_CGROUP);
    case GUARD_LIMIT_BUDGET: return "--mem-budget";
    case GUARD_LIMIT_NONE: break;
    }
    return "unknown";
}

void guard_machine_limit(const char *sysroot, guard_limit *out)
{
    memset(out, 0, sizeof *out);
    out->held_bytes = plat_rss_bytes();
    plat_mem_limit m;
    plat_mem_limit_read(sysroot, &m);
    switch (m.kind) {
    case PLAT_MEM_LIMIT_MEMAVAILABLE: out->kind = GUARD_LIMIT_MEMAVAILABLE; break;
    case PLAT_MEM_LIMIT_CGROUP: out->kind = GUARD_LIMIT_CGROUP; break;
    case PLAT_MEM_LIMIT_NONE: out->kind = GUARD_LIMIT_NONE; break;
    }
    out->free_bytes = m.free_bytes;
    out->mem_available_bytes = m.mem_available_bytes;
    out->cgroup_version = m.cgroup_version;
    out->cgroup_max_bytes = m.cgroup_max_bytes;
    out->cgroup_used_bytes = m.cgroup_used_bytes;
    /* What this process may grow to: the room left plus what it holds. */
    if (out->kind != GUARD_LIMIT_NONE)
        out->bytes = out->free_bytes + out->held_bytes;
}

void guard_budget_limit(size_t budget_bytes, guard_limit *out)
{
    memset(out, 0, sizeof *out);
    out->kind = GUARD_LIMIT_BUDGET;
    out->bytes = out->free_bytes = budget_bytes;
    out->held_bytes = plat_rss_bytes();
}

/* ======================================================================== */
/* The verdict                                                               */
/* ======================================================================== */

const char *guard_verdict_name(guard_verdict v)
{
    switch (v) {
    case GUARD_FITS: return "fits";
    case GUARD_TIGHT: return "tight";
    case GUARD_TOO_BIG: return "too big";
    case GUARD_UNKNOWN: break;
    }
    return "unknown";
}

/* need fits within `limit` with at least GUARD_SPARE_PERCENT of it left. */
static bool fits_with_spare(size_t need, size_t limit)
{
    return (double)need <= (double)limit * (100 - GUARD_SPARE_PERCENT) / 100.0;
}

/* "5.2 GiB available (MemAvailable)" and its kin. */
static void limit_phrase(char *buf, size_t cap, const guard_limit *lim)
{
    char b[32];
    guard_format_bytes(b, sizeof b, lim->bytes);
    switch (lim->kind) {
    case GUARD_LIMIT_MEMAVAILABLE: snprintf(buf, cap, "%s available (MemAvailable)", b); break;
    case GUARD_LIMIT_CGROUP: snprintf(buf, cap, "%s allowed by the cgroup memory limit", b); break;
    case GUARD_LIMIT_BUDGET: snprintf(buf, cap, "%s allowed by --mem-budget", b); break;
    case GUARD_LIMIT_NONE: snprintf(buf, cap, "available memory unknown"); break;
    }
}

void guard_judge(const guard_model *gm, const guard_params *p, const guard_limit *lim, guard_report *out)
{
    memset(out, 0, sizeof *out);
    out->limit = *lim;
    guard_estimate_model(gm, p, &out->need);
    const guard_estimate *e = &out->need;
    size_t need = e->total_bytes, limit = lim->bytes;

    /* 1. The verdict. */
    if (lim->kind == GUARD_LIMIT_NONE || limit == 0)
        out->verdict = GUARD_UNKNOWN;
    else if (need > limit)
        out->verdict = GUARD_TOO_BIG;
    else if (!fits_with_spare(need, limit))
        out->verdict = GUARD_TIGHT;
    else
        out->verdict = GUARD_FITS;
    if (limit)
        out->spare_percent = (int)floor(((double)limit - (double)need) * 100.0 / (double)limit);

    /* 2. A way out: the largest power-of-two context in [256, n_ctx] that
     *    leaves 15 % spare. The KV cache and scores grow with the context,
     *    so halving it is the one knob that does not change the model. */
    guard_params q = { .n_ctx = e->n_ctx, .n_batch = p ? p->n_batch : 0, .n_threads = e->n_threads, .n_seq = e->n_seq };
    guard_estimate t;
    q.n_ctx = e->n_ctx < GUARD_MIN_CTX ? e->n_ctx : GUARD_MIN_CTX;
    guard_estimate_model(gm, &q, &t);
    out->min_ctx_bytes = t.total_bytes;
    if (out->verdict == GUARD_TOO_BIG || out->verdict == GUARD_TIGHT) {
        int c = GUARD_MIN_CTX;
        while (c <= e->n_ctx / 2)
            c *= 2;
        for (; c >= GUARD_MIN_CTX && c <= e->n_ctx; c /= 2) {
            q.n_ctx = c;
            guard_estimate_model(gm, &q, &t);
            if (fits_with_spare(t.total_bytes, limit)) {
                out->suggest_ctx = c;
                out->suggest_bytes = t.total_bytes;
                break;
            }
        }
    }

    /* 3. The sentence: the need and its parts in one unit, the limit, the way out. */
    bool gib = need >= (size_t)1 << 30;
    char tot[32], w[32], kv[32], rest[32], lp[96], sug[32], mn[32];
    guard_format_bytes(tot, sizeof tot, need);
    format_in(w, sizeof w, e->weights_bytes, gib);
    format_in(kv, sizeof kv, e->kv_bytes, gib);
    format_in(rest, sizeof rest, e->scratch_bytes + e->tables_bytes + e->program_bytes, gib);
    limit_phrase(lp, sizeof lp, lim);
    guard_format_bytes(sug, sizeof sug, out->suggest_bytes);
    guard_format_bytes(mn, sizeof mn, out->min_ctx_bytes);
    char needs[256];
    snprintf(needs, sizeof needs, "needs %s (%s of weights + %s for a %d-token KV cache + %s of scratch and working "
             "memory)", tot, w, kv, e->n_ctx, rest);
    char *s = out->sentence;
    size_t cap = sizeof out->sentence;
    switch (out->verdict) {
    case GUARD_FITS:
        snprintf(s, cap, "fits: %s; %s, leaving %d%% spare", needs, lp, out->spare_percent);
        break;
    case GUARD_TIGHT:
        if (out->suggest_ctx)
            snprintf(s, cap, "fits, but with little room: %s; %s, leaving only %d%% spare, so the machine may slow "
                     "down or swap — --ctx %d (needs %s) leaves more room", needs, lp, out->spare_percent,
                     out->suggest_ctx, sug);
        else
            snprintf(s, cap, "fits, but with little room: %s; %s, leaving only %d%% spare, so the machine may slow "
                     "down or swap — a smaller model, or fewer bits per weight, leaves more room", needs, lp,
                     out->spare_percent);
        break;
    case GUARD_TOO_BIG:
        if (out->suggest_ctx)
            snprintf(s, cap, "%s; %s — use --ctx %d (needs %s), or a smaller model", needs, lp, out->suggest_ctx,
                     sug);
        else if (e->n_ctx > GUARD_MIN_CTX)
            snprintf(s, cap, "%s; %s — the model itself is too big: even --ctx %d needs %s%s; use a smaller "
                     "model, or a smaller quantization (fewer bits per weight, e.g. Q4_K_M for Q8_0)", needs, lp,
                     GUARD_MIN_CTX, mn,
                     out->min_ctx_bytes <= limit ? ", too close to the limit" : "");
        else
            snprintf(s, cap, "%s; %s — the model itself is too big; use a smaller model, or a smaller quantization "
                     "(fewer bits per weight, e.g. Q4_K_M for Q8_0)", needs, lp);
        break;
    case GUARD_UNKNOWN:
        snprintf(s, cap, "%s; how much memory this machine can give could not be read, so nothing was checked",
                 needs);
        break;
    }
}

/* ======================================================================== */
/* The watch                                                                 */
/* ======================================================================== */

void guard_watch_init(guard_watch *w, size_t limit_bytes)
{
    memset(w, 0, sizeof *w);
    w->limit_bytes = limit_bytes;
    w->warn_bytes = (size_t)((double)limit_bytes * GUARD_WATCH_PERCENT / 100.0);
    w->every_n = 16;
    w->last_read_s = -1e9; /* the first poll reads at once */
}

bool guard_watch_poll(guard_watch *w)
{
    if (w->warned || w->limit_bytes == 0)
        return false;
    /* Read at most every every_n polls, or after half a second of few polls. */
    w->calls++;
    double now = plat_now_s();
    if (w->calls < (w->every_n ? w->every_n : 1) && now - w->last_read_s < 0.5)
        return false;
    w->calls = 0;
    w->last_read_s = now;
    w->rss_bytes = plat_rss_quick_bytes();
    if (w->rss_bytes <= w->warn_bytes)
        return false;
    w->warned = true;
    char rss[32], lim[32];
    guard_format_bytes(rss, sizeof rss, w->rss_bytes);
    guard_format_bytes(lim, sizeof lim, w->limit_bytes);
    log_warn("resident memory %s has passed %d%% of the %s limit", rss, GUARD_WATCH_PERCENT, lim);
    return true;
}
