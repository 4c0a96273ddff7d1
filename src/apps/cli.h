/* cli.h — small helpers the subcommands share for reading options.
 *
 * Each parser prints one sentence naming the option and the accepted range
 * on failure and returns false; commands then exit with status 2 (usage).
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "generate/template.h"

/* Integer option value in [lo, hi]. */
bool cli_int(const char *cmd, const char *opt, const char *val, long lo, long hi, long *out);
/* Floating option value in [lo, hi]. */
bool cli_float(const char *cmd, const char *opt, const char *val, double lo, double hi, double *out);
/* For "-x VALUE" options: the value after argv[*i], advancing *i; NULL (with a
 * message) when the option is the last argument. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

/* The chat-template family named by --chat-template (message listing the
 * known names on failure). */
bool cli_chat_template(const char *cmd, const char *name, tpl_family *out);
void cli_print_template_names(FILE *out); /* "deepseek-r1, chatml, ..." */
/* The family to use for a model file: `forced` when set, else the model's own
 * template, else TPL_FALLBACK with a warning on stderr naming why. */
tpl_family cli_model_family(const char *cmd, const gguf_file *f, const char *path, tpl_family forced);

#endif
