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
#include "base/utf8.h"

enum { NOTE_MAX_CHARS = 600 }; /* a recalled message longer than this is cut (with "...") */

static const char notes_heading[] =
    "Notes recalled from earlier conversations (use them only if they help answer):";

struct conv {
    chat *c;               /* the messages (owned) */
    mem_store *store;
    conv_options o;
    /* who answers the current request: set from its seat when it starts */
    chat_seat *seat;
    const tok_tokenizer *tok;
    char model_name[256];
    bool named;            /* model_name came from the options */
    const char *quant;
    uint64_t model_bytes;
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
    return (conv_options){ .command = "chat", .recall = true, .memory_tokens = 512, .cache = true };
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

ls_status conv_create(const char *system, mem_store *store, const conv_options *o, conv **out)
{
    *out = NULL;
    conv *v = ls_calloc(1, sizeof *v);
    if (!v)
        return ls_error(LS_ERR_NOMEM, "out of memory for the conversation");
    v->store = store;
    v->o = o ? *o : conv_default_options();
    if (v->o.memory_tokens < 0)
        v->o.memory_tokens = 0;
    v->o.model_name = NULL; /* copied: the caller's string need not outlive us */
    if ((v->named = o && o->model_name))
        snprintf(v->model_name, sizeof v->model_name, "%s", o->model_name);
    ls_status st = chat_create(system, &v->c);
    if (st) {
        conv_free(v);
        return st;
    }
    *out = v;
    return LS_OK;
}

void conv_free(conv *v)
{
    if (!v)
        return;
    clear_recall(v);
    chat_free(v->c);
    ls_free(v->ids);
    ls_free(v);
}

chat *conv_chat(conv *v)
{
    return v->c;
}

int64_t conv_session(const conv *v)
{
    return v->session;
}

void conv_set_cache(conv *v, bool on)
{
    v->o.cache = on;
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
static void settings_text(const chat_seat *seat, char *out, size_t cap)
{
    chat_params p = chat_seat_params(seat);
    const smp_params *s = &p.gen.sampling;
    snprintf(out, cap,
             "template=%s temp=%.3f top_k=%d top_p=%.3f min_p=%.3f repeat=%.3f presence=%.3f frequency=%.3f "
             "think_budget=%d answer_max=%d",
             tpl_family_info(chat_seat_family(seat))->name, (double)s->temp, s->top_k, (double)s->top_p, (double)s->min_p,
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
    snprintf(size, sizeof size, "%" PRIu64, v->model_bytes);
    digest_add(&d, v->model_name);
    digest_add(&d, size);
    digest_add(&d, settings);
    const char *system = chat_system(v->c);
    digest_add(&d, system ? system : "");
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
    size_t full = strlen(h->content);
    size_t len = utf8_cut((const uint8_t *)h->content, full, NOTE_MAX_CHARS); /* on a character boundary */
    bool cut = len < full;
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
        if ((s = mem_session_create(v->store, v->model_name, chat_system(v->c), &v->session)))
            return s;
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, v->session);
        mem_setting_set(v->store, "last_session", buf);
        log_info("memory: started session %" PRId64 " in %s", v->session, mem_path(v->store));
    }
    chat_message a = chat_get_message(v->c, chat_n_messages(v->c) - 1);
    mem_turn t = { .user = question, .n_user_tokens = count_tokens(v->tok, question), .answer = a.content,
                   .thinking = a.thinking, .n_answer_tokens = cached ? count_tokens(v->tok, a.content) : st->gen.n_answer,
                   .n_thinking_tokens = cached ? count_tokens(v->tok, a.thinking) : st->gen.n_thinking,
                   .model = v->model_name, .interrupted = a.interrupted, .cached = cached };
    return mem_turn_save(v->store, v->session, &t, q_id, a_id);
}

static void record(conv *v, const conv_turn *t)
{
    const gen_result *c = &t->chat.gen;
    int n_gen = c->n_thinking + c->n_answer;
    mem_telemetry row = { .session_id = v->session, .command = v->o.command, .model = v->model_name,
                          .quant = v->quant, .n_prompt = c->n_prompt, .n_reused = c->n_reused,
                          .n_thinking = c->n_thinking, .n_answer = c->n_answer, .n_memory = t->n_notes,
                          .n_dropped = t->chat.n_dropped, .ttft_s = c->t_first_token_s,
                          .tokens_per_s = c->t_generate_s > 0 ? n_gen / c->t_generate_s : 0,
                          .total_s = t->t_total_s, .retrieve_s = t->t_retrieve_s, .cache_hit = t->cached,
                          .truncated = t->chat.n_dropped > 0, .stop = t->cached ? "cached" : gen_stop_name(c->stop),
                          .peak_rss_bytes = (int64_t)plat_peak_rss_bytes() };
    if (mem_telemetry_add(v->store, &row))
        log_warn("telemetry not recorded: %s", ls_error_msg());
}

/* ======================================================================== */
/* The request: a table of steps                                             */
/* ======================================================================== */
/* A request walks the table from STEP_CACHE: each step does its work and
 * returns the step that comes next, and run_steps() times and logs each one.
 * ROUTE, LOAD and VALIDATE (the orchestrator's) go between these. */

typedef enum {
    STEP_CACHE,     /* an exact repeat: the stored answer (after checking its notes) */
    STEP_RETRIEVE,  /* notes from memory for a question that is answered anew */
    STEP_GENERATE,  /* the seat renders, fits and generates */
    STEP_SAVE,      /* commit the turn, fill the cache, one telemetry row */
    STEP_DONE,
    STEP_FAILED,
} step_id;

typedef struct {
    conv *v;
    const char *text;
    const gen_callbacks *cb;
    conv_turn *out;
    bool use_cache;
    char settings[1024], key[33], ids[256];
    char *question;        /* normalized, for the cache */
    mem_cached hit;
    bool found;
    ls_status st;          /* why the request failed (STEP_FAILED) */
} request;

/* Answers that the same request would give again: not those cut by the
 * user, the clock or a full context (which depend on the moment). */
static bool cacheable(gen_stop stop)
{
    return stop == GEN_STOP_EOG || stop == GEN_STOP_LENGTH || stop == GEN_STOP_STRING;
}

static step_id fail(request *r, ls_status st)
{
    r->st = st;
    return STEP_FAILED;
}

static void log_notes(const conv *v, const conv_turn *out)
{
    if (!v->store || !v->o.recall)
        return;
    log_info("  %zu of %zu matches used as notes (%.2f ms)", v->n_used, v->n_hits, out->t_retrieve_s * 1e3);
    for (size_t i = 0; i < v->n_used; i++)
        log_info("  note: message %" PRId64 " (session %" PRId64 ", %s) score %.3f, %d tokens", v->hits[i].message_id,
                 v->hits[i].session_id, v->hits[i].created_at, v->hits[i].score, v->hit_tokens[i]);
}

/* CACHE: a hit needs the notes it was answered with now too (the cached
 * turn itself left out of the recall). */
static step_id step_cache(request *r)
{
    conv *v = r->v;
    if (!r->use_cache)
        return STEP_RETRIEVE;
    settings_text(v->seat, r->settings, sizeof r->settings);
    if (!(r->question = mem_normalize(r->text)))
        r->question = ls_strdup(r->text);
    if (!r->question)
        return fail(r, ls_error(LS_ERR_NOMEM, "out of memory for the question"));
    cache_key(v, r->question, r->settings, r->key);
    if (mem_cache_get(v->store, r->key, v->model_name, r->question, r->settings, &r->hit, &r->found)) {
        log_warn("response cache not read: %s", ls_error_msg());
        r->found = false;
    }
    if (!r->found)
        return STEP_RETRIEVE;
    double t_r = plat_now_s();
    int64_t skip[2] = { r->hit.question_id, r->hit.answer_id };
    ls_status st = recall(v, r->text, skip, 2);
    if (st)
        return fail(r, st);
    r->out->t_retrieve_s = plat_now_s() - t_r;
    used_ids(v, r->ids, sizeof r->ids);
    if (strcmp(r->ids, r->hit.memory_ids) != 0) {
        log_info("  an earlier answer exists but the notes recalled now differ (%s vs %s): answering anew",
                 r->ids[0] ? r->ids : "none", r->hit.memory_ids[0] ? r->hit.memory_ids : "none");
        r->found = false;
        return STEP_RETRIEVE;
    }
    if ((st = chat_add_turn(v->c, r->text, r->hit.answer, r->hit.thinking)))
        return fail(r, st);
    const gen_callbacks *cb = r->cb;
    if (cb && cb->on_text) {
        if (*r->hit.thinking)
            cb->on_text(cb->ctx, GEN_THINKING, r->hit.thinking, strlen(r->hit.thinking));
        cb->on_text(cb->ctx, GEN_ANSWER, r->hit.answer, strlen(r->hit.answer));
    }
    r->out->cached = true;
    r->out->n_notes = (int)v->n_used;
    snprintf(r->out->cached_at, sizeof r->out->cached_at, "%s", r->hit.created_at);
    log_info("  answered from the response cache (first given %s)", r->hit.created_at);
    return STEP_SAVE;
}

static step_id step_retrieve(request *r)
{
    conv *v = r->v;
    double t_r = plat_now_s();
    ls_status st = recall(v, r->text, NULL, 0);
    if (st)
        return fail(r, st);
    r->out->t_retrieve_s = plat_now_s() - t_r;
    r->out->n_notes = (int)v->n_used;
    log_notes(v, r->out);
    return STEP_GENERATE;
}

static step_id step_generate(request *r)
{
    conv *v = r->v;
    char *notes = v->n_used ? notes_text(v) : NULL;
    if (v->n_used && !notes)
        return fail(r, ls_error(LS_ERR_NOMEM, "out of memory for the notes"));
    ls_status st = chat_send_with_memory(v->c, v->seat, r->text, notes, r->cb, &r->out->chat);
    ls_free(notes);
    if (st)
        return fail(r, st);
    const chat_turn_stats *t = &r->out->chat;
    const gen_result *c = &t->gen;
    log_info("  answered by %s", v->model_name);
    log_info("step build prompt: %.2f ms (%d tokens, %d re-used, %d old messages left out)",
             (t->t_total_s - c->t_prefill_s - c->t_generate_s) * 1e3, c->n_prompt, c->n_reused, t->n_dropped);
    log_info("step prefill: %.3f s for %d tokens", c->t_prefill_s, c->n_prompt - c->n_reused);
    log_info("step decode: %.3f s for %d tokens (%d thinking), stopped: %s", c->t_generate_s,
             c->n_thinking + c->n_answer, c->n_thinking, gen_stop_name(c->stop));
    return STEP_SAVE;
}

static step_id step_save(request *r)
{
    conv *v = r->v;
    conv_turn *out = r->out;
    int64_t q_id = 0, a_id = 0;
    if (v->store) {
        double t_s = plat_now_s();
        if (save_turn(v, r->text, &out->chat, out->cached, &q_id, &a_id)) {
            save_failed(out, r->cb);
        } else if (r->use_cache && !out->cached && cacheable(out->chat.gen.stop)) {
            chat_message a = chat_get_message(v->c, chat_n_messages(v->c) - 1);
            used_ids(v, r->ids, sizeof r->ids);
            mem_cache_entry e = { r->key, v->model_name, r->question, r->settings, a.content, a.thinking, r->ids,
                                  q_id, a_id };
            if (mem_cache_put(v->store, &e))
                log_warn("response cache not written: %s", ls_error_msg());
        }
        out->t_save_s = plat_now_s() - t_s;
        if (!out->saved)
            log_info("  not saved: %s", out->save_error);
    }
    if (!push_id(v, q_id) || !push_id(v, a_id))
        v->n_ids = 0; /* only costs the skip list of the next retrieval */
    v->last_cached = out->cached;
    return STEP_DONE;
}

static const struct {
    const char *name;
    step_id (*run)(request *r);
} steps[] = {
    [STEP_CACHE] = { "cache", step_cache },
    [STEP_RETRIEVE] = { "retrieve", step_retrieve },
    [STEP_GENERATE] = { "generate", step_generate },
    [STEP_SAVE] = { "save", step_save },
};

static const char *step_name(step_id s)
{
    return s == STEP_DONE ? "done" : s == STEP_FAILED ? "failed" : steps[s].name;
}

/* The answering model of this request, from its seat (unless the options
 * name one). */
static void seat_up(conv *v, chat_seat *seat)
{
    engine *e = chat_seat_engine(seat);
    const model *m = engine_model(e);
    v->seat = seat;
    v->tok = engine_tokenizer(e);
    if (!v->named)
        snprintf(v->model_name, sizeof v->model_name, "%s", engine_name(e));
    v->model_bytes = v->o.model_bytes ? v->o.model_bytes : gguf_file_size(m->file);
    v->quant = v->o.quant ? v->o.quant : model_type_summary(m);
}

static ls_status ask(conv *v, chat_seat *seat, const char *text, const gen_callbacks *cb, conv_turn *out,
                     bool use_cache)
{
    double t0 = plat_now_s();
    memset(out, 0, sizeof *out);
    out->saved = v->store != NULL;
    v->last_cached = false;
    seat_up(v, seat);
    request r = { .v = v, .text = text, .cb = cb, .out = out, .use_cache = use_cache && v->store && v->o.cache };
    step_id s = STEP_CACHE;
    while (s != STEP_DONE && s != STEP_FAILED) {
        double ts = plat_now_s();
        step_id next = steps[s].run(&r);
        log_info("step %s: %.2f ms -> %s", steps[s].name, (plat_now_s() - ts) * 1e3, step_name(next));
        s = next;
    }
    out->t_total_s = plat_now_s() - t0;
    if (s == STEP_DONE && v->store)
        record(v, out);
    mem_cached_clear(&r.hit);
    ls_free(r.question);
    return s == STEP_DONE ? LS_OK : r.st;
}

ls_status conv_ask(conv *v, chat_seat *seat, const char *text, const gen_callbacks *cb, conv_turn *out)
{
    return ask(v, seat, text, cb, out, true);
}

ls_status conv_regenerate(conv *v, chat_seat *seat, const gen_callbacks *cb, conv_turn *out)
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
    ls_status st = ask(v, seat, question, cb, out, false);
    ls_free(question);
    return st;
}
