/* bench_chat.c — time to first token, turn by turn, warm against cold.
 *
 *   localseek bench --chat -m MODEL [-t N] [--turns 5] [--think-budget 32] [-n 32] [--ctx 4096]
 *
 * A scripted conversation (greedy, so it is the same every run) is held in
 * one chat seat: from turn 2 on, the seat processes only the tokens after
 * the common prefix with its KV cache. For each turn, a second, cold seat on
 * the same engine is given the same history without running the model
 * (chat_add_message) and the same message, so it processes the whole prompt:
 * the same prompt, the same answer, from scratch. One key=value line per
 * turn: prompt tokens, tokens re-used, and both times to first token.
 */
#include <stdio.h>
#include <string.h>

#include "apps/bench_chat.h"
#include "apps/cli.h"
#include "generate/chat.h"
#include "generate/engine.h"

static const char *script[] = {
    "Hello! Can you help me plan a small vegetable garden?",
    "I have about four square meters and a sunny balcony. What should I grow first?",
    "How often should I water tomatoes in summer, and what about the herbs?",
    "Which of those plants can share a pot without competing too much?",
    "Please summarise the plan in five short bullet points.",
    "What could go wrong in the first month, and how do I notice it early?",
    "Thanks. One last question: can I keep any of it growing through the winter?",
    "Great, that is all for today.",
};

static void usage(FILE *out)
{
    fprintf(out, "usage: localseek bench --chat -m MODEL [-t N] [--turns N (<= 8, default 5)] [--think-budget N "
                 "(default 32)] [-n N answer tokens (default 32)] [--ctx N (default 4096)]\n");
}

int bench_chat_main(int argc, char **argv)
{
    const char *path = NULL;
    long n_threads = 0, turns = 5, budget = 32, n_answer = 32, n_ctx = 4096;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--chat"))
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!(v = cli_value("bench", argc, argv, &i)))
            return 2;
        bool ok = true;
        if (!strcmp(a, "-m"))
            path = v;
        else if (!strcmp(a, "-t"))
            ok = cli_int("bench", a, v, 1, 1024, &n_threads);
        else if (!strcmp(a, "--turns"))
            ok = cli_int("bench", a, v, 1, (long)(sizeof script / sizeof script[0]), &turns);
        else if (!strcmp(a, "--think-budget"))
            ok = cli_int("bench", a, v, 0, 1 << 20, &budget);
        else if (!strcmp(a, "-n"))
            ok = cli_int("bench", a, v, 1, 1 << 20, &n_answer);
        else if (!strcmp(a, "--ctx"))
            ok = cli_int("bench", a, v, 256, 1 << 24, &n_ctx);
        else {
            fprintf(stderr, "localseek bench --chat: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    engine *e = NULL;
    chat *warm = NULL;
    chat_seat *warm_seat = NULL;
    int rc = 1;
    engine_params ep = { .n_ctx = (int)n_ctx, .n_threads = (int)n_threads };
    ls_status s = engine_open(path, &ep, NULL, &e, NULL);
    chat_params p = chat_default_params(s ? TPL_UNKNOWN : engine_family(e));
    p.gen.sampling.temp = 0;
    p.gen.think_budget = (int)budget;
    p.gen.n_answer_max = (int)n_answer;
    if (!s)
        s = chat_create(NULL, &warm);
    if (!s)
        s = chat_seat_create(e, &p, &warm_seat);
    if (s) {
        fprintf(stderr, "localseek bench --chat: %s\n", ls_error_msg());
        goto done;
    }
    gen_callbacks quiet = { 0 };
    printf("model=%s template=%s threads=%d think_budget=%ld answer_tokens=%ld\n", path,
           tpl_family_info(chat_seat_family(warm_seat))->name, engine_get_params(e)->n_threads, budget, n_answer);
    for (long t = 0; t < turns; t++) {
        chat_turn_stats w, c;
        if ((s = chat_send(warm, warm_seat, script[t], &quiet, &w)))
            break;
        chat *cold = NULL;
        chat_seat *cold_seat = NULL;
        if ((s = chat_create(NULL, &cold)) || (s = chat_seat_create(e, &p, &cold_seat))) {
            chat_free(cold);
            break;
        }
        size_t n_hist = chat_n_messages(warm) - 2;
        for (size_t i = 0; i < n_hist && !s; i++) {
            chat_message g = chat_get_message(warm, i);
            s = chat_add_message(cold, g.role, g.content, g.thinking);
        }
        if (!s)
            s = chat_send(cold, cold_seat, script[t], &quiet, &c);
        bool same = !s && !strcmp(chat_get_message(cold, n_hist + 1).content,
                                  chat_get_message(warm, n_hist + 1).content);
        chat_free(cold);
        chat_seat_free(cold_seat);
        if (s)
            break;
        printf("turn=%ld prompt_tokens=%d reused=%d ttft_warm_s=%.3f ttft_cold_s=%.3f speedup=%.1f "
               "same_answer=%s\n", t + 1, w.n_prompt, w.n_reused, w.t_first_token_s, c.t_first_token_s,
               w.t_first_token_s > 0 ? c.t_first_token_s / w.t_first_token_s : 0.0, same ? "yes" : "no");
        fflush(stdout);
    }
    if (s) {
        fprintf(stderr, "localseek bench --chat: %s\n", ls_error_msg());
        goto done;
    }
    rc = 0;
done:
    chat_free(warm);
    chat_seat_free(warm_seat);
    engine_close(e);
    return rc;
}
