/* cmd_run.c — `localseek run`: continue a text with a model, streaming it.
 *
 * The prompt is tokenized (BOS first when the model asks for it; special
 * token texts are NOT interpreted unless --parse-special), read in one
 * prefill, then tokens are sampled one at a time and printed as soon as they
 * form complete characters. Stops at an end-of-generation token, after -n
 * tokens, or when the context is full (said on stderr). Timing goes to stderr
 * so stdout holds only the generated text.
 *
 * When the model carries a chat template localseek knows (or one is named
 * with --chat-template), the text is sent as one user message in that
 * template, and the model's whole reply is printed as it comes (a reasoning
 * model's <think> part included: `chat` is the command that sets it apart).
 * With --raw, or for a model without a template (stories260K), the text is
 * continued as it is and echoed first.
 *
 * Before anything is loaded, the resource guard (cli_check_fits) checks that
 * the model and a --ctx context fit in memory (or in --mem-budget) and
 * refuses with the numbers when they do not; while generating, a watch warns
 * once if resident memory passes 80 % of that limit. The exact peak is
 * logged at info level (LOCALSEEK_LOG=info) for the guard's tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"
#include "generate/chat.h"
#include "generate/sampler.h"
#include "generate/template.h"
#include "model/forward.h"
#include "model/model.h"
#include "orchestrator/guard.h"
#include "tokenizer/tokenizer.h"

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *prompt = NULL, *template_name = NULL;
    bool raw = false, parse_special = false;
    long n_gen = 256, n_ctx = 4096, n_threads = 0, seed = 42, top_k = 40;
    double temp = 0.8, top_p = 0.95, min_p = 0.05, timeout_s = 0;
    size_t mem_budget = 0; /* 0: what the machine can give */
    const opt_def defs[] = {
        opt_model(&model_path),
        { .kind = OPT_STRING, .name = "-p", .value_name = "TEXT", .help = "the text to continue", .required = true,
          .str = &prompt },
        { .kind = OPT_INT, .name = "-n", .value_name = "N", .help = "tokens to generate", .dflt = "256",
          .i = &n_gen, .lo = 0, .hi = 1 << 24 },
        opt_temp(&temp, NULL, "0.8"),
        opt_top_k(&top_k, NULL, "40"),
        opt_top_p(&top_p, NULL, "0.95"),
        opt_min_p(&min_p, NULL, "0.05"),
        opt_seed(&seed),
        opt_ctx(&n_ctx, 16),
        opt_threads(&n_threads),
        opt_timeout(&timeout_s),
        opt_mem_budget(&mem_budget),
        { .kind = OPT_FLAG, .name = "--raw", .flag = &raw,
          .help = "continue the text as it is, without the model's chat template" },
        opt_chat_template(&template_name),
        { .kind = OPT_FLAG, .name = "--parse-special", .flag = &parse_special,
          .help = "let the text contain special tokens such as <|im_end|>" },
    };
    const opt_spec spec = {
        .cmd = "run",
        .usage = "localseek run -m MODEL -p TEXT [options]",
        .intro = "Continues TEXT with the model, streaming the result; a model with a chat template gets TEXT\n"
                 "as one user message (--raw: as it is). Timing goes to stderr.\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;

    tpl_family family = TPL_UNKNOWN;
    if (template_name && !raw && !cli_chat_template("run", template_name, &family))
        return 2;

    rc = 1;
    model *m = NULL;
    tok_tokenizer *tok = NULL;
    fwd_ctx *fc = NULL;
    smp *sampler = NULL;
    tok_stream *stream = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    /* Will it fit? Decided from the file's header before a weight is read. */
    guard_watch watch;
    if (!cli_check_fits("run", model_path, (int)n_ctx, (int)n_threads, mem_budget, &watch))
        return 1;
    double t_load = plat_now_s();
    ls_status s = model_load(model_path, &m);
    if (!s)
        s = tok_load(m->file, &tok);
    fwd_params fp = fwd_default_params();
    fp.n_ctx = (int)n_ctx;
    if (n_threads)
        fp.n_threads = (int)n_threads;
    if (!s)
        s = fwd_create(m, &fp, &fc);
    smp_params sp = smp_default_params(); /* penalties stay off: run has no flags for them yet */
    sp.temp = (float)temp;
    sp.top_k = (int)top_k;
    sp.top_p = (float)top_p;
    sp.min_p = (float)min_p;
    sp.seed = (uint64_t)seed;
    if (!s)
        s = smp_create(&sp, m->hp.n_vocab, &sampler);
    if (!s)
        s = tok_stream_new(tok, TOK_CONTINUE, &stream);
    if (s) {
        fprintf(stderr, "localseek run: %s\n", ls_error_msg());
        goto done;
    }
    t_load = plat_now_s() - t_load;

    if (!raw && family == TPL_UNKNOWN)
        family = tpl_detect_file(m->file, NULL);
    size_t n_prompt = 0, len = strlen(prompt);
    logits = ls_malloc(sizeof(float) * (size_t)m->hp.n_vocab);
    if (family != TPL_UNKNOWN) {
        s = chat_encode_single(tok, family, prompt, &ids, &n_prompt);
        log_info("run: prompt in the %s chat template (--raw to continue the text as it is)",
                 tpl_family_info(family)->name);
    } else {
        unsigned flags = (tok_wants_bos(tok) ? TOK_ADD_BOS : 0) | (parse_special ? TOK_PARSE_SPECIAL : 0);
        tok_encode(tok, prompt, len, flags, NULL, 0, &n_prompt);
        ids = ls_malloc(sizeof(int32_t) * (n_prompt + 1));
        s = ids ? tok_encode(tok, prompt, len, flags, ids, n_prompt + 1, &n_prompt) : LS_ERR_NOMEM;
    }
    if (!ids || !logits) {
        fprintf(stderr, "localseek run: out of memory\n");
        goto done;
    }
    if (s) {
        fprintf(stderr, "localseek run: %s\n", ls_error_msg());
        goto done;
    }
    if (n_prompt == 0) {
        fprintf(stderr, "localseek run: the prompt has no tokens\n");
        goto done;
    }
    if ((long)n_prompt >= n_ctx) {
        fprintf(stderr, "localseek run: the prompt is %zu tokens but the context holds %ld; use --ctx %zu or more\n",
                n_prompt, n_ctx, n_prompt + (size_t)n_gen);
        goto done;
    }

    double t0 = plat_now_s();
    if ((s = fwd_eval(fc, ids, (int)n_prompt, logits, false))) {
        fprintf(stderr, "localseek run: %s\n", ls_error_msg());
        goto done;
    }
    double t_prompt = plat_now_s() - t0;
    guard_watch_poll(&watch); /* the prompt's prefill is where memory jumps */
    if (family == TPL_UNKNOWN)
        fputs(prompt, stdout); /* a continuation: show what it continues */
    fflush(stdout);

    long n_done = 0;
    const char *why = "length limit (-n)";
    double t_start = t0;
    t0 = plat_now_s();
    while (n_done < n_gen) {
        if (timeout_s > 0 && plat_now_s() - t_start >= timeout_s) {
            why = "time limit (--timeout)";
            break;
        }
        int32_t next = smp_sample(sampler, logits);
        if (tok_is_eog(tok, next)) {
            why = "end of text";
            break;
        }
        smp_accept(sampler, next);
        guard_watch_poll(&watch); /* logs one warning past 80 % of the limit */
        size_t nb;
        const char *piece = tok_stream_push(stream, next, &nb);
        fwrite(piece, 1, nb, stdout);
        fflush(stdout);
        n_done++;
        if (n_done == n_gen)
            break;
        if (fwd_n_past(fc) >= fwd_n_ctx(fc)) {
            why = "context full (use a larger --ctx)";
            break;
        }
        if ((s = fwd_eval(fc, &next, 1, logits, false))) {
            fprintf(stderr, "\nlocalseek run: %s\n", ls_error_msg());
            goto done;
        }
    }
    size_t nb;
    const char *rest = tok_stream_flush(stream, &nb);
    fwrite(rest, 1, nb, stdout);
    fputc('\n', stdout);
    double t_gen = plat_now_s() - t0;
    fprintf(stderr, "\n[%zu prompt tokens in %.2f s (%.1f tok/s), %ld generated in %.2f s (%.1f tok/s); stopped: %s; "
                    "load %.2f s, peak memory %.0f MiB]\n",
            n_prompt, t_prompt, (double)n_prompt / t_prompt, n_done, t_gen, n_done > 0 ? (double)n_done / t_gen : 0.0,
            why, t_load, (double)plat_peak_rss_bytes() / (1024.0 * 1024.0));
    log_info("run: peak resident memory %zu bytes", plat_peak_rss_bytes());
    rc = 0;
done:
    tok_stream_free(stream);
    smp_free(sampler);
    fwd_free(fc);
    tok_free(tok);
    model_free(m);
    ls_free(ids);
    ls_free(logits);
    return rc;
}
