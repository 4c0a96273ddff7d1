/* generation.c — the token loop (see the header for the steps).
 *
 * State. The text of a run is collected in two growing buffers (thinking,
 * answer) that double when full, so a long answer costs a handful of
 * reallocations, not one per token. `logits` holds the scores after the last
 * token fed; the KV cache's own token list (kv_tokens) says what it holds,
 * so the prefix re-use needs no copy here. Without the reasoning split the
 * splitter is bypassed and every token counts as an answer token.
 */
#include "generate/generation.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "generate/reasoning.h"
#include "generate/stop.h"

typedef struct {
    char *p;
    size_t n, cap;
} strbuf;

struct gen {
    engine *e;
    const tok_tokenizer *tok;
    gen_params p;
    char *stop_copies[GEN_MAX_STOPS];
    smp *sampler;
    tok_stream *stream;
    rsn *splitter;
    stop_matcher *stops;
    float *logits;     /* [n_vocab] */

    /* per run */
    kv_cache *kv;
    strbuf think, answer;
    int n_plain;       /* tokens generated without the split */
    char *stop_out;    /* scratch for stop_push: a token's text + STOP_MAX_BYTES */
    size_t stop_out_cap;
    bool stop_hit;
    const gen_callbacks *cb;
};

/* ======================================================================== */
/* Settings                                                                  */
/* ======================================================================== */

gen_params gen_default_params(void)
{
    return (gen_params){ .sampling = smp_default_params(), .n_answer_max = -1, .think_budget = -1,
                         .split_reasoning = true };
}

int gen_default_think_budget(int n_ctx, int n_answer_max)
{
    int b = n_ctx / 2;
    if (n_answer_max >= 0 && 4 * n_answer_max < b)
        b = 4 * n_answer_max;
    return b < 256 ? 256 : b;
}

const char *gen_stop_name(gen_stop s)
{
    switch (s) {
    case GEN_STOP_EOG: return "end of turn";
    case GEN_STOP_LENGTH: return "answer length limit";
    case GEN_STOP_STRING: return "stop string";
    case GEN_STOP_CONTEXT: return "context full";
    case GEN_STOP_CANCELLED: return "interrupted";
    case GEN_STOP_TIMEOUT: return "time limit";
    }
    return "?";
}

/* ======================================================================== */
/* Life cycle                                                                */
/* ======================================================================== */

static void on_split(void *ctx, rsn_part part, const char *text, size_t n);

ls_status gen_create(engine *e, const gen_params *p, gen **out)
{
    *out = NULL;
    if (p->n_stops < 0 || p->n_stops > GEN_MAX_STOPS)
        return ls_error(LS_ERR_ARG, "at most %d stop strings", GEN_MAX_STOPS);
    gen *g = ls_calloc(1, sizeof *g);
    if (!g)
        return ls_error(LS_ERR_NOMEM, "out of memory for a generation");
    g->e = e;
    g->tok = engine_tokenizer(e);
    g->p = *p;
    bool failed = false;
    for (int i = 0; i < GEN_MAX_STOPS; i++) {
        g->p.stops[i] = NULL;
        if (i < p->n_stops && !(g->stop_copies[i] = ls_strdup(p->stops[i])))
            failed = true;
        g->p.stops[i] = g->stop_copies[i];
    }
    int n_vocab = engine_model(e)->hp.n_vocab;
    g->stop_out_cap = 4096 + STOP_MAX_BYTES;
    g->stop_out = ls_malloc(g->stop_out_cap);
    g->logits = ls_malloc(sizeof(float) * (size_t)n_vocab);
    if (failed || !g->stop_out || !g->logits) {
        gen_free(g);
        return ls_error(LS_ERR_NOMEM, "out of memory for a generation");
    }
    smp_params sp = p->sampling;
    if (sp.n_history_max <= 0 || sp.n_history_max > engine_get_params(e)->n_ctx)
        sp.n_history_max = engine_get_params(e)->n_ctx;
    ls_status st = smp_create(&sp, n_vocab, &g->sampler);
    if (!st)
        st = tok_stream_new(g->tok, 0, &g->stream);
    if (!st)
        st = rsn_create(p->opens_thought, on_split, g, &g->splitter);
    if (!st)
        st = stop_create((const char *const *)g->stop_copies, p->n_stops, &g->stops);
    if (st) {
        gen_free(g);
        return st;
    }
    *out = g;
    return LS_OK;
}

void gen_free(gen *g)
{
    if (!g)
        return;
    for (int i = 0; i < GEN_MAX_STOPS; i++)
        ls_free(g->stop_copies[i]);
    stop_free(g->stops);
    rsn_free(g->splitter);
    tok_stream_free(g->stream);
    smp_free(g->sampler);
    ls_free(g->logits);
    ls_free(g->stop_out);
    ls_free(g->think.p);
    ls_free(g->answer.p);
    ls_free(g);
}

const char *gen_answer(const gen *g)
{
    return g->answer.p ? g->answer.p : "";
}

const char *gen_thinking(const gen *g)
{
    return g->think.p ? g->think.p : "";
}

const gen_params *gen_get_params(const gen *g)
{
    return &g->p;
}

void gen_set_think_budget(gen *g, int budget)
{
    g->p.think_budget = budget < 0 ? -1 : budget;
}

void gen_reset(gen *g)
{
    smp_reset(g->sampler);
}

/* ======================================================================== */
/* The text pipeline                                                         */
/* ======================================================================== */

static void sb_append(strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = ls_realloc(b->p, cap);
        if (!p)
            return; /* LIMITATION: out of memory, the kept text stops growing (what streamed is unaffected) */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void emit_answer(gen *g, const char *text, size_t n)
{
    sb_append(&g->answer, text, n);
    if (g->cb && g->cb->on_text)
        g->cb->on_text(g->cb->ctx, GEN_ANSWER, text, n);
}

/* Answer text goes through the stop-string matcher, in slices that fit its
 * scratch buffer. */
static void push_answer(gen *g, const char *text, size_t n)
{
    while (n > 0 && !g->stop_hit) {
        size_t take = n < g->stop_out_cap - STOP_MAX_BYTES ? n : g->stop_out_cap - STOP_MAX_BYTES, got = 0;
        g->stop_hit = stop_push(g->stops, text, take, g->stop_out, g->stop_out_cap, &got);
        if (got)
            emit_answer(g, g->stop_out, got);
        text += take;
        n -= take;
    }
}

/* Output of the thinking/answer splitter. Thoughts go straight out. */
static void on_split(void *ctx, rsn_part part, const char *text, size_t n)
{
    gen *g = ctx;
    if (part == RSN_THINKING) {
        sb_append(&g->think, text, n);
        if (g->cb && g->cb->on_text)
            g->cb->on_text(g->cb->ctx, GEN_THINKING, text, n);
        return;
    }
    push_answer(g, text, n);
}

static void push_text(gen *g, const char *text, size_t n)
{
    if (g->p.split_reasoning)
        rsn_push_text(g->splitter, text, n);
    else
        push_answer(g, text, n);
}

void gen_note(const gen_callbacks *cb, const char *fmt, ...)
{
    if (!cb || !cb->on_note)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cb->on_note(cb->ctx, line);
}

/* ======================================================================== */
/* The loop                                                                  */
/* ======================================================================== */

static ls_status feed(gen *g, const int32_t *ids, int n)
{
    return fwd_eval_one(engine_runner(g->e), g->kv, ids, n, g->logits, false);
}

/* Closes the thoughts by feeding RSN_FORCED_CLOSE (the budget ran out);
 * LS_ERR_LIMIT (no message) when the context has no room for it. */
static ls_status force_close(gen *g)
{
    int32_t ids[16];
    size_t n = 0;
    ls_status st = tok_encode(g->tok, RSN_FORCED_CLOSE, strlen(RSN_FORCED_CLOSE), TOK_PARSE_SPECIAL | TOK_CONTINUE,
                              ids, 16, &n);
    if (st)
        return st;
    if (kv_n_past(g->kv) + (int)n >= kv_n_ctx(g->kv))
        return LS_ERR_LIMIT;
    size_t nb;
    const char *rest = tok_stream_flush(g->stream, &nb);
    rsn_push_text(g->splitter, rest, nb);
    rsn_close_injected(g->splitter);
    return feed(g, ids, (int)n);
}

/* Answer tokens so far, and whether the model is inside its thoughts. */
static int n_answer_now(const gen *g, bool *in_thought)
{
    if (!g->p.split_reasoning) {
        *in_thought = false;
        return g->n_plain;
    }
    rsn_state rs = rsn_get_state(g->splitter);
    *in_thought = rs.in_thought;
    return rs.n_answer_tokens;
}

/* The answer limit is met (never inside the thoughts, which have their
 * budget instead). */
static bool at_answer_limit(const gen *g)
{
    bool in_thought;
    return g->p.n_answer_max >= 0 && n_answer_now(g, &in_thought) >= g->p.n_answer_max && !in_thought;
}

static ls_status loop(gen *g, gen_result *st, double t_start, int budget)
{
    double t_gen = plat_now_s();
    bool thinking_timed = false;
    const gen_callbacks *cb = g->cb;
    for (;;) {
        if (cb && cb->cancelled && cb->cancelled(cb->ctx)) {
            st->stop = GEN_STOP_CANCELLED;
            break;
        }
        if (g->p.timeout_s > 0 && plat_now_s() - t_start >= g->p.timeout_s) {
            st->stop = GEN_STOP_TIMEOUT;
            break;
        }
        if (at_answer_limit(g)) {
            st->stop = GEN_STOP_LENGTH; /* -n 0, or the limit met by the text that closed the thoughts */
            break;
        }
        guard_watch_poll(engine_watch(g->e)); /* logs one warning past 80 % of the memory limit */
        int32_t id = smp_sample(g->sampler, g->logits);
        if (st->t_first_token_s == 0)
            st->t_first_token_s = plat_now_s() - t_start;
        if (cb && cb->on_token)
            cb->on_token(cb->ctx, id, g->logits);
        if (!g->p.ignore_eog && tok_is_eog(g->tok, id)) {
            st->stop = GEN_STOP_EOG;
            break;
        }
        smp_accept(g->sampler, id);
        size_t nb;
        const char *text = tok_stream_push(g->stream, id, &nb);
        if (g->p.split_reasoning) {
            rsn_push(g->splitter, text, nb);
            if (!thinking_timed && rsn_get_state(g->splitter).closed) {
                st->t_thinking_s = plat_now_s() - t_gen;
                thinking_timed = true;
            }
        } else {
            push_answer(g, text, nb);
            g->n_plain++;
        }
        if (g->stop_hit) {
            st->stop = GEN_STOP_STRING;
            break;
        }
        if (at_answer_limit(g)) {
            st->stop = GEN_STOP_LENGTH;
            break;
        }
        if (kv_n_past(g->kv) + 1 >= kv_n_ctx(g->kv)) {
            st->stop = GEN_STOP_CONTEXT;
            break;
        }
        ls_status s = feed(g, &id, 1);
        if (s)
            return s;
        if (g->p.split_reasoning && rsn_budget_reached(g->splitter, budget)) {
            s = force_close(g);
            if (s == LS_ERR_LIMIT) {
                st->stop = GEN_STOP_CONTEXT;
                break;
            }
            if (s)
                return s;
            st->budget_closed = true;
            st->t_thinking_s = plat_now_s() - t_gen;
            thinking_timed = true;
            gen_note(g->cb, "thinking budget of %d tokens reached: the thoughts were closed so the model answers now",
                     budget);
        }
    }
    size_t nb;
    const char *rest = tok_stream_flush(g->stream, &nb);
    push_text(g, rest, nb);
    if (g->p.split_reasoning)
        rsn_flush(g->splitter);
    if (!g->stop_hit) {
        size_t got = stop_flush(g->stops, g->stop_out, g->stop_out_cap);
        if (got)
            emit_answer(g, g->stop_out, got);
    }
    bool in_thought;
    st->n_answer = n_answer_now(g, &in_thought);
    st->thought_unfinished = in_thought;
    if (g->p.split_reasoning) {
        rsn_state rs = rsn_get_state(g->splitter);
        st->n_thinking = rs.n_thinking_tokens;
        if (!thinking_timed && rs.thought)
            st->t_thinking_s = plat_now_s() - t_gen;
    }
    st->t_generate_s = plat_now_s() - t_gen;
    return LS_OK;
}

/* Everything after the prompt: reset the per-run state, then the loop. */
static ls_status generate(gen *g, gen_result *st, double t_start)
{
    ls_status s;
    g->think.n = g->answer.n = 0;
    if (g->think.p)
        g->think.p[0] = 0;
    if (g->answer.p)
        g->answer.p[0] = 0;
    g->n_plain = 0;
    g->stop_hit = false;
    rsn_reset(g->splitter, g->p.opens_thought);
    stop_reset(g->stops);
    tok_stream_flush(g->stream, &(size_t){ 0 });
    int budget = g->p.think_budget >= 0 ? g->p.think_budget
                                        : gen_default_think_budget(kv_n_ctx(g->kv), g->p.n_answer_max);
    st->think_budget = budget;
    s = loop(g, st, t_start, budget);
    if (!s && st->thought_unfinished)
        gen_note(g->cb, "the model did not finish thinking (%s): no answer was given", gen_stop_name(st->stop));
    return s;
}

ls_status gen_continue(gen *g, kv_cache *kv, const float *logits, double t_start, const gen_callbacks *cb,
                       gen_result *st)
{
    memset(st, 0, sizeof *st);
    if (kv_n_past(kv) == 0)
        return ls_error(LS_ERR_ARG, "the sequence holds no prompt to continue");
    g->kv = kv;
    g->cb = cb;
    memcpy(g->logits, logits, sizeof(float) * (size_t)engine_model(g->e)->hp.n_vocab);
    st->n_prompt = st->n_reused = kv_n_past(kv);
    ls_status s = generate(g, st, t_start);
    g->cb = NULL;
    return s;
}

ls_status gen_run(gen *g, kv_cache *kv, const int32_t *ids, int n_ids, double t_start, const gen_callbacks *cb,
                  gen_result *st)
{
    memset(st, 0, sizeof *st);
    if (n_ids <= 0)
        return ls_error(LS_ERR_ARG, "the prompt has no tokens");
    if (n_ids >= kv_n_ctx(kv))
        return ls_error(LS_ERR_LIMIT, "the prompt is %d tokens but the context holds %d; use --ctx %d or more", n_ids,
                        kv_n_ctx(kv), n_ids + 256);
    g->kv = kv;
    g->cb = cb;
    /* Re-use: keep the longest common prefix, read the rest (at least one
     * token, for the scores). */
    int keep = kv_common_prefix(kv, ids, n_ids);
    if (keep == n_ids)
        keep--;
    kv_rewind(kv, keep);
    st->n_prompt = n_ids;
    st->n_reused = keep;
    double t0 = plat_now_s();
    ls_status s = feed(g, ids + keep, n_ids - keep);
    if (s) {
        g->cb = NULL;
        return s;
    }
    st->t_prefill_s = plat_now_s() - t0;
    guard_watch_poll(engine_watch(g->e)); /* the prompt's prefill is where memory jumps */

    s = generate(g, st, t_start);
    g->cb = NULL;
    return s;
}
