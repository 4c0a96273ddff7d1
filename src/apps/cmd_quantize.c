/* cmd_quantize.c — `localseek quantize [-t N] [-v] [--ref] IN.gguf OUT.gguf TYPE`.
 *
 * Converts a model file to another numeric format (see src/tensor/qmodel.h
 * for which tensor gets which type). Shows a progress line on stderr (one
 * updating line on a terminal, a line every 10 % otherwise), with -v one
 * line per tensor on stdout, and always a summary: sizes, time, MB/s of
 * input processed, and every tensor that had to fall back to another type.
 * Exit status: 0 ok, 1 error (one sentence on stderr), 2 bad usage. It uses
 * the public API alone (include/localseek.h: ls_quantize).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/commands.h"
#include "apps/options.h"
#include "localseek.h"

/* The TYPE list comes from the presets (tensor/qmodel.h), so it is printed, not written. */
static void print_types(FILE *out)
{
    fprintf(out, "\nTYPE (any case): %s\n"
                 "  Q4_K_M is the usual choice for a laptop: about 4.9 bits per weight.\n",
            ls_quant_type_names());
}

typedef struct {
    bool verbose, tty;
    int last_decile;
} progress_state;

static void shape_str(const ls_quant_tensor *t, char *buf, size_t n)
{
    int len = snprintf(buf, n, "[");
    for (int d = 0; d < t->n_dims && len < (int)n; d++)
        len += snprintf(buf + len, n - (size_t)len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (len < (int)n)
        snprintf(buf + len, n - (size_t)len, "]");
}

static void on_progress(void *user, const ls_quant_progress *p)
{
    progress_state *ps = user;
    double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 1.0;
    if (ps->verbose) {
        char shape[96];
        shape_str(p->tensor, shape, sizeof shape);
        printf("%-32s %-16s %5s -> %s\n", p->tensor->name, shape, p->tensor->from, p->tensor->to);
        fflush(stdout);
    }
    if (ps->tty) {
        fprintf(stderr, "\rquantize: %3.0f%% [%lld/%lld] %-40.40s", 100 * frac, (long long)p->i_tensor + 1,
                (long long)p->n_tensors, p->tensor->name);
        if (p->i_tensor + 1 == p->n_tensors)
            fputc('\n', stderr);
        fflush(stderr);
    } else {
        int decile = (int)(frac * 10);
        if (decile > ps->last_decile || p->i_tensor + 1 == p->n_tensors) {
            ps->last_decile = decile;
            fprintf(stderr, "quantize: %3.0f%% [%lld/%lld tensors] %.1f s\n", 100 * frac, (long long)p->i_tensor + 1,
                    (long long)p->n_tensors, p->seconds);
        }
    }
}

static void human_bytes(uint64_t b, char *buf, size_t n)
{
    if (b >= 1000000000ull)
        snprintf(buf, n, "%.2f GB", (double)b / 1e9);
    else
        snprintf(buf, n, "%.1f MB", (double)b / 1e6);
}

static void summary(const char *in, const char *out, const ls_quant_report *st)
{
    char a[32], b[32];
    human_bytes(st->file_bytes_in, a, sizeof a);
    human_bytes(st->file_bytes_out, b, sizeof b);
    printf("quantized %s -> %s as %s (general.file_type %u)\n", in, out, st->type, st->file_type);
    printf("  size:    %s -> %s (%.1f%%)\n", a, b,
           st->file_bytes_in ? 100.0 * (double)st->file_bytes_out / (double)st->file_bytes_in : 0.0);
    double secs = st->seconds > 0 ? st->seconds : 1e-9;
    printf("  time:    %.2f s, %.1f MB/s of input, %d thread%s\n", st->seconds, (double)st->file_bytes_in / 1e6 / secs,
           st->n_threads, st->n_threads == 1 ? "" : "s");

    /* tensor count per output type, in type-id order */
    printf("  tensors: %lld (", (long long)st->n_tensors);
    for (int k = 0; k < st->n_counts; k++)
        printf("%s%s %lld", k ? ", " : "", st->counts[k].type, (long long)st->counts[k].n);
    printf(")\n");
    if (st->n_fallbacks == 0) {
        printf("  fallbacks: none\n");
        return;
    }
    printf("  fallbacks: %d (row length not a multiple of the type's block)\n", st->n_fallbacks);
    for (int64_t i = 0; i < st->n_tensors; i++) {
        const ls_quant_tensor *t = &st->tensors[i];
        if (strcmp(t->to, t->wanted) != 0)
            printf("    %s: row length %lld is not a multiple of %d (%s), using %s\n", t->name, (long long)t->shape[0],
                   t->wanted_block, t->wanted, t->to);
    }
}

int cmd_quantize(int argc, char **argv)
{
    long n_threads = 0;
    bool verbose = false, ref = false;
    const char *in = NULL, *out = NULL, *type = NULL;
    const opt_def defs[] = {
        { .kind = OPT_SECTION, .help = "arguments:" },
        { .kind = OPT_POSITIONAL, .value_name = "IN.gguf", .str = &in, .required = true,
          .help = "the model to convert" },
        { .kind = OPT_POSITIONAL, .value_name = "OUT.gguf", .str = &out, .required = true,
          .help = "the file to write (replaced only once it is complete)" },
        { .kind = OPT_POSITIONAL, .value_name = "TYPE", .str = &type, .required = true,
          .help = "the numeric format, one of those listed below" },
        { .kind = OPT_SECTION, .help = "options:" },
        opt_threads(&n_threads),
        { .kind = OPT_FLAG, .name = "-v", .alias = "--verbose", .flag = &verbose,
          .help = "list every tensor with its shape and types" },
        { .kind = OPT_FLAG, .name = "--ref", .flag = &ref,
          .help = "plain rounding as llama.cpp's reference quantizer does it "
                  "(files byte-comparable with llama.cpp's; slightly less accurate)" },
    };
    const opt_spec spec = {
        .cmd = "quantize",
        .usage = "localseek quantize [-t N] [-v] [--ref] IN.gguf OUT.gguf TYPE",
        .intro = "Converts a GGUF model to another numeric format.\n",
        .more_help = print_types,
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    if (!ls_quant_type_known(type))
        return opt_usage_error(&spec, "unknown type '%s' (expected one of %s)", type, ls_quant_type_names());

    progress_state ps = { verbose, isatty(STDERR_FILENO) != 0, -1 };
    ls_quant_options qo = { .n_threads = (int)n_threads, .reference_rounding = ref, .on_progress = on_progress,
                            .ctx = &ps };
    ls_quant_report st;
    if (ls_quantize(in, out, type, &qo, &st) != LS_OK) {
        if (ps.tty)
            fputc('\n', stderr);
        fprintf(stderr, "localseek quantize: %s\n", ls_error_msg());
        return 1;
    }
    summary(in, out, &st);
    ls_quant_report_free(&st);
    return 0;
}
