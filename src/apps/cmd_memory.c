/* cmd_memory.c — `localseek history`, `localseek sessions`, `localseek stats`:
 * reading the memory file from the shell.
 *
 *   history [--session S] [-n N] [--json] [--db PATH]   a session's messages
 *           (default: the most recently active session)
 *   sessions [-n N] [--json] [--db PATH]                 the sessions, newest first
 *   stats [--json] [--db PATH]                           per model: requests, cache
 *           hits, p50/p95 of total time, time to first token and tokens/s
 *
 * JSON is written with cJSON (escaping done right once). Exit status: 0 ok,
 * 1 the file cannot be read or the session does not exist, 2 bad usage.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "apps/memory_view.h"
#include "apps/options.h"
#include "base/alloc.h"

/* ======================================================================== */
/* Shared printers                                                           */
/* ======================================================================== */

mem_store *view_open_store(const char *cmd, const char *db_path)
{
    char path[4096];
    if (!db_path) {
        if (mem_default_path(path, sizeof path)) {
            fprintf(stderr, "localseek %s: %s\n", cmd, ls_error_msg());
            return NULL;
        }
        db_path = path;
    }
    mem_store *s;
    if (mem_open(db_path, &s)) {
        fprintf(stderr, "localseek %s: %s\n", cmd, ls_error_msg());
        return NULL;
    }
    return s;
}

/* Prints a JSON value and frees it; "null" if building it ran out of memory. */
static void print_json(FILE *out, cJSON *j)
{
    char *text = j ? cJSON_Print(j) : NULL;
    fprintf(out, "%s\n", text ? text : "null");
    free(text);
    cJSON_Delete(j);
}

void view_messages(FILE *out, const mem_message *msgs, size_t n, bool json, bool color)
{
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < n; i++) {
            const mem_message *m = &msgs[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)m->id);
            cJSON_AddNumberToObject(o, "session", (double)m->session_id);
            cJSON_AddStringToObject(o, "role", m->role);
            cJSON_AddStringToObject(o, "content", m->content);
            cJSON_AddStringToObject(o, "thinking", m->thinking);
            cJSON_AddNumberToObject(o, "n_tokens", m->n_tokens);
            cJSON_AddNumberToObject(o, "n_thinking_tokens", m->n_thinking_tokens);
            cJSON_AddStringToObject(o, "model", m->model);
            cJSON_AddBoolToObject(o, "interrupted", m->interrupted);
            cJSON_AddBoolToObject(o, "cached", m->cached);
            cJSON_AddStringToObject(o, "created_at", m->created_at);
            cJSON_AddItemToArray(arr, o);
        }
        print_json(out, arr);
        return;
    }
    const char *dim = color ? "\033[2m" : "", *reset = color ? "\033[0m" : "";
    for (size_t i = 0; i < n; i++) {
        const mem_message *m = &msgs[i];
        bool user = strcmp(m->role, "user") == 0;
        fprintf(out, "%s[%s] #%" PRId64 " %s%s%s\n", dim, m->created_at, m->id, user ? "you" : "assistant",
                user ? "" : (m->cached ? " (from the cache)" : ""), reset);
        if (!user && *m->thinking)
            fprintf(out, "%s(thought for %d tokens)%s\n", dim, m->n_thinking_tokens, reset);
        fprintf(out, "%s\n", m->content);
        if (m->interrupted)
            fprintf(out, "%s(answer cut short)%s\n", dim, reset);
        fputc('\n', out);
    }
}

void view_sessions(FILE *out, const mem_session *list, size_t n, int64_t current, bool json)
{
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)list[i].id);
            cJSON_AddStringToObject(o, "title", list[i].title);
            cJSON_AddStringToObject(o, "model", list[i].model);
            cJSON_AddStringToObject(o, "created_at", list[i].created_at);
            cJSON_AddStringToObject(o, "updated_at", list[i].updated_at);
            cJSON_AddNumberToObject(o, "n_messages", list[i].n_messages);
            cJSON_AddItemToArray(arr, o);
        }
        print_json(out, arr);
        return;
    }
    if (n == 0) {
        fputs("no sessions yet\n", out);
        return;
    }
    fprintf(out, "  %-6s %-19s %8s  %-28s %s\n", "id", "last activity", "messages", "model", "title");
    for (size_t i = 0; i < n; i++) {
        const mem_session *x = &list[i];
        fprintf(out, "%c %-6" PRId64 " %-19s %8d  %-28.28s %s\n", x->id == current ? '*' : ' ', x->id, x->updated_at,
                x->n_messages, x->model, x->title);
    }
}

/* ======================================================================== */
/* The commands                                                              */
/* ======================================================================== */

typedef struct {
    const char *db;
    bool json;
    long n, session;
} mem_opts;

/* The three commands' options: --db and --json in all, -n where `n_help`
 * says what N counts, --session in history only. Returns opt_parse()'s answer. */
static int parse(const char *cmd, int argc, char **argv, bool with_session, const char *n_help, const char *usage,
                 const char *intro, mem_opts *o)
{
    *o = (mem_opts){ 0 };
    opt_def defs[4];
    size_t n = 0;
    if (with_session)
        defs[n++] = (opt_def){ .kind = OPT_INT, .name = "--session", .value_name = "S", .i = &o->session, .lo = 1,
                               .hi = LONG_MAX, .help = "the session to show", .dflt = "the most recently active" };
    if (n_help)
        defs[n++] = (opt_def){ .kind = OPT_INT, .name = "-n", .value_name = "N", .i = &o->n, .lo = 1,
                               .hi = 1L << 30, .help = n_help, .dflt = "all" };
    defs[n++] = opt_json(&o->json);
    defs[n++] = opt_db(&o->db);
    const opt_spec spec = { .cmd = cmd, .usage = usage, .intro = intro, .defs = defs, .n_defs = n };
    return opt_parse(&spec, argc, argv);
}

int cmd_history(int argc, char **argv)
{
    mem_opts o;
    int rc = parse("history", argc, argv, true, "only the last N messages",
                   "localseek history [--session S] [-n N] [--json] [--db PATH]",
                   "The messages of a stored conversation, oldest first.\n", &o);
    if (rc != OPT_GO_ON)
        return rc;
    mem_store *s = view_open_store("history", o.db);
    if (!s)
        return 1;
    int64_t id = o.session;
    mem_message *msgs = NULL;
    size_t n = 0;
    ls_status st = id ? LS_OK : mem_session_latest(s, &id);
    if (!st && id == 0) {
        if (o.json)
            puts("[]");
        else
            puts("no conversations yet");
        mem_close(s);
        return 0;
    }
    mem_session info = { 0 };
    if (!st)
        st = mem_session_get(s, id, &info);
    if (!st)
        st = mem_messages(s, id, (int)o.n, &msgs, &n);
    if (st) {
        fprintf(stderr, "localseek history: %s\n", ls_error_msg());
        mem_close(s);
        return 1;
    }
    if (!o.json)
        printf("session %" PRId64 " — %s, started %s, %d messages\n\n", id, info.model, info.created_at,
               info.n_messages);
    view_messages(stdout, msgs, n, o.json, false);
    mem_session_clear(&info);
    mem_messages_free(msgs, n);
    mem_close(s);
    return 0;
}

int cmd_sessions(int argc, char **argv)
{
    mem_opts o;
    int rc = parse("sessions", argc, argv, false, "only the N most recently active",
                   "localseek sessions [-n N] [--json] [--db PATH]",
                   "The stored conversations, most recently active first.\n", &o);
    if (rc != OPT_GO_ON)
        return rc;
    mem_store *s = view_open_store("sessions", o.db);
    if (!s)
        return 1;
    mem_session *list;
    size_t n;
    if (mem_session_list(s, (int)o.n, &list, &n)) {
        fprintf(stderr, "localseek sessions: %s\n", ls_error_msg());
        mem_close(s);
        return 1;
    }
    view_sessions(stdout, list, n, 0, o.json);
    mem_session_list_free(list, n);
    mem_close(s);
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    mem_opts o;
    int rc = parse("stats", argc, argv, false, NULL, "localseek stats [--json] [--db PATH]",
                   "Per model: requests, cache hits, p50/p95 of latency, time to first token and tokens/s.\n", &o);
    if (rc != OPT_GO_ON)
        return rc;
    mem_store *s = view_open_store("stats", o.db);
    if (!s)
        return 1;
    mem_model_stats *list;
    size_t n;
    if (mem_stats(s, &list, &n)) {
        fprintf(stderr, "localseek stats: %s\n", ls_error_msg());
        mem_close(s);
        return 1;
    }
    if (o.json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < n; i++) {
            const mem_model_stats *m = &list[i];
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "model", m->model);
            cJSON_AddNumberToObject(j, "requests", m->n_requests);
            cJSON_AddNumberToObject(j, "cache_hits", m->n_cache_hits);
            cJSON_AddNumberToObject(j, "generated", m->n_generated);
            cJSON_AddNumberToObject(j, "total_p50_s", m->total_p50_s);
            cJSON_AddNumberToObject(j, "total_p95_s", m->total_p95_s);
            cJSON_AddNumberToObject(j, "ttft_p50_s", m->ttft_p50_s);
            cJSON_AddNumberToObject(j, "ttft_p95_s", m->ttft_p95_s);
            cJSON_AddNumberToObject(j, "tokens_per_s_p50", m->tps_p50);
            cJSON_AddNumberToObject(j, "tokens_per_s_p95", m->tps_p95);
            cJSON_AddItemToArray(arr, j);
        }
        print_json(stdout, arr);
    } else if (n == 0) {
        puts("no requests recorded yet");
    } else {
        printf("%-28s %8s %6s  %-17s %-17s %-15s\n", "model", "requests", "cached", "latency p50/p95",
               "1st token p50/p95", "tok/s p50/p95");
        for (size_t i = 0; i < n; i++) {
            const mem_model_stats *m = &list[i];
            printf("%-28.28s %8d %6d  %6.2f / %6.2f s  %6.2f / %6.2f s  %6.1f / %6.1f\n", m->model, m->n_requests,
                   m->n_cache_hits, m->total_p50_s, m->total_p95_s, m->ttft_p50_s, m->ttft_p95_s, m->tps_p50,
                   m->tps_p95);
        }
        puts("(p95 of tokens/s is the 95th percentile of the speeds: the faster end)");
    }
    mem_stats_free(list, n);
    mem_close(s);
    return 0;
}
