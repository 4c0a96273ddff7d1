/* cli.h — what the model-loading commands share beyond their options.
 *
 * cli_check_fits() is the resource guard's door for the commands: every
 * command that loads a model calls it first. The chat-template helpers turn
 * --chat-template NAME into a family and pick the family a model file asks
 * for. Options themselves (reading, checking, --help) are apps/options.h.
 *
 * Called by: cmd_run.c, cmd_chat.c, cmd_logits.c, cmd_prompt.c, bench_model.c.
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "generate/template.h"

struct guard_watch; /* orchestrator/guard.h */

/* The chat-template family named by --chat-template (message listing the
 * known names on failure). */
bool cli_chat_template(const char *cmd, const char *name, tpl_family *out);
void cli_print_template_names(FILE *out); /* "deepseek-r1, chatml, ..." */
/* The family to use for a model file: `forced` when set, else the model's own
 * template, else TPL_FALLBACK with a warning on stderr naming why. */
tpl_family cli_model_family(const char *cmd, const gguf_file *f, const char *path, tpl_family forced);

/* The resource guard, before model_load(): reads `model_path`'s header and
 * tensor table only (no weights), estimates what a context of n_ctx tokens
 * on n_threads threads needs (0 = the defaults), and compares it with
 * mem_budget_bytes, or, when that is 0, with what the machine can give
 * (MemAvailable, a cgroup limit). Too big: prints "localseek CMD: FILE does
 * not fit in memory: needs ... — use --ctx N ..." on stderr and returns false
 * (the caller exits 1); a file that cannot be read is reported the same way.
 * Tight (< 15 % spare): one warning line on stderr, returns true. Otherwise
 * returns true silently (the sentence is logged at info level).
 * `watch` (may be NULL) is set up with the limit the run was judged
 * against, for guard_watch_poll() during generation (a limit that could not
 * be read leaves a watch that never warns). */
bool cli_check_fits(const char *cmd, const char *model_path, int n_ctx, int n_threads, size_t mem_budget_bytes,
                    struct guard_watch *watch);

#endif
