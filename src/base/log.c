/* log.c — formats "date time.ms level message" and writes it in one call.
 *
 * The level is read lazily from the environment so that no init call is
 * needed; an unknown LOCALSEEK_LOG value is reported once and ignored. */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static log_level current = LOG_WARN;
static FILE *stream;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void read_env(void)
{
    const char *v = getenv("LOCALSEEK_LOG");
    if (!v || !*v)
        return;
    int l = log_parse_level(v);
    if (l < 0)
        fprintf(stderr, "localseek: LOCALSEEK_LOG=%s is not one of debug, info, warn, error, off; using warn\n", v);
    else
        current = (log_level)l;
}

int log_parse_level(const char *name)
{
    static const char *const names[] = { "debug", "info", "warn", "error", "off" };
    for (int i = 0; i < 5; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(log_level level)
{
    pthread_once(&env_once, read_env);
    current = level;
}

log_level log_get_level(void)
{
    pthread_once(&env_once, read_env);
    return current;
}

void log_set_stream(FILE *f)
{
    stream = f;
}

void log_msg(log_level level, const char *fmt, ...)
{
    static const char *const tags[] = { "debug", "info ", "warn ", "error" };
    if (level >= LOG_OFF || level < log_get_level())
        return;

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);

    char line[1024];
    int n = (int)strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ld %s ", ts.tv_nsec / 1000000, tags[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    line[len] = '\0';
    fputs(line, stream ? stream : stderr);
}
