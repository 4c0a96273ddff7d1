/* cmd_quantize.c — `localseek quantize [-t N] [-v] [--ref] IN.gguf OUT.gguf TYPE`.
 *
 * Converts a model file to another numeric format (see src/tensor/qmodel.h
 * for which tensor gets which type). Shows a progress line on stderr (one
 * updating line on a terminal, a line every 10 % otherwise), with -v one
 * line per tensor on stdout, and always a summary: sizes, time, MB/s of
 * input processed, and every tensor that had to fall back to another type.
 * Exit status: 0 ok, 1 error (one sentence on stderr), 2 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/commands.h"
#include "base/dtype.h"
#include "base/platform.h"
#include "base/status.h"
#include "tensor/qmodel.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: localseek quantize [-t N] [-v] [--ref] IN.gguf OUT.gguf TYPE\n"
            "\n"
            "Converts a GGUF model to another numeric format.\n"
            "TYPE (any case): %s\n"
            "  Q4_K_M is the usual choice for a laptop: about 4.9 bits per weight.\n"
            "\n"
            "options:\n"
            "  -t N     threads (default: the number of physical cores)\n"
            "  -v       list every tensor with its shape and types\n"
            "  --ref    plain rounding as llama.cpp's reference quantizer does it\n"
            "           (files byte-comparable with llama.cpp's; slightly less accurate)\n",
            qmodel_preset_names());
}

typedef struct {
    bool verbose, tty;
    int last_decile;
} progress_state;

static void shape_str(const qmodel_tensor *t, char *buf, size_t n)
{
    int len = snprintf(buf, n, "[");
    for (uint32_t d = 0; d < t->n_dims && len < (int)n; d++)
        len += snprintf(buf + len, n - (size_t)len, "%s%lld", d ? ", " : "", (long long)t->ne[d]);
    if (len < (int)n)
        snprintf(buf + len, n - (size_t)len, "]");
}

static void on_progress(void *user, const qmodel_progress *p)
{
    progress_state *ps = user;
    double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 1.0;
    if (ps->verbose) {
        char shape[96];
        shape_str(p->tensor, shape, sizeof shape);
        printf("%-32s %-16s %5s -> %s\n", p->tensor->name, shape, dtype_name(p->tensor->from),
               dtype_name(p->tensor->to));
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

static void summary(const char *in, const char *out, const qmodel_preset *preset, const qmodel_stats *st,
                    int n_threads)
{
    char a[32], b[32];
    human_bytes(st->file_bytes_in, a, sizeof a);
    human_bytes(st->file_bytes_out, b, sizeof b);
    printf("quantized %s -> %s as %s (general.file_type %u)\n", in, out, preset->name, preset->file_type);
    printf("  size:    %s -> %s (%.1f%%)\n", a, b,
           st->file_bytes_in ? 100.0 * (double)st->file_bytes_out / (double)st->file_bytes_in : 0.0);
    double secs = st->seconds > 0 ? st->seconds : 1e-9;
    printf("  time:    %.2f s, %.1f MB/s of input, %d thread%s\n", st->seconds, (double)st->file_bytes_in / 1e6 / secs,
           n_threads, n_threads == 1 ? "" : "s");

    /* tensor count per output type, in type-id order */
    printf("  tensors: %lld (", (long long)st->n_tensors);
    const char *sep = "";
    for (int t = 0; t < DT_COUNT; t++) {
        int64_t c = 0;
        for (int64_t i = 0; i < st->n_tensors; i++)
            c += st->tensors[i].to == (dtype)t;
        if (c) {
            printf("%s%s %lld", sep, dtype_name((uint32_t)t), (long long)c);
            sep = ", ";
        }
    }
    printf(")\n");
    if (st->n_fallbacks == 0) {
        printf("  fallbacks: none\n");
        return;
    }
    printf("  fallbacks: %d (row length not a multiple of the type's block)\n", st->n_fallbacks);
    for (int64_t i = 0; i < st->n_tensors; i++) {
        const qmodel_tensor *t = &st->tensors[i];
        if (qmodel_is_fallback(t))
            printf("    %s: row length %lld is not a multiple of %d (%s), using %s\n", t->name, (long long)t->ne[0],
                   dtype_get(t->wanted)->block_elems, dtype_name(t->wanted), dtype_name(t->to));
    }
}

int cmd_quantize(int argc, char **argv)
{
    int n_threads = 0;
    bool verbose = false, ref = false;
    const char *pos[3];
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "localseek quantize: %s needs a number\n\n", a);
                usage(stderr);
                return 2;
            }
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || *end || v < 1 || v > 1024) {
                fprintf(stderr, "localseek quantize: thread count '%s' is not a number from 1 to 1024\n\n", argv[i]);
                usage(stderr);
                return 2;
            }
            n_threads = (int)v;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = true;
        } else if (strcmp(a, "--ref") == 0) {
            ref = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "localseek quantize: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            fprintf(stderr, "localseek quantize: too many arguments ('%s')\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (n_pos != 3) {
        fprintf(stderr, "localseek quantize: expected IN.gguf OUT.gguf TYPE\n\n");
        usage(stderr);
        return 2;
    }
    const qmodel_preset *preset = qmodel_preset_find(pos[2]);
    if (!preset) {
        fprintf(stderr, "localseek quantize: unknown type '%s' (expected one of %s)\n\n", pos[2],
                qmodel_preset_names());
        usage(stderr);
        return 2;
    }
    if (n_threads == 0)
        n_threads = plat_physical_cores();

    progress_state ps = { verbose, isatty(STDERR_FILENO) != 0, -1 };
    qmodel_params params = { n_threads, ref, on_progress, &ps };
    qmodel_stats st;
    ls_status s = qmodel_quantize(pos[0], pos[1], preset, &params, &st);
    if (s != LS_OK) {
        if (ps.tty)
            fputc('\n', stderr);
        fprintf(stderr, "localseek quantize: %s\n", ls_error_msg());
        return 1;
    }
    summary(pos[0], pos[1], preset, &st, n_threads);
    qmodel_stats_free(&st);
    return 0;
}
