/* cmd_memory.c — `localseek history`, `localseek sessions`, `localseek stats`:
 * reading the memory file from the shell.
 *
 *   history [--session S] [-n N] [--json] [--db PATH]   a session's messages
 *           (default: the most recently active session)
 *   sessions [-n N] [--json] [--db PATH]                 the sessions, newest first
 *   stats [--json] [--db PATH]                           per model: requests, cache
 *           hits, p50/p95 of total time, time to first token and tokens/s
 *
 * The printing (tables and JSON) is memory_view.c's; the file is read
 * through the public API alone (localseek.h: "the memory file"). Exit
 * status: 0 ok, 1 the file cannot be read or the session does not exist,
 * 2 bad usage.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "apps/memory_view.h"
#include "apps/options.h"
#include "localseek.h"

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
    ls_memory *s = view_open_memory("history", o.db);
    if (!s)
        return 1;
    int64_t id = o.session;
    ls_stored_message *msgs = NULL;
    size_t n = 0;
    ls_status st = id ? LS_OK : ls_memory_latest_session(s, &id);
    if (!st && id == 0) {
        if (o.json)
            puts("[]");
        else
            puts("no conversations yet");
        ls_memory_close(s);
        return 0;
    }
    ls_session info = { 0 };
    if (!st)
        st = ls_memory_get_session(s, id, &info);
    if (!st)
        st = ls_memory_messages(s, id, (int)o.n, &msgs, &n);
    if (st) {
        fprintf(stderr, "localseek history: %s\n", ls_error_msg());
        ls_memory_close(s);
        return 1;
    }
    if (!o.json)
        printf("session %" PRId64 " — %s, started %s, %d messages\n\n", id, info.model, info.created_at,
               info.n_messages);
    view_messages(stdout, msgs, n, o.json, false);
    ls_session_clear(&info);
    ls_stored_message_list_free(msgs, n);
    ls_memory_close(s);
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
    ls_memory *s = view_open_memory("sessions", o.db);
    if (!s)
        return 1;
    ls_session *list;
    size_t n;
    if (ls_memory_list_sessions(s, (int)o.n, &list, &n)) {
        fprintf(stderr, "localseek sessions: %s\n", ls_error_msg());
        ls_memory_close(s);
        return 1;
    }
    view_sessions(stdout, list, n, 0, o.json);
    ls_session_list_free(list, n);
    ls_memory_close(s);
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    mem_opts o;
    int rc = parse("stats", argc, argv, false, NULL, "localseek stats [--json] [--db PATH]",
                   "Per model: requests, cache hits, p50/p95 of latency, time to first token and tokens/s.\n", &o);
    if (rc != OPT_GO_ON)
        return rc;
    ls_memory *s = view_open_memory("stats", o.db);
    if (!s)
        return 1;
    ls_model_stats *list;
    size_t n;
    if (ls_memory_stats(s, &list, &n)) {
        fprintf(stderr, "localseek stats: %s\n", ls_error_msg());
        ls_memory_close(s);
        return 1;
    }
    view_stats(stdout, list, n, o.json);
    ls_model_stats_list_free(list, n);
    ls_memory_close(s);
    return 0;
}
