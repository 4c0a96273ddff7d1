/* memory.c — the public API's memory file (include/localseek.h: "the memory
 * file", "conversations: their memory") over memory/store.h and the
 * conversation's recall and cache (orchestrator/conversation.h).
 *
 * An ls_memory is a mem_store with one flag: whether it is its own (opened
 * here, closed by ls_memory_close) or a conversation's store seen through
 * ls_chat_memory() (borrowed; the conversation closes it). The lists the
 * store gives back hold strings it allocated with ls_malloc; the public
 * lists take those strings over rather than copying them again (each public
 * struct is filled field by field, so the store's layout can change), and
 * free them with ls_free. No logic lives here beyond that mapping.
 */
#include "localseek.h"

#include <assert.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/alloc.h"
#include "memory/store.h"
#include "orchestrator/conversation.h"

/* ======================================================================== */
/* A conversation's memory                                                   */
/* ======================================================================== */

void ls_chat_set_cache(ls_chat *c, bool on)
{
    conv_set_cache(c->v, on);
}

bool ls_chat_last_was_cached(const ls_chat *c)
{
    return conv_last_was_cached(c->v);
}

ls_status ls_chat_forget(ls_chat *c, int64_t id)
{
    return conv_forget(c->v, id);
}

size_t ls_chat_n_notes(const ls_chat *c)
{
    return conv_n_notes(c->v);
}

ls_note ls_chat_get_note(const ls_chat *c, size_t i)
{
    assert(i < conv_n_notes(c->v));
    conv_note x = conv_get_note(c->v, i);
    return (ls_note){ .message_id = x.message_id, .session_id = x.session_id, .role = x.role,
                      .created_at = x.created_at, .content = x.content, .score = x.score, .n_tokens = x.n_tokens };
}

ls_memory *ls_chat_memory(ls_chat *c)
{
    if (!c->store)
        return NULL;
    /* Filled here, not at ls_chat_open: the view costs nothing and is the
     * same every time. */
    c->memory = (ls_memory){ .store = c->store, .borrowed = true };
    return &c->memory;
}

/* ======================================================================== */
/* The file on its own                                                       */
/* ======================================================================== */

ls_status ls_memory_default_path(char *buf, size_t cap)
{
    return mem_default_path(buf, cap);
}

ls_status ls_memory_open(const char *path, ls_memory **out)
{
    *out = NULL;
    char dflt[4096];
    ls_status st;
    if (!path) {
        if ((st = mem_default_path(dflt, sizeof dflt)))
            return st;
        path = dflt;
    }
    ls_memory *mem = ls_calloc(1, sizeof *mem);
    if (!mem)
        return ls_error(LS_ERR_NOMEM, "out of memory opening %s", path);
    if ((st = mem_open(path, &mem->store))) {
        ls_free(mem);
        return st;
    }
    *out = mem;
    return LS_OK;
}

void ls_memory_close(ls_memory *mem)
{
    if (!mem)
        return;
    assert(!mem->borrowed && "a conversation's memory (ls_chat_memory) is closed with the conversation");
    mem_close(mem->store);
    ls_free(mem);
}

const char *ls_memory_path(const ls_memory *mem)
{
    return mem_path(mem->store);
}

/* ======================================================================== */
/* Sessions                                                                  */
/* ======================================================================== */

/* Takes over the strings of `x` (which keeps none). */
static ls_session session_from(mem_session *x)
{
    ls_session s = { .id = x->id, .title = x->title, .model = x->model, .created_at = x->created_at,
                     .updated_at = x->updated_at, .n_messages = x->n_messages };
    *x = (mem_session){ 0 };
    return s;
}

ls_status ls_memory_list_sessions(ls_memory *mem, int limit, ls_session **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    mem_session *list;
    size_t k;
    ls_status st = mem_session_list(mem->store, limit, &list, &k);
    if (st)
        return st;
    ls_session *pub = k ? ls_calloc(k, sizeof *pub) : NULL;
    if (k && !pub) {
        mem_session_list_free(list, k);
        return ls_error(LS_ERR_NOMEM, "out of memory listing the sessions");
    }
    for (size_t i = 0; i < k; i++)
        pub[i] = session_from(&list[i]);
    mem_session_list_free(list, k); /* the shells: their strings are pub's now */
    *out = pub;
    *n = k;
    return LS_OK;
}

void ls_session_clear(ls_session *s)
{
    if (!s)
        return;
    ls_free(s->title);
    ls_free(s->model);
    ls_free(s->created_at);
    ls_free(s->updated_at);
    *s = (ls_session){ 0 };
}

void ls_session_list_free(ls_session *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        ls_session_clear(&list[i]);
    ls_free(list);
}

ls_status ls_memory_get_session(ls_memory *mem, int64_t id, ls_session *out)
{
    *out = (ls_session){ 0 };
    mem_session x = { 0 };
    ls_status st = mem_session_get(mem->store, id, &x);
    if (st) {
        mem_session_clear(&x);
        return st;
    }
    *out = session_from(&x);
    return LS_OK;
}

ls_status ls_memory_latest_session(ls_memory *mem, int64_t *id)
{
    *id = 0;
    return mem_session_latest(mem->store, id);
}

/* ======================================================================== */
/* Messages and statistics                                                   */
/* ======================================================================== */

ls_status ls_memory_messages(ls_memory *mem, int64_t id, int last_n, ls_stored_message **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    mem_message *list;
    size_t k;
    ls_status st = mem_messages(mem->store, id, last_n, &list, &k);
    if (st)
        return st;
    ls_stored_message *pub = k ? ls_calloc(k, sizeof *pub) : NULL;
    if (k && !pub) {
        mem_messages_free(list, k);
        return ls_error(LS_ERR_NOMEM, "out of memory reading the messages");
    }
    for (size_t i = 0; i < k; i++) {
        mem_message *m = &list[i];
        pub[i] = (ls_stored_message){ .id = m->id, .session_id = m->session_id, .role = m->role,
                                      .content = m->content, .thinking = m->thinking, .n_tokens = m->n_tokens,
                                      .n_thinking_tokens = m->n_thinking_tokens, .model = m->model,
                                      .interrupted = m->interrupted, .cached = m->cached,
                                      .created_at = m->created_at };
        *m = (mem_message){ 0 };
    }
    mem_messages_free(list, k);
    *out = pub;
    *n = k;
    return LS_OK;
}

void ls_stored_message_list_free(ls_stored_message *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        ls_stored_message *m = &list[i];
        ls_free(m->role);
        ls_free(m->content);
        ls_free(m->thinking);
        ls_free(m->model);
        ls_free(m->created_at);
    }
    ls_free(list);
}

ls_status ls_memory_stats(ls_memory *mem, ls_model_stats **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    mem_model_stats *list;
    size_t k;
    ls_status st = mem_stats(mem->store, &list, &k);
    if (st)
        return st;
    ls_model_stats *pub = k ? ls_calloc(k, sizeof *pub) : NULL;
    if (k && !pub) {
        mem_stats_free(list, k);
        return ls_error(LS_ERR_NOMEM, "out of memory reading the statistics");
    }
    for (size_t i = 0; i < k; i++) {
        mem_model_stats *m = &list[i];
        pub[i] = (ls_model_stats){ .model = m->model, .n_requests = m->n_requests, .n_cache_hits = m->n_cache_hits,
                                   .n_generated = m->n_generated, .total_p50_s = m->total_p50_s,
                                   .total_p95_s = m->total_p95_s, .ttft_p50_s = m->ttft_p50_s,
                                   .ttft_p95_s = m->ttft_p95_s, .tokens_per_s_p50 = m->tps_p50,
                                   .tokens_per_s_p95 = m->tps_p95 };
        m->model = NULL;
    }
    mem_stats_free(list, k);
    *out = pub;
    *n = k;
    return LS_OK;
}

void ls_model_stats_list_free(ls_model_stats *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        ls_free(list[i].model);
    ls_free(list);
}
