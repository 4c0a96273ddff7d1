/* conversation.h — one question's path: cache, memory, model, save.
 *
 * A conversation is the messages (a chat, generate/chat.h), the notes
 * recalled for the last question and the session id in the memory file — and
 * no model: each question names the seat that answers it (an engine's place
 * at the conversation, chat.h), so the next question may go to another
 * model. This module adds what makes it an assistant with a memory. Each
 * question is a request that walks a table of steps (conversation.c), each a
 * function that returns the next step, each timed and logged — today's
 * steps of DESIGN.md's request path:
 *
 *   CACHE?    the same question, asked in the same situation (same model,
 *             settings, system text and earlier turns, and the same notes
 *             recalled from memory) was answered before: give that answer at
 *             once, marked as cached with its date;
 *   RETRIEVE  look up earlier messages from any session that share the
 *             question's words (memory/retrieve.h) and keep the best that fit
 *             a token budget, as labelled notes;
 *   GENERATE  the seat renders the conversation (recent turns that fit its
 *             window), adds the notes to this turn and generates;
 *   SAVE      the question and answer are committed to the store in one
 *             transaction, the answer goes into the cache (complete answers
 *             only), and one telemetry row records the request.
 *
 * ROUTE (which role answers), LOAD (the model manager) and VALIDATE (check
 * the answer, retry or escalate) are the steps the orchestrator adds between
 * them; the table is where they plug in.
 *
 * Sessions are created in the store lazily, on the first saved turn, so
 * opening and closing the chat leaves no empty sessions behind. Without a
 * store (--no-memory and nowhere to save) the steps that need it are skipped.
 *
 * Owns: the messages, the session id, the ids of the stored messages, the
 * last recall. Does not: own the seats or the store (the caller keeps them
 * alive longer), print anything (notes go through the callbacks' on_note).
 * Called by: apps (`localseek chat`), later the server.
 */
#ifndef LS_CONVERSATION_H
#define LS_CONVERSATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "generate/chat.h"
#include "memory/retrieve.h"
#include "memory/store.h"
#include "tokenizer/tokenizer.h"

typedef struct {
    const char *model_name;  /* a label for the answering model, stored with answers and in telemetry
                                (NULL: the seat's file name) */
    uint64_t model_bytes;    /* part of the cache key (a re-quantized file differs); 0: the file's size */
    const char *quant;       /* "Q4_K_M", for telemetry; NULL: the file's */
    const char *command;     /* "chat", for telemetry */
    bool recall;             /* retrieve notes from earlier messages (--no-memory: false) */
    int memory_tokens;       /* budget for the notes, in tokens (default 512) */
    bool cache;              /* answer repeats from the response cache (--no-cache: false) */
} conv_options;

conv_options conv_default_options(void);

/* A note recalled for the last question. */
typedef struct {
    int64_t message_id, session_id;
    double score;
    int n_tokens;
    const char *role, *created_at, *content;
} conv_note;

typedef struct {
    chat_turn_stats chat;    /* as chat_send() reports (zeros when cached) */
    bool cached;             /* answered from the response cache */
    char cached_at[32];      /* when the cached answer was first given */
    int n_notes;             /* notes from memory given to the model */
    double t_retrieve_s, t_save_s, t_total_s;
    bool saved;              /* false: the store failed; save_error says why */
    char save_error[512];
} conv_turn;

typedef struct conv conv;

/* An empty conversation with an optional system text. `store` may be NULL
 * (nothing is saved, recalled or cached) and must outlive the conversation.
 * Caller frees with conv_free(). LS_ERR_NOMEM. */
ls_status conv_create(const char *system, mem_store *store, const conv_options *o, conv **out);
void conv_free(conv *v); /* conv_free(NULL) is a no-op */
/* The messages (to read them, change the system text, add stored ones). */
chat *conv_chat(conv *v);

/* Asks one question, answered at `seat` (an engine's place at this
 * conversation; any seat, any engine, question by question). Errors are the
 * chat's (nothing added then: see chat_send); a store failure after the
 * answer is not an error — the answer stays in the conversation and
 * out->saved is false with the reason. */
ls_status conv_ask(conv *v, chat_seat *seat, const char *text, const gen_callbacks *cb, conv_turn *out);

/* Answers the last question again with the cache off for that one question
 * (`/nocache` after a cached answer): the cached turn is removed from the
 * conversation and the store first. LS_ERR_ARG when the last answer was not
 * from the cache. */
ls_status conv_regenerate(conv *v, chat_seat *seat, const gen_callbacks *cb, conv_turn *out);

void conv_set_cache(conv *v, bool on);
bool conv_last_was_cached(const conv *v);

/* A new, empty session (the old one stays in the store). */
void conv_new_session(conv *v);
/* Loads a stored session's messages into the conversation and continues it.
 * LS_ERR_NOT_FOUND with a sentence for an unknown id. */
ls_status conv_resume(conv *v, int64_t session_id);
/* Deletes a stored session; when it is the current one, a new session starts. */
ls_status conv_forget(conv *v, int64_t session_id);
/* The current session's id in the store; 0 until its first turn is saved. */
int64_t conv_session(const conv *v);

/* The notes recalled for the last question (valid until the next ask). */
size_t conv_n_notes(const conv *v);
conv_note conv_get_note(const conv *v, size_t i);

#endif
