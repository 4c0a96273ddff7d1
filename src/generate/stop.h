/* stop.h — stop strings (`--stop STRING`) on streamed text.
 *
 * A user can ask generation to end when the model writes a given string
 * ("\nUser:", "###"). Text arrives a token at a time, so a stop string can
 * be spread over several chunks ("\nUs" + "er:"). The matcher therefore
 * returns only the text that can no longer be the start of a stop string and
 * holds back the tail that still could be, the way a careful reader waits
 * for the end of a word before deciding what it says. When the next chunk
 * proves the tail innocent ("\nUs" + "ually"), it is released at once; when
 * a stop string completes, it and everything after it are dropped.
 *
 * Which stop string wins. The first one to be completed, reading byte by
 * byte: with stop strings "abcd" and "bc", the text "abcd" stops at "bc"
 * (output "a"). This makes the result independent of how the text was cut
 * into chunks, which a test checks.
 *
 * Strings are compared as bytes. UTF-8 stop strings work as they are, and
 * when every chunk fed in is whole characters (tok_stream's output is), every
 * chunk returned is whole characters too: a held tail always begins where a
 * stop string begins.
 *
 * Owns: copies of up to STOP_MAX_STRINGS stop strings and the held tail, in
 * one block allocated by stop_create().
 * Does not: stop the model (the caller does, when told), look at tokens, or
 * allocate after creation.
 * Called by: the chat loop and `run`, between the streaming detokenizer and
 * the reasoning splitter (or the screen).
 */
#ifndef LS_STOP_H
#define LS_STOP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

#define STOP_MAX_STRINGS 8 /* stop strings per matcher */
#define STOP_MAX_BYTES 64  /* longest stop string, in bytes (not counting the NUL) */

typedef struct stop_matcher stop_matcher;

/* Copies strings[0..n_strings) (0 to STOP_MAX_STRINGS, each 1 to
 * STOP_MAX_BYTES bytes; LS_ERR_ARG naming the bad one otherwise). With no
 * strings, text passes straight through. Caller frees with stop_free(). */
ls_status stop_create(const char *const *strings, int n_strings, stop_matcher **out);
void stop_free(stop_matcher *m); /* stop_free(NULL) is a no-op */

/* Feeds text[0..n). Writes the text that is safe to show now to `out` and
 * its length to *n_out; `out` must hold n + STOP_MAX_BYTES bytes (held-back
 * bytes may come out with this chunk) — out_cap says how many it holds, and
 * less is a programmer error (assert). Returns true when a stop string has
 * completed: *n_out then covers the text before it, and every later call
 * returns true with nothing, until stop_flush() or stop_reset(). n may be 0.
 * Never allocates. */
bool stop_push(stop_matcher *m, const char *text, size_t n, char *out, size_t out_cap, size_t *n_out);

/* Ends the stream: writes the held-back tail (nothing after a stop) to `out`
 * (room for STOP_MAX_BYTES bytes) and returns its length, then starts over
 * as if new. */
size_t stop_flush(stop_matcher *m, char *out, size_t out_cap);

/* Index (into stop_create's strings) of the stop string that completed, or
 * -1 while none has. */
int stop_which(const stop_matcher *m);

/* Forgets the held tail and any stop: a new stream with the same strings. */
void stop_reset(stop_matcher *m);

#endif
