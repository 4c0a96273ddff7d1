/* cli.h — small helpers the subcommands share for reading options.
 *
 * Each parser prints one sentence naming the option and the accepted range
 * on failure and returns false; commands then exit with status 2 (usage).
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdbool.h>

/* Integer option value in [lo, hi]. */
bool cli_int(const char *cmd, const char *opt, const char *val, long lo, long hi, long *out);
/* Floating option value in [lo, hi]. */
bool cli_float(const char *cmd, const char *opt, const char *val, double lo, double hi, double *out);
/* For "-x VALUE" options: the value after argv[*i], advancing *i; NULL (with a
 * message) when the option is the last argument. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

#endif
