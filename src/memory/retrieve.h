/* retrieve.h — finding earlier messages that are relevant to a new one.
 *
 * Like a librarian with a card index: every stored message is indexed by its
 * words (SQLite FTS5), and a new question is looked up by its own words. The
 * matches are ranked with BM25, the classic search-engine score: a match on a
 * rare word ("Porto") counts more than one on a common word ("time"), and a
 * short message full of the question's words beats a long one that mentions
 * them once. Common English words ("the", "what", "is") are left out of the
 * lookup, so "What is my sister's name?" searches for "sister" and "name".
 *
 * Messages the prompt already holds (the recent turns of the session) and
 * messages that only repeat the question are not returned: they add nothing.
 *
 * This is the one door to search. LIMITATION: words only — "car" does not
 * find "automobile". A later issue adds embedding search behind the same
 * mem_retrieve() (a `method` field in mem_query and a merged ranking); hits
 * already carry a score and the method that found them.
 *
 * Owns: nothing between calls. Does not: count tokens or decide how many
 * hits fit the prompt (the orchestrator), store anything.
 * Called by: orchestrator/conversation.c, tests, `localseek bench --memory`.
 */
#ifndef LS_RETRIEVE_H
#define LS_RETRIEVE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "memory/store.h"

typedef struct {
    int max_hits;             /* at most this many (default 8) */
    /* Messages of `skip_session` with id >= `skip_from_id` are already in the
     * prompt (0: skip nothing of the kind). */
    int64_t skip_session, skip_from_id;
    const int64_t *skip_ids;  /* further messages to leave out */
    size_t n_skip_ids;
    double min_relative;      /* drop hits scoring under this share of the best (default 0.25) */
} mem_query;

typedef struct {
    int64_t message_id, session_id;
    char *role;               /* "user" or "assistant" */
    char *content;
    char *created_at;         /* local time */
    double score;             /* higher is more relevant (BM25, sign made positive) */
    const char *method;       /* "fts5-bm25" */
} mem_hit;

/* Best first. *out = NULL, *n = 0 when the text has no searchable words or
 * nothing matches. Caller frees with mem_hits_free(). Errors: store errors,
 * LS_ERR_NOMEM. */
ls_status mem_retrieve(mem_store *s, const char *text, const mem_query *q, mem_hit **out, size_t *n);
void mem_hits_free(mem_hit *hits, size_t n);

/* The FTS5 query for `text`: its searchable words, each quoted, joined with
 * OR ("\"sister\" OR \"name\""); "" when there are none. Returns the length
 * written (output cut at cap-1). Exposed for tests. */
size_t mem_fts_query(const char *text, char *out, size_t cap);

/* The text a cache or a repeat check compares: Unicode-normalized (NFC),
 * case-folded, spaces collapsed, trimmed. Caller frees with ls_free(); NULL
 * on failure (no memory or invalid UTF-8 — then the text is used as it is). */
char *mem_normalize(const char *text);

#endif
