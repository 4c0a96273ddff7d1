/* test_store.c — the memory file: what goes in comes back, and nothing that
 * was committed is lost or damaged by old files, odd text, a busy or full
 * disk, or a process killed in the middle of writing.
 *
 * Needs no model: everything runs on temporary SQLite files.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "check.h"
#include "memory/retrieve.h"
#include "memory/store.h"
#include "memory/store_internal.h" /* mem_db: the full-disk case limits the store's own connection */

static char dir[256];

static void path_in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int count_rows(const char *path, const char *sql)
{
    sqlite3 *db;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
            n = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return n;
}

static bool integrity_ok(const char *path)
{
    sqlite3 *db;
    bool ok = false;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            ok = strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return ok;
}

/* ======================================================================== */

static void test_round_trip(void)
{
    char path[512];
    path_in_dir(path, sizeof path, "sub/folder/memory.db"); /* folders are created */
    mem_store *s;
    CHECK(mem_open(path, &s) == LS_OK, "open: %s", ls_error_msg());
    if (!s)
        return;
    int64_t a, b;
    CHECK(mem_session_create(s, "m.gguf", "be brief", &a) == LS_OK, "%s", ls_error_msg());
    CHECK(mem_session_create(s, "m.gguf", NULL, &b) == LS_OK && b != a, "second session");
    mem_turn t = { .user = "Hello there", .n_user_tokens = 3, .answer = "Hi!", .thinking = "greet back",
                   .n_answer_tokens = 2, .n_thinking_tokens = 3, .model = "m.gguf" };
    int64_t qid, aid;
    CHECK(mem_turn_save(s, a, &t, &qid, &aid) == LS_OK && aid == qid + 1, "save: %s", ls_error_msg());
    mem_turn t2 = { .user = "Tell me a long story", .answer = "Once", .thinking = "", .model = "m.gguf",
                    .interrupted = true, .n_user_tokens = 5, .n_answer_tokens = 1 };
    CHECK(mem_turn_save(s, a, &t2, NULL, NULL) == LS_OK, "save 2");

    mem_message *m;
    size_t n;
    CHECK(mem_messages(s, a, 0, &m, &n) == LS_OK && n == 4, "4 messages, got %zu", n);
    if (n == 4) {
        CHECK(!strcmp(m[0].role, "user") && !strcmp(m[0].content, "Hello there") && m[0].n_tokens == 3, "user");
        CHECK(!strcmp(m[1].role, "assistant") && !strcmp(m[1].content, "Hi!") && !strcmp(m[1].thinking, "greet back"),
              "answer and thinking apart");
        CHECK(m[1].n_thinking_tokens == 3 && !strcmp(m[1].model, "m.gguf") && !m[1].interrupted, "counts, model");
        CHECK(m[3].interrupted && !strcmp(m[3].content, "Once"), "interrupted kept");
        CHECK(strlen(m[0].created_at) == 19, "date '%s'", m[0].created_at);
    }
    mem_messages_free(m, n);
    CHECK(mem_messages(s, a, 1, &m, &n) == LS_OK && n == 1 && !strcmp(m[0].content, "Once"), "last 1");
    mem_messages_free(m, n);

    mem_session info;
    CHECK(mem_session_get(s, a, &info) == LS_OK && !strcmp(info.title, "Hello there") && info.n_messages == 4,
          "title from the first message");
    mem_session_clear(&info);
    int64_t latest;
    CHECK(mem_session_latest(s, &latest) == LS_OK && (latest == a || latest == b), "latest");
    mem_session *list;
    CHECK(mem_session_list(s, 0, &list, &n) == LS_OK && n == 2, "2 sessions");
    mem_session_list_free(list, n);

    /* settings */
    char *v;
    CHECK(mem_setting_get(s, "nothing", &v) == LS_OK && v == NULL, "unset setting");
    CHECK(mem_setting_set(s, "k", "v1") == LS_OK && mem_setting_set(s, "k", "v2") == LS_OK, "set");
    CHECK(mem_setting_get(s, "k", &v) == LS_OK && v && !strcmp(v, "v2"), "setting replaced");
    ls_free(v);

    /* cache: hit only when model, question and settings agree */
    mem_cache_entry e = { "k1", "m.gguf", "hello there", "temp=0", "Hi!", "greet back", "", qid, aid };
    CHECK(mem_cache_put(s, &e) == LS_OK, "cache put");
    mem_cached c;
    bool found;
    CHECK(mem_cache_get(s, "k1", "m.gguf", "hello there", "temp=0", &c, &found) == LS_OK && found &&
              !strcmp(c.answer, "Hi!") && c.n_hits == 0 && c.answer_id == aid,
          "cache hit");
    mem_cached_clear(&c);
    CHECK(mem_cache_get(s, "k1", "m.gguf", "hello there", "temp=0", &c, &found) == LS_OK && found && c.n_hits == 1,
          "hit counted");
    mem_cached_clear(&c);
    CHECK(mem_cache_get(s, "k1", "m.gguf", "hello there", "temp=1", &c, &found) == LS_OK && !found,
          "other settings: miss even with the same key");
    CHECK(mem_cache_get(s, "k2", "m.gguf", "hello there", "temp=0", &c, &found) == LS_OK && !found, "other key");

    /* telemetry and stats */
    for (int i = 1; i <= 20; i++) {
        mem_telemetry r = { .session_id = a, .command = "chat", .model = "m.gguf", .quant = "Q8_0",
                            .n_prompt = 10, .total_s = i, .ttft_s = i / 10.0, .tokens_per_s = 100 + i,
                            .stop = "end of turn", .peak_rss_bytes = 1 << 20 };
        CHECK(mem_telemetry_add(s, &r) == LS_OK, "telemetry %d", i);
    }
    mem_telemetry hit = { .model = "m.gguf", .total_s = 0.001, .cache_hit = true, .stop = "cached" };
    CHECK(mem_telemetry_add(s, &hit) == LS_OK, "telemetry of a cache hit");
    mem_telemetry other = { .model = "other.gguf", .total_s = 2, .ttft_s = 1, .tokens_per_s = 5 };
    CHECK(mem_telemetry_add(s, &other) == LS_OK, "telemetry other model");
    mem_model_stats *st;
    CHECK(mem_stats(s, &st, &n) == LS_OK && n == 2, "two models");
    if (n == 2) {
        const mem_model_stats *x = !strcmp(st[0].model, "m.gguf") ? &st[0] : &st[1];
        CHECK(x->n_requests == 21 && x->n_cache_hits == 1 && x->n_generated == 20, "counts %d %d %d", x->n_requests,
              x->n_cache_hits, x->n_generated);
        /* 21 totals: 0.001, 1..20 -> p50 = 11th = 10, p95 = 20th = 19 */
        CHECK(x->total_p50_s == 10 && x->total_p95_s == 19, "total p50 %g p95 %g", x->total_p50_s, x->total_p95_s);
        CHECK(x->ttft_p50_s > 0.99 && x->ttft_p50_s < 1.01 && x->ttft_p95_s > 1.89 && x->ttft_p95_s < 1.91,
              "ttft over generated only: %g %g", x->ttft_p50_s, x->ttft_p95_s);
        CHECK(x->tps_p50 == 110 && x->tps_p95 == 119, "tok/s %g %g", x->tps_p50, x->tps_p95);
    }
    mem_stats_free(st, n);

    /* deleting a session takes its messages and cache entries, keeps telemetry */
    CHECK(mem_session_delete(s, a) == LS_OK, "delete");
    CHECK(mem_session_delete(s, a) == LS_ERR_NOT_FOUND && strstr(ls_error_msg(), "no session"), "delete twice");
    CHECK(mem_session_get(s, a, &info) == LS_ERR_NOT_FOUND, "gone");
    CHECK(mem_messages(s, a, 0, &m, &n) == LS_OK && n == 0, "messages gone");
    CHECK(mem_cache_get(s, "k1", "m.gguf", "hello there", "temp=0", &c, &found) == LS_OK && !found,
          "cache entry gone with its question");
    mem_close(s);
    CHECK(count_rows(path, "SELECT count(*) FROM telemetry") == 22, "telemetry rows stay");
    CHECK(count_rows(path, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'story'") == 0,
          "the index forgot the deleted messages");
    CHECK(count_rows(path, "PRAGMA user_version") == MEM_SCHEMA_VERSION, "schema version");
    CHECK(integrity_ok(path), "integrity");
}

/* What localseek's first schema (version 1) wrote, as an older build would
 * have left it on a user's disk. */
static const char old_schema[] =
    "CREATE TABLE sessions (id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '',"
    " system TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT (datetime('now')),"
    " updated_at TEXT NOT NULL DEFAULT (datetime('now')));"
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE "
    "CASCADE, role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL, thinking TEXT NOT NULL "
    "DEFAULT '', n_tokens INTEGER NOT NULL DEFAULT -1, n_thinking_tokens INTEGER NOT NULL DEFAULT 0, model TEXT NOT "
    "NULL DEFAULT '', interrupted INTEGER NOT NULL DEFAULT 0, cached INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT "
    "NULL DEFAULT (datetime('now')));"
    "CREATE INDEX messages_by_session ON messages(session_id, id);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO sessions(id, title, model) VALUES (1, 'Trip', 'old.gguf');"
    "INSERT INTO messages(session_id, role, content) VALUES (1, 'user', 'I am flying to Lisbon on Friday.');"
    "INSERT INTO messages(session_id, role, content) VALUES (1, 'assistant', 'Have a good flight.');"
    "PRAGMA user_version = 1;";

static void test_migration(void)
{
    char path[512];
    path_in_dir(path, sizeof path, "old.db");
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, old_schema, NULL, NULL, NULL) == SQLITE_OK,
          "old file made");
    sqlite3_close(db);
    mem_store *s;
    CHECK(mem_open(path, &s) == LS_OK, "open old: %s", ls_error_msg());
    if (!s)
        return;
    mem_message *m;
    size_t n;
    CHECK(mem_messages(s, 1, 0, &m, &n) == LS_OK && n == 2 && !strcmp(m[0].content, "I am flying to Lisbon on Friday."),
          "old messages kept");
    mem_messages_free(m, n);
    mem_hit *h;
    CHECK(mem_retrieve(s, "When do I go to Lisbon?", NULL, &h, &n) == LS_OK && n == 1 && h[0].message_id == 1,
          "the new index covers the old messages (%zu hits)", n);
    mem_hits_free(h, n);
    mem_turn t = { .user = "and back?", .answer = "Sunday", .model = "new.gguf" };
    CHECK(mem_turn_save(s, 1, &t, NULL, NULL) == LS_OK, "new turn in the old session");
    mem_telemetry r = { .model = "new.gguf", .total_s = 1 };
    CHECK(mem_telemetry_add(s, &r) == LS_OK, "new table usable");
    mem_close(s);
    CHECK(count_rows(path, "PRAGMA user_version") == MEM_SCHEMA_VERSION, "upgraded to %d", MEM_SCHEMA_VERSION);
    CHECK(integrity_ok(path), "integrity after upgrade");

    /* a newer file is refused, untouched */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, "PRAGMA user_version = 99", 0, 0, 0) == SQLITE_OK,
          "made newer");
    sqlite3_close(db);
    CHECK(mem_open(path, &s) == LS_ERR_FORMAT && strstr(ls_error_msg(), "newer localseek"), "newer refused: %s",
          ls_error_msg());
    CHECK(count_rows(path, "PRAGMA user_version") == 99, "left as it was");

    /* not a database */
    path_in_dir(path, sizeof path, "notes.txt");
    FILE *f = fopen(path, "w");
    fputs("these are my notes, not a database; they must not be overwritten. ", f);
    for (int i = 0; i < 100; i++)
        fputs("more text ", f);
    fclose(f);
    CHECK(mem_open(path, &s) == LS_ERR_FORMAT && strstr(ls_error_msg(), "not a localseek memory file"),
          "not a database: %s", ls_error_msg());
    size_t nb;
    uint8_t *back = check_read_file(path, &nb);
    CHECK(back && !strncmp((char *)back, "these are my notes", 18), "file untouched");
    free(back);
}

/* User text is data: quotes, SQL and FTS syntax are stored and found as is. */
static void test_injection(void)
{
    char path[512];
    path_in_dir(path, sizeof path, "inject.db");
    mem_store *s;
    CHECK(mem_open(path, &s) == LS_OK, "open");
    if (!s)
        return;
    static const char *const evil[] = {
        "Robert'); DROP TABLE messages; --",
        "\" OR 1=1; DELETE FROM sessions; --",
        "'; UPDATE messages SET content = 'owned' WHERE '1'='1",
        "NEAR(a b) OR * AND \"unbalanced",
        "content:secret ^start col:*",
        "x\x01\x02\x7f; PRAGMA user_version = 0; ATTACH DATABASE '/tmp/x' AS y;",
    };
    int64_t id;
    mem_session_create(s, "'; DROP TABLE sessions; --", "\"system\"'", &id);
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        mem_turn t = { .user = evil[i], .answer = evil[(i + 1) % 6], .thinking = evil[(i + 2) % 6], .model = evil[i] };
        CHECK(mem_turn_save(s, id, &t, NULL, NULL) == LS_OK, "save %zu: %s", i, ls_error_msg());
        mem_hit *h;
        size_t n;
        CHECK(mem_retrieve(s, evil[i], NULL, &h, &n) == LS_OK, "search with %zu: %s", i, ls_error_msg());
        mem_hits_free(h, n);
    }
    mem_message *m;
    size_t n;
    CHECK(mem_messages(s, id, 0, &m, &n) == LS_OK && n == 12, "all stored (%zu)", n);
    for (size_t i = 0; i < n && n == 12; i++) {
        size_t k = i / 2;
        const char *want = i % 2 ? evil[(k + 1) % 6] : evil[k];
        CHECK(!strcmp(m[i].content, want), "verbatim %zu: '%s'", i, m[i].content);
    }
    mem_messages_free(m, n);
    mem_session info;
    CHECK(mem_session_get(s, id, &info) == LS_OK && !strcmp(info.model, "'; DROP TABLE sessions; --"),
          "session model verbatim");
    mem_session_clear(&info);
    mem_close(s);
    CHECK(count_rows(path, "PRAGMA user_version") == MEM_SCHEMA_VERSION, "schema untouched");
    CHECK(count_rows(path, "SELECT count(*) FROM sessions") == 1, "tables intact");

    char q[256];
    mem_fts_query("What's \"Bob's\" NEAR(x) col:* AND y?", q, sizeof q);
    CHECK(!strcmp(q, "\"bob\" OR \"near\" OR \"col\" OR \"y\"") || !strcmp(q, "\"bob\" OR \"near\" OR \"col\""),
          "query words quoted, syntax dropped: %s", q);
    CHECK(mem_fts_query("What is it?", q, sizeof q) == 0 && q[0] == 0, "only common words: no query");
    CHECK(mem_fts_query("Zürich et 東京", q, sizeof q) > 0 && strstr(q, "\"zürich\"") && strstr(q, "\"東京\""),
          "non-ASCII words kept whole: %s", q);
}

/* A word found in most messages is left out of the search (it would cost
 * the most and weigh the least); the rare word still finds its message. */
static void test_common_words(void)
{
    char path[512];
    path_in_dir(path, sizeof path, "common.db");
    mem_store *s;
    CHECK(mem_open(path, &s) == LS_OK, "open");
    if (!s)
        return;
    CHECK(mem_set_durable(s, false) == LS_OK, "no fsync while filling");
    int64_t id;
    mem_session_create(s, "m", "", &id);
    char text[128];
    for (int i = 0; i < 5000; i++) {
        snprintf(text, sizeof text, "weather report number %d", i);
        mem_turn t = { .user = text, .answer = i == 2500 ? "the zebra escaped from the weather station" : "noted",
                       .model = "m" };
        if (mem_turn_save(s, id, &t, NULL, NULL))
            break;
    }
    mem_hit *h;
    size_t n;
    CHECK(mem_retrieve(s, "weather zebra", NULL, &h, &n) == LS_OK && n >= 1 && strstr(h[0].content, "zebra"),
          "the rare word finds its message first (%zu hits)", n);
    mem_hits_free(h, n);
    CHECK(mem_retrieve(s, "weather report", NULL, &h, &n) == LS_OK && n == 0,
          "only words in thousands of messages: nothing specific to recall (%zu hits)", n);
    mem_hits_free(h, n);
    mem_close(s);
}

/* Another writer holds the file; the disk fills up. */
static void test_busy_and_full(void)
{
    char path[512];
    path_in_dir(path, sizeof path, "busy.db");
    mem_store *s;
    CHECK(mem_open(path, &s) == LS_OK, "open");
    if (!s)
        return;
    int64_t id;
    mem_session_create(s, "m", "", &id);
    mem_turn t = { .user = "first", .answer = "kept", .model = "m" };
    CHECK(mem_turn_save(s, id, &t, NULL, NULL) == LS_OK, "first turn");

    sqlite3 *other;
    sqlite3_open(path, &other);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "other process takes the lock");
    mem_turn t2 = { .user = "second", .answer = "waits", .model = "m" };
    CHECK(mem_turn_save(s, id, &t2, NULL, NULL) == LS_ERR_IO && strstr(ls_error_msg(), "in use by another process"),
          "busy said: %s", ls_error_msg());
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    CHECK(mem_turn_save(s, id, &t2, NULL, NULL) == LS_OK, "after the lock is gone: %s", ls_error_msg());

    /* A full disk, made with SQLite's page limit (the same SQLITE_FULL). */
    sqlite3 *db = mem_db(s);
    sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL); /* at most what it has now */
    size_t big = 1 << 20;
    char *text = malloc(big + 1);
    memset(text, 'a', big);
    text[big] = 0;
    mem_turn t3 = { .user = text, .answer = "x", .model = "m" };
    CHECK(mem_turn_save(s, id, &t3, NULL, NULL) == LS_ERR_IO && strstr(ls_error_msg(), "is full"),
          "full disk said: %s", ls_error_msg());
    free(text);
    mem_message *m;
    size_t n;
    CHECK(mem_messages(s, id, 0, &m, &n) == LS_OK && n == 4, "earlier turns intact after the failure (%zu)", n);
    mem_messages_free(m, n);
    mem_close(s);
    CHECK(integrity_ok(path), "integrity after a full disk");

    if (getuid() != 0) { /* root writes read-only files anyway */
        chmod(path, 0444);
        mem_store *ro = NULL;
        ls_status st = mem_open(path, &ro);
        if (!st) {
            mem_turn t4 = { .user = "q", .answer = "a", .model = "m" };
            st = mem_turn_save(ro, id, &t4, NULL, NULL);
        }
        CHECK(st == LS_ERR_IO && strstr(ls_error_msg(), "read-only"), "read-only said: %s", ls_error_msg());
        mem_close(ro);
        chmod(path, 0644);
    } else {
        printf("note: running as root, the read-only case is not testable here\n");
    }
}

/* A child saves turns as fast as it can and reports each commit through a
 * pipe; it is killed with SIGKILL at a random moment. Every turn it reported
 * must be there, and the file must be sound. Repeated with different timing. */
static void test_kill(void)
{
    char path[512];
    path_in_dir(path, sizeof path, "kill.db");
    unlink(path);
    srand((unsigned)time(NULL));
    int total_reported = 0;
    for (int round = 0; round < 6; round++) {
        int fd[2];
        if (pipe(fd) != 0)
            return;
        pid_t pid = fork();
        if (pid == 0) {
            close(fd[0]);
            mem_store *s;
            if (mem_open(path, &s))
                _exit(3);
            int64_t id;
            if (mem_session_create(s, "m", "", &id))
                _exit(4);
            char text[4096];
            for (int i = 0;; i++) {
                snprintf(text, sizeof text, "round %d turn %d %0*d", round, i, 2000 + (i % 7) * 100, i);
                mem_turn t = { .user = text, .answer = text, .thinking = text, .model = "m" };
                if (mem_turn_save(s, id, &t, NULL, NULL))
                    _exit(5);
                int64_t msg = id; /* report the commit only after it returned */
                if (write(fd[1], &msg, sizeof msg) != sizeof msg)
                    _exit(6);
            }
        }
        close(fd[1]);
        usleep(20000 + (useconds_t)(rand() % 150000));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        int reported = 0;
        int64_t sid = 0, got;
        while (read(fd[0], &got, sizeof got) == sizeof got) {
            reported++;
            sid = got;
        }
        close(fd[0]);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %d: child killed (status %d)", round, status);
        mem_store *s;
        CHECK(mem_open(path, &s) == LS_OK, "round %d: opens after the kill: %s", round, ls_error_msg());
        if (!s)
            continue;
        mem_message *m;
        size_t n = 0;
        if (sid) {
            CHECK(mem_messages(s, sid, 0, &m, &n) == LS_OK, "read");
            CHECK(n >= 2 * (size_t)reported && n % 2 == 0, "round %d: %d turns reported, %zu messages: whole turns only",
                  round, reported, n);
            mem_messages_free(m, n);
        }
        mem_close(s);
        CHECK(integrity_ok(path), "round %d: integrity", round);
        total_reported += reported;
    }
    CHECK(total_reported > 0, "the children committed something (%d turns)", total_reported);
    printf("kill test: %d turns committed before the kills, all found\n", total_reported);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/localseek_store_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_migration();
    test_injection();
    test_common_words();
    test_busy_and_full();
    test_kill();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
