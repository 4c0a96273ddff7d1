/* log.h — leveled, timestamped log lines on stderr.
 *
 * One line per event: "2026-11-23 10:04:05.123 info  loaded model in 0.21 s".
 * The level comes from LOCALSEEK_LOG (debug|info|warn|error, default warn)
 * the first time anything is logged, or from log_set_level(). Logging is for
 * people watching the program; results go to stdout through the apps.
 *
 * Owns: the current level and output stream. Does not: rotate files.
 * Called by: every layer. Thread-safe (each line is one fprintf).
 */
#ifndef LS_LOG_H
#define LS_LOG_H

#include <stdio.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level;

void log_set_level(log_level level);
log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 if unknown. */
int log_parse_level(const char *name);
/* Where lines go (default stderr). The caller keeps `f` open while in use. */
void log_set_stream(FILE *f);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
