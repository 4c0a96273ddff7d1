/* localseek.c — the public API (include/localseek.h) over the layers.
 *
 * Each public object wraps the objects of the layer that does the work:
 *   ls_runtime  a thread pool (base/threadpool.h), given to every engine;
 *   ls_model    an engine (generate/engine.h) and what opening it reported;
 *   ls_chat     a conversation (orchestrator/conversation.h), the memory
 *               file it saves to, and its seat on the model (chat.h);
 * and the public plain structs are filled from the internal ones field by
 * field, so the layers can change without changing the API. No logic lives
 * here beyond that mapping: what a question does is conversation.c's.
 * The memory file on its own, and what a conversation recalls from it, are
 * memory.c's; the layouts both files reach into are api_internal.h's.
 */
#include "localseek.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/threadpool.h"
#include "generate/chat.h"
#include "generate/engine.h"
#include "generate/generation.h"
#include "memory/store.h"
#include "orchestrator/conversation.h"

/* The layouts of ls_runtime, ls_model and ls_chat: api_internal.h (memory.c
 * reaches inside them too). */

/* ======================================================================== */
/* Runtime and models                                                        */
/* ======================================================================== */

ls_status ls_runtime_open(const ls_runtime_options *o, ls_runtime **out)
{
    *out = NULL;
    int n = o && o->n_threads > 0 ? o->n_threads : plat_physical_cores();
    ls_runtime *rt = ls_calloc(1, sizeof *rt);
    if (!rt)
        return ls_error(LS_ERR_NOMEM, "out of memory for the runtime");
    ls_status st = pool_create(n, &rt->pool);
    if (st) {
        ls_free(rt);
        return st;
    }
    *out = rt;
    return LS_OK;
}

void ls_runtime_close(ls_runtime *rt)
{
    if (!rt)
        return;
    pool_free(rt->pool);
    ls_free(rt);
}

bool ls_chat_template_known(const char *name)
{
    return tpl_family_from_name(name) != TPL_UNKNOWN;
}

static char template_names[256];

static void fill_template_names(void)
{
    for (int f = 1; f < TPL_N_FAMILIES; f++) {
        size_t len = strlen(template_names);
        snprintf(template_names + len, sizeof template_names - len, "%s%s", f > 1 ? ", " : "",
                 tpl_family_info((tpl_family)f)->name);
    }
}

const char *ls_chat_template_names(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_template_names);
    return template_names;
}

size_t ls_peak_memory_bytes(void)
{
    return plat_peak_rss_bytes();
}

ls_status ls_model_open(ls_runtime *rt, const char *path, const ls_model_options *o, ls_model **out)
{
    *out = NULL;
    ls_model_options d = { 0 };
    if (!o)
        o = &d;
    engine_params ep = { .n_ctx = o->n_ctx, .n_seq_max = o->n_parallel, .mem_budget_bytes = o->mem_budget_bytes,
                         .act_bits = o->act_bits };
    if (o->chat_template && (ep.family = tpl_family_from_name(o->chat_template)) == TPL_UNKNOWN)
        return ls_error(LS_ERR_ARG, "unknown chat template '%s'", o->chat_template);
    ls_model *m = ls_calloc(1, sizeof *m);
    if (!m)
        return ls_error(LS_ERR_NOMEM, "out of memory opening %s", path);
    m->rt = rt;
    ls_status st = engine_open(path, &ep, rt->pool, &m->e, &m->info);
    if (st) {
        ls_free(m);
        return st;
    }
    *out = m;
    return LS_OK;
}

void ls_model_close(ls_model *m)
{
    if (!m)
        return;
    engine_close(m->e);
    ls_free(m);
}

/* The model speaks a template it has, or one the caller chose; otherwise
 * (like stories260K) text is continued as it is. */
static bool has_template(const ls_model *m)
{
    return engine_get_params(m->e)->family != TPL_UNKNOWN || !m->info.template_warning[0];
}

ls_model_info ls_model_get_info(const ls_model *m)
{
    const model *md = engine_model(m->e);
    const engine_params *p = engine_get_params(m->e);
    tpl_family f = engine_family(m->e);
    return (ls_model_info){ .path = engine_path(m->e), .name = engine_name(m->e), .architecture = md->arch->name,
                            .quant = model_type_summary(md),
                            .chat_template = f == TPL_UNKNOWN ? "none" : tpl_family_info(f)->name,
                            .has_template = has_template(m),
                            .n_ctx = p->n_ctx, .n_parallel = p->n_seq_max, .n_threads = p->n_threads,
                            .n_ctx_train = md->hp.n_ctx_train, .n_vocab = md->hp.n_vocab,
                            .file_bytes = gguf_file_size(md->file),
                            .load_s = m->info.t_load_s, .fit_warning = m->info.fit_warning,
                            .template_warning = m->info.template_warning };
}

/* ======================================================================== */
/* Settings and results                                                      */
/* ======================================================================== */

ls_settings ls_default_settings(const ls_model *m)
{
    chat_params p = chat_default_params(engine_family(m->e));
    const smp_params *s = &p.gen.sampling;
    return (ls_settings){ .temperature = s->temp, .top_k = s->top_k, .top_p = s->top_p, .min_p = s->min_p,
                          .repeat_penalty = s->repeat_penalty, .presence_penalty = s->presence_penalty,
                          .frequency_penalty = s->frequency_penalty, .seed = s->seed,
                          .max_answer_tokens = p.gen.n_answer_max, .think_budget = p.gen.think_budget };
}

/* The generation settings for `s`, on top of the family's defaults (which
 * hold what ls_settings does not name: the penalty window). */
static gen_params gen_from(const ls_model *m, const ls_settings *s)
{
    gen_params g = chat_default_params(engine_family(m->e)).gen;
    if (!s)
        return g;
    smp_params *sp = &g.sampling;
    sp->temp = s->temperature;
    sp->top_k = s->top_k;
    sp->top_p = s->top_p;
    sp->min_p = s->min_p;
    sp->repeat_penalty = s->repeat_penalty;
    sp->presence_penalty = s->presence_penalty;
    sp->frequency_penalty = s->frequency_penalty;
    sp->seed = s->seed;
    g.n_answer_max = s->max_answer_tokens;
    g.think_budget = s->think_budget;
    g.timeout_s = s->timeout_s;
    g.n_stops = s->n_stops < 0 ? 0 : s->n_stops > LS_MAX_STOPS ? LS_MAX_STOPS : s->n_stops;
    for (int i = 0; i < g.n_stops; i++)
        g.stops[i] = s->stops[i];
    return g;
}

_Static_assert((int)LS_MAX_STOPS == (int)GEN_MAX_STOPS, "the public stop-string limit is the generation loop's");

/* The public stream as the generation loop's callbacks. */
typedef struct {
    const ls_stream *s;
} stream_bridge;

static void bridge_text(void *ctx, gen_part part, const char *text, size_t n)
{
    const ls_stream *s = ((stream_bridge *)ctx)->s;
    if (s->on_text)
        s->on_text(s->ctx, part == GEN_THINKING ? LS_THINKING : LS_ANSWER, text, n);
}

static void bridge_note(void *ctx, const char *sentence)
{
    const ls_stream *s = ((stream_bridge *)ctx)->s;
    if (s->on_note)
        s->on_note(s->ctx, sentence);
}

static bool bridge_cancelled(void *ctx)
{
    const ls_stream *s = ((stream_bridge *)ctx)->s;
    return s->cancelled && s->cancelled(s->ctx);
}

static gen_callbacks callbacks(const ls_stream *s, stream_bridge *b)
{
    b->s = s;
    if (!s)
        return (gen_callbacks){ 0 };
    return (gen_callbacks){ .on_text = bridge_text, .on_note = bridge_note, .cancelled = bridge_cancelled, .ctx = b };
}

static void answer_from(const gen_result *r, ls_answer *out)
{
    out->n_prompt = r->n_prompt;
    out->n_reused = r->n_reused;
    out->n_thinking = r->n_thinking;
    out->n_answer = r->n_answer;
    out->think_budget = r->think_budget;
    out->budget_closed = r->budget_closed;
    out->thought_unfinished = r->thought_unfinished;
    out->stop = gen_stop_name(r->stop);
    out->t_prefill_s = r->t_prefill_s;
    out->t_first_token_s = r->t_first_token_s;
    out->t_generate_s = r->t_generate_s;
    out->t_thinking_s = r->t_thinking_s;
}

/* ======================================================================== */
/* One-shot                                                                  */
/* ======================================================================== */

ls_status ls_complete(ls_model *m, const char *text, bool raw, bool parse_special, const ls_settings *s,
                      const ls_stream *stream, ls_answer *out)
{
    double t0 = plat_now_s();
    memset(out, 0, sizeof *out);
    engine *e = m->e;
    const tok_tokenizer *tok = engine_tokenizer(e);
    bool templated = !raw && has_template(m);
    tpl_family family = engine_family(e);
    int32_t *ids = NULL;
    size_t n_ids = 0, len = strlen(text);
    ls_status st;
    if (templated) {
        st = chat_encode_single(tok, family, text, &ids, &n_ids);
    } else {
        unsigned flags = (tok_wants_bos(tok) ? TOK_ADD_BOS : 0) | (parse_special ? TOK_PARSE_SPECIAL : 0);
        tok_encode(tok, text, len, flags, NULL, 0, &n_ids);
        ids = ls_malloc(sizeof(int32_t) * (n_ids + 1));
        st = ids ? tok_encode(tok, text, len, flags, ids, n_ids + 1, &n_ids)
                 : ls_error(LS_ERR_NOMEM, "out of memory for the prompt");
    }
    gen_params gp = gen_from(m, s);
    gp.split_reasoning = templated;
    gp.opens_thought = templated && tpl_family_info(family)->opens_thought;
    gen *g = NULL;
    kv_cache *kv = NULL;
    if (!st && n_ids == 0)
        st = ls_error(LS_ERR_ARG, "the prompt has no tokens");
    if (!st)
        st = gen_create(e, &gp, &g);
    if (!st)
        st = engine_new_sequence(e, &kv);
    stream_bridge b;
    gen_callbacks cb = callbacks(stream, &b);
    gen_result r;
    if (!st)
        st = gen_run(g, kv, ids, (int)n_ids, t0, &cb, &r);
    if (!st)
        answer_from(&r, out);
    out->t_total_s = plat_now_s() - t0;
    log_info("complete: peak resident memory %zu bytes", plat_peak_rss_bytes());
    kv_free(kv);
    gen_free(g);
    ls_free(ids);
    return st;
}

/* ======================================================================== */
/* Scores                                                                    */
/* ======================================================================== */

ls_status ls_tokenize(const ls_model *m, const char *text, bool parse_special, int32_t *ids, size_t cap, size_t *n)
{
    const tok_tokenizer *tok = engine_tokenizer(m->e);
    unsigned flags = (parse_special ? TOK_PARSE_SPECIAL : 0) | (tok_wants_bos(tok) ? TOK_ADD_BOS : 0);
    return tok_encode(tok, text, strlen(text), flags, ids, cap, n);
}

typedef struct {
    void (*on_step)(void *ctx, int32_t id, const float *scores);
    void *ctx;
} step_bridge;

static void bridge_step(void *ctx, int32_t id, const float *logits)
{
    step_bridge *b = ctx;
    if (b->on_step)
        b->on_step(b->ctx, id, logits);
}

ls_status ls_score(ls_model *m, const int32_t *tokens, int n, float *logits, int n_greedy,
                   void (*on_step)(void *ctx, int32_t id, const float *scores), void *ctx)
{
    engine *e = m->e;
    kv_cache *kv = NULL;
    gen *g = NULL;
    /* The greedy continuation is the one generation loop: always the best
     * token, no reasoning split, no stop at end-of-text. */
    gen_params gp = gen_default_params();
    gp.sampling.temp = 0;
    gp.split_reasoning = false;
    gp.ignore_eog = true;
    gp.n_answer_max = n_greedy;
    ls_status st = engine_new_sequence(e, &kv);
    if (!st)
        st = fwd_eval_one(engine_runner(e), kv, tokens, n, logits, true);
    if (!st && n_greedy > 0)
        st = gen_create(e, &gp, &g);
    if (!st && n_greedy > 0) {
        step_bridge b = { on_step, ctx };
        gen_callbacks cb = { .on_token = bridge_step, .ctx = &b };
        gen_result r;
        st = gen_continue(g, kv, logits + (size_t)(n - 1) * (size_t)engine_model(e)->hp.n_vocab, plat_now_s(), &cb,
                          &r);
    }
    gen_free(g);
    kv_free(kv);
    return st;
}

/* ======================================================================== */
/* Conversations                                                             */
/* ======================================================================== */

ls_status ls_chat_open(ls_model *m, const ls_chat_options *o, const ls_settings *s, ls_chat **out)
{
    *out = NULL;
    ls_chat_options d = { 0 };
    if (!o)
        o = &d;
    ls_chat *c = ls_calloc(1, sizeof *c);
    if (!c)
        return ls_error(LS_ERR_NOMEM, "out of memory for a conversation");
    c->m = m;
    chat_params cp = { .gen = gen_from(m, s) };
    conv_options co = conv_default_options();
    co.recall = !o->no_recall;
    co.cache = !o->no_cache;
    if (o->memory_tokens > 0)
        co.memory_tokens = o->memory_tokens;
    co.command = o->label ? o->label : "api";
    ls_status st = LS_OK;
    if (o->memory_path)
        st = mem_open(o->memory_path, &c->store);
    if (!st)
        st = chat_seat_create(m->e, &cp, &c->seat);
    if (!st)
        st = conv_create(o->system, c->store, &co, &c->v);
    if (st) {
        ls_chat_close(c);
        return st;
    }
    *out = c;
    return LS_OK;
}

void ls_chat_close(ls_chat *c)
{
    if (!c)
        return;
    conv_free(c->v);
    chat_seat_free(c->seat);
    mem_close(c->store);
    ls_free(c);
}

/* One question's turn as the public answer (ask and regenerate alike); the
 * seconds of thought, which ls_answer does not hold, stay with the chat. */
static void answer_from_turn(ls_chat *c, const conv_turn *t, ls_answer *out)
{
    answer_from(&t->chat.gen, out);
    out->n_dropped = t->chat.n_dropped;
    if (t->cached)
        out->stop = "cached";
    out->t_total_s = t->t_total_s;
    out->n_notes = t->n_notes;
    out->cached = t->cached;
    out->saved = c->store && t->saved;
    memcpy(out->cached_at, t->cached_at, sizeof out->cached_at);
    memcpy(out->save_error, t->save_error, sizeof out->save_error);
}

ls_status ls_chat_ask(ls_chat *c, const char *question, const ls_stream *stream, ls_answer *out)
{
    memset(out, 0, sizeof *out);
    stream_bridge b;
    gen_callbacks cb = callbacks(stream, &b);
    conv_turn t;
    ls_status st = conv_ask(c->v, c->seat, question, &cb, &t);
    if (st)
        return st;
    answer_from_turn(c, &t, out);
    return LS_OK;
}

/* The last message, when it is an answer. */
static const chat_message *last_answer(const ls_chat *c, chat_message *buf)
{
    const chat *ch = conv_chat(c->v);
    size_t n = chat_n_messages(ch);
    if (n == 0)
        return NULL;
    *buf = chat_get_message(ch, n - 1);
    return strcmp(buf->role, "assistant") == 0 ? buf : NULL;
}

const char *ls_chat_last_answer(const ls_chat *c)
{
    chat_message m;
    const chat_message *a = last_answer(c, &m);
    return a ? a->content : "";
}

const char *ls_chat_last_thinking(const ls_chat *c)
{
    chat_message m;
    const chat_message *a = last_answer(c, &m);
    return a ? a->thinking : "";
}

size_t ls_chat_n_messages(const ls_chat *c)
{
    return chat_n_messages(conv_chat(c->v));
}

int64_t ls_chat_session(const ls_chat *c)
{
    return conv_session(c->v);
}

ls_status ls_chat_resume(ls_chat *c, int64_t id)
{
    if (!c->store)
        return ls_error(LS_ERR_ARG, "there is no memory file to resume from");
    ls_status st;
    if (id == 0 && (st = mem_session_latest(c->store, &id)))
        return st;
    if (id == 0)
        return ls_error(LS_ERR_NOT_FOUND, "%s holds no conversation yet", mem_path(c->store));
    chat_seat_reset(c->seat);
    return conv_resume(c->v, id);
}

void ls_chat_new_session(ls_chat *c)
{
    conv_new_session(c->v);
    chat_seat_reset(c->seat);
}

/* ======================================================================== */
/* Conversations: settings, messages, answering anew                         */
/* ======================================================================== */

ls_status ls_chat_set_system(ls_chat *c, const char *system)
{
    return chat_set_system(conv_chat(c->v), system);
}

void ls_chat_set_think_budget(ls_chat *c, int budget)
{
    chat_seat_set_think_budget(c->seat, budget);
}

ls_chat_message ls_chat_get_message(const ls_chat *c, size_t i)
{
    const chat *ch = conv_chat(c->v);
    assert(i < chat_n_messages(ch));
    chat_message m = chat_get_message(ch, i);
    return (ls_chat_message){ .role = m.role, .content = m.content, .thinking = m.thinking ? m.thinking : "",
                              .notes = m.memory ? m.memory : "", .interrupted = m.interrupted };
}

ls_status ls_chat_regenerate(ls_chat *c, const ls_stream *stream, ls_answer *out)
{
    memset(out, 0, sizeof *out);
    stream_bridge b;
    gen_callbacks cb = callbacks(stream, &b);
    conv_turn t;
    ls_status st = conv_regenerate(c->v, c->seat, &cb, &t);
    if (st)
        return st;
    answer_from_turn(c, &t, out);
    return LS_OK;
}
