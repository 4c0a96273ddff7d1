/* reasoning.h — keeping a reasoning model's thoughts apart from its answer.
 *
 * Reasoning models think aloud before they answer, inside tags:
 *     <think>
 *     The user asks for 2+2. That is 4.
 *     </think>
 *
 *     2 + 2 = 4.
 * DeepSeek-R1 distills are prompted with a text that already ends in
 * "<think>\n", so they start INSIDE their thoughts and the first tag they
 * write is "</think>" (create with starts_in_thought = true). Qwen3 writes
 * "<think>" itself, at the very start (starts_in_thought = false). This
 * module reads the generated text as it streams and says, for every piece,
 * whether it is THINKING or ANSWER, so the app can show thoughts dimmed or
 * hide them, store only the answer, and count how long the model thought.
 *
 * The rules, in order of the stream:
 *   - not starting in thought: whitespace at the very start is dropped; if
 *     the first other thing is "<think>", thinking begins; anything else
 *     means the model skipped thinking and everything is ANSWER;
 *   - in thought: text is THINKING until "</think>"; the tag itself is never
 *     delivered;
 *   - after "</think>" (or an injected close), whitespace is dropped until
 *     the first other character (the models write "</think>\n\n");
 *   - from then on everything is ANSWER, including a second "</think>" or a
 *     later "<think>": only the first close counts.
 * Tags may arrive as one special token's text or split over any number of
 * chunks ("</", "think", ">"). A part of a tag is held back only while it can
 * still become the tag: "a < b" releases "<" as soon as " b" arrives, so a
 * '<' is never held longer than the chunk that proves it is not a tag.
 *
 * Output goes to a callback, emit(ctx, part, text, n), called zero or more
 * times per push with n > 0, in stream order, and only from rsn_push,
 * rsn_close_injected and rsn_flush. `text` is valid during the call only.
 *
 * Counting tokens. The chat loop calls rsn_push once per generated token
 * with that token's text (possibly empty: a token that is half a character),
 * so the splitter can count tokens per part: a token counts where the stream
 * was when it arrived (the "</think>" token is a thinking token). At the very
 * start, while it is not yet known whether the model opens "<think>", tokens
 * wait and are counted as soon as that is decided.
 *
 * A thinking budget. rsn_budget_reached() says when the model has thought
 * for N tokens; the chat loop then feeds RSN_FORCED_CLOSE to the model as
 * input (it is not generated, so it never passes through rsn_push) and calls
 * rsn_close_injected(), which switches to the answer.
 *
 * Owns: a small state block (no text buffers: a held partial tag is always a
 * prefix of the tag, so it is re-emitted from the constant).
 * Does not: tokenize, print, or decide the budget (the chat loop does).
 * Called by: the chat loop, after the streaming detokenizer and any stop-string
 * matcher.
 */
#ifndef LS_REASONING_H
#define LS_REASONING_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

#define RSN_OPEN_TAG "<think>"
#define RSN_CLOSE_TAG "</think>"
/* What the chat loop feeds the model to end its thoughts when the budget runs
 * out: a newline (the thought may end mid-line), the tag, and the blank line
 * the models themselves write before answering. */
#define RSN_FORCED_CLOSE "\n</think>\n\n"

typedef enum { RSN_THINKING, RSN_ANSWER } rsn_part;

typedef void (*rsn_emit_fn)(void *ctx, rsn_part part, const char *text, size_t n);

typedef struct rsn rsn;

typedef struct {
    bool in_thought;       /* inside the thoughts now; still true after rsn_flush()
                              if the model never closed them ("did not finish thinking") */
    bool thought;          /* there was a thinking part (started in one or opened one) */
    bool closed;           /* the thoughts were closed, by "</think>" or an injected close */
    bool close_injected;   /* closed by rsn_close_injected() (the budget ran out) */
    int n_thinking_tokens; /* tokens counted as THINKING (tags included) */
    int n_answer_tokens;   /* tokens counted as ANSWER (dropped whitespace included) */
} rsn_state;

/* Caller frees *out with rsn_free(). `emit` receives the classified text;
 * `ctx` is passed to it untouched. LS_ERR_ARG if emit is NULL; LS_ERR_NOMEM. */
ls_status rsn_create(bool starts_in_thought, rsn_emit_fn emit, void *ctx, rsn **out);
void rsn_free(rsn *r); /* rsn_free(NULL) is a no-op */

/* One generated token's text (n may be 0). Emits what can be classified now.
 * Never allocates. */
void rsn_push(rsn *r, const char *text, size_t n);

/* True when the model is still thinking and has used at least `budget`
 * thinking tokens: time to inject RSN_FORCED_CLOSE. A negative budget means
 * no limit; 0 means close as soon as the thoughts begin. */
bool rsn_budget_reached(const rsn *r, int budget);

/* Tells the splitter the chat loop fed RSN_FORCED_CLOSE to the model: a held
 * partial tag is emitted as THINKING, and what follows is the answer (after
 * dropped whitespace). Does nothing when not in thought. */
void rsn_close_injected(rsn *r);

/* Text that is not a new token — what a stop-string matcher or the
 * detokenizer releases when the stream ends. Classified like rsn_push's text;
 * counts no token. Never allocates. */
void rsn_push_text(rsn *r, const char *text, size_t n);

/* End of generation: emits any held partial tag (as THINKING inside thoughts,
 * as ANSWER at the start) and counts any waiting tokens as ANSWER. The state
 * stays readable with rsn_get_state(). */
void rsn_flush(rsn *r);

rsn_state rsn_get_state(const rsn *r);

/* Starts a new reply with the same callback. */
void rsn_reset(rsn *r, bool starts_in_thought);

#endif
