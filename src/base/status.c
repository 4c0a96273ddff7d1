/* status.c — status names and the per-thread last-error sentence.
 *
 * The message lives in a thread-local fixed buffer: setting it never
 * allocates, so even "out of memory" can be reported. Long messages are
 * cut at the buffer size (512 bytes is plenty for one sentence). */
#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_msg[512];

const char *ls_status_str(ls_status s)
{
    static const char *const names[LS_STATUS_COUNT] = {
        [LS_OK] = "ok",
        [LS_ERR_NOMEM] = "out of memory",
        [LS_ERR_IO] = "input/output error",
        [LS_ERR_FORMAT] = "corrupt or malformed input",
        [LS_ERR_UNSUPPORTED] = "not supported",
        [LS_ERR_ARG] = "invalid argument",
        [LS_ERR_NOT_FOUND] = "not found",
        [LS_ERR_LIMIT] = "limit reached",
        [LS_ERR_INTERNAL] = "internal error",
    };
    if ((unsigned)s >= LS_STATUS_COUNT)
        return "unknown status";
    return names[s];
}

ls_status ls_error(ls_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return s;
}

const char *ls_error_msg(void)
{
    return last_msg;
}

void ls_error_clear(void)
{
    last_msg[0] = '\0';
}
