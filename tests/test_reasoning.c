/* test_reasoning.c — the thought / answer splitter: R1 style (starts inside
 * its thoughts), Qwen3 style (opens <think> itself), tags split at every
 * possible place, '<' that is not a tag released promptly, a second
 * </think>, a model that never closes or never thinks, the thinking budget
 * and the injected close, token counts, memory. */
#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "base/status.h"
#include "check.h"
#include "generate/reasoning.h"

/* What the callback received: the text of each part, the order of parts, and
 * how many calls there were (each with n > 0). */
typedef struct {
    char think[1024], answer[1024];
    size_t n_think, n_answer;
    int n_calls, n_empty_calls;
    bool answer_then_think; /* a THINKING piece came after an ANSWER piece */
} sink;

static void collect(void *ctx, rsn_part part, const char *text, size_t n)
{
    sink *k = ctx;
    k->n_calls++;
    k->n_empty_calls += n == 0;
    if (part == RSN_THINKING) {
        k->answer_then_think |= k->n_answer > 0;
        memcpy(k->think + k->n_think, text, n);
        k->think[k->n_think += n] = 0;
    } else {
        memcpy(k->answer + k->n_answer, text, n);
        k->answer[k->n_answer += n] = 0;
    }
}

static rsn *make(bool starts_in_thought, sink *k)
{
    memset(k, 0, sizeof *k);
    rsn *r = NULL;
    ls_status st = rsn_create(starts_in_thought, collect, k, &r);
    CHECK(st == LS_OK, "rsn_create: %s", ls_error_msg());
    return r;
}

/* One rsn_push per NULL-terminated chunk (one token each), then flush. */
static rsn_state run(rsn *r, const char *const *tokens)
{
    for (int i = 0; tokens[i]; i++)
        rsn_push(r, tokens[i], strlen(tokens[i]));
    rsn_flush(r);
    return rsn_get_state(r);
}

static void check_split(const char *what, const sink *k, const char *think, const char *answer)
{
    CHECK(strcmp(k->think, think) == 0, "%s: thinking '%s', want '%s'", what, k->think, think);
    CHECK(strcmp(k->answer, answer) == 0, "%s: answer '%s', want '%s'", what, k->answer, answer);
    CHECK(!k->answer_then_think, "%s: no thinking after the answer began", what);
    CHECK(k->n_empty_calls == 0, "%s: the callback never gets empty text", what);
}

static void test_r1(void)
{
    sink k;
    rsn *r = make(true, &k);
    const char *toks[] = { "Okay", ", so 2+2", " is 4.", "</think>", "\n\n", "The answer", " is **4**.", NULL };
    rsn_state s = run(r, toks);
    check_split("R1", &k, "Okay, so 2+2 is 4.", "The answer is **4**.");
    CHECK(!s.in_thought && s.thought && s.closed && !s.close_injected, "R1: thought, closed by the model");
    CHECK(s.n_thinking_tokens == 4 && s.n_answer_tokens == 3, "R1: 4 thinking tokens (tag included), 3 answer: %d %d",
          s.n_thinking_tokens, s.n_answer_tokens);
    /* "</think>\n\n" as one token, answer in the same chunk */
    rsn_reset(r, true);
    memset(&k, 0, sizeof k);
    const char *one[] = { "hmm", "</think>\n\nYes.", NULL };
    s = run(r, one);
    check_split("close and answer in one chunk", &k, "hmm", "Yes.");
    CHECK(s.n_thinking_tokens == 2 && s.n_answer_tokens == 0, "a token counts where it arrived");
    rsn_free(r);
}

static void test_qwen3(void)
{
    sink k;
    rsn *r = make(false, &k);
    const char *toks[] = { "\n", "<think>", "\nLet me see.", "</think>", "\n\n", "Paris.", NULL };
    rsn_state s = run(r, toks);
    check_split("Qwen3", &k, "\nLet me see.", "Paris.");
    CHECK(s.thought && s.closed && !s.in_thought, "Qwen3: opened and closed its thoughts");
    CHECK(s.n_thinking_tokens == 4 && s.n_answer_tokens == 2,
          "Qwen3: leading whitespace and <think> count as thinking: %d thinking, %d answer", s.n_thinking_tokens,
          s.n_answer_tokens);
    /* the empty think block Qwen3 writes with thinking switched off */
    rsn_reset(r, false);
    memset(&k, 0, sizeof k);
    const char *empty[] = { "<think>", "\n\n", "</think>", "\n\n", "Hi!", NULL };
    s = run(r, empty);
    check_split("empty think block", &k, "\n\n", "Hi!");
    CHECK(s.closed && s.n_thinking_tokens == 3, "empty think block closed");
    rsn_free(r);
}

static void test_skips_thinking(void)
{
    sink k;
    rsn *r = make(false, &k);
    const char *toks[] = { "  ", "Hello", " world", NULL };
    rsn_state s = run(r, toks);
    check_split("no thoughts", &k, "", "Hello world");
    CHECK(!s.thought && !s.closed && !s.in_thought, "no thinking part at all");
    CHECK(s.n_thinking_tokens == 0 && s.n_answer_tokens == 3, "all 3 tokens are answer (%d)", s.n_answer_tokens);

    /* a '<' at the start that is not <think> */
    const char *cases[][4] = { { "<b>bold</b>", NULL }, { "<thin", "g> is not a tag", NULL }, { "<", NULL },
                               { "<think", NULL },       { "x<think>y", NULL } };
    const char *want[] = { "<b>bold</b>", "<thing> is not a tag", "<", "<think", "x<think>y" };
    for (int c = 0; c < 5; c++) {
        rsn_reset(r, false);
        memset(&k, 0, sizeof k);
        s = run(r, cases[c]);
        check_split("not a tag at the start", &k, "", want[c]);
        CHECK(!s.thought, "case %d: no thinking part", c);
    }
    /* only whitespace, then the end: nothing shown, tokens counted as answer */
    rsn_reset(r, false);
    memset(&k, 0, sizeof k);
    const char *blank[] = { "\n", " ", NULL };
    s = run(r, blank);
    CHECK(k.n_calls == 0 && s.n_answer_tokens == 2 && !s.thought, "whitespace-only reply");
    rsn_free(r);
}

static void test_never_closes(void)
{
    sink k;
    rsn *r = make(true, &k);
    const char *toks[] = { "Hmm", ", maybe", " </thi", NULL };
    rsn_state s = run(r, toks);
    check_split("never closes", &k, "Hmm, maybe </thi", "");
    CHECK(s.in_thought && s.thought && !s.closed, "after flush the model is reported as still thinking");
    CHECK(s.n_thinking_tokens == 3 && s.n_answer_tokens == 0, "3 thinking tokens");
    rsn_free(r);
}

static void test_second_close(void)
{
    sink k;
    rsn *r = make(true, &k);
    const char *toks[] = { "a", "</think>", "ans ", "</think>", " <think>more", NULL };
    run(r, toks);
    check_split("second close", &k, "a", "ans </think> <think>more");
    rsn_free(r);
}

static void test_lt_released(void)
{
    sink k;
    rsn *r = make(true, &k);
    rsn_push(r, "if a <", 6);
    CHECK(strcmp(k.think, "if a ") == 0, "text before '<' goes out at once: '%s'", k.think);
    rsn_push(r, " b", 2);
    CHECK(strcmp(k.think, "if a < b") == 0, "'<' released by the next chunk: '%s'", k.think);
    rsn_push(r, " </thing>", 9);
    CHECK(strcmp(k.think, "if a < b </thing>") == 0, "'</thin' released at 'g': '%s'", k.think);
    rsn_push(r, "<<", 2);
    CHECK(strcmp(k.think, "if a < b </thing><") == 0, "'<<': the first is released, the second held");
    rsn_push(r, "/think>", 7);
    CHECK(strcmp(k.think, "if a < b </thing><") == 0 && rsn_get_state(r).closed, "'<' + '/think>' closes");
    rsn_push(r, "x < y", 5);
    CHECK(strcmp(k.answer, "x < y") == 0, "in the answer, '<' is never held: '%s'", k.answer);
    rsn_free(r);
}

/* Every way of cutting a stream into 1, 2 or 3 chunks gives the same split. */
static void check_any_chunking(bool starts_in_thought, const char *text, const char *think, const char *answer)
{
    size_t len = strlen(text);
    int n_bad = 0;
    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b++) {
            sink k;
            rsn *r = make(starts_in_thought, &k);
            rsn_push(r, text, a);
            rsn_push(r, text + a, b - a);
            rsn_push(r, text + b, len - b);
            rsn_flush(r);
            n_bad += strcmp(k.think, think) != 0 || strcmp(k.answer, answer) != 0 || k.answer_then_think ||
                     k.n_empty_calls;
            rsn_free(r);
        }
    sink k;
    rsn *r = make(starts_in_thought, &k);
    for (size_t i = 0; i < len; i++)
        rsn_push(r, text + i, 1);
    rsn_flush(r);
    n_bad += strcmp(k.think, think) != 0 || strcmp(k.answer, answer) != 0;
    CHECK(n_bad == 0, "'%s': %d chunkings give another split", text, n_bad);
    rsn_free(r);
}

static void test_split_tags(void)
{
    check_any_chunking(true, "I think <b> a</think>\n\n Answer </think>", "I think <b> a", "Answer </think>");
    check_any_chunking(false, " \n<think>\nidea <</think>\r\n\tok", "\nidea <", "ok");
    check_any_chunking(false, "<thinking>x", "", "<thinking>x");
    check_any_chunking(true, "no close <", "no close <", "");
    check_any_chunking(true, "</think>", "", "");
}

static void test_budget(void)
{
    sink k;
    rsn *r = make(true, &k);
    CHECK(rsn_budget_reached(r, 0), "budget 0: close as soon as thinking begins");
    CHECK(!rsn_budget_reached(r, -1), "negative budget: no limit");
    const char *toks[] = { "one", " two", " three", " four", " </th", NULL };
    int reached_at = -1;
    for (int i = 0; toks[i]; i++) {
        rsn_push(r, toks[i], strlen(toks[i]));
        if (reached_at < 0 && rsn_budget_reached(r, 5))
            reached_at = i + 1;
    }
    CHECK(reached_at == 5, "budget 5 reached after the 5th thinking token (%d)", reached_at);
    CHECK(!rsn_budget_reached(r, 6) && !rsn_budget_reached(r, -1), "budget 6 not yet; no limit never");
    CHECK(strcmp(k.think, "one two three four ") == 0, "partial tag held before the close: '%s'", k.think);
    CHECK(strlen(RSN_FORCED_CLOSE) == 11 && strcmp(RSN_FORCED_CLOSE, "\n</think>\n\n") == 0, "forced-close text");
    rsn_close_injected(r);
    CHECK(strcmp(k.think, "one two three four </th") == 0, "held partial tag released as thinking: '%s'", k.think);
    rsn_state s = rsn_get_state(r);
    CHECK(!s.in_thought && s.closed && s.close_injected, "state after the injected close");
    CHECK(!rsn_budget_reached(r, 0), "no budget once the thoughts are closed");
    const char *after[] = { "\n\n", "Final", " answer.", NULL };
    s = run(r, after);
    check_split("after the forced close", &k, "one two three four </th", "Final answer.");
    CHECK(s.n_thinking_tokens == 5 && s.n_answer_tokens == 3, "5 thinking, 3 answer tokens: %d %d",
          s.n_thinking_tokens, s.n_answer_tokens);
    rsn_close_injected(r);
    CHECK(rsn_get_state(r).n_answer_tokens == 3 && strcmp(k.answer, "Final answer.") == 0,
          "a second injected close does nothing");

    /* not starting in thought: tokens before <think> count toward the budget once it opens */
    r = (rsn_free(r), make(false, &k));
    rsn_push(r, "\n", 1);
    rsn_push(r, "<th", 3);
    CHECK(!rsn_budget_reached(r, 0), "undecided start is not thinking yet");
    rsn_push(r, "ink>", 4);
    CHECK(rsn_get_state(r).n_thinking_tokens == 3 && rsn_budget_reached(r, 3), "3 thinking tokens once opened");
    rsn_close_injected(r);
    rsn_flush(r);
    CHECK(!rsn_get_state(r).in_thought && k.n_calls == 0, "closed with nothing shown");
    rsn_free(r);
}

static void test_push_text_and_empty(void)
{
    sink k;
    rsn *r = make(true, &k);
    rsn_push(r, "", 0);
    rsn_push(r, NULL, 0);
    rsn_push_text(r, "tail</think>", 12);
    rsn_push_text(r, "x", 1);
    rsn_state s = rsn_get_state(r);
    check_split("push_text", &k, "tail", "x");
    CHECK(s.n_thinking_tokens == 2 && s.n_answer_tokens == 0, "empty tokens counted, push_text counts none");
    rsn_free(r);
}

static void test_memory(void)
{
    long live = ls_alloc_live();
    rsn *r = (rsn *)1;
    sink k;
    ls_alloc_fail_after(1);
    ls_status st = rsn_create(true, collect, &k, &r);
    ls_alloc_fail_after(0);
    CHECK(st == LS_ERR_NOMEM && r == NULL && ls_alloc_live() == live, "allocation failure reported");
    CHECK(rsn_create(true, NULL, NULL, &r) == LS_ERR_ARG && r == NULL, "a NULL callback is refused");
    r = make(true, &k);
    ls_alloc_fail_after(1);
    for (int i = 0; i < 50; i++)
        rsn_push(r, "a <b", 4);
    rsn_push(r, "</think>", 8);
    rsn_flush(r);
    void *probe = ls_malloc(1);
    ls_alloc_fail_after(0);
    CHECK(probe == NULL, "pushing allocates nothing");
    ls_free(probe);
    rsn_free(r);
    rsn_free(NULL);
    CHECK(ls_alloc_live() == live, "everything freed");
}

int main(void)
{
    test_r1();
    test_qwen3();
    test_skips_thinking();
    test_never_closes();
    test_second_close();
    test_lt_released();
    test_split_tags();
    test_budget();
    test_push_text_and_empty();
    test_memory();
    return check_done();
}
