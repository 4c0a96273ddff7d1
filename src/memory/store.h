/* store.h — localseek's memory on disk: one SQLite file.
 *
 * Everything the assistant remembers lives in one database file (by default
 * $XDG_DATA_HOME/localseek/memory.db, i.e. ~/.local/share/localseek/), in
 * plain tables anyone can open with the `sqlite3` shell:
 *
 *   sessions        one row per conversation: title, model, system text, dates
 *   messages        one row per message: session, role, content, thinking
 *                   (kept apart), token counts, model, interrupted/cached flags
 *   messages_fts    the full-text index over messages.content (FTS5; kept in
 *                   step by triggers) that retrieval searches
 *   response_cache  answers that can be given again at once, by key
 *   telemetry       one row per request: tokens, timings, cache hit, memory
 *   settings        small key/value facts (e.g. the last session)
 *
 * docs/memory.md describes every column. The schema is versioned with
 * `PRAGMA user_version`; opening an older file upgrades it step by step (each
 * step one transaction), a newer one is refused. The file uses write-ahead
 * logging and full syncs: a turn is committed in one transaction when it
 * completes, so killing the process at any moment loses at most the turn in
 * progress and never damages what was committed. Every statement is prepared
 * with bound parameters: user text never becomes SQL.
 *
 * Owns: the SQLite connection and its prepared statements (private: only
 * the memory layer sees them, through store_internal.h). Does not: choose
 * what to retrieve or cache (retrieve.h, the orchestrator), count tokens, or
 * print anything. Not thread-safe: one store per thread.
 * Called by: memory/retrieve.c, orchestrator/conversation.c, apps (history,
 * sessions, stats).
 */
#ifndef LS_STORE_H
#define LS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct mem_store mem_store;

enum { MEM_SCHEMA_VERSION = 4 }; /* the version this build writes */

/* The default file: $XDG_DATA_HOME/localseek/memory.db, else
 * $HOME/.local/share/localseek/memory.db. Writes at most `cap` bytes.
 * LS_ERR_NOT_FOUND when neither variable is set, LS_ERR_ARG if too long. */
ls_status mem_default_path(char *buf, size_t cap);

/* Opens (creating the file and its folder if needed) and upgrades the schema.
 * Errors, each with a sentence naming the file and a way out: LS_ERR_IO
 * (cannot create or write: read-only place, full disk, in use by another
 * process past the wait), LS_ERR_FORMAT (not a database, damaged, or made by
 * a newer localseek), LS_ERR_NOMEM. Caller frees with mem_close(). */
ls_status mem_open(const char *path, mem_store **out);
void mem_close(mem_store *s); /* mem_close(NULL) is a no-op */
const char *mem_path(const mem_store *s);

/* Durability. A new store commits with full syncs: each turn reaches the
 * disk before mem_turn_save() returns. durable = false stops waiting for the
 * disk (SQLite's synchronous = OFF): much faster when filling a file with
 * thousands of rows (benchmarks, tests); a crash of the process still loses
 * nothing committed, but a power loss or system crash may damage the file.
 * Applies to this open store only. Errors as mem_open's (LS_ERR_IO ...). */
ls_status mem_set_durable(mem_store *s, bool durable);

/* ======================================================================== */
/* Sessions                                                                  */
/* ======================================================================== */

typedef struct {
    int64_t id;
    char *title;       /* the first user message, shortened; "" before it */
    char *model;       /* model file name the session started with */
    char *created_at;  /* "YYYY-MM-DD HH:MM:SS", local time */
    char *updated_at;
    int n_messages;
} mem_session;

/* New empty session; *id receives its number. */
ls_status mem_session_create(mem_store *s, const char *model, const char *system, int64_t *id);
/* LS_ERR_NOT_FOUND (with a sentence) when there is no such session. */
ls_status mem_session_get(mem_store *s, int64_t id, mem_session *out);
/* Deletes the session, its messages, their cache entries; telemetry rows stay
 * (without the session). LS_ERR_NOT_FOUND if absent. */
ls_status mem_session_delete(mem_store *s, int64_t id);
/* Newest first (by last activity), at most `limit` (<= 0: all). */
ls_status mem_session_list(mem_store *s, int limit, mem_session **out, size_t *n);
/* The session with the latest activity; *id = 0 when there is none. */
ls_status mem_session_latest(mem_store *s, int64_t *id);
void mem_session_clear(mem_session *x);
void mem_session_list_free(mem_session *list, size_t n);

/* ======================================================================== */
/* Messages                                                                  */
/* ======================================================================== */

typedef struct {
    int64_t id, session_id;
    char *role;        /* "user" or "assistant" */
    char *content;     /* the words (an assistant: its answer only) */
    char *thinking;    /* assistant: its thoughts ("" if none); user: "" */
    int n_tokens;      /* tokens of content (-1 unknown) */
    int n_thinking_tokens;
    char *model;       /* assistant: the model that answered ("" for a user) */
    bool interrupted;  /* assistant: cut short (Ctrl-C, limit, timeout) */
    bool cached;       /* assistant: given from the response cache */
    char *created_at;  /* local time */
} mem_message;

/* What one completed turn stores: the question and the answer. Strings are
 * borrowed (copied into the database). */
typedef struct {
    const char *user;
    int n_user_tokens;
    const char *answer, *thinking;
    int n_answer_tokens, n_thinking_tokens;
    const char *model;
    bool interrupted, cached;
} mem_turn;

/* Stores both messages in one transaction (and titles an untitled session).
 * *user_id / *answer_id (may be NULL) receive the new ids. */
ls_status mem_turn_save(mem_store *s, int64_t session, const mem_turn *t, int64_t *user_id, int64_t *answer_id);
/* The last `last_n` messages of a session in order (last_n <= 0: all). */
ls_status mem_messages(mem_store *s, int64_t session, int last_n, mem_message **out, size_t *n);
/* Deletes single messages (e.g. a cached answer that is being regenerated). */
ls_status mem_message_delete(mem_store *s, int64_t id);
void mem_message_clear(mem_message *m);
void mem_messages_free(mem_message *list, size_t n);
/* Messages stored in total (all sessions). */
ls_status mem_message_count(mem_store *s, int64_t *n);

/* ======================================================================== */
/* Response cache                                                            */
/* ======================================================================== */

typedef struct {
    const char *key;         /* the digest the orchestrator computed */
    const char *model;       /* checked again on lookup, against digest collisions */
    const char *question;    /* normalized question (same) */
    const char *settings;    /* the sampling settings, readable (same) */
    const char *answer, *thinking;
    const char *memory_ids;  /* retrieved message ids used, "12,40" or "" */
    int64_t question_id, answer_id; /* the messages that gave it (0: none) */
} mem_cache_entry;

typedef struct {
    char *answer, *thinking, *memory_ids;
    char *created_at;        /* local time of the original answer */
    int64_t question_id, answer_id;
    int n_hits;              /* times served before this lookup */
} mem_cached;

/* Looks up `key`; *found false when absent or when model/question/settings
 * differ. A hit is counted. */
ls_status mem_cache_get(mem_store *s, const char *key, const char *model, const char *question,
                        const char *settings, mem_cached *out, bool *found);
/* Inserts or replaces the entry for e->key. */
ls_status mem_cache_put(mem_store *s, const mem_cache_entry *e);
void mem_cached_clear(mem_cached *c);

/* ======================================================================== */
/* Telemetry                                                                 */
/* ======================================================================== */

typedef struct {
    int64_t session_id;      /* 0: none */
    const char *command;     /* "chat", ... */
    const char *model, *quant;
    int n_prompt, n_reused, n_thinking, n_answer, n_memory, n_dropped;
    double ttft_s, tokens_per_s, total_s, retrieve_s;
    bool cache_hit, truncated;
    const char *stop;        /* why generation ended */
    int64_t peak_rss_bytes;
} mem_telemetry;

ls_status mem_telemetry_add(mem_store *s, const mem_telemetry *t);

/* Per model: requests, cache hits, p50/p95 of total time, time to first
 * token and tokens/s (the last two over generated answers only). */
typedef struct {
    char *model;
    int n_requests, n_cache_hits, n_generated;
    double total_p50_s, total_p95_s, ttft_p50_s, ttft_p95_s, tps_p50, tps_p95;
} mem_model_stats;

ls_status mem_stats(mem_store *s, mem_model_stats **out, size_t *n);
void mem_stats_free(mem_model_stats *list, size_t n);

/* ======================================================================== */
/* Settings                                                                  */
/* ======================================================================== */

/* *value = NULL when unset; caller frees with ls_free(). */
ls_status mem_setting_get(mem_store *s, const char *key, char **value);
ls_status mem_setting_set(mem_store *s, const char *key, const char *value);

#endif
