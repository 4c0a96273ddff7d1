/* localseek_status.h — the status codes every localseek function returns.
 *
 * The one project-wide enum, public so that a program using localseek.h and
 * the library's own layers (src/base/status.h) share it. A function that
 * fails returns one of these and leaves a plain sentence for the user —
 * naming the file, field or value and what was expected — readable with
 * ls_error_msg() on the same thread until the next failure there (like
 * errno).
 */
#ifndef LOCALSEEK_STATUS_H
#define LOCALSEEK_STATUS_H

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

/* This thread's last error message ("" if none yet). The pointer stays
 * valid for the thread's lifetime; its text changes on the next failure. */
const char *ls_error_msg(void);

#endif
