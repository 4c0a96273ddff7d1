/* cmd_memory.c — `localseek history`, `localseek sessions`, `localseek stats`:
 * reading the memory file from the shell.
 *
 *   history [--session S] [-n N] [--json] [--db PATH]   a session's messages
 *           (default: the most recently active session)
 *   sessions [-n N] [--json] [--db PATH]                 the sessions, newest first
 *   stats [--json] [--db PATH]                           per model: requests, cache
 *           hits, p50/p95 of total time, time to first token and tokens/s
 *
 * The printing (tables and JSON) is memory_view.c's. Exit status: 0 ok,
 * 1 the file cannot be read or the session does not exist, 2 bad usage.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/memory_view.h"
#include "base/alloc.h"

/* ======================================================================== */
/* The commands                                                              */
/* ======================================================================== */

typedef struct {
    const char *db;
    bool json;
    long n, session;
} mem_opts;

/* Shared option loop: --db, --json, -n and (history only) --session. */
static int parse(const char *cmd, int argc, char **argv, bool with_session, bool with_n, const char *usage,
                 mem_opts *o)
{
    *o = (mem_opts){ 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        bool known = !strcmp(a, "--db") || (with_n && !strcmp(a, "-n")) || (with_session && !strcmp(a, "--session"));
        if (!known) {
            fprintf(stderr, "localseek %s: unknown option '%s'\n%s", cmd, a, usage);
            return 2;
        }
        if (!(v = cli_value(cmd, argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--db"))
            o->db = v;
        else if (!strcmp(a, "-n") && !cli_int(cmd, a, v, 1, 1L << 30, &o->n))
            return 2;
        else if (!strcmp(a, "--session") && !cli_int(cmd, a, v, 1, LONG_MAX, &o->session))
            return 2;
    }
    return -1;
}

int cmd_history(int argc, char **argv)
{
    static const char usage[] =
        "usage: localseek history [--session S] [-n N] [--json] [--db PATH]\n"
        "  the messages of session S (default: the most recently active one), the last N of them\n";
    mem_opts o;
    int rc = parse("history", argc, argv, true, true, usage, &o);
    if (rc >= 0)
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
    static const char usage[] = "usage: localseek sessions [-n N] [--json] [--db PATH]\n"
                                "  the stored conversations, most recently active first\n";
    mem_opts o;
    int rc = parse("sessions", argc, argv, false, true, usage, &o);
    if (rc >= 0)
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
    static const char usage[] = "usage: localseek stats [--json] [--db PATH]\n"
                                "  per model: requests, cache hits, p50/p95 of latency, time to first token and "
                                "tokens/s\n";
    mem_opts o;
    int rc = parse("stats", argc, argv, false, false, usage, &o);
    if (rc >= 0)
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
    view_stats(stdout, list, n, o.json);
    mem_stats_free(list, n);
    mem_close(s);
    return 0;
}
