/* ask.c — a conversation with a model through the public API, in one page.
 *
 *   ask MODEL.gguf "first question" ["next question" ...]
 *
 * Opens the model (the resource guard first: a model that does not fit is
 * refused with the reason), then asks the questions one after another in one
 * conversation, so each turn re-uses what the model already read. The
 * model's thoughts go to stderr, the answers to stdout, and one line of
 * figures per answer to stderr. It includes localseek.h and nothing else of
 * localseek: this is what a program embedding it writes.
 */
#include <stdio.h>

#include "localseek.h"

static void on_text(void *ctx, ls_text_part part, const char *text, size_t n)
{
    (void)ctx;
    fwrite(text, 1, n, part == LS_THINKING ? stderr : stdout);
    fflush(part == LS_THINKING ? stderr : stdout);
}

static void on_note(void *ctx, const char *sentence)
{
    (void)ctx;
    fprintf(stderr, "[%s]\n", sentence);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ask MODEL.gguf QUESTION [QUESTION ...]\n");
        return 2;
    }
    ls_runtime *rt = NULL;
    ls_model *model = NULL;
    ls_chat *chat = NULL;
    int rc = 1;
    ls_model_options mo = { .n_ctx = 2048 };
    if (ls_runtime_open(NULL, &rt) || ls_model_open(rt, argv[1], &mo, &model)) {
        fprintf(stderr, "ask: %s\n", ls_error_msg());
        goto done;
    }
    ls_model_info info = ls_model_get_info(model);
    fprintf(stderr, "%s: %s %s, template %s, %d tokens of context\n", info.name, info.architecture, info.quant,
            info.chat_template, info.n_ctx);

    ls_settings s = ls_default_settings(model);
    s.temperature = 0;         /* the same answers every run */
    s.max_answer_tokens = 32;  /* short answers, and a thinking budget of 4 x 32 */
    if (ls_chat_open(model, NULL, &s, &chat)) {
        fprintf(stderr, "ask: %s\n", ls_error_msg());
        goto done;
    }
    ls_stream stream = { .on_text = on_text, .on_note = on_note };
    for (int i = 2; i < argc; i++) {
        ls_answer a;
        if (ls_chat_ask(chat, argv[i], &stream, &a)) {
            fprintf(stderr, "ask: %s\n", ls_error_msg());
            goto done;
        }
        printf("\n");
        fprintf(stderr, "[turn %d: prompt %d tokens, %d re-used; %d thinking + %d answer tokens; stopped: %s]\n",
                i - 1, a.n_prompt, a.n_reused, a.n_thinking, a.n_answer, a.stop);
    }
    rc = 0;
done:
    ls_chat_close(chat);
    ls_model_close(model);
    ls_runtime_close(rt);
    return rc;
}
