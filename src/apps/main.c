/* main.c — the `localseek` command: picks a subcommand and runs it.
 *
 * Two options work with every command and are taken out here before the
 * command sees its arguments: --log-file PATH (log lines go to that file,
 * appended, at level info unless --log-level or LOCALSEEK_LOG says otherwise)
 * and --log-level debug|info|warn|error|off.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "base/log.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    { "chat", cmd_chat, "talk with a model: its thoughts shown apart, the conversation kept in context" },
    { "run", cmd_run, "continue a text with a model, streaming the result" },
    { "logits", cmd_logits, "print the model's next-token scores for prompts, as JSON (for checking correctness)" },
    { "info", cmd_info, "describe a GGUF model file (architecture, sizes, tensor types)" },
    { "quantize", cmd_quantize, "convert a GGUF model to another numeric format" },
    { "tokenize", cmd_tokenize, "turn text into token ids (and pieces) with a model's tokenizer" },
    { "prompt", cmd_prompt, "show the exact prompt (text or token ids) a model reads for a conversation" },
    { "history", cmd_history, "show a stored conversation (the latest, or --session S)" },
    { "sessions", cmd_sessions, "list the stored conversations" },
    { "stats", cmd_stats, "per model: requests, cache hits, latency and speed (p50/p95) from the telemetry" },
    { "bench", cmd_bench, "measure speed (--kernels: dot-product kernels against memory bandwidth)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: localseek COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`localseek COMMAND --help` describes each command's options.\n"
                 "Every command also takes --log-file PATH (append log lines there; level info by default) and\n"
                 "--log-level debug|info|warn|error|off (default warn, on stderr).\n"
                 "Environment: LOCALSEEK_LOG=debug|info|warn|error, LOCALSEEK_CPU=scalar|avx2|avx512\n");
}

/* Removes --log-file / --log-level (and their values) from argv and applies
 * them. Returns false, having said why, on a bad value. */
static bool take_log_options(int *argc, char **argv, FILE **log_file)
{
    const char *file = NULL, *level = NULL;
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        bool is_file = strcmp(argv[i], "--log-file") == 0, is_level = strcmp(argv[i], "--log-level") == 0;
        if (!is_file && !is_level) {
            argv[k++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "localseek: %s needs a value\n", argv[i]);
            return false;
        }
        *(is_file ? &file : &level) = argv[++i];
    }
    *argc = k;
    argv[k] = NULL;
    if (level && log_parse_level(level) < 0) {
        fprintf(stderr, "localseek: --log-level takes debug, info, warn, error or off, not '%s'\n", level);
        return false;
    }
    if (file) {
        if (!(*log_file = fopen(file, "a"))) {
            fprintf(stderr, "localseek: cannot open the log file %s for appending\n", file);
            return false;
        }
        setvbuf(*log_file, NULL, _IOLBF, 0);
        log_set_stream(*log_file);
        const char *env = getenv("LOCALSEEK_LOG");
        if (!level && !(env && *env))
            log_set_level(LOG_INFO);
    }
    if (level)
        log_set_level((log_level)log_parse_level(level));
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    FILE *log_file = NULL;
    if (!take_log_options(&argc, argv, &log_file))
        return 2;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (argc > 1 && strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].fn(argc - 1, argv + 1);
            log_set_stream(NULL);
            if (log_file)
                fclose(log_file);
            return rc;
        }
    if (log_file)
        fclose(log_file);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    fprintf(stderr, "localseek: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
