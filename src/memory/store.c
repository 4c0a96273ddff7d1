/* store.c — the SQLite file behind localseek's memory.
 *
 * How it works:
 *   - Schema: `migrations[k]` takes a file from user_version k to k+1; each
 *     runs in its own transaction together with the version bump, so a file
 *     is always at exactly one version. New columns or tables are added as a
 *     new step at the end — steps already shipped are never edited.
 *   - Statements: every SQL text is in `sql_text[]`, prepared on first use and
 *     kept for the life of the connection; values are always bound, never
 *     pasted into SQL.
 *   - Durability: WAL journal + synchronous=FULL. A turn is one transaction
 *     (question, answer, session's title and date), so a kill leaves either
 *     all of it or none of it.
 *   - Dates are stored as UTC text ("2026-11-23 10:04:05") and shown in local
 *     time by the queries that read them.
 *   - Errors: mem_fail() maps SQLite's result codes to a status and a
 *     sentence that says which file, what went wrong and what to do.
 */
#include "memory/store.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/stats.h"
#include "memory/store_internal.h"

/* ======================================================================== */
/* Schema                                                                    */
/* ======================================================================== */

static const char *const migrations[MEM_SCHEMA_VERSION] = {
    /* 0 -> 1: conversations */
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL DEFAULT '',"
    "  system TEXT NOT NULL DEFAULT '',"
    "  created_at TEXT NOT NULL DEFAULT (datetime('now')),"
    "  updated_at TEXT NOT NULL DEFAULT (datetime('now')));"
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),"
    "  content TEXT NOT NULL,"
    "  thinking TEXT NOT NULL DEFAULT '',"
    "  n_tokens INTEGER NOT NULL DEFAULT -1,"
    "  n_thinking_tokens INTEGER NOT NULL DEFAULT 0,"
    "  model TEXT NOT NULL DEFAULT '',"
    "  interrupted INTEGER NOT NULL DEFAULT 0,"
    "  cached INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL DEFAULT (datetime('now')));"
    "CREATE INDEX messages_by_session ON messages(session_id, id);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",

    /* 1 -> 2: full-text index over what was said (not the thoughts), kept in
     * step with `messages` by triggers; filled from the existing rows. */
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id',"
    "  tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
    "  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;"
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
    "  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;"
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
    "  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
    "  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;"
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');",

    /* 2 -> 3: the response cache; an entry disappears with its question */
    "CREATE TABLE response_cache ("
    "  key TEXT PRIMARY KEY,"
    "  model TEXT NOT NULL,"
    "  question TEXT NOT NULL,"
    "  settings TEXT NOT NULL,"
    "  answer TEXT NOT NULL,"
    "  thinking TEXT NOT NULL DEFAULT '',"
    "  memory_ids TEXT NOT NULL DEFAULT '',"
    "  question_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,"
    "  answer_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,"
    "  n_hits INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL DEFAULT (datetime('now')));"
    "CREATE INDEX response_cache_by_question ON response_cache(question_id);"
    "CREATE INDEX response_cache_by_answer ON response_cache(answer_id);",

    /* 3 -> 4: one row per request */
    "CREATE TABLE telemetry ("
    "  id INTEGER PRIMARY KEY,"
    "  at TEXT NOT NULL DEFAULT (datetime('now')),"
    "  session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,"
    "  command TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL,"
    "  quant TEXT NOT NULL DEFAULT '',"
    "  n_prompt INTEGER NOT NULL DEFAULT 0,"
    "  n_reused INTEGER NOT NULL DEFAULT 0,"
    "  n_thinking INTEGER NOT NULL DEFAULT 0,"
    "  n_answer INTEGER NOT NULL DEFAULT 0,"
    "  n_memory INTEGER NOT NULL DEFAULT 0,"
    "  n_dropped INTEGER NOT NULL DEFAULT 0,"
    "  ttft_s REAL,"
    "  tokens_per_s REAL,"
    "  total_s REAL NOT NULL,"
    "  retrieve_s REAL,"
    "  cache_hit INTEGER NOT NULL DEFAULT 0,"
    "  truncated INTEGER NOT NULL DEFAULT 0,"
    "  stop TEXT NOT NULL DEFAULT '',"
    "  peak_rss_bytes INTEGER);"
    "CREATE INDEX telemetry_by_model ON telemetry(model);",
};

/* ======================================================================== */
/* Statements                                                                */
/* ======================================================================== */

typedef enum {
    Q_SESSION_NEW,
    Q_SESSION_GET,
    Q_SESSION_DELETE,
    Q_SESSION_LIST,
    Q_SESSION_LATEST,
    Q_SESSION_TOUCH,
    Q_MESSAGE_ADD,
    Q_MESSAGES,
    Q_MESSAGE_DELETE,
    Q_MESSAGE_COUNT,
    Q_CACHE_GET,
    Q_CACHE_HIT,
    Q_CACHE_PUT,
    Q_TELEMETRY_ADD,
    Q_STATS,
    Q_SETTING_GET,
    Q_SETTING_SET,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_COUNT
} query_id;

#define LOCAL(col) "datetime(" col ", 'localtime')"

static const char *const sql_text[Q_COUNT] = {
    [Q_SESSION_NEW] = "INSERT INTO sessions(model, system) VALUES (?1, ?2)",
    [Q_SESSION_GET] = "SELECT s.id, s.title, s.model, " LOCAL("s.created_at") ", " LOCAL("s.updated_at")
                      ", (SELECT count(*) FROM messages m WHERE m.session_id = s.id) FROM sessions s WHERE s.id = ?1",
    [Q_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
    [Q_SESSION_LIST] = "SELECT s.id, s.title, s.model, " LOCAL("s.created_at") ", " LOCAL("s.updated_at")
                       ", (SELECT count(*) FROM messages m WHERE m.session_id = s.id) FROM sessions s"
                       " ORDER BY s.updated_at DESC, s.id DESC LIMIT ?1",
    [Q_SESSION_LATEST] = "SELECT id FROM sessions ORDER BY updated_at DESC, id DESC LIMIT 1",
    [Q_SESSION_TOUCH] = "UPDATE sessions SET updated_at = datetime('now'),"
                        " title = CASE WHEN title = '' THEN substr(?2, 1, 60) ELSE title END WHERE id = ?1",
    [Q_MESSAGE_ADD] = "INSERT INTO messages(session_id, role, content, thinking, n_tokens, n_thinking_tokens, model,"
                      " interrupted, cached) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_MESSAGES] = "SELECT * FROM (SELECT id, session_id, role, content, thinking, n_tokens, n_thinking_tokens, model,"
                   " interrupted, cached, " LOCAL("created_at") " FROM messages WHERE session_id = ?1"
                   " ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [Q_MESSAGE_DELETE] = "DELETE FROM messages WHERE id = ?1",
    [Q_MESSAGE_COUNT] = "SELECT count(*) FROM messages",
    [Q_CACHE_GET] = "SELECT answer, thinking, memory_ids, " LOCAL("created_at") ", ifnull(question_id, 0),"
                    " ifnull(answer_id, 0), n_hits FROM response_cache"
                    " WHERE key = ?1 AND model = ?2 AND question = ?3 AND settings = ?4",
    [Q_CACHE_HIT] = "UPDATE response_cache SET n_hits = n_hits + 1 WHERE key = ?1",
    [Q_CACHE_PUT] = "INSERT OR REPLACE INTO response_cache(key, model, question, settings, answer, thinking,"
                    " memory_ids, question_id, answer_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_TELEMETRY_ADD] = "INSERT INTO telemetry(session_id, command, model, quant, n_prompt, n_reused, n_thinking,"
                        " n_answer, n_memory, n_dropped, ttft_s, tokens_per_s, total_s, retrieve_s, cache_hit,"
                        " truncated, stop, peak_rss_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                        " ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [Q_STATS] = "SELECT model, cache_hit, total_s, ttft_s, tokens_per_s FROM telemetry ORDER BY model, id",
    [Q_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [Q_SETTING_SET] = "INSERT OR REPLACE INTO settings(key, value) VALUES (?1, ?2)",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
};

struct mem_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *q[Q_COUNT];
};

/* ======================================================================== */
/* Errors                                                                    */
/* ======================================================================== */

ls_status mem_fail(mem_store *s, int rc, const char *doing)
{
    const char *path = s && s->path ? s->path : "the memory file";
    const char *detail = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return ls_error(LS_ERR_NOMEM, "out of memory while %s (%s)", doing, path);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ls_error(LS_ERR_IO,
                        "%s is in use by another process (another localseek, or a sqlite3 shell in a transaction) "
                        "and stayed locked while %s; close the other program and try again, or use --db PATH",
                        path, doing);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return ls_error(LS_ERR_IO,
                        "cannot write %s while %s: the file or its folder is read-only; make it writable, "
                        "use --db PATH elsewhere, or --no-memory", path, doing);
    case SQLITE_FULL:
        return ls_error(LS_ERR_IO,
                        "the disk holding %s is full: %s did not happen (what was saved before is intact); "
                        "free some space and try again", path, doing);
    case SQLITE_CANTOPEN:
        return ls_error(LS_ERR_IO, "cannot open %s while %s (%s); check the folder exists and is writable, "
                        "or use --db PATH", path, doing, detail);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return ls_error(LS_ERR_FORMAT,
                        "%s is not a localseek memory file or is damaged (%s); move it aside (a new one is "
                        "created) or use --db PATH", path, detail);
    case SQLITE_IOERR:
        return ls_error(LS_ERR_IO, "input/output error on %s while %s (%s)", path, doing, detail);
    default:
        return ls_error(LS_ERR_INTERNAL, "SQLite failed while %s on %s: %s", doing, path, detail);
    }
}

/* ======================================================================== */
/* Small helpers                                                             */
/* ======================================================================== */

static sqlite3_stmt *stmt(mem_store *s, query_id id, int *rc)
{
    if (!s->q[id]) {
        *rc = sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &s->q[id], NULL);
        if (*rc != SQLITE_OK)
            return NULL;
    }
    sqlite3_reset(s->q[id]);
    sqlite3_clear_bindings(s->q[id]);
    *rc = SQLITE_OK;
    return s->q[id];
}

static char *col_text(sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    return ls_strdup(t ? (const char *)t : "");
}

static int bind_text(sqlite3_stmt *q, int i, const char *text)
{
    return sqlite3_bind_text(q, i, text ? text : "", -1, SQLITE_TRANSIENT);
}

/* Runs a statement that returns no rows. */
static int step_done(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int exec_simple(mem_store *s, query_id id)
{
    int rc;
    sqlite3_stmt *q = stmt(s, id, &rc);
    return q ? step_done(q) : rc;
}

/* Reads every row of a bound statement into a growing array of `size`-byte
 * items with `read` (false: out of memory). On failure the items read so far
 * are released with `clear` and the array freed. */
static ls_status collect_rows(mem_store *s, sqlite3_stmt *q, size_t size, bool (*read)(sqlite3_stmt *, void *),
                              void (*clear)(void *), const char *doing, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    ls_status st = LS_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            void *p = ls_realloc(*out, cap * size);
            if (!p) {
                st = ls_error(LS_ERR_NOMEM, "out of memory %s", doing);
                break;
            }
            *out = p;
        }
        void *item = (char *)*out + *n * size;
        memset(item, 0, size);
        (*n)++;
        if (!read(q, item)) {
            st = ls_error(LS_ERR_NOMEM, "out of memory %s", doing);
            break;
        }
    }
    if (!st && rc != SQLITE_DONE)
        st = mem_fail(s, rc, doing);
    sqlite3_reset(q);
    if (st) {
        for (size_t i = 0; i < *n; i++)
            clear((char *)*out + i * size);
        ls_free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}

/* mkdir -p for the folder part of `path`. */
static void make_parent_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return; /* sqlite3_open then says what is wrong */
        buf[i] = '/';
    }
}

ls_status mem_default_path(char *buf, size_t cap)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && *xdg == '/')
        n = snprintf(buf, cap, "%s/localseek/memory.db", xdg);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.local/share/localseek/memory.db", home);
    else
        return ls_error(LS_ERR_NOT_FOUND, "neither XDG_DATA_HOME nor HOME is set: give the memory file with --db PATH");
    if (n < 0 || (size_t)n >= cap)
        return ls_error(LS_ERR_ARG, "the memory file's path is too long");
    return LS_OK;
}

/* ======================================================================== */
/* Open / close                                                              */
/* ======================================================================== */

static int user_version(mem_store *s, int *v)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int(q, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    return rc;
}

/* Brings the schema from its version to MEM_SCHEMA_VERSION, one transaction
 * per step. */
static ls_status migrate(mem_store *s)
{
    int v = 0, rc = user_version(s, &v);
    if (rc != SQLITE_OK)
        return mem_fail(s, rc, "reading the schema version");
    if (v > MEM_SCHEMA_VERSION)
        return ls_error(LS_ERR_FORMAT,
                        "%s was written by a newer localseek (schema %d; this build knows up to %d); use that "
                        "version, or --db PATH for another file", s->path, v, MEM_SCHEMA_VERSION);
    int from = v;
    for (; v < MEM_SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d;", v + 1);
        rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, bump, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            ls_status st = mem_fail(s, rc, "upgrading the schema");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
    }
    if (from == 0)
        log_info("memory: created %s (schema %d)", s->path, MEM_SCHEMA_VERSION);
    else if (from < MEM_SCHEMA_VERSION)
        log_info("memory: upgraded %s from schema %d to %d", s->path, from, MEM_SCHEMA_VERSION);
    return LS_OK;
}

ls_status mem_open(const char *path, mem_store **out)
{
    *out = NULL;
    mem_store *s = ls_calloc(1, sizeof *s);
    if (!s || !(s->path = ls_strdup(path))) {
        ls_free(s);
        return ls_error(LS_ERR_NOMEM, "out of memory opening the memory file");
    }
    make_parent_dirs(path);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    ls_status st = LS_OK;
    if (rc != SQLITE_OK) {
        st = mem_fail(s, rc, "opening it");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 3000); /* another writer: wait up to 3 s before saying so */
    /* journal_mode returns a row; a file that is not a database fails here. */
    rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        st = mem_fail(s, rc, "opening it");
        goto fail;
    }
    if ((st = migrate(s)))
        goto fail;
    *out = s;
    return LS_OK;
fail:
    mem_close(s);
    return st;
}

void mem_close(mem_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    ls_free(s->path);
    ls_free(s);
}

const char *mem_path(const mem_store *s)
{
    return s->path;
}

sqlite3 *mem_db(mem_store *s)
{
    return s->db;
}

ls_status mem_set_durable(mem_store *s, bool durable)
{
    int rc = sqlite3_exec(s->db, durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF", NULL, NULL,
                          NULL);
    return rc == SQLITE_OK ? LS_OK : mem_fail(s, rc, "changing how commits reach the disk");
}

/* ======================================================================== */
/* Sessions                                                                  */
/* ======================================================================== */

ls_status mem_session_create(mem_store *s, const char *model, const char *system, int64_t *id)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_SESSION_NEW, &rc);
    if (q) {
        bind_text(q, 1, model);
        bind_text(q, 2, system);
        rc = step_done(q);
    }
    if (rc != SQLITE_OK)
        return mem_fail(s, rc, "starting a session");
    *id = sqlite3_last_insert_rowid(s->db);
    return LS_OK;
}

static bool read_session(sqlite3_stmt *q, void *item)
{
    mem_session *x = item;
    x->id = sqlite3_column_int64(q, 0);
    x->title = col_text(q, 1);
    x->model = col_text(q, 2);
    x->created_at = col_text(q, 3);
    x->updated_at = col_text(q, 4);
    x->n_messages = sqlite3_column_int(q, 5);
    return x->title && x->model && x->created_at && x->updated_at;
}

static void clear_session(void *item)
{
    mem_session_clear(item);
}

void mem_session_clear(mem_session *x)
{
    if (!x)
        return;
    ls_free(x->title);
    ls_free(x->model);
    ls_free(x->created_at);
    ls_free(x->updated_at);
    memset(x, 0, sizeof *x);
}

void mem_session_list_free(mem_session *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        mem_session_clear(&list[i]);
    ls_free(list);
}

ls_status mem_session_get(mem_store *s, int64_t id, mem_session *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    sqlite3_stmt *q = stmt(s, Q_SESSION_GET, &rc);
    if (!q)
        return mem_fail(s, rc, "reading a session");
    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    ls_status st = LS_OK;
    if (rc == SQLITE_ROW) {
        if (!read_session(q, out)) {
            mem_session_clear(out);
            st = ls_error(LS_ERR_NOMEM, "out of memory reading a session");
        }
    } else if (rc == SQLITE_DONE) {
        st = ls_error(LS_ERR_NOT_FOUND, "there is no session %lld in %s (`localseek sessions` lists them)",
                      (long long)id, s->path);
    } else {
        st = mem_fail(s, rc, "reading a session");
    }
    sqlite3_reset(q);
    return st;
}

ls_status mem_session_delete(mem_store *s, int64_t id)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_SESSION_DELETE, &rc);
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        rc = step_done(q);
    }
    if (rc != SQLITE_OK)
        return mem_fail(s, rc, "deleting a session");
    if (sqlite3_changes(s->db) == 0)
        return ls_error(LS_ERR_NOT_FOUND, "there is no session %lld in %s (`localseek sessions` lists them)",
                        (long long)id, s->path);
    return LS_OK;
}

ls_status mem_session_list(mem_store *s, int limit, mem_session **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rc;
    sqlite3_stmt *q = stmt(s, Q_SESSION_LIST, &rc);
    if (!q)
        return mem_fail(s, rc, "listing sessions");
    sqlite3_bind_int(q, 1, limit > 0 ? limit : -1);
    void *items;
    ls_status st = collect_rows(s, q, sizeof **out, read_session, clear_session, "listing sessions", &items, n);
    *out = items;
    return st;
}

ls_status mem_session_latest(mem_store *s, int64_t *id)
{
    *id = 0;
    int rc;
    sqlite3_stmt *q = stmt(s, Q_SESSION_LATEST, &rc);
    if (!q)
        return mem_fail(s, rc, "finding the latest session");
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LS_OK : mem_fail(s, rc, "finding the latest session");
}

/* ======================================================================== */
/* Messages                                                                  */
/* ======================================================================== */

static int add_message(mem_store *s, int64_t session, const char *role, const char *content, const char *thinking,
                       int n_tokens, int n_thinking, const char *model, bool interrupted, bool cached, int64_t *id)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_MESSAGE_ADD, &rc);
    if (!q)
        return rc;
    sqlite3_bind_int64(q, 1, session);
    bind_text(q, 2, role);
    bind_text(q, 3, content);
    bind_text(q, 4, thinking);
    sqlite3_bind_int(q, 5, n_tokens);
    sqlite3_bind_int(q, 6, n_thinking);
    bind_text(q, 7, model);
    sqlite3_bind_int(q, 8, interrupted);
    sqlite3_bind_int(q, 9, cached);
    rc = step_done(q);
    if (rc == SQLITE_OK && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

ls_status mem_turn_save(mem_store *s, int64_t session, const mem_turn *t, int64_t *user_id, int64_t *answer_id)
{
    int rc = exec_simple(s, Q_BEGIN);
    if (rc == SQLITE_OK)
        rc = add_message(s, session, "user", t->user, "", t->n_user_tokens, 0, "", false, false, user_id);
    if (rc == SQLITE_OK)
        rc = add_message(s, session, "assistant", t->answer, t->thinking, t->n_answer_tokens, t->n_thinking_tokens,
                         t->model, t->interrupted, t->cached, answer_id);
    if (rc == SQLITE_OK) {
        sqlite3_stmt *q = stmt(s, Q_SESSION_TOUCH, &rc);
        if (q) {
            sqlite3_bind_int64(q, 1, session);
            bind_text(q, 2, t->user);
            rc = step_done(q);
        }
    }
    if (rc == SQLITE_OK)
        rc = exec_simple(s, Q_COMMIT);
    if (rc != SQLITE_OK) {
        ls_status st = mem_fail(s, rc, "saving the turn");
        exec_simple(s, Q_ROLLBACK);
        return st;
    }
    return LS_OK;
}

void mem_message_clear(mem_message *m)
{
    if (!m)
        return;
    ls_free(m->role);
    ls_free(m->content);
    ls_free(m->thinking);
    ls_free(m->model);
    ls_free(m->created_at);
    memset(m, 0, sizeof *m);
}

void mem_messages_free(mem_message *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        mem_message_clear(&list[i]);
    ls_free(list);
}

static bool read_message(sqlite3_stmt *q, void *item)
{
    mem_message *m = item;
    m->id = sqlite3_column_int64(q, 0);
    m->session_id = sqlite3_column_int64(q, 1);
    m->role = col_text(q, 2);
    m->content = col_text(q, 3);
    m->thinking = col_text(q, 4);
    m->n_tokens = sqlite3_column_int(q, 5);
    m->n_thinking_tokens = sqlite3_column_int(q, 6);
    m->model = col_text(q, 7);
    m->interrupted = sqlite3_column_int(q, 8) != 0;
    m->cached = sqlite3_column_int(q, 9) != 0;
    m->created_at = col_text(q, 10);
    return m->role && m->content && m->thinking && m->model && m->created_at;
}

static void clear_message(void *item)
{
    mem_message_clear(item);
}

ls_status mem_messages(mem_store *s, int64_t session, int last_n, mem_message **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rc;
    sqlite3_stmt *q = stmt(s, Q_MESSAGES, &rc);
    if (!q)
        return mem_fail(s, rc, "reading messages");
    sqlite3_bind_int64(q, 1, session);
    sqlite3_bind_int(q, 2, last_n > 0 ? last_n : -1);
    void *items;
    ls_status st = collect_rows(s, q, sizeof **out, read_message, clear_message, "reading messages", &items, n);
    *out = items;
    return st;
}

ls_status mem_message_delete(mem_store *s, int64_t id)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_MESSAGE_DELETE, &rc);
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        rc = step_done(q);
    }
    return rc == SQLITE_OK ? LS_OK : mem_fail(s, rc, "deleting a message");
}

ls_status mem_message_count(mem_store *s, int64_t *n)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_MESSAGE_COUNT, &rc);
    if (!q)
        return mem_fail(s, rc, "counting messages");
    rc = sqlite3_step(q);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? LS_OK : mem_fail(s, rc, "counting messages");
}

/* ======================================================================== */
/* Response cache                                                            */
/* ======================================================================== */

void mem_cached_clear(mem_cached *c)
{
    if (!c)
        return;
    ls_free(c->answer);
    ls_free(c->thinking);
    ls_free(c->memory_ids);
    ls_free(c->created_at);
    memset(c, 0, sizeof *c);
}

ls_status mem_cache_get(mem_store *s, const char *key, const char *model, const char *question,
                        const char *settings, mem_cached *out, bool *found)
{
    memset(out, 0, sizeof *out);
    *found = false;
    int rc;
    sqlite3_stmt *q = stmt(s, Q_CACHE_GET, &rc);
    if (!q)
        return mem_fail(s, rc, "reading the response cache");
    bind_text(q, 1, key);
    bind_text(q, 2, model);
    bind_text(q, 3, question);
    bind_text(q, 4, settings);
    rc = sqlite3_step(q);
    ls_status st = LS_OK;
    if (rc == SQLITE_ROW) {
        out->answer = col_text(q, 0);
        out->thinking = col_text(q, 1);
        out->memory_ids = col_text(q, 2);
        out->created_at = col_text(q, 3);
        out->question_id = sqlite3_column_int64(q, 4);
        out->answer_id = sqlite3_column_int64(q, 5);
        out->n_hits = sqlite3_column_int(q, 6);
        if (!out->answer || !out->thinking || !out->memory_ids || !out->created_at) {
            mem_cached_clear(out);
            st = ls_error(LS_ERR_NOMEM, "out of memory reading the response cache");
        } else {
            *found = true;
        }
    } else if (rc != SQLITE_DONE) {
        st = mem_fail(s, rc, "reading the response cache");
    }
    sqlite3_reset(q);
    if (*found && (q = stmt(s, Q_CACHE_HIT, &rc)) != NULL) {
        bind_text(q, 1, key);
        step_done(q); /* the hit count is a statistic: not worth failing a lookup for */
    }
    return st;
}

static void bind_id_or_null(sqlite3_stmt *q, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(q, i, id);
    else
        sqlite3_bind_null(q, i);
}

ls_status mem_cache_put(mem_store *s, const mem_cache_entry *e)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_CACHE_PUT, &rc);
    if (q) {
        bind_text(q, 1, e->key);
        bind_text(q, 2, e->model);
        bind_text(q, 3, e->question);
        bind_text(q, 4, e->settings);
        bind_text(q, 5, e->answer);
        bind_text(q, 6, e->thinking);
        bind_text(q, 7, e->memory_ids);
        bind_id_or_null(q, 8, e->question_id);
        bind_id_or_null(q, 9, e->answer_id);
        rc = step_done(q);
    }
    return rc == SQLITE_OK ? LS_OK : mem_fail(s, rc, "saving to the response cache");
}

/* ======================================================================== */
/* Telemetry                                                                 */
/* ======================================================================== */

static void bind_real_or_null(sqlite3_stmt *q, int i, double v, bool present)
{
    if (present && isfinite(v))
        sqlite3_bind_double(q, i, v);
    else
        sqlite3_bind_null(q, i);
}

ls_status mem_telemetry_add(mem_store *s, const mem_telemetry *t)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_TELEMETRY_ADD, &rc);
    if (q) {
        bind_id_or_null(q, 1, t->session_id);
        bind_text(q, 2, t->command);
        bind_text(q, 3, t->model);
        bind_text(q, 4, t->quant);
        const int ints[] = { t->n_prompt, t->n_reused, t->n_thinking, t->n_answer, t->n_memory, t->n_dropped };
        for (int i = 0; i < 6; i++)
            sqlite3_bind_int(q, 5 + i, ints[i]);
        bool generated = !t->cache_hit;
        bind_real_or_null(q, 11, t->ttft_s, generated);
        bind_real_or_null(q, 12, t->tokens_per_s, generated && t->tokens_per_s > 0);
        sqlite3_bind_double(q, 13, t->total_s);
        bind_real_or_null(q, 14, t->retrieve_s, t->retrieve_s > 0);
        sqlite3_bind_int(q, 15, t->cache_hit);
        sqlite3_bind_int(q, 16, t->truncated);
        bind_text(q, 17, t->stop);
        if (t->peak_rss_bytes > 0)
            sqlite3_bind_int64(q, 18, t->peak_rss_bytes);
        else
            sqlite3_bind_null(q, 18);
        rc = step_done(q);
    }
    return rc == SQLITE_OK ? LS_OK : mem_fail(s, rc, "recording telemetry");
}

void mem_stats_free(mem_model_stats *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        ls_free(list[i].model);
    ls_free(list);
}

/* The figures of one model's rows, gathered before the percentiles. */
typedef struct {
    double *total, *ttft, *tps;
    size_t n_total, n_ttft, n_tps, cap;
} samples;

static void finish_model(mem_model_stats *m, samples *sm)
{
    m->total_p50_s = ls_percentile(sm->total, sm->n_total, 50);
    m->total_p95_s = ls_percentile(sm->total, sm->n_total, 95);
    m->ttft_p50_s = ls_percentile(sm->ttft, sm->n_ttft, 50);
    m->ttft_p95_s = ls_percentile(sm->ttft, sm->n_ttft, 95);
    m->tps_p50 = ls_percentile(sm->tps, sm->n_tps, 50);
    m->tps_p95 = ls_percentile(sm->tps, sm->n_tps, 95);
    sm->n_total = sm->n_ttft = sm->n_tps = 0;
}

ls_status mem_stats(mem_store *s, mem_model_stats **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rc;
    sqlite3_stmt *q = stmt(s, Q_STATS, &rc);
    if (!q)
        return mem_fail(s, rc, "reading telemetry");
    samples sm = { 0 };
    size_t cap_models = 0;
    ls_status st = LS_OK;
    mem_model_stats *cur = NULL;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *model = (const char *)sqlite3_column_text(q, 0);
        model = model ? model : "";
        if (!cur || strcmp(cur->model, model) != 0) {
            if (cur)
                finish_model(cur, &sm);
            if (*n == cap_models) {
                cap_models = cap_models ? 2 * cap_models : 8;
                mem_model_stats *p = ls_realloc(*out, cap_models * sizeof *p);
                if (!p) {
                    st = ls_error(LS_ERR_NOMEM, "out of memory reading telemetry");
                    break;
                }
                *out = p;
            }
            cur = &(*out)[(*n)++];
            memset(cur, 0, sizeof *cur);
            if (!(cur->model = ls_strdup(model))) {
                st = ls_error(LS_ERR_NOMEM, "out of memory reading telemetry");
                break;
            }
        }
        if (sm.n_total == sm.cap) { /* the three arrays grow together */
            size_t cap = sm.cap ? 2 * sm.cap : 64;
            double *a = ls_realloc(sm.total, cap * sizeof *a);
            double *b = a ? ls_realloc(sm.ttft, cap * sizeof *b) : NULL;
            double *c = b ? ls_realloc(sm.tps, cap * sizeof *c) : NULL;
            if (a)
                sm.total = a;
            if (b)
                sm.ttft = b;
            if (!c) {
                st = ls_error(LS_ERR_NOMEM, "out of memory reading telemetry");
                break;
            }
            sm.tps = c;
            sm.cap = cap;
        }
        cur->n_requests++;
        bool hit = sqlite3_column_int(q, 1) != 0;
        cur->n_cache_hits += hit;
        sm.total[sm.n_total++] = sqlite3_column_double(q, 2);
        if (!hit && sqlite3_column_type(q, 3) != SQLITE_NULL) {
            cur->n_generated++;
            sm.ttft[sm.n_ttft++] = sqlite3_column_double(q, 3);
        }
        if (!hit && sqlite3_column_type(q, 4) != SQLITE_NULL)
            sm.tps[sm.n_tps++] = sqlite3_column_double(q, 4);
    }
    if (!st && rc != SQLITE_DONE)
        st = mem_fail(s, rc, "reading telemetry");
    if (!st && cur)
        finish_model(cur, &sm);
    sqlite3_reset(q);
    ls_free(sm.total);
    ls_free(sm.ttft);
    ls_free(sm.tps);
    if (st) {
        mem_stats_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return st;
}

/* ======================================================================== */
/* Settings                                                                  */
/* ======================================================================== */

ls_status mem_setting_get(mem_store *s, const char *key, char **value)
{
    *value = NULL;
    int rc;
    sqlite3_stmt *q = stmt(s, Q_SETTING_GET, &rc);
    if (!q)
        return mem_fail(s, rc, "reading a setting");
    bind_text(q, 1, key);
    rc = sqlite3_step(q);
    ls_status st = LS_OK;
    if (rc == SQLITE_ROW) {
        if (!(*value = col_text(q, 0)))
            st = ls_error(LS_ERR_NOMEM, "out of memory reading a setting");
    } else if (rc != SQLITE_DONE) {
        st = mem_fail(s, rc, "reading a setting");
    }
    sqlite3_reset(q);
    return st;
}

ls_status mem_setting_set(mem_store *s, const char *key, const char *value)
{
    int rc;
    sqlite3_stmt *q = stmt(s, Q_SETTING_SET, &rc);
    if (q) {
        bind_text(q, 1, key);
        bind_text(q, 2, value);
        rc = step_done(q);
    }
    return rc == SQLITE_OK ? LS_OK : mem_fail(s, rc, "saving a setting");
}
