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
 * Owns: the enum, its short names, the per-thread message buffer.
 * Does not: print anything (apps decide how to show errors), or exit.
 * Called by: every layer.
 */
#ifndef LS_STATUS_H
#define LS_STATUS_H

typedef enum {
    LS_OK = 0,
    LS_ERR_NOMEM,        /* an allocation failed */
    LS_ERR_IO,           /* open/read/write/mmap failed (see errno text in the message) */
    LS_ERR_FORMAT,       /* a file or input is malformed: truncated, corrupt, inconsistent */
    LS_ERR_UNSUPPORTED,  /* well-formed, but a feature we do not handle (tensor type, architecture) */
    LS_ERR_ARG,          /* a caller or user passed an invalid argument */
    LS_ERR_NOT_FOUND,    /* a requested key, tensor or file does not exist */
    LS_ERR_LIMIT,        /* a size limit was reached (context full, budget exceeded) */
    LS_ERR_INTERNAL,     /* should not happen; a bug report is welcome */
    LS_STATUS_COUNT
} ls_status;

/* A short fixed name for a status, e.g. "corrupt or malformed input". Never NULL. */
const char *ls_status_str(ls_status s);

/* Records `fmt` (printf-style) as this thread's last error message and
 * returns `s`, so failures read as `return ls_error(LS_ERR_FORMAT, "...")`. */
ls_status ls_error(ls_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* This thread's last error message ("" if none yet). The pointer stays
 * valid for the thread's lifetime; its text changes on the next ls_error(). */
const char *ls_error_msg(void);

/* Forgets the last message (tests use it to check that one was set). */
void ls_error_clear(void);

#endif
