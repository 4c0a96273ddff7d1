/* chat.c — one conversation: render, fit, re-use the cache, generate, store.
 *
 * State. A chat's `msgs` holds every user and assistant message of the
 * session, in order. A seat's `first_kept` says which of them it left out to
 * fit its window: messages before it stay left out (so the start of the
 * prompt stays the same from turn to turn and its tokens stay re-usable). A
 * chat has a process-wide unique `id`, new again at each reset; a seat that
 * meets another id than last time (another conversation, or this one
 * restarted), or fewer messages than it left out, keeps from the first again. The KV cache knows the token ids it holds
 * (kvcache.h): the previous prompt, then what the model generated (its
 * thoughts included, which the next prompt no longer contains — the common
 * prefix ends there). The generation loop (generation.h) re-uses that prefix
 * and generates.
 */
#include "generate/chat.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"

typedef struct {
    bool assistant;
    char *content;  /* user text, or the assistant's answer */
    char *thinking; /* assistant: its thoughts ("" if none); user: NULL */
    char *memory;   /* user: notes from memory given with it, or NULL */
    bool interrupted;
} msg;

struct chat {
    char *system;
    msg *msgs;
    size_t n_msgs, cap_msgs;
    uint64_t id;       /* unique in the process, renewed by chat_reset */
};

struct chat_seat {
    engine *e;
    const tok_tokenizer *tok;
    int n_ctx;
    tpl_family family;
    const tpl_info *info;
    kv_cache *kv;
    gen *gen;
    uint64_t last_id;  /* the conversation it answered last */
    size_t first_kept;
    tpl_prompt prompt;
};

chat_params chat_default_params(tpl_family family)
{
    const tpl_info *info = tpl_family_info(family);
    chat_params p = { .gen = gen_default_params() };
    if (family != TPL_UNKNOWN) {
        smp_params *s = &p.gen.sampling;
        s->temp = info->sampling.temp;
        s->top_k = info->sampling.top_k;
        s->top_p = info->sampling.top_p;
        s->min_p = info->sampling.min_p;
        s->repeat_penalty = info->sampling.repeat_penalty;
    }
    return p;
}

/* ======================================================================== */
/* Life cycle                                                                */
/* ======================================================================== */

static atomic_uint_fast64_t next_chat_id = 1;

ls_status chat_create(const char *system, chat **out)
{
    *out = NULL;
    chat *c = ls_calloc(1, sizeof *c);
    if (!c || (system && !(c->system = ls_strdup(system)))) {
        ls_free(c);
        return ls_error(LS_ERR_NOMEM, "out of memory for a conversation");
    }
    c->id = atomic_fetch_add(&next_chat_id, 1);
    *out = c;
    return LS_OK;
}

ls_status chat_seat_create(engine *e, const chat_params *p, chat_seat **out)
{
    *out = NULL;
    int engine_ctx = engine_get_params(e)->n_ctx;
    if (p->n_ctx > engine_ctx)
        return ls_error(LS_ERR_ARG, "a chat window of %d tokens is larger than the engine's %d", p->n_ctx,
                        engine_ctx);
    chat_seat *s = ls_calloc(1, sizeof *s);
    if (!s)
        return ls_error(LS_ERR_NOMEM, "out of memory for a chat seat");
    s->e = e;
    s->tok = engine_tokenizer(e);
    s->n_ctx = p->n_ctx > 0 ? p->n_ctx : engine_ctx;
    s->family = engine_family(e) != TPL_UNKNOWN ? engine_family(e) : TPL_FALLBACK;
    s->info = tpl_family_info(s->family);
    gen_params gp = p->gen;
    gp.split_reasoning = true;
    gp.opens_thought = s->info->opens_thought;
    ls_status st = kv_create(engine_model(e), s->n_ctx, &s->kv);
    if (!st)
        st = gen_create(e, &gp, &s->gen);
    if (st) {
        chat_seat_free(s);
        return st;
    }
    log_info("chat: %s, template %s, context %d tokens, temperature %.2f, top-p %.2f", engine_name(e),
             s->info->name, s->n_ctx, (double)gp.sampling.temp, (double)gp.sampling.top_p);
    *out = s;
    return LS_OK;
}

void chat_seat_free(chat_seat *s)
{
    if (!s)
        return;
    gen_free(s->gen);
    kv_free(s->kv);
    tpl_prompt_free(&s->prompt);
    ls_free(s);
}

static void free_msgs(chat *c, size_t from)
{
    for (size_t i = from; i < c->n_msgs; i++) {
        ls_free(c->msgs[i].content);
        ls_free(c->msgs[i].thinking);
        ls_free(c->msgs[i].memory);
    }
    c->n_msgs = from;
}

void chat_free(chat *c)
{
    if (!c)
        return;
    free_msgs(c, 0);
    ls_free(c->msgs);
    ls_free(c->system);
    ls_free(c);
}

void chat_reset(chat *c)
{
    free_msgs(c, 0);
    c->id = atomic_fetch_add(&next_chat_id, 1);
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

const char *chat_system(const chat *c)
{
    return c->system;
}

void chat_seat_set_think_budget(chat_seat *s, int budget)
{
    gen_set_think_budget(s->gen, budget);
}

void chat_seat_reset(chat_seat *s)
{
    gen_reset(s->gen);
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

chat_params chat_seat_params(const chat_seat *s)
{
    return (chat_params){ .n_ctx = s->n_ctx, .gen = *gen_get_params(s->gen) };
}

tpl_family chat_seat_family(const chat_seat *s)
{
    return s->family;
}

engine *chat_seat_engine(const chat_seat *s)
{
    return s->e;
}

const char *chat_seat_last_prompt(const chat_seat *s)
{
    return s->prompt.text ? s->prompt.text : "";
}

int chat_seat_n_cached(const chat_seat *s)
{
    return kv_n_past(s->kv);
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
static ls_status render(const chat *c, chat_seat *seat, size_t first, int32_t **ids, size_t *n_ids)
{
    size_t n = c->n_msgs - first + 1;
    tpl_message *tm = ls_malloc(n * sizeof *tm);
    if (!tm)
        return ls_error(LS_ERR_NOMEM, "out of memory for the prompt");
    size_t k = 0;
    bool sys_pending = c->system && *c->system;
    if (sys_pending && !seat->info->system_in_user) {
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
        st = render_encode(seat->tok, seat->family, tm, k, &seat->prompt, ids, n_ids);
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
static int reply_reserve(const chat_seat *s)
{
    int r = s->n_ctx / 4;
    return r > 1024 ? 1024 : r;
}

/* Renders the conversation from first_kept on; while it does not fit, leaves
 * out the oldest turn (a user message and the answers after it). */
static ls_status fit(const chat *c, chat_seat *seat, int32_t **ids, size_t *n_ids, int *n_dropped)
{
    *n_dropped = 0;
    size_t limit = (size_t)(seat->n_ctx - reply_reserve(seat));
    for (;;) {
        ls_status st = render(c, seat, seat->first_kept, ids, n_ids);
        if (st)
            return st;
        if (*n_ids <= limit)
            return LS_OK;
        size_t last_user = c->n_msgs - 1; /* the new message: never dropped */
        if (seat->first_kept >= last_user) {
            size_t n = *n_ids;
            ls_free(*ids);
            *ids = NULL;
            return ls_error(LS_ERR_LIMIT,
                            "this message makes a prompt of %zu tokens, but the context window holds %d and keeps %d "
                            "for the answer; shorten the message or start with a larger --ctx (at least %zu)",
                            n, seat->n_ctx, reply_reserve(seat), n + 2 * (size_t)reply_reserve(seat));
        }
        ls_free(*ids);
        *ids = NULL;
        size_t f = seat->first_kept + 1; /* drop one message, then up to the next user message */
        while (f < last_user && c->msgs[f].assistant)
            f++;
        *n_dropped += (int)(f - seat->first_kept);
        seat->first_kept = f;
    }
}

/* ======================================================================== */
/* A turn                                                                    */
/* ======================================================================== */


ls_status chat_send(chat *c, chat_seat *seat, const char *user_text, const gen_callbacks *cb, chat_turn_stats *st)
{
    return chat_send_with_memory(c, seat, user_text, NULL, cb, st);
}

ls_status chat_send_with_memory(chat *c, chat_seat *seat, const char *user_text, const char *memory,
                                const gen_callbacks *cb, chat_turn_stats *st)
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
    if (seat->last_id != c->id || seat->first_kept > c->n_msgs) {
        seat->first_kept = 0; /* another conversation, or this one since restarted */
        seat->last_id = c->id;
    }
    size_t n_before = c->n_msgs, first_before = seat->first_kept;
    ls_status s = push_msg(c, false, copy, NULL, notes, false);
    if (s) {
        ls_free(copy);
        ls_free(notes);
        return s;
    }

    int32_t *ids = NULL;
    size_t n_ids = 0;
    if ((s = fit(c, seat, &ids, &n_ids, &st->n_dropped)))
        goto fail;
    if (st->n_dropped)
        gen_note(cb, "the conversation no longer fits the %d-token context: left out the %d oldest message%s",
             seat->n_ctx, st->n_dropped, st->n_dropped == 1 ? "" : "s");
    s = gen_run(seat->gen, seat->kv, ids, (int)n_ids, t_start, cb, &st->gen);
    ls_free(ids);
    ids = NULL;
    if (s)
        goto fail;
    char *answer = ls_strdup(gen_answer(seat->gen));
    char *thinking = ls_strdup(gen_thinking(seat->gen));
    if (!answer || !thinking || push_msg(c, true, answer, thinking, NULL, st->gen.stop != GEN_STOP_EOG)) {
        ls_free(answer);
        ls_free(thinking);
        s = ls_error(LS_ERR_NOMEM, "out of memory for the answer");
        goto fail;
    }
    st->t_total_s = plat_now_s() - t_start;
    return LS_OK;

fail:
    ls_free(ids);
    free_msgs(c, n_before);
    seat->first_kept = first_before;
    return s;
}
