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
#include "apps/options.h"
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

int bench_chat_main(int argc, char **argv)
{
    const char *path = NULL;
    long n_threads = 0, turns = 5, budget = 32, n_answer = 32, n_ctx = 4096;
    bool chat_mode = true; /* --chat is how cmd_bench chose this run */
    const opt_def defs[] = {
        { .kind = OPT_FLAG, .name = "--chat", .flag = &chat_mode, .help = "this benchmark" },
        opt_model(&path),
        opt_threads(&n_threads),
        { .kind = OPT_INT, .name = "--turns", .value_name = "N", .i = &turns, .lo = 1,
          .hi = (long)(sizeof script / sizeof script[0]), .help = "turns of the scripted conversation",
          .dflt = "5" },
        { .kind = OPT_INT, .name = "--think-budget", .value_name = "N", .i = &budget, .lo = 0, .hi = 1 << 20,
          .help = "close the model's thoughts after N tokens", .dflt = "32" },
        { .kind = OPT_INT, .name = "-n", .value_name = "N", .i = &n_answer, .lo = 1, .hi = 1 << 20,
          .help = "answer tokens per turn", .dflt = "32" },
        opt_ctx(&n_ctx, 256),
    };
    const opt_spec spec = {
        .cmd = "bench --chat",
        .usage = "localseek bench --chat -m MODEL [-t N] [--turns N] [--think-budget N] [-n N] [--ctx N]",
        .intro = "Holds a scripted conversation (greedy) and times every turn's first token twice: in the\n"
                 "session that keeps its KV cache (warm) and from scratch (cold).\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    engine *e = NULL;
    chat *warm = NULL;
    chat_seat *warm_seat = NULL;
    rc = 1;
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
               "same_answer=%s\n", t + 1, w.gen.n_prompt, w.gen.n_reused, w.gen.t_first_token_s,
               c.gen.t_first_token_s, w.gen.t_first_token_s > 0 ? c.gen.t_first_token_s / w.gen.t_first_token_s : 0.0, same ? "yes" : "no");
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
