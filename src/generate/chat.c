/* chat.c — one conversation: render, fit, re-use the cache, generate, store.
 *
 * State. `msgs` holds every user and assistant message of the session, in
 * order; messages before `first_kept` were left out to fit the context and
 * stay left out (so the start of the prompt stays the same from turn to turn
 * and its tokens stay re-usable). `cached[0..n_cached)` are the token ids the
 * KV cache holds, position by position: the previous prompt, then what the
 * model generated (its thoughts included, which the next prompt no longer
 * contains — the common prefix ends there).
 *
 * The token loop (gen_loop) is the pipeline
 *     sample -> detokenize (complete characters) -> split thinking/answer
 *            -> [answer only] stop strings -> caller's on_text
 * with the checks between tokens: end-of-turn token, answer limit, thinking
 * budget, a full context, cancellation. Generated text is collected in two
 * growing buffers (thinking, answer) that double when full, so a long answer
 * costs a handful of reallocations, not one per token.
 */
#include "generate/chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "generate/reasoning.h"
#include "generate/stop.h"
#include "model/forward.h"

typedef struct {
    char *p;
    size_t n, cap;
} strbuf;

typedef struct {
    bool assistant;
    char *content;  /* user text, or the assistant's answer */
    char *thinking; /* assistant: its thoughts ("" if none); user: NULL */
    char *memory;   /* user: notes from memory given with it, or NULL */
    bool interrupted;
} msg;

struct chat {
    const model *m;
    const tok_tokenizer *tok;
    chat_params p;
    tpl_family family;
    const tpl_info *info;
    char *system;
    char *stop_copies[CHAT_MAX_STOPS];

    fwd_ctx *fwd;
    smp *sampler;
    tok_stream *stream;
    rsn *splitter;
    stop_matcher *stops;

    msg *msgs;
    size_t n_msgs, cap_msgs, first_kept;
    int32_t *cached; /* [n_ctx] ids in the KV cache */
    int n_cached;
    float *logits;   /* [n_vocab] */
    tpl_prompt prompt;

    /* per turn */
    strbuf think, answer;
    char *stop_out;  /* scratch for stop_push: a token's text + STOP_MAX_BYTES */
    size_t stop_out_cap;
    bool stop_hit;
    const chat_callbacks *cb;
};

/* ======================================================================== */
/* Small helpers                                                             */
/* ======================================================================== */

static bool sb_append(strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = ls_realloc(b->p, cap);
        if (!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}

static char *dup_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = ls_strdup(s);
    if (!d)
        *failed = true;
    return d;
}

const char *chat_stop_name(chat_stop s)
{
    switch (s) {
    case CHAT_STOP_EOG: return "end of turn";
    case CHAT_STOP_LENGTH: return "answer length limit";
    case CHAT_STOP_STRING: return "stop string";
    case CHAT_STOP_CONTEXT: return "context full";
    case CHAT_STOP_CANCELLED: return "interrupted";
    case CHAT_STOP_TIMEOUT: return "time limit";
    }
    return "?";
}

chat_params chat_default_params(tpl_family family)
{
    const tpl_info *info = tpl_family_info(family);
    chat_params p = { .n_ctx = 4096, .family = family, .n_answer_max = -1, .think_budget = -1 };
    p.sampling = smp_default_params();
    if (family != TPL_UNKNOWN) {
        p.sampling.temp = info->sampling.temp;
        p.sampling.top_k = info->sampling.top_k;
        p.sampling.top_p = info->sampling.top_p;
        p.sampling.min_p = info->sampling.min_p;
        p.sampling.repeat_penalty = info->sampling.repeat_penalty;
    }
    return p;
}

/* ======================================================================== */
/* Life cycle                                                                */
/* ======================================================================== */

static void on_split(void *ctx, rsn_part part, const char *text, size_t n);

ls_status chat_create(const model *m, const tok_tokenizer *tok, const chat_params *p, chat **out)
{
    *out = NULL;
    if (p->n_stops < 0 || p->n_stops > CHAT_MAX_STOPS)
        return ls_error(LS_ERR_ARG, "at most %d stop strings", CHAT_MAX_STOPS);
    chat *c = ls_calloc(1, sizeof *c);
    if (!c)
        return ls_error(LS_ERR_NOMEM, "out of memory for a chat session");
    c->m = m;
    c->tok = tok;
    c->p = *p;
    c->family = p->family != TPL_UNKNOWN ? p->family : TPL_FALLBACK;
    c->info = tpl_family_info(c->family);
    bool failed = false;
    c->system = dup_or_null(p->system, &failed);
    for (int i = 0; i < p->n_stops; i++)
        c->stop_copies[i] = dup_or_null(p->stops[i], &failed);
    c->p.system = NULL;
    for (int i = 0; i < CHAT_MAX_STOPS; i++)
        c->p.stops[i] = NULL;
    c->stop_out_cap = 4096 + STOP_MAX_BYTES;
    c->stop_out = ls_malloc(c->stop_out_cap);
    c->cached = ls_malloc(sizeof(int32_t) * (size_t)(p->n_ctx > 0 ? p->n_ctx : 1));
    c->logits = ls_malloc(sizeof(float) * (size_t)m->hp.n_vocab);
    if (failed || !c->stop_out || !c->cached || !c->logits) {
        chat_free(c);
        return ls_error(LS_ERR_NOMEM, "out of memory for a chat session");
    }

    fwd_params fp = fwd_default_params();
    fp.n_ctx = p->n_ctx;
    if (p->n_threads > 0)
        fp.n_threads = p->n_threads;
    smp_params sp = p->sampling;
    sp.n_history_max = p->n_ctx;
    ls_status st = fwd_create(m, &fp, &c->fwd);
    if (!st)
        st = smp_create(&sp, m->hp.n_vocab, &c->sampler);
    if (!st)
        st = tok_stream_new(tok, 0, &c->stream);
    if (!st)
        st = rsn_create(c->info->opens_thought, on_split, c, &c->splitter);
    if (!st)
        st = stop_create((const char *const *)c->stop_copies, p->n_stops, &c->stops);
    if (st) {
        chat_free(c);
        return st;
    }
    log_info("chat: template %s, context %d tokens, temperature %.2f, top-p %.2f", c->info->name, p->n_ctx,
             (double)sp.temp, (double)sp.top_p);
    *out = c;
    return LS_OK;
}

static void free_msgs(chat *c, size_t from)
{
    for (size_t i = from; i < c->n_msgs; i++) {
        ls_free(c->msgs[i].content);
        ls_free(c->msgs[i].thinking);
        ls_free(c->msgs[i].memory);
    }
    c->n_msgs = from;
    if (c->first_kept > from)
        c->first_kept = from;
}

void chat_free(chat *c)
{
    if (!c)
        return;
    free_msgs(c, 0);
    ls_free(c->msgs);
    ls_free(c->system);
    for (int i = 0; i < CHAT_MAX_STOPS; i++)
        ls_free(c->stop_copies[i]);
    stop_free(c->stops);
    rsn_free(c->splitter);
    tok_stream_free(c->stream);
    smp_free(c->sampler);
    fwd_free(c->fwd);
    ls_free(c->cached);
    ls_free(c->logits);
    ls_free(c->stop_out);
    ls_free(c->think.p);
    ls_free(c->answer.p);
    tpl_prompt_free(&c->prompt);
    ls_free(c);
}

void chat_reset(chat *c)
{
    free_msgs(c, 0);
    c->first_kept = 0;
    smp_reset(c->sampler);
}

ls_status chat_set_system(chat *c, const char *system)
{
    char *copy = NULL;
    if (system && !(copy = ls_strdup(system)))
        return ls_error(LS_ERR_NOMEM, "out of memory for the system text");
    ls_free(c->system);
    c->system = copy;
    return LS_OK;
}

void chat_set_think_budget(chat *c, int budget)
{
    c->p.think_budget = budget < 0 ? -1 : budget;
}

size_t chat_n_messages(const chat *c)
{
    return c->n_msgs;
}

chat_message chat_get_message(const chat *c, size_t i)
{
    const msg *g = &c->msgs[i];
    return (chat_message){ .role = g->assistant ? "assistant" : "user", .content = g->content,
                           .thinking = g->thinking ? g->thinking : "", .memory = g->memory,
                           .interrupted = g->interrupted };
}

bool chat_drop_last_turn(chat *c)
{
    if (c->n_msgs < 2 || !c->msgs[c->n_msgs - 1].assistant || c->msgs[c->n_msgs - 2].assistant)
        return false;
    free_msgs(c, c->n_msgs - 2);
    return true;
}

chat_params chat_get_params(const chat *c)
{
    chat_params p = c->p;
    p.system = c->system;
    for (int i = 0; i < p.n_stops; i++)
        p.stops[i] = c->stop_copies[i];
    return p;
}

tpl_family chat_family(const chat *c)
{
    return c->family;
}

const char *chat_last_prompt(const chat *c)
{
    return c->prompt.text ? c->prompt.text : "";
}

int chat_n_ctx(const chat *c)
{
    return c->p.n_ctx;
}

int chat_n_cached(const chat *c)
{
    return c->n_cached;
}

/* ======================================================================== */
/* Building the prompt                                                       */
/* ======================================================================== */

static ls_status push_msg(chat *c, bool assistant, char *content, char *thinking, char *memory, bool interrupted)
{
    if (c->n_msgs == c->cap_msgs) {
        size_t cap = c->cap_msgs ? 2 * c->cap_msgs : 16;
        msg *p = ls_realloc(c->msgs, cap * sizeof *p);
        if (!p)
            return ls_error(LS_ERR_NOMEM, "out of memory for the conversation");
        c->msgs = p;
        c->cap_msgs = cap;
    }
    c->msgs[c->n_msgs++] = (msg){ assistant, content, thinking, memory, interrupted };
    return LS_OK;
}

ls_status chat_add_message(chat *c, const char *role, const char *content, const char *thinking)
{
    bool assistant = role && !strcmp(role, "assistant");
    if (!role || (!assistant && strcmp(role, "user")) || !content)
        return ls_error(LS_ERR_ARG, "a conversation message is from \"user\" or \"assistant\", with content");
    char *text = ls_strdup(content), *thought = assistant ? ls_strdup(thinking ? thinking : "") : NULL;
    if (!text || (assistant && !thought) || push_msg(c, assistant, text, thought, NULL, false)) {
        ls_free(text);
        ls_free(thought);
        return ls_error(LS_ERR_NOMEM, "out of memory for the conversation");
    }
    return LS_OK;
}

ls_status chat_add_turn(chat *c, const char *user, const char *answer, const char *thinking)
{
    size_t n_before = c->n_msgs;
    ls_status st = chat_add_message(c, "user", user, NULL);
    if (!st && (st = chat_add_message(c, "assistant", answer, thinking)))
        free_msgs(c, n_before);
    return st;
}

/* Renders msgs with the generation prompt, the tokenizer's BOS and EOS texts
 * filled in, and encodes the result (template.h: specials only where the
 * template wrote them). */
static ls_status render_encode(const tok_tokenizer *tok, tpl_family family, const tpl_message *msgs, size_t n_msgs,
                               tpl_prompt *prompt, int32_t **ids, size_t *n_ids)
{
    char text[2][64] = { "", "" };
    int32_t id[2] = { tok_bos(tok), tok_eos(tok) };
    for (int k = 0; k < 2; k++) {
        size_t nb;
        const char *piece = id[k] >= 0 ? tok_piece(tok, id[k], &nb) : NULL;
        if (piece && nb < sizeof text[k]) {
            memcpy(text[k], piece, nb);
            text[k][nb] = 0;
        }
    }
    tpl_options opt = { .add_generation_prompt = true, .bos = text[0], .eos = text[1] };
    ls_status st = tpl_render(family, msgs, n_msgs, &opt, prompt);
    if (!st)
        st = tpl_encode(tok, prompt, ids, n_ids);
    return st;
}

/* "a\n\nb\n\nc" from the parts that are not NULL. */
static char *join3(const char *a, const char *b, const char *c)
{
    const char *parts[3] = { a, b, c };
    size_t len = 0;
    for (int i = 0; i < 3; i++)
        len += parts[i] ? strlen(parts[i]) + 2 : 0;
    char *out = ls_malloc(len + 1), *p = out;
    for (int i = 0; out && i < 3; i++) {
        if (!parts[i])
            continue;
        if (p != out) {
            memcpy(p, "\n\n", 2);
            p += 2;
        }
        size_t n = strlen(parts[i]);
        memcpy(p, parts[i], n);
        p += n;
    }
    if (out)
        *p = 0;
    return out;
}

/* Renders system text + msgs[first..n_msgs) with the generation prompt and
 * encodes it into *ids. For families whose authors advise against a system
 * prompt (DeepSeek-R1), the system text opens the first user message. */
static ls_status render(chat *c, size_t first, int32_t **ids, size_t *n_ids)
{
    size_t n = c->n_msgs - first + 1;
    tpl_message *tm = ls_malloc(n * sizeof *tm);
    if (!tm)
        return ls_error(LS_ERR_NOMEM, "out of memory for the prompt");
    size_t k = 0;
    bool sys_pending = c->system && *c->system;
    if (sys_pending && !c->info->system_in_user) {
        tm[k++] = (tpl_message){ "system", c->system };
        sys_pending = false;
    }
    char **joined = ls_calloc(n, sizeof *joined); /* user texts built from several parts */
    if (!joined) {
        ls_free(tm);
        return ls_error(LS_ERR_NOMEM, "out of memory for the prompt");
    }
    ls_status st = LS_OK;
    for (size_t i = first; i < c->n_msgs && !st; i++) {
        const msg *g = &c->msgs[i];
        const char *content = g->content;
        const char *sys = sys_pending && !g->assistant ? c->system : NULL;
        if (sys || g->memory) {
            if (!(content = joined[k] = join3(sys, g->memory, g->content)))
                st = ls_error(LS_ERR_NOMEM, "out of memory for the prompt");
            sys_pending = sys_pending && !sys;
        }
        tm[k++] = (tpl_message){ g->assistant ? "assistant" : "user", content };
    }
    if (!st)
        st = render_encode(c->tok, c->family, tm, k, &c->prompt, ids, n_ids);
    for (size_t i = 0; i < n; i++)
        ls_free(joined[i]);
    ls_free(joined);
    ls_free(tm);
    return st;
}

ls_status chat_encode_single(const tok_tokenizer *tok, tpl_family family, const char *user_text, int32_t **ids,
                             size_t *n_ids)
{
    tpl_prompt p = { 0 };
    tpl_message one = { "user", user_text };
    ls_status st = render_encode(tok, family, &one, 1, &p, ids, n_ids);
    tpl_prompt_free(&p);
    return st;
}

/* Tokens kept free for the reply when deciding whether a prompt fits: a
 * quarter of the window, at most 1024. */
static int reply_reserve(const chat *c)
{
    int r = c->p.n_ctx / 4;
    return r > 1024 ? 1024 : r;
}

/* Renders the conversation from first_kept on; while it does not fit, leaves
 * out the oldest turn (a user message and the answers after it). */
static ls_status fit(chat *c, int32_t **ids, size_t *n_ids, int *n_dropped)
{
    *n_dropped = 0;
    size_t limit = (size_t)(c->p.n_ctx - reply_reserve(c));
    for (;;) {
        ls_status st = render(c, c->first_kept, ids, n_ids);
        if (st)
            return st;
        if (*n_ids <= limit)
            return LS_OK;
        size_t last_user = c->n_msgs - 1; /* the new message: never dropped */
        if (c->first_kept >= last_user) {
            size_t n = *n_ids;
            ls_free(*ids);
            *ids = NULL;
            return ls_error(LS_ERR_LIMIT,
                            "this message makes a prompt of %zu tokens, but the context window holds %d and keeps %d "
                            "for the answer; shorten the message or start with a larger --ctx (at least %zu)",
                            n, c->p.n_ctx, reply_reserve(c), n + 2 * (size_t)reply_reserve(c));
        }
        ls_free(*ids);
        *ids = NULL;
        size_t f = c->first_kept + 1; /* drop one message, then up to the next user message */
        while (f < last_user && c->msgs[f].assistant)
            f++;
        *n_dropped += (int)(f - c->first_kept);
        c->first_kept = f;
    }
}

/* ======================================================================== */
/* Generating                                                                */
/* ======================================================================== */

/* Output of the thinking/answer splitter. Thoughts go straight out; the
 * answer passes through the stop-string matcher first. */
static void on_split(void *ctx, rsn_part part, const char *text, size_t n)
{
    chat *c = ctx;
    if (part == RSN_THINKING) {
        sb_append(&c->think, text, n);
        if (c->cb && c->cb->on_text)
            c->cb->on_text(c->cb->ctx, CHAT_THINKING, text, n);
        return;
    }
    while (n > 0 && !c->stop_hit) { /* in slices that fit the scratch buffer */
        size_t take = n < c->stop_out_cap - STOP_MAX_BYTES ? n : c->stop_out_cap - STOP_MAX_BYTES, got = 0;
        c->stop_hit = stop_push(c->stops, text, take, c->stop_out, c->stop_out_cap, &got);
        if (got) {
            sb_append(&c->answer, c->stop_out, got);
            if (c->cb && c->cb->on_text)
                c->cb->on_text(c->cb->ctx, CHAT_ANSWER, c->stop_out, got);
        }
        text += take;
        n -= take;
    }
}

static void note(chat *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(chat *c, const char *fmt, ...)
{
    if (!c->cb || !c->cb->on_note)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->cb->on_note(c->cb->ctx, line);
}

/* Feeds ids to the model after what is cached, keeping `cached` in step. */
static ls_status feed(chat *c, const int32_t *ids, int n, bool want_logits)
{
    ls_status st = fwd_eval(c->fwd, ids, n, want_logits ? c->logits : NULL, false);
    if (st)
        return st;
    memcpy(c->cached + c->n_cached, ids, (size_t)n * sizeof *ids);
    c->n_cached += n;
    return LS_OK;
}

/* Closes the thoughts by feeding RSN_FORCED_CLOSE (the budget ran out). */
static ls_status force_close(chat *c)
{
    int32_t ids[16];
    size_t n = 0;
    ls_status st = tok_encode(c->tok, RSN_FORCED_CLOSE, strlen(RSN_FORCED_CLOSE), TOK_PARSE_SPECIAL | TOK_CONTINUE,
                              ids, 16, &n);
    if (st)
        return st;
    if (c->n_cached + (int)n >= c->p.n_ctx)
        return LS_ERR_LIMIT;
    size_t nb;
    const char *rest = tok_stream_flush(c->stream, &nb);
    rsn_push_text(c->splitter, rest, nb);
    rsn_close_injected(c->splitter);
    return feed(c, ids, (int)n, true);
}

static ls_status gen_loop(chat *c, chat_turn_stats *st, double t_start)
{
    double t_gen = plat_now_s();
    bool thinking_timed = false;
    for (;;) {
        if (c->cb && c->cb->cancelled && c->cb->cancelled(c->cb->ctx)) {
            st->stop = CHAT_STOP_CANCELLED;
            break;
        }
        if (c->p.timeout_s > 0 && plat_now_s() - t_start >= c->p.timeout_s) {
            st->stop = CHAT_STOP_TIMEOUT;
            break;
        }
        int32_t id = smp_sample(c->sampler, c->logits);
        if (st->t_first_token_s == 0)
            st->t_first_token_s = plat_now_s() - t_start;
        if (tok_is_eog(c->tok, id)) {
            st->stop = CHAT_STOP_EOG;
            break;
        }
        smp_accept(c->sampler, id);
        size_t nb;
        const char *text = tok_stream_push(c->stream, id, &nb);
        rsn_push(c->splitter, text, nb);
        rsn_state rs = rsn_get_state(c->splitter);
        if (!thinking_timed && rs.closed) {
            st->t_thinking_s = plat_now_s() - t_gen;
            thinking_timed = true;
        }
        if (c->stop_hit) {
            st->stop = CHAT_STOP_STRING;
            break;
        }
        if (c->p.n_answer_max >= 0 && rs.n_answer_tokens >= c->p.n_answer_max && !rs.in_thought) {
            st->stop = CHAT_STOP_LENGTH;
            break;
        }
        if (c->n_cached + 1 >= c->p.n_ctx) {
            st->stop = CHAT_STOP_CONTEXT;
            break;
        }
        ls_status s = feed(c, &id, 1, true);
        if (s)
            return s;
        if (rsn_budget_reached(c->splitter, c->p.think_budget)) {
            s = force_close(c);
            if (s == LS_ERR_LIMIT) {
                st->stop = CHAT_STOP_CONTEXT;
                break;
            }
            if (s)
                return s;
            st->budget_closed = true;
            st->t_thinking_s = plat_now_s() - t_gen;
            thinking_timed = true;
            note(c, "thinking budget of %d tokens reached: the thoughts were closed so the model answers now",
                 c->p.think_budget);
        }
    }
    size_t nb;
    const char *rest = tok_stream_flush(c->stream, &nb);
    rsn_push_text(c->splitter, rest, nb);
    rsn_flush(c->splitter);
    if (!c->stop_hit) {
        size_t got = stop_flush(c->stops, c->stop_out, c->stop_out_cap);
        if (got) {
            sb_append(&c->answer, c->stop_out, got);
            if (c->cb && c->cb->on_text)
                c->cb->on_text(c->cb->ctx, CHAT_ANSWER, c->stop_out, got);
        }
    }
    rsn_state rs = rsn_get_state(c->splitter);
    st->n_thinking = rs.n_thinking_tokens;
    st->n_answer = rs.n_answer_tokens;
    st->thought_unfinished = rs.in_thought;
    if (!thinking_timed && rs.thought)
        st->t_thinking_s = plat_now_s() - t_gen;
    st->t_generate_s = plat_now_s() - t_gen;
    return LS_OK;
}

ls_status chat_send(chat *c, const char *user_text, const chat_callbacks *cb, chat_turn_stats *st)
{
    return chat_send_with_memory(c, user_text, NULL, cb, st);
}

ls_status chat_send_with_memory(chat *c, const char *user_text, const char *memory, const chat_callbacks *cb,
                                chat_turn_stats *st)
{
    double t_start = plat_now_s();
    memset(st, 0, sizeof *st);
    if (!user_text)
        return ls_error(LS_ERR_ARG, "no message");
    char *copy = ls_strdup(user_text), *notes = memory && *memory ? ls_strdup(memory) : NULL;
    if (!copy || (memory && *memory && !notes)) {
        ls_free(copy);
        ls_free(notes);
        return ls_error(LS_ERR_NOMEM, "out of memory for the message");
    }
    size_t n_before = c->n_msgs, first_before = c->first_kept;
    ls_status s = push_msg(c, false, copy, NULL, notes, false);
    if (s) {
        ls_free(copy);
        ls_free(notes);
        return s;
    }

    int32_t *ids = NULL;
    size_t n_ids = 0;
    if ((s = fit(c, &ids, &n_ids, &st->n_dropped)))
        goto fail;
    c->cb = cb;
    if (st->n_dropped)
        note(c, "the conversation no longer fits the %d-token context: left out the %d oldest message%s",
             c->p.n_ctx, st->n_dropped, st->n_dropped == 1 ? "" : "s");

    /* Re-use: keep the longest common prefix, process the rest (at least one
     * token, for the logits). */
    int keep = 0;
    while (keep < c->n_cached && (size_t)keep < n_ids && c->cached[keep] == ids[keep])
        keep++;
    if ((size_t)keep == n_ids)
        keep--;
    fwd_rewind(c->fwd, keep);
    c->n_cached = keep;
    st->n_prompt = (int)n_ids;
    st->n_reused = keep;
    double t0 = plat_now_s();
    if ((s = feed(c, ids + keep, (int)n_ids - keep, true))) {
        c->n_cached = fwd_n_past(c->fwd); /* nothing was processed: the cache is as before the call */
        goto fail;
    }
    st->t_prefill_s = plat_now_s() - t0;
    ls_free(ids);
    ids = NULL;

    /* Generate. */
    c->think.n = c->answer.n = 0;
    c->stop_hit = false;
    rsn_reset(c->splitter, c->info->opens_thought);
    stop_reset(c->stops);
    tok_stream_flush(c->stream, &(size_t){ 0 });
    if ((s = gen_loop(c, st, t_start)))
        goto fail;
    char *answer = ls_strdup(c->answer.p ? c->answer.p : "");
    char *thinking = ls_strdup(c->think.p ? c->think.p : "");
    if (!answer || !thinking || push_msg(c, true, answer, thinking, NULL, st->stop != CHAT_STOP_EOG)) {
        ls_free(answer);
        ls_free(thinking);
        s = ls_error(LS_ERR_NOMEM, "out of memory for the answer");
        goto fail;
    }
    if (st->thought_unfinished)
        note(c, "the model did not finish thinking (%s): no answer was given", chat_stop_name(st->stop));
    c->cb = NULL;
    st->t_total_s = plat_now_s() - t_start;
    return LS_OK;

fail:
    ls_free(ids);
    c->cb = NULL;
    free_msgs(c, n_before);
    c->first_kept = first_before;
    return s;
}
