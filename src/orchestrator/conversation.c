/* conversation.c — the request path of one question (see the header).
 *
 * How it works:
 *   - `ids` runs beside the chat's message list: ids[i] is the store's id of
 *     chat message i (0 when it was not saved). It says which messages the
 *     prompt already holds (retrieval skips them) and which rows to delete
 *     when a cached answer is regenerated.
 *   - The cache key is a 128-bit digest (two FNV-1a passes with different
 *     seeds) of everything that decides the answer: model file and size, the
 *     sampling settings, the template, the system text, the earlier turns of
 *     the conversation and the normalized question. The store also compares
 *     model, question and settings in clear, so a digest collision cannot
 *     serve a wrong answer. The notes recalled from memory are compared
 *     separately: the entry keeps the ids of the notes its answer was given
 *     with, and a hit needs the same notes now (leaving out the cached
 *     question and answer themselves, which did not exist the first time).
 *   - Notes are taken best first while their tokens fit the budget; each is
 *     one line "- [date, who] text" under a heading that tells the model what
 *     they are.
 */
#include "orchestrator/conversation.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"

enum { NOTE_MAX_CHARS = 600 }; /* a recalled message longer than this is cut (with "...") */

static const char notes_heading[] =
    "Notes recalled from earlier conversations (use them only if they help answer):";

struct conv {
    chat *c;
    const tok_tokenizer *tok;
    mem_store *store;
    conv_options o;
    char *model_name, *quant;
    int64_t session;
    int64_t *ids;          /* [n_ids] store id of each chat message, 0 if unsaved */
    size_t n_ids, cap_ids;
    bool last_cached;
    /* the last recall */
    mem_hit *hits;
    size_t n_hits;
    int *hit_tokens;       /* [n_hits] */
    size_t n_used;         /* hits[0..n_used) were given to the model */
};

conv_options conv_default_options(void)
{
    return (conv_options){ .model_name = "", .quant = "", .command = "chat", .recall = true, .memory_tokens = 512,
                           .cache = true };
}

/* ======================================================================== */
/* Life cycle and sessions                                                   */
/* ======================================================================== */

static void clear_recall(conv *v)
{
    mem_hits_free(v->hits, v->n_hits);
    ls_free(v->hit_tokens);
    v->hits = NULL;
    v->hit_tokens = NULL;
    v->n_hits = v->n_used = 0;
}

ls_status conv_create(chat *c, const tok_tokenizer *tok, mem_store *store, const conv_options *o, conv **out)
{
    *out = NULL;
    conv *v = ls_calloc(1, sizeof *v);
    if (!v)
        return ls_error(LS_ERR_NOMEM, "out of memory for the conversation");
    v->c = c;
    v->tok = tok;
    v->store = store;
    v->o = o ? *o : conv_default_options();
    if (v->o.memory_tokens < 0)
        v->o.memory_tokens = 0;
    v->model_name = ls_strdup(v->o.model_name ? v->o.model_name : "");
    v->quant = ls_strdup(v->o.quant ? v->o.quant : "");
    if (!v->model_name || !v->quant) {
        conv_free(v);
        return ls_error(LS_ERR_NOMEM, "out of memory for the conversation");
    }
    v->o.model_name = v->model_name;
    v->o.quant = v->quant;
    *out = v;
    return LS_OK;
}

void conv_free(conv *v)
{
    if (!v)
        return;
    clear_recall(v);
    ls_free(v->ids);
    ls_free(v->model_name);
    ls_free(v->quant);
    ls_free(v);
}

int64_t conv_session(const conv *v)
{
    return v->session;
}

void conv_set_cache(conv *v, bool on)
{
    v->o.cache = on;
}

void conv_set_recall(conv *v, bool on)
{
    v->o.recall = on;
}

bool conv_last_was_cached(const conv *v)
{
    return v->last_cached;
}

size_t conv_n_notes(const conv *v)
{
    return v->n_used;
}

conv_note conv_get_note(const conv *v, size_t i)
{
    const mem_hit *h = &v->hits[i];
    return (conv_note){ h->message_id, h->session_id, h->score, v->hit_tokens[i], h->role, h->created_at,
                        h->content };
}

/* Keeps `ids` the same length as the chat's message list. */
static bool push_id(conv *v, int64_t id)
{
    if (v->n_ids == v->cap_ids) {
        size_t cap = v->cap_ids ? 2 * v->cap_ids : 32;
        int64_t *p = ls_realloc(v->ids, cap * sizeof *p);
        if (!p)
            return false;
        v->ids = p;
        v->cap_ids = cap;
    }
    v->ids[v->n_ids++] = id;
    return true;
}

void conv_new_session(conv *v)
{
    chat_reset(v->c);
    v->session = 0;
    v->n_ids = 0;
    v->last_cached = false;
    clear_recall(v);
}

ls_status conv_resume(conv *v, int64_t session_id)
{
    if (!v->store)
        return ls_error(LS_ERR_ARG, "there is no memory file to resume from (memory is off)");
    mem_session info;
    ls_status st = mem_session_get(v->store, session_id, &info);
    if (st)
        return st;
    mem_session_clear(&info);
    mem_message *msgs;
    size_t n;
    if ((st = mem_messages(v->store, session_id, 0, &msgs, &n)))
        return st;
    conv_new_session(v);
    for (size_t i = 0; i < n && !st; i++) {
        st = chat_add_message(v->c, msgs[i].role, msgs[i].content, msgs[i].thinking);
        if (!st && !push_id(v, msgs[i].id))
            st = ls_error(LS_ERR_NOMEM, "out of memory resuming a session");
    }
    mem_messages_free(msgs, n);
    if (st) {
        conv_new_session(v);
        return st;
    }
    v->session = session_id;
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, session_id);
    mem_setting_set(v->store, "last_session", buf); /* a convenience: not worth failing the resume for */
    log_info("memory: resumed session %" PRId64 " (%zu messages)", session_id, n);
    return LS_OK;
}

ls_status conv_forget(conv *v, int64_t session_id)
{
    if (!v->store)
        return ls_error(LS_ERR_ARG, "there is no memory file (memory is off)");
    ls_status st = mem_session_delete(v->store, session_id);
    if (!st && session_id == v->session)
        conv_new_session(v);
    if (!st)
        log_info("memory: deleted session %" PRId64, session_id);
    return st;
}

/* ======================================================================== */
/* The cache key                                                             */
/* ======================================================================== */

typedef struct {
    uint64_t h[2];
} digest;

static void digest_add(digest *d, const char *text)
{
    static const uint64_t prime = 0x100000001b3ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        for (int k = 0; k < 2; k++)
            d->h[k] = (d->h[k] ^ *p) * prime;
    for (int k = 0; k < 2; k++) /* a separator, so ("ab","c") and ("a","bc") differ */
        d->h[k] = (d->h[k] ^ 0x1f) * prime;
}

/* The sampling settings in words: stored in clear with the entry. The caller's
 * buffer holds them whole (1024 bytes: the fixed part and up to GEN_MAX_STOPS
 * stop strings of STOP_MAX_BYTES), so two settings never cut to the same text. */
static void settings_text(const chat *c, char *out, size_t cap)
{
    chat_params p = chat_get_params(c);
    const smp_params *s = &p.gen.sampling;
    snprintf(out, cap,
             "template=%s temp=%.3f top_k=%d top_p=%.3f min_p=%.3f repeat=%.3f presence=%.3f frequency=%.3f "
             "think_budget=%d answer_max=%d",
             tpl_family_info(chat_family(c))->name, (double)s->temp, s->top_k, (double)s->top_p, (double)s->min_p,
             (double)s->repeat_penalty, (double)s->presence_penalty, (double)s->frequency_penalty, p.gen.think_budget,
             p.gen.n_answer_max);
    for (int i = 0; i < p.gen.n_stops; i++) { /* stop strings end answers too */
        size_t len = strlen(out);
        snprintf(out + len, cap - len, " stop=%s", p.gen.stops[i]);
    }
}

static void cache_key(const conv *v, const char *question, const char *settings, char out[33])
{
    digest d = { { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull } };
    char size[32];
    snprintf(size, sizeof size, "%" PRIu64, v->o.model_bytes);
    digest_add(&d, v->model_name);
    digest_add(&d, size);
    digest_add(&d, settings);
    chat_params p = chat_get_params(v->c);
    digest_add(&d, p.system ? p.system : "");
    for (size_t i = 0; i < chat_n_messages(v->c); i++) {
        chat_message m = chat_get_message(v->c, i);
        digest_add(&d, m.role);
        digest_add(&d, m.content);
    }
    digest_add(&d, question);
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, d.h[0], d.h[1]);
}

/* ======================================================================== */
/* Retrieval                                                                 */
/* ======================================================================== */

static int count_tokens(const tok_tokenizer *tok, const char *text)
{
    size_t n = 0;
    tok_encode(tok, text, strlen(text), 0, NULL, 0, &n);
    return (int)n;
}

/* One note line: "- [2026-11-20 10:04, you said] text" (cut if very long). */
static char *note_line(const mem_hit *h)
{
    size_t len = strlen(h->content);
    bool cut = len > NOTE_MAX_CHARS;
    if (cut) { /* cut on a character boundary */
        len = NOTE_MAX_CHARS;
        while (len > 0 && ((unsigned char)h->content[len] & 0xc0) == 0x80)
            len--;
    }
    const char *who = strcmp(h->role, "user") == 0 ? "the user said" : "you answered";
    size_t cap = len + strlen(h->created_at) + 64;
    char *line = ls_malloc(cap);
    if (line)
        snprintf(line, cap, "- [%.16s, %s] %.*s%s", h->created_at, who, (int)len, h->content, cut ? "..." : "");
    return line;
}

/* Retrieves notes for `text` into v->hits and picks those that fit the
 * budget (v->n_used). `extra_skip` leaves out more messages (a cached turn). */
static ls_status recall(conv *v, const char *text, const int64_t *extra_skip, size_t n_extra)
{
    clear_recall(v);
    if (!v->store || !v->o.recall || v->o.memory_tokens <= 0)
        return LS_OK;
    mem_query q = { .max_hits = 8, .skip_ids = extra_skip, .n_skip_ids = n_extra };
    /* The current session is in the prompt. LIMITATION: its oldest turns, once
     * left out of a full window, are not recalled either. */
    if (v->session && v->n_ids > 0) {
        q.skip_session = v->session;
        q.skip_from_id = 1;
    }
    ls_status st = mem_retrieve(v->store, text, &q, &v->hits, &v->n_hits);
    if (st || v->n_hits == 0)
        return st;
    if (!(v->hit_tokens = ls_calloc(v->n_hits, sizeof *v->hit_tokens)))
        return ls_error(LS_ERR_NOMEM, "out of memory recalling notes");
    int used = count_tokens(v->tok, notes_heading) + 1;
    for (size_t i = 0; i < v->n_hits; i++) {
        char *line = note_line(&v->hits[i]);
        if (!line)
            return ls_error(LS_ERR_NOMEM, "out of memory recalling notes");
        v->hit_tokens[i] = count_tokens(v->tok, line) + 1;
        ls_free(line);
        if (used + v->hit_tokens[i] > v->o.memory_tokens)
            break; /* best first: a weaker note does not jump the queue */
        used += v->hit_tokens[i];
        v->n_used = i + 1;
    }
    return LS_OK;
}

/* "12,40": the ids of the notes used, for the cache entry. */
static void used_ids(const conv *v, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < v->n_used && len + 24 < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64, i ? "," : "", v->hits[i].message_id);
}

static char *notes_text(const conv *v)
{
    size_t cap = sizeof notes_heading + 1;
    for (size_t i = 0; i < v->n_used; i++)
        cap += strlen(v->hits[i].content) + strlen(v->hits[i].created_at) + 80;
    char *text = ls_malloc(cap);
    if (!text)
        return NULL;
    size_t len = (size_t)snprintf(text, cap, "%s", notes_heading);
    for (size_t i = 0; i < v->n_used; i++) {
        char *line = note_line(&v->hits[i]);
        if (!line) {
            ls_free(text);
            return NULL;
        }
        len += (size_t)snprintf(text + len, cap - len, "\n%s", line);
        ls_free(line);
    }
    return text;
}

/* ======================================================================== */
/* Saving                                                                    */
/* ======================================================================== */

static void save_failed(conv_turn *out, const gen_callbacks *cb)
{
    out->saved = false;
    snprintf(out->save_error, sizeof out->save_error, "this turn was not saved: %s", ls_error_msg());
    log_warn("%s", out->save_error);
    if (cb && cb->on_note)
        cb->on_note(cb->ctx, out->save_error);
}

/* Commits the turn that the chat's last two messages hold; records ids. */
static ls_status save_turn(conv *v, const char *question, const chat_turn_stats *st, bool cached, int64_t *q_id,
                           int64_t *a_id)
{
    *q_id = *a_id = 0;
    ls_status s = LS_OK;
    if (!v->session) {
        chat_params p = chat_get_params(v->c);
        if ((s = mem_session_create(v->store, v->model_name, p.system, &v->session)))
            return s;
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, v->session);
        mem_setting_set(v->store, "last_session", buf);
        log_info("memory: started session %" PRId64 " in %s", v->session, mem_path(v->store));
    }
    chat_message a = chat_get_message(v->c, chat_n_messages(v->c) - 1);
    mem_turn t = { .user = question, .n_user_tokens = count_tokens(v->tok, question), .answer = a.content,
                   .thinking = a.thinking, .n_answer_tokens = cached ? count_tokens(v->tok, a.content) : st->n_answer,
                   .n_thinking_tokens = cached ? count_tokens(v->tok, a.thinking) : st->n_thinking,
                   .model = v->model_name, .interrupted = a.interrupted, .cached = cached };
    return mem_turn_save(v->store, v->session, &t, q_id, a_id);
}

static void record(conv *v, const conv_turn *t)
{
    const chat_turn_stats *c = &t->chat;
    int n_gen = c->n_thinking + c->n_answer;
    mem_telemetry row = { .session_id = v->session, .command = v->o.command, .model = v->model_name,
                          .quant = v->quant, .n_prompt = c->n_prompt, .n_reused = c->n_reused,
                          .n_thinking = c->n_thinking, .n_answer = c->n_answer, .n_memory = t->n_notes,
                          .n_dropped = c->n_dropped, .ttft_s = c->t_first_token_s,
                          .tokens_per_s = c->t_generate_s > 0 ? n_gen / c->t_generate_s : 0,
                          .total_s = t->t_total_s, .retrieve_s = t->t_retrieve_s, .cache_hit = t->cached,
                          .truncated = c->n_dropped > 0, .stop = t->cached ? "cached" : gen_stop_name(c->stop),
                          .peak_rss_bytes = (int64_t)plat_peak_rss_bytes() };
    if (mem_telemetry_add(v->store, &row))
        log_warn("telemetry not recorded: %s", ls_error_msg());
}

/* ======================================================================== */
/* Asking                                                                    */
/* ======================================================================== */

/* Answers that the same request would give again: not those cut by the
 * user, the clock or a full context (which depend on the moment). */
static bool cacheable(gen_stop stop)
{
    return stop == GEN_STOP_EOG || stop == GEN_STOP_LENGTH || stop == GEN_STOP_STRING;
}

static ls_status serve_cached(conv *v, const char *text, mem_cached *hit, const gen_callbacks *cb, conv_turn *out)
{
    ls_status st = chat_add_turn(v->c, text, hit->answer, hit->thinking);
    if (st)
        return st;
    if (cb && cb->on_text) {
        if (*hit->thinking)
            cb->on_text(cb->ctx, GEN_THINKING, hit->thinking, strlen(hit->thinking));
        cb->on_text(cb->ctx, GEN_ANSWER, hit->answer, strlen(hit->answer));
    }
    out->cached = true;
    snprintf(out->cached_at, sizeof out->cached_at, "%s", hit->created_at);
    return LS_OK;
}

static ls_status ask(conv *v, const char *text, const gen_callbacks *cb, conv_turn *out, bool use_cache)
{
    double t0 = plat_now_s();
    memset(out, 0, sizeof *out);
    out->saved = v->store != NULL;
    v->last_cached = false;
    char settings[1024], key[33], ids[256] = "";
    char *question = NULL;
    mem_cached hit = { 0 };
    bool found = false;
    ls_status st = LS_OK;
    use_cache = use_cache && v->store && v->o.cache;

    /* CACHE? then RETRIEVE */
    if (use_cache) {
        settings_text(v->c, settings, sizeof settings);
        if (!(question = mem_normalize(text)))
            question = ls_strdup(text);
        if (!question)
            return ls_error(LS_ERR_NOMEM, "out of memory for the question");
        cache_key(v, question, settings, key);
        if ((st = mem_cache_get(v->store, key, v->model_name, question, settings, &hit, &found))) {
            log_warn("response cache not read: %s", ls_error_msg());
            found = false;
        }
    }
    double t_r = plat_now_s();
    if (found) { /* a hit needs the notes it was answered with (the cached turn itself left out) */
        int64_t skip[2] = { hit.question_id, hit.answer_id };
        if ((st = recall(v, text, skip, 2)))
            goto fail;
        used_ids(v, ids, sizeof ids);
        found = strcmp(ids, hit.memory_ids) == 0;
        if (!found)
            log_info("cache: an earlier answer exists but the notes recalled now differ (%s vs %s): answering anew",
                     ids[0] ? ids : "none", hit.memory_ids[0] ? hit.memory_ids : "none");
    }
    if (!found && (st = recall(v, text, NULL, 0)))
        goto fail;
    out->t_retrieve_s = plat_now_s() - t_r;
    out->n_notes = (int)v->n_used;
    if (v->store && v->o.recall) {
        log_info("step retrieve: %.2f ms, %zu of %zu matches used as notes", out->t_retrieve_s * 1e3, v->n_used,
                 v->n_hits);
        for (size_t i = 0; i < v->n_used; i++)
            log_info("  note: message %" PRId64 " (session %" PRId64 ", %s) score %.3f, %d tokens",
                     v->hits[i].message_id, v->hits[i].session_id, v->hits[i].created_at, v->hits[i].score,
                     v->hit_tokens[i]);
    }

    if (found) {
        if ((st = serve_cached(v, text, &hit, cb, out)))
            goto fail;
        log_info("step cache: answered from the response cache (first given %s)", hit.created_at);
    } else {
        /* GENERATE */
        char *notes = v->n_used ? notes_text(v) : NULL;
        if (v->n_used && !notes) {
            st = ls_error(LS_ERR_NOMEM, "out of memory for the notes");
            goto fail;
        }
        st = chat_send_with_memory(v->c, text, notes, cb, &out->chat);
        ls_free(notes);
        if (st)
            goto fail;
        const chat_turn_stats *c = &out->chat;
        log_info("step build prompt: %.2f ms (%d tokens, %d re-used, %d old messages left out)",
                 (c->t_total_s - c->t_prefill_s - c->t_generate_s) * 1e3, c->n_prompt, c->n_reused, c->n_dropped);
        log_info("step prefill: %.3f s for %d tokens", c->t_prefill_s, c->n_prompt - c->n_reused);
        log_info("step decode: %.3f s for %d tokens (%d thinking), stopped: %s", c->t_generate_s,
                 c->n_thinking + c->n_answer, c->n_thinking, gen_stop_name(c->stop));
    }

    /* SAVE */
    int64_t q_id = 0, a_id = 0;
    if (v->store) {
        double t_s = plat_now_s();
        if (save_turn(v, text, &out->chat, out->cached, &q_id, &a_id)) {
            save_failed(out, cb);
        } else if (use_cache && !out->cached && cacheable(out->chat.stop)) {
            chat_message a = chat_get_message(v->c, chat_n_messages(v->c) - 1);
            used_ids(v, ids, sizeof ids);
            mem_cache_entry e = { key, v->model_name, question, settings, a.content, a.thinking, ids, q_id, a_id };
            if (mem_cache_put(v->store, &e))
                log_warn("response cache not written: %s", ls_error_msg());
        }
        out->t_save_s = plat_now_s() - t_s;
        log_info("step save: %.2f ms%s", out->t_save_s * 1e3, out->saved ? "" : " (failed)");
    }
    if (!push_id(v, q_id) || !push_id(v, a_id))
        v->n_ids = 0; /* only costs the skip list of the next retrieval */
    v->last_cached = out->cached;
    out->t_total_s = plat_now_s() - t0;
    if (v->store)
        record(v, out);
    mem_cached_clear(&hit);
    ls_free(question);
    return LS_OK;

fail:
    mem_cached_clear(&hit);
    ls_free(question);
    return st;
}

ls_status conv_ask(conv *v, const char *text, const gen_callbacks *cb, conv_turn *out)
{
    return ask(v, text, cb, out, true);
}

ls_status conv_regenerate(conv *v, const gen_callbacks *cb, conv_turn *out)
{
    size_t n = chat_n_messages(v->c);
    if (!v->last_cached || n < 2)
        return ls_error(LS_ERR_ARG, "the last answer was not from the cache: nothing to answer again");
    char *question = ls_strdup(chat_get_message(v->c, n - 2).content);
    if (!question)
        return ls_error(LS_ERR_NOMEM, "out of memory for the question");
    if (v->store && v->n_ids == n) { /* the replayed turn leaves the store too */
        for (size_t i = n - 2; i < n; i++)
            if (v->ids[i] && mem_message_delete(v->store, v->ids[i]))
                log_warn("could not delete the cached turn: %s", ls_error_msg());
    }
    chat_drop_last_turn(v->c);
    if (v->n_ids >= 2)
        v->n_ids -= 2;
    ls_status st = ask(v, question, cb, out, false);
    ls_free(question);
    return st;
}
