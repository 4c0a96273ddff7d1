/* memory_view.h — showing what the memory file holds, for people and scripts.
 *
 * The commands `localseek history`, `sessions` and `stats` and the chat's
 * /history and /sessions print through these, so a session looks the same
 * wherever it is shown. Also the one way commands open the memory file
 * (--db PATH or the default place), with the error said once. Everything
 * here goes through the public API (localseek.h: "the memory file").
 *
 * Implemented in memory_view.c. Called by: cmd_memory.c, cmd_chat.c.
 */
#ifndef LS_MEMORY_VIEW_H
#define LS_MEMORY_VIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "localseek.h"

/* Opens `db_path` (NULL: the default file). On failure prints
 * "localseek CMD: <sentence>" on stderr and returns NULL. Caller closes it
 * with ls_memory_close(). */
ls_memory *view_open_memory(const char *cmd, const char *db_path);

/* Messages as a transcript ("[date] you: ...", thoughts summarized) or, with
 * json, one JSON array of message objects. */
void view_messages(FILE *out, const ls_stored_message *msgs, size_t n, bool json, bool color);
/* Sessions as a table (id, last activity, messages, model, title) or JSON. */
void view_sessions(FILE *out, const ls_session *list, size_t n, int64_t current, bool json);
/* Per-model statistics as a table (requests, cache hits, p50/p95 of latency,
 * time to first token, tokens/s) or JSON. */
void view_stats(FILE *out, const ls_model_stats *list, size_t n, bool json);

#endif
