/* cmd_tokenize.c — `localseek tokenize`: text to token ids, test vectors, speed.
 *
 *   localseek tokenize -m MODEL -p TEXT [--parse-special] [--pieces] [--no-bos] [--escape]
 *   localseek tokenize -m MODEL -f FILE ...          (the text is the file's contents)
 *   localseek tokenize -m MODEL --test-file FILE.inp  (llama.cpp's test format, see below)
 *   localseek tokenize -m MODEL --bench FILE [--seconds S]
 *
 * The plain form prints the ids on one line; --pieces prints one token per
 * line with its id and its decoded text (escaped where not printable).
 * User text is plain text unless --parse-special is given. BOS is added when
 * the model asks for it (tokenizer.ggml.add_bos_token) unless --no-bos.
 *
 * --test-file reads strings each followed by a line "__ggml_vocab_test__"
 * (that is, separated by "\n__ggml_vocab_test__\n") and prints, per string,
 * one line of ids each preceded by a space — the `.out` format of
 * llama.cpp's tokenizer tests — with special tokens matched and no BOS.
 *
 * --bench checks that decoding the ids gives the text back (NFC for
 * Qwen-family vocabularies), then encodes the whole file repeatedly for
 * about S seconds (default 3) and prints key=value lines: vocabulary load
 * time, bytes, tokens, best MB/s (10^6 bytes per second) and tokens/s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/commands.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/platform.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

/* Reads a whole file into a new buffer (caller frees with ls_free). */
static char *read_file(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "localseek tokenize: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = ls_malloc(cap);
    while (buf) {
        if (n == cap) {
            char *p = ls_realloc(buf, cap * 2);
            if (!p) {
                ls_free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "localseek tokenize: cannot read '%s'%s\n", path, buf ? "" : ": out of memory");
        ls_free(buf);
        return NULL;
    }
    *n_out = n;
    return buf;
}

/* Encodes into a growing array (caller frees *ids with ls_free). */
static ls_status encode_all(const tok_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids,
                            size_t *n)
{
    size_t cap = len / 2 + 16;
    *ids = ls_malloc(cap * sizeof **ids);
    if (!*ids)
        return LS_ERR_NOMEM;
    ls_status st = tok_encode(tok, text, len, flags, *ids, cap, n);
    if (st == LS_ERR_LIMIT) {
        int32_t *p = ls_realloc(*ids, *n * sizeof **ids);
        if (!p)
            return LS_ERR_NOMEM;
        *ids = p;
        st = tok_encode(tok, text, len, flags, *ids, *n, n);
    }
    return st;
}

static void print_escaped(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\\')
            fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7F)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static size_t unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            char c = s[++i];
            s[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = 0;
    return o;
}

static int run_test_file(const tok_tokenizer *tok, const char *path)
{
    size_t n;
    char *buf = read_file(path, &n);
    if (!buf)
        return 1;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t sep_len = sizeof sep - 1;
    int rc = 0;
    size_t pos = 0;
    for (;;) {
        const char *hit = NULL;
        for (size_t i = pos; i + sep_len <= n; i++) {
            if (buf[i] == '\n' && memcmp(buf + i, sep, sep_len) == 0) {
                hit = buf + i;
                break;
            }
        }
        if (!hit)
            break;
        size_t len = (size_t)(hit - (buf + pos));
        int32_t *ids = NULL;
        size_t n_ids = 0;
        ls_status st = encode_all(tok, buf + pos, len, TOK_PARSE_SPECIAL, &ids, &n_ids);
        if (st) {
            fprintf(stderr, "localseek tokenize: %s\n", ls_error_msg());
            ls_free(ids);
            rc = 1;
            break;
        }
        for (size_t i = 0; i < n_ids; i++)
            printf(" %d", ids[i]);
        putchar('\n');
        ls_free(ids);
        pos = (size_t)(hit - buf) + sep_len;
    }
    ls_free(buf);
    return rc;
}

static int run_bench(const tok_tokenizer *tok, const char *path, double load_s, double seconds)
{
    size_t n;
    char *text = read_file(path, &n);
    if (!text)
        return 1;
    int rc = 1;
    int32_t *ids = NULL;
    char *back = NULL, *want = NULL;
    int32_t *cps = NULL;
    size_t n_ids = 0, want_cap = 0, cps_cap = 0, want_n = 0;
    ls_status st = encode_all(tok, text, n, 0, &ids, &n_ids);
    if (st) {
        fprintf(stderr, "localseek tokenize: %s\n", ls_error_msg());
        goto done;
    }
    /* Check before timing: the ids must decode to the (NFC) text. */
    size_t back_n = 0;
    back = ls_malloc(2 * n + 16);
    if (!back || tok_decode(tok, ids, n_ids, TOK_DECODE_SPECIAL, back, 2 * n + 16, &back_n) != LS_OK) {
        fprintf(stderr, "localseek tokenize: decoding the benchmark text failed\n");
        goto done;
    }
    const char *expect = text;
    size_t expect_n = n;
    if (strcmp(tok_pre_name(tok), "qwen2") == 0) {
        if (tok_uni_nfc((const uint8_t *)text, n, (uint8_t **)&want, &want_cap, &want_n, &cps, &cps_cap) != 0) {
            fprintf(stderr, "localseek tokenize: out of memory\n");
            goto done;
        }
        expect = want;
        expect_n = want_n;
    }
    if (back_n != expect_n || memcmp(back, expect, back_n) != 0) {
        fprintf(stderr, "localseek tokenize: round trip FAILED: decode(encode(text)) differs from the text\n");
        goto done;
    }
    double best = 1e30, total = 0;
    int runs = 0;
    while (total < seconds || runs < 3) {
        size_t m;
        double t0 = plat_now_s();
        st = tok_encode(tok, text, n, 0, ids, n_ids, &m);
        double dt = plat_now_s() - t0;
        if (st || m != n_ids) {
            fprintf(stderr, "localseek tokenize: encoding changed between runs\n");
            goto done;
        }
        if (dt < best)
            best = dt;
        total += dt;
        runs++;
    }
    double t0 = plat_now_s();
    size_t nb;
    tok_decode(tok, ids, n_ids, 0, back, 2 * n + 16, &nb);
    double dec_s = plat_now_s() - t0;
    printf("file=%s\n", path);
    printf("vocab=%s/%s n_vocab=%d\n", tok_model_name(tok), tok_pre_name(tok), tok_n_vocab(tok));
    printf("load_ms=%.1f\n", load_s * 1e3);
    printf("bytes=%zu tokens=%zu bytes_per_token=%.2f\n", n, n_ids, n_ids ? (double)n / (double)n_ids : 0.0);
    printf("runs=%d best_s=%.4f mean_s=%.4f\n", runs, best, total / runs);
    printf("encode_mb_per_s=%.2f\n", (double)n / best / 1e6);
    printf("encode_tokens_per_s=%.0f\n", (double)n_ids / best);
    printf("decode_mb_per_s=%.1f\n", dec_s > 0 ? (double)n / dec_s / 1e6 : 0.0);
    printf("round_trip=ok\n");
    rc = 0;
done:
    ls_free(text);
    ls_free(ids);
    ls_free(back);
    ls_free(want);
    ls_free(cps);
    return rc;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *file = NULL, *test_file = NULL, *bench = NULL;
    bool parse_special = false, pieces = false, no_bos = false, escape = false;
    double seconds = 3;
    const opt_def defs[] = {
        { .kind = OPT_STRING, .name = "-m", .alias = "--model", .value_name = "FILE", .str = &model,
          .required = true, .help = "a GGUF file with a tokenizer (a model or a vocab-only file)" },
        { .kind = OPT_STRING, .name = "-p", .value_name = "TEXT", .str = &prompt, .help = "the text to tokenize" },
        { .kind = OPT_STRING, .name = "-f", .value_name = "FILE", .str = &file,
          .help = "tokenize the contents of FILE" },
        { .kind = OPT_FLAG, .name = "--parse-special", .flag = &parse_special,
          .help = "recognise special-token texts such as <|im_end|> (for template text; "
                  "without it, they are plain characters)" },
        { .kind = OPT_FLAG, .name = "--pieces", .flag = &pieces,
          .help = "one token per line: id and the text it stands for" },
        { .kind = OPT_FLAG, .name = "--no-bos", .flag = &no_bos, .help = "do not put the BOS token first" },
        { .kind = OPT_FLAG, .name = "--escape", .flag = &escape,
          .help = "turn \\n, \\t, \\r, \\\\ in TEXT into newline, tab, CR, backslash" },
        { .kind = OPT_STRING, .name = "--test-file", .value_name = "FILE", .str = &test_file,
          .help = "tokenize each string of a llama.cpp .inp file (special tokens matched, "
                  "no BOS) and print the ids in the .out format" },
        { .kind = OPT_STRING, .name = "--bench", .value_name = "FILE", .str = &bench,
          .help = "measure encoding speed on FILE (MB/s, tokens/s, load time)" },
        { .kind = OPT_FLOAT, .name = "--seconds", .value_name = "S", .f = &seconds, .flo = 0.0, .fhi = 1e6,
          .help = "how long --bench runs", .dflt = "3" },
    };
    const opt_spec spec = {
        .cmd = "tokenize",
        .usage = "localseek tokenize -m MODEL (-p TEXT | -f FILE) [--parse-special] [--pieces] [--no-bos] "
                 "[--escape]\n"
                 "       localseek tokenize -m MODEL --test-file FILE.inp\n"
                 "       localseek tokenize -m MODEL --bench FILE [--seconds S]",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    int n_modes = (prompt != NULL) + (file != NULL) + (test_file != NULL) + (bench != NULL);
    if (n_modes != 1)
        return opt_usage_error(&spec, "give exactly one of -p, -f, --test-file, --bench");

    double t0 = plat_now_s();
    tok_tokenizer *tok = NULL;
    if (tok_load_file(model, &tok) != LS_OK) {
        fprintf(stderr, "localseek tokenize: %s\n", ls_error_msg());
        return 1;
    }
    double load_s = plat_now_s() - t0;
    rc = 0;
    if (test_file) {
        rc = run_test_file(tok, test_file);
    } else if (bench) {
        rc = run_bench(tok, bench, load_s, seconds);
    } else {
        char *text = NULL;
        size_t len;
        if (file) {
            text = read_file(file, &len);
        } else {
            text = ls_strdup(prompt);
            len = text ? strlen(text) : 0;
        }
        if (!text) {
            tok_free(tok);
            return 1;
        }
        if (escape)
            len = unescape(text);
        unsigned flags = (parse_special ? TOK_PARSE_SPECIAL : 0u) | (!no_bos && tok_wants_bos(tok) ? TOK_ADD_BOS : 0u);
        int32_t *ids = NULL;
        size_t n_ids = 0;
        if (encode_all(tok, text, len, flags, &ids, &n_ids) != LS_OK) {
            fprintf(stderr, "localseek tokenize: %s\n", ls_error_msg());
            rc = 1;
        } else if (pieces) {
            for (size_t i = 0; i < n_ids; i++) {
                size_t pn;
                const char *p = tok_piece(tok, ids[i], &pn);
                printf("%6d '", ids[i]);
                print_escaped(p, pn);
                printf("'\n");
            }
        } else {
            for (size_t i = 0; i < n_ids; i++)
                printf(i ? " %d" : "%d", ids[i]);
            putchar('\n');
        }
        ls_free(ids);
        ls_free(text);
    }
    tok_free(tok);
    return rc;
}
