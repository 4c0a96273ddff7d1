/* chat.h — a conversation and the model seats that answer it.
 *
 * Two objects. A chat is the conversation itself: the system text and the
 * list of user and assistant messages, and no model — any engine can render
 * it, so a conversation can move from one model to another between turns. A
 * chat seat is one engine's place at a conversation: its own KV cache (a
 * sequence of the engine's runner), its generation loop, and how much of the
 * conversation it had to leave out. For each new user message, chat_send()
 * with a chat and a seat does what a person expects of a chat program:
 *   1. renders the whole conversation with the model's chat template
 *      (template.h) and encodes it, template markers as special tokens and
 *      everybody's words as plain text;
 *   2. fits it into the context window: if it is too long, the oldest turns
 *      are left out (never the system text, never the new message) and the
 *      caller is told in one sentence; a single message too long for the
 *      window is refused with its size and the limit;
 *   3. re-uses its work: the KV cache still holds the tokens of the previous
 *      turn, so only the tokens after the longest common prefix of the new
 *      prompt and the cache are processed (turn 5 of a conversation costs the
 *      new message, not the whole conversation);
 *   4. generates with the one generation loop (generation.h: thinking kept
 *      apart from the answer, thinking budget, answer limit, stop strings,
 *      end of turn, cancellation, time limit);
 *   5. stores the answer (and, apart, the thinking) as the assistant message.
 * Earlier thoughts are never sent back to the model (the R1 templates drop
 * them; here the stored content simply does not hold them), but they stay
 * available to the user through chat_message().
 *
 * Owns: a chat owns copies of every message; a seat its KV cache and
 * generation loop. Does not: own the engine (the caller keeps it alive
 * longer than its seats), read the terminal, or store anything on disk (the
 * memory layer does).
 * Called by: orchestrator/conversation.c (the request path), apps (bench
 * --chat), later the server.
 */
#ifndef LS_CHAT_H
#define LS_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "generate/engine.h"
#include "generate/generation.h"
#include "generate/template.h"
#include "tokenizer/tokenizer.h"

/* How a seat answers. */
typedef struct {
    int n_ctx;              /* the seat's window in tokens (its KV cache); 0: the engine's,
                               never more than the engine's */
    gen_params gen;         /* sampling, limits, stop strings, time limit: start from chat_default_params() */
} chat_params;

/* Defaults for `family` (TPL_UNKNOWN: generic ones): the engine's window,
 * the family's recommended sampling (DeepSeek-R1: temperature 0.6, top-p
 * 0.95), no answer limit, the default thinking budget (generation.h), no
 * stop strings. */
chat_params chat_default_params(tpl_family family);

/* One user message rendered with family's template and the generation
 * prompt, encoded (for one-shot use: `localseek run`). The caller frees *ids
 * with ls_free(). Errors as tpl_render / tpl_encode. */
ls_status chat_encode_single(const tok_tokenizer *tok, tpl_family family, const char *user_text, int32_t **ids,
                             size_t *n_ids);

typedef struct {
    gen_result gen;        /* the prompt (the rendered conversation), reuse, tokens, stop, times */
    int n_dropped;         /* old messages left out to fit the context */
    double t_total_s;
} chat_turn_stats;

typedef struct chat chat;
typedef struct chat_seat chat_seat;

/* An empty conversation with an optional system text (copied). Caller frees
 * with chat_free(). LS_ERR_NOMEM. */
ls_status chat_create(const char *system, chat **out);
void chat_free(chat *c); /* chat_free(NULL) is a no-op */

/* A seat on engine `e` (which must outlive it), with the engine's template
 * family (ChatML when the engine has none). Caller frees with
 * chat_seat_free(). Errors: LS_ERR_ARG (a window larger than the engine's,
 * bad sampling values, too many stop strings), LS_ERR_NOMEM. */
ls_status chat_seat_create(engine *e, const chat_params *p, chat_seat **out);
void chat_seat_free(chat_seat *s); /* chat_seat_free(NULL) is a no-op */

/* Sends one user message and streams the answer through `cb`. On success
 * the user message and the answer are both in the conversation (an answer
 * cut short is kept, and st->stop says why). On failure nothing is added and
 * ls_error_msg() has the sentence: LS_ERR_LIMIT when the message alone does
 * not fit the context window (with both sizes and a suggestion), LS_ERR_NOMEM,
 * LS_ERR_ARG. */
ls_status chat_send(chat *c, chat_seat *seat, const char *user_text, const gen_callbacks *cb, chat_turn_stats *st);

/* The same, with notes recalled from memory given to the model together with
 * this message (placed before the user's words in the same turn, and kept
 * with it while the turn stays in the prompt, so later turns still re-use
 * the KV cache). `memory` may be NULL or "". chat_get_message() shows it. */
ls_status chat_send_with_memory(chat *c, chat_seat *seat, const char *user_text, const char *memory,
                                const gen_callbacks *cb, chat_turn_stats *st);

/* Appends a message to the conversation without running the model (to
 * resume a stored conversation): role "user" or "assistant"; `thinking` may
 * be NULL. The next chat_send() processes it with the rest of the prompt.
 * LS_ERR_ARG for another role, LS_ERR_NOMEM. */
ls_status chat_add_message(chat *c, const char *role, const char *content, const char *thinking);

/* A question and its answer at once (both or neither): an answer given from
 * elsewhere (the response cache). Errors as chat_add_message. */
ls_status chat_add_turn(chat *c, const char *user, const char *answer, const char *thinking);

/* Removes the last question and its answer (to answer it again); false when
 * the conversation does not end with a question and an answer. */
bool chat_drop_last_turn(chat *c);

/* Forgets the conversation (keeps the system text; a seat's KV cache keeps
 * its tokens, whose common prefix the next turn still re-uses). */
void chat_reset(chat *c);

/* Replaces the system text (NULL: none). LS_ERR_NOMEM. */
ls_status chat_set_system(chat *c, const char *system);

const char *chat_system(const chat *c); /* NULL when there is none */

/* The conversation so far (system text not included). */
typedef struct {
    const char *role;      /* "user" or "assistant" */
    const char *content;   /* what was said (for an assistant: the answer only) */
    const char *thinking;  /* assistant only: its thoughts, "" if none */
    const char *memory;    /* user only: notes from memory given with it, or NULL */
    bool interrupted;      /* assistant only: cut short (st->stop was not end of turn) */
} chat_message;

size_t chat_n_messages(const chat *c);
chat_message chat_get_message(const chat *c, size_t i); /* i < chat_n_messages() */

/* ---- a seat ---- */
/* Changes the thinking budget (-1: the default) for the next turns. */
void chat_seat_set_think_budget(chat_seat *s, int budget);
/* Restarts the sampler (a new conversation at the same seat). */
void chat_seat_reset(chat_seat *s);
/* The settings in use (the thinking budget as changed since); strings point
 * into the seat. */
chat_params chat_seat_params(const chat_seat *s);
tpl_family chat_seat_family(const chat_seat *s);
engine *chat_seat_engine(const chat_seat *s);
/* The text of the last prompt rendered (what the model was given), "" before
 * the first turn. Valid until the next chat_send(). */
const char *chat_seat_last_prompt(const chat_seat *s);
int chat_seat_n_cached(const chat_seat *s); /* tokens in the KV cache now */

#endif
