/* main.c — the `localseek` command: picks a subcommand and runs it. */
#include <stdio.h>
#include <string.h>

#include "apps/commands.h"

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
    { "bench", cmd_bench, "measure speed (--kernels: dot-product kernels against memory bandwidth)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: localseek COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`localseek COMMAND --help` describes each command's options.\n"
                 "Environment: LOCALSEEK_LOG=debug|info|warn|error, LOCALSEEK_CPU=scalar|avx2|avx512\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "localseek: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
