/* status.h — the project-wide status codes and the last error's sentence.
 *
 * Anything the outside world can cause (a bad file, a bad argument, no
 * memory, a full disk) is reported by returning an `ls_status`; programmer
 * bugs are caught by assert() instead. Alongside the code, the function that
 * failed leaves one plain sentence for the user — naming the file, field or
 * value and what was expected — in a per-thread buffer read with
 * ls_error_msg(). Like errno, it is valid until the next failure on the
 * same thread.
 *
 * The enum itself is public (include/localseek_status.h); this header adds
 * what only the library does: setting the message.
 *
 * Owns: the enum, its short names, the per-thread message buffer.
 * Does not: print anything (apps decide how to show errors), or exit.
 * Called by: every layer.
 */
#ifndef LS_STATUS_H
#define LS_STATUS_H

#include "localseek_status.h" /* the enum, ls_status_str, ls_error_msg: public */

/* Records `fmt` (printf-style) as this thread's last error message and
 * returns `s`, so failures read as `return ls_error(LS_ERR_FORMAT, "...")`. */
ls_status ls_error(ls_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forgets the last message (tests use it to check that one was set). */
void ls_error_clear(void);

#endif
