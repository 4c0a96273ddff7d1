/* memory_view.c — the printers behind history, sessions and stats (and the
 * chat's /history and /sessions), and opening the memory file for a command.
 *
 * Tables are plain printf columns; JSON is built with cJSON (escaping done
 * right once) and printed indented, one value per call. Nothing here keeps
 * state: each function prints what it is given and returns.
 */
#include "apps/memory_view.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Opening the file                                                          */
/* ======================================================================== */

ls_memory *view_open_memory(const char *cmd, const char *db_path)
{
    ls_memory *mem;
    if (ls_memory_open(db_path, &mem)) {
        fprintf(stderr, "localseek %s: %s\n", cmd, ls_error_msg());
        return NULL;
    }
    return mem;
}

/* ======================================================================== */
/* Printers                                                                  */
/* ======================================================================== */

/* Prints a JSON value and frees it; "null" if building it ran out of memory. */
static void print_json(FILE *out, cJSON *j)
{
    char *text = j ? cJSON_Print(j) : NULL;
    fprintf(out, "%s\n", text ? text : "null");
    free(text);
    cJSON_Delete(j);
}

void view_messages(FILE *out, const ls_stored_message *msgs, size_t n, bool json, bool color)
{
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < n; i++) {
            const ls_stored_message *m = &msgs[i];
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
        const ls_stored_message *m = &msgs[i];
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

void view_sessions(FILE *out, const ls_session *list, size_t n, int64_t current, bool json)
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
        const ls_session *x = &list[i];
        fprintf(out, "%c %-6" PRId64 " %-19s %8d  %-28.28s %s\n", x->id == current ? '*' : ' ', x->id, x->updated_at,
                x->n_messages, x->model, x->title);
    }
}

void view_stats(FILE *out, const ls_model_stats *list, size_t n, bool json)
{
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < n; i++) {
            const ls_model_stats *m = &list[i];
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "model", m->model);
            cJSON_AddNumberToObject(j, "requests", m->n_requests);
            cJSON_AddNumberToObject(j, "cache_hits", m->n_cache_hits);
            cJSON_AddNumberToObject(j, "generated", m->n_generated);
            cJSON_AddNumberToObject(j, "total_p50_s", m->total_p50_s);
            cJSON_AddNumberToObject(j, "total_p95_s", m->total_p95_s);
            cJSON_AddNumberToObject(j, "ttft_p50_s", m->ttft_p50_s);
            cJSON_AddNumberToObject(j, "ttft_p95_s", m->ttft_p95_s);
            cJSON_AddNumberToObject(j, "tokens_per_s_p50", m->tokens_per_s_p50);
            cJSON_AddNumberToObject(j, "tokens_per_s_p95", m->tokens_per_s_p95);
            cJSON_AddItemToArray(arr, j);
        }
        print_json(out, arr);
    } else if (n == 0) {
        fputs("no requests recorded yet\n", out);
    } else {
        fprintf(out, "%-28s %8s %6s  %-17s %-17s %-15s\n", "model", "requests", "cached", "latency p50/p95",
                "1st token p50/p95", "tok/s p50/p95");
        for (size_t i = 0; i < n; i++) {
            const ls_model_stats *m = &list[i];
            fprintf(out, "%-28.28s %8d %6d  %6.2f / %6.2f s  %6.2f / %6.2f s  %6.1f / %6.1f\n", m->model,
                    m->n_requests, m->n_cache_hits, m->total_p50_s, m->total_p95_s, m->ttft_p50_s, m->ttft_p95_s,
                    m->tokens_per_s_p50, m->tokens_per_s_p95);
        }
        fputs("(p95 of tokens/s is the 95th percentile of the speeds: the faster end)\n", out);
    }
}
