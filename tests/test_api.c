/* test_api.c — the public API's conversations and memory file
 * (include/localseek.h) on a real model and a real, temporary memory file,
 * through localseek.h alone, as a program embedding localseek would.
 *
 * golden-qwen2-q8_0 has random weights but the DeepSeek-R1 template; at
 * temperature 0 its answers are deterministic. What a user would notice:
 *   - two questions are saved as one session: the session list, its
 *     messages read back (answers and thoughts as the conversation holds
 *     them), the latest session, per-model statistics;
 *   - a repeat in a new conversation comes from the cache, and
 *     ls_chat_regenerate answers it anew with the model; a system text or the
 *     cache turned off is a miss; a changed thinking budget applies;
 *   - notes recalled from an earlier session are listed with the question;
 *   - a stored session resumes with its messages and grows; forgetting it
 *     removes it;
 *   - errors: an unknown session, no memory file, a file that is not a
 *     memory file; every *_free(NULL) is a no-op.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "localseek.h"

static ls_model *model;
static ls_settings settings;
static char db[] = "/tmp/localseek_api_XXXXXX";

/* The answer as streamed, to compare with what is stored. */
typedef struct {
    char text[4096];
    size_t n;
} sink;

static void on_text(void *ctx, ls_text_part part, const char *t, size_t n)
{
    sink *s = ctx;
    if (part != LS_ANSWER || s->n + n >= sizeof s->text)
        return;
    memcpy(s->text + s->n, t, n);
    s->n += n;
    s->text[s->n] = 0;
}

static ls_chat *open_chat(bool with_memory, bool recall)
{
    ls_chat_options o = { .memory_path = with_memory ? db : NULL, .no_recall = !recall, .label = "test" };
    ls_chat *c = NULL;
    CHECK(ls_chat_open(model, &o, &settings, &c) == LS_OK, "chat: %s", ls_error_msg());
    return c;
}

/* Asks `q`; the answer's text lands in *out (may be NULL). */
static ls_answer ask(ls_chat *c, const char *q, sink *out)
{
    sink scratch;
    if (!out)
        out = &scratch;
    memset(out, 0, sizeof *out);
    ls_stream stream = { .on_text = on_text, .ctx = out };
    ls_answer a;
    ls_status st = ls_chat_ask(c, q, &stream, &a);
    CHECK(st == LS_OK, "ask '%s': %s", q, ls_error_msg());
    if (st)
        memset(&a, 0, sizeof a);
    return a;
}

/* ======================================================================== */
/* No memory file                                                            */
/* ======================================================================== */

static void test_without_memory(void)
{
    ls_chat *c = open_chat(false, true);
    if (!c)
        return;
    CHECK(ls_chat_memory(c) == NULL, "memory is off without a memory path");
    CHECK(ls_chat_resume(c, 1) == LS_ERR_ARG, "resume needs the memory file");
    CHECK(ls_chat_forget(c, 1) == LS_ERR_ARG && strstr(ls_error_msg(), "memory"), "forget needs it: %s",
          ls_error_msg());
    ls_answer a = ask(c, "Hello.", NULL);
    CHECK(!a.saved && !a.cached && ls_chat_session(c) == 0, "nothing saved, nothing cached");
    CHECK(ls_chat_n_notes(c) == 0, "nothing recalled");
    CHECK(!ls_chat_last_was_cached(c), "not from the cache");
    ls_answer r;
    CHECK(ls_chat_regenerate(c, NULL, &r) == LS_ERR_ARG, "nothing cached to answer anew");
    CHECK(ls_chat_n_messages(c) == 2, "the turn stays after a refused regenerate");
    ls_chat_close(c);
}

/* ======================================================================== */
/* The memory file                                                           */
/* ======================================================================== */

static void test_bad_file(void)
{
    char bad[64];
    snprintf(bad, sizeof bad, "%s-bad", db);
    FILE *f = fopen(bad, "w");
    CHECK(f != NULL, "write %s", bad);
    if (!f)
        return;
    fputs("just text, not a database, long enough to be read as a header ..................................\n", f);
    fclose(f);
    ls_memory *mem = (ls_memory *)1;
    CHECK(ls_memory_open(bad, &mem) == LS_ERR_FORMAT && mem == NULL, "not a memory file: refused");
    CHECK(strstr(ls_error_msg(), "not a localseek memory file") != NULL, "and said: %s", ls_error_msg());
    ls_chat_options o = { .memory_path = bad };
    ls_chat *c = (ls_chat *)1;
    CHECK(ls_chat_open(model, &o, &settings, &c) == LS_ERR_FORMAT && c == NULL, "a chat on it is refused too");
    unlink(bad);
}

static void test_paths(void)
{
    char buf[4096], *old = getenv("XDG_DATA_HOME");
    char *saved = old ? strdup(old) : NULL;
    setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
    CHECK(ls_memory_default_path(buf, sizeof buf) == LS_OK && !strcmp(buf, "/tmp/xdg/localseek/memory.db"),
          "the default file: %s", buf);
    CHECK(ls_memory_default_path(buf, 8) == LS_ERR_ARG, "a buffer too small");
    if (saved)
        setenv("XDG_DATA_HOME", saved, 1);
    else
        unsetenv("XDG_DATA_HOME");
    free(saved);
}

static void test_empty_file(void)
{
    ls_memory *mem = NULL;
    CHECK(ls_memory_open(db, &mem) == LS_OK, "open %s: %s", db, ls_error_msg());
    if (!mem)
        return;
    CHECK(!strcmp(ls_memory_path(mem), db), "its path: %s", ls_memory_path(mem));
    ls_session *list = (ls_session *)1;
    size_t n = 1;
    CHECK(ls_memory_list_sessions(mem, 0, &list, &n) == LS_OK && n == 0, "no sessions yet (%zu)", n);
    ls_session_list_free(list, n);
    int64_t id = -1;
    CHECK(ls_memory_latest_session(mem, &id) == LS_OK && id == 0, "no latest session (%lld)", (long long)id);
    ls_model_stats *st;
    CHECK(ls_memory_stats(mem, &st, &n) == LS_OK && n == 0, "no statistics yet");
    ls_model_stats_list_free(st, n);
    ls_session s = { .id = 7 };
    CHECK(ls_memory_get_session(mem, 999, &s) == LS_ERR_NOT_FOUND && s.id == 0, "unknown session");
    CHECK(strstr(ls_error_msg(), "no session 999") != NULL, "named: %s", ls_error_msg());
    ls_stored_message *msgs;
    CHECK(ls_memory_messages(mem, 999, 0, &msgs, &n) == LS_OK && n == 0, "an unknown session has no messages");
    ls_stored_message_list_free(msgs, n);
    ls_memory_close(mem);
}

/* ======================================================================== */
/* Conversations and what they store                                         */
/* ======================================================================== */

static const char q1[] = "Name three prime numbers.", q2[] = "My sister Ana lives in Porto.";

/* Two questions in one session; returns its id. */
static int64_t test_two_questions(char *first_answer, size_t cap)
{
    ls_chat *c = open_chat(true, false); /* no recall: the cache checks below depend on no notes */
    if (!c)
        return 0;
    sink s1, s2;
    ls_answer a1 = ask(c, q1, &s1);
    ls_answer a2 = ask(c, q2, &s2);
    snprintf(first_answer, cap, "%s", s1.text);
    int64_t id = ls_chat_session(c);
    CHECK(a1.saved && a2.saved && id > 0, "both saved in session %lld (%s)", (long long)id, a2.save_error);
    CHECK(a1.n_answer > 0 && !a1.cached && !ls_chat_last_was_cached(c), "generated");
    CHECK(ls_chat_n_messages(c) == 4, "four messages (%zu)", ls_chat_n_messages(c));
    ls_chat_message m0 = ls_chat_get_message(c, 0), m1 = ls_chat_get_message(c, 1), m3 = ls_chat_get_message(c, 3);
    CHECK(!strcmp(m0.role, "user") && !strcmp(m0.content, q1) && !*m0.thinking && !*m0.notes, "question 1 as asked");
    CHECK(!strcmp(m1.role, "assistant") && !strcmp(m1.content, s1.text), "answer 1 as streamed: '%s'", m1.content);
    CHECK(!strcmp(m3.content, ls_chat_last_answer(c)) && !strcmp(m3.thinking, ls_chat_last_thinking(c)),
          "the last message is the last answer");
    CHECK(a2.n_thinking == 0 || (*m3.thinking && a2.t_thinking_s > 0),
          "its thoughts and their time (%d tokens, %.4f s)", a2.n_thinking, a2.t_thinking_s);

    /* the chat's own memory file, read while it goes on */
    ls_memory *mem = ls_chat_memory(c);
    CHECK(mem && !strcmp(ls_memory_path(mem), db), "the chat's memory file");
    if (mem) {
        ls_session *list;
        size_t n;
        CHECK(ls_memory_list_sessions(mem, 20, &list, &n) == LS_OK && n == 1, "one session (%zu)", n);
        if (n == 1)
            CHECK(list[0].id == id && list[0].n_messages == 4 && !strncmp(list[0].title, "Name three", 10) &&
                      strstr(list[0].model, "golden-qwen2-q8_0") && list[0].created_at[0] && list[0].updated_at[0],
                  "listed with its title, model and dates: '%s' '%s'", list[0].title, list[0].model);
        ls_session_list_free(list, n);
        ls_stored_message *msgs;
        CHECK(ls_memory_messages(mem, id, 0, &msgs, &n) == LS_OK && n == 4, "four stored messages (%zu)", n);
        if (n == 4) {
            CHECK(!strcmp(msgs[0].role, "user") && !strcmp(msgs[0].content, q1) && !*msgs[0].model,
                  "question 1 stored");
            CHECK(!strcmp(msgs[1].content, m1.content) && !strcmp(msgs[1].thinking, m1.thinking) &&
                      strstr(msgs[1].model, "golden") && !msgs[1].cached && msgs[1].session_id == id &&
                      msgs[1].id > msgs[0].id,
                  "answer 1 stored as the conversation holds it");
            CHECK(msgs[3].n_thinking_tokens == a2.n_thinking && msgs[3].interrupted == m3.interrupted,
                  "token counts and flags (%d vs %d)", msgs[3].n_thinking_tokens, a2.n_thinking);
        }
        ls_stored_message_list_free(msgs, n);
        CHECK(ls_memory_messages(mem, id, 1, &msgs, &n) == LS_OK && n == 1 && !strcmp(msgs[0].content, m3.content),
              "the last message alone");
        ls_stored_message_list_free(msgs, n);
    }
    ls_chat_close(c);
    return id;
}

static void test_cache(const char *first_answer)
{
    /* the same first question in a new conversation: from the cache */
    ls_chat *b = open_chat(true, false);
    if (!b)
        return;
    sink s;
    ls_answer a = ask(b, q1, &s);
    CHECK(a.cached && ls_chat_last_was_cached(b) && !strcmp(a.stop, "cached") && a.cached_at[0] && a.n_prompt == 0,
          "a repeat comes from the cache (cached %d, stop %s)", a.cached, a.stop);
    CHECK(!strcmp(s.text, first_answer), "the same answer: '%s' vs '%s'", s.text, first_answer);
    int64_t id = ls_chat_session(b);
    sink fresh;
    memset(&fresh, 0, sizeof fresh);
    ls_stream stream = { .on_text = on_text, .ctx = &fresh };
    ls_answer r;
    CHECK(ls_chat_regenerate(b, &stream, &r) == LS_OK && !r.cached && r.n_prompt > 0 && r.saved,
          "answered anew by the model: %s", ls_error_msg());
    CHECK(!ls_chat_last_was_cached(b) && ls_chat_n_messages(b) == 2, "the cached turn replaced");
    CHECK(!strcmp(ls_chat_get_message(b, 0).content, q1) && !strcmp(ls_chat_last_answer(b), fresh.text),
          "the question again, the fresh answer");
    ls_memory *mem = ls_chat_memory(b);
    ls_stored_message *msgs;
    size_t n = 0;
    CHECK(mem && ls_memory_messages(mem, id, 0, &msgs, &n) == LS_OK && n == 2 && !msgs[1].cached,
          "the memory file holds the fresh turn only (%zu)", n);
    if (mem)
        ls_stored_message_list_free(msgs, n);
    CHECK(ls_chat_regenerate(b, NULL, &r) == LS_ERR_ARG, "nothing cached to answer anew now");
    ls_chat_close(b);

    /* a system text is part of the situation: a miss */
    ls_chat *c = open_chat(true, false);
    if (c) {
        CHECK(ls_chat_set_system(c, "Answer in French.") == LS_OK, "system text set");
        a = ask(c, q1, NULL);
        CHECK(!a.cached && a.n_prompt > 0, "a system text: answered anew");
        CHECK(ls_chat_set_system(c, NULL) == LS_OK, "system text removed");
        ls_chat_close(c);
    }
    /* the cache turned off */
    c = open_chat(true, false);
    if (c) {
        ls_chat_set_cache(c, false);
        a = ask(c, q1, NULL);
        CHECK(!a.cached && a.n_prompt > 0, "cache off: answered anew");
        ls_chat_close(c);
    }
}

static void test_notes_and_budget(int64_t first_session)
{
    ls_chat *c = open_chat(true, true);
    if (!c)
        return;
    ls_answer a = ask(c, "Where does my sister live?", NULL);
    size_t n = ls_chat_n_notes(c);
    CHECK(a.n_notes > 0 && n == (size_t)a.n_notes, "notes recalled (%d, %zu)", a.n_notes, n);
    bool porto = false;
    for (size_t i = 0; i < n; i++) {
        ls_note x = ls_chat_get_note(c, i);
        CHECK(x.message_id > 0 && x.session_id > 0 && x.n_tokens > 0 && x.score > 0 && x.created_at[0] &&
                  (!strcmp(x.role, "user") || !strcmp(x.role, "assistant")),
              "note %zu is a stored message with its score", i);
        if (strstr(x.content, "Porto") && x.session_id == first_session)
            porto = true;
    }
    CHECK(porto, "the fact from the first session is among them");
    CHECK(strstr(ls_chat_get_message(c, 0).notes, "Porto") != NULL, "and given with the question");
    ls_chat_set_think_budget(c, 2);
    a = ask(c, "Thanks.", NULL);
    CHECK(a.think_budget == 2 && a.n_thinking <= 2, "the new thinking budget applies (%d, %d tokens)",
          a.think_budget, a.n_thinking);
    ls_chat_close(c);
}

static void test_resume_and_forget(int64_t id)
{
    ls_chat *c = open_chat(true, false);
    if (!c)
        return;
    CHECK(ls_chat_resume(c, 999) == LS_ERR_NOT_FOUND && strstr(ls_error_msg(), "999"), "unknown session: %s",
          ls_error_msg());
    CHECK(ls_chat_resume(c, id) == LS_OK && ls_chat_session(c) == id && ls_chat_n_messages(c) == 4,
          "resumed with its four messages: %s", ls_error_msg());
    CHECK(!strcmp(ls_chat_get_message(c, 2).content, q2), "in their order");
    ls_answer a = ask(c, "And her name?", NULL);
    CHECK(a.saved && a.n_prompt > 0, "the resumed session answers");
    ls_memory *mem = ls_chat_memory(c);
    if (!mem) {
        ls_chat_close(c);
        return;
    }
    ls_session s;
    size_t n = 0;
    CHECK(ls_memory_get_session(mem, id, &s) == LS_OK && s.n_messages == 6, "it grew to six messages (%d)",
          s.n_messages);
    ls_session_clear(&s);
    CHECK(s.title == NULL, "a cleared session is all zeros");
    /* Activity is kept to the second, so within this test "latest" is the
     * head of the list, not necessarily this session. */
    int64_t latest = 0;
    ls_session *list;
    CHECK(ls_memory_latest_session(mem, &latest) == LS_OK && latest > 0, "a latest session (%lld)", (long long)latest);
    CHECK(ls_memory_list_sessions(mem, 1, &list, &n) == LS_OK && n == 1 && list[0].id == latest,
          "the head of the list, most recently active first");
    ls_session_list_free(list, n);

    ls_model_stats *st;
    CHECK(ls_memory_stats(mem, &st, &n) == LS_OK && n == 1, "one model in the statistics (%zu)", n);
    if (n == 1) {
        /* 2 (two questions) + 2 (cached, regenerated) + 1 (system) + 1 (cache off) + 2 (notes) + 1 (resumed) */
        CHECK(strstr(st[0].model, "golden-qwen2-q8_0") && st[0].n_requests == 9 && st[0].n_cache_hits == 1 &&
                  st[0].n_generated == 8,
              "every request counted: %s %d requests, %d hits, %d generated", st[0].model, st[0].n_requests,
              st[0].n_cache_hits, st[0].n_generated);
        CHECK(st[0].total_p50_s > 0 && st[0].total_p50_s <= st[0].total_p95_s && st[0].ttft_p50_s > 0 &&
                  st[0].tokens_per_s_p50 > 0 && st[0].tokens_per_s_p50 <= st[0].tokens_per_s_p95,
              "real figures");
    }
    ls_model_stats_list_free(st, n);

    CHECK(ls_chat_forget(c, id) == LS_OK, "forgotten: %s", ls_error_msg());
    CHECK(ls_chat_session(c) == 0 && ls_chat_n_messages(c) == 0, "this conversation starts again empty");
    CHECK(ls_memory_get_session(mem, id, &s) == LS_ERR_NOT_FOUND, "the session is gone from the file");
    CHECK(ls_chat_forget(c, id) == LS_ERR_NOT_FOUND, "forgetting it again: not found");
    ls_chat_close(c);
}

/* Scores: tokenizing a prompt, its scores read at once against one token at
 * a time (the greedy steps), and the refusals. */
typedef struct {
    int n;
    int32_t first;
    float best;
} steps;

static void on_step(void *ctx, int32_t id, const float *scores)
{
    steps *s = ctx;
    if (s->n++ == 0) {
        s->first = id;
        s->best = scores[id];
    }
}

static void test_scores(void)
{
    ls_model_info info = ls_model_get_info(model);
    size_t n = 0;
    CHECK(ls_tokenize(model, "Hello world", false, NULL, 0, &n) == LS_ERR_LIMIT && n >= 2,
          "counting the ids (%zu, BOS included)", n);
    int32_t ids[64];
    CHECK(ls_tokenize(model, "Hello world", false, ids, 64, &n) == LS_OK && n >= 2, "tokenize");
    float *logits = malloc(sizeof(float) * (size_t)info.n_vocab * n);
    steps s = { 0 };
    CHECK(ls_score(model, ids, (int)n, logits, 3, on_step, &s) == LS_OK, "score: %s", ls_error_msg());
    int best = 0;
    const float *last = logits + (n - 1) * (size_t)info.n_vocab;
    for (int i = 1; i < info.n_vocab; i++)
        if (last[i] > last[best])
            best = i;
    CHECK(s.n == 3 && s.first == best && s.best == last[best],
          "three greedy steps, the first the prompt's best token (%d steps, %d vs %d)", s.n, s.first, best);
    int32_t bad = info.n_vocab;
    CHECK(ls_score(model, &bad, 1, logits, 0, NULL, NULL) == LS_ERR_ARG, "an id outside the vocabulary is refused");
    free(logits);
}

/* Converting a file: the report, the progress calls, an unknown type. */
static int n_progress;

static void on_quant_progress(void *ctx, const ls_quant_progress *p)
{
    (void)ctx;
    n_progress += p->tensor && p->tensor->name[0] && p->i_tensor < p->n_tensors;
}

static void test_quantize(const char *shared)
{
    char in[1024], out[] = "/tmp/localseek_api_q_XXXXXX";
    snprintf(in, sizeof in, "%s/models/golden-qwen2-f16.gguf", shared);
    int fd = mkstemp(out);
    if (fd >= 0)
        close(fd);
    CHECK(ls_quant_type_known("q8_0") && !ls_quant_type_known("Q3_K_S") && strstr(ls_quant_type_names(), "Q4_K_M"),
          "the type names");
    ls_quant_options o = { .n_threads = 1, .on_progress = on_quant_progress };
    ls_quant_report r;
    CHECK(ls_quantize(in, out, "Q8_0", &o, &r) == LS_OK, "quantize: %s", ls_error_msg());
    int64_t counted = 0;
    for (int k = 0; k < r.n_counts; k++)
        counted += r.counts[k].n;
    CHECK(r.n_tensors == 27 && counted == 27 && n_progress == 27 && !strcmp(r.type, "Q8_0") && r.n_fallbacks == 0 &&
              r.file_bytes_out > 0 && r.file_bytes_out < r.file_bytes_in,
          "report: %lld tensors, %lld counted, %d progress calls, %llu -> %llu bytes", (long long)r.n_tensors,
          (long long)counted, n_progress, (unsigned long long)r.file_bytes_in, (unsigned long long)r.file_bytes_out);
    ls_quant_report_free(&r);
    ls_quant_report_free(NULL);
    CHECK(ls_quantize(in, out, "Q3_K_S", NULL, &r) == LS_ERR_ARG && strstr(ls_error_msg(), "Q3_K_S"),
          "an unknown type is refused: %s", ls_error_msg());
    unlink(out);
}

int main(void)
{
    const char *shared = check_shared_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/models/golden-qwen2-q8_0.gguf", shared);
    int fd = mkstemp(db);
    if (fd >= 0)
        close(fd);
    unlink(db); /* a fresh file is created at that name */

    ls_memory_close(NULL);
    ls_session_list_free(NULL, 0);
    ls_session_clear(NULL);
    ls_stored_message_list_free(NULL, 0);
    ls_model_stats_list_free(NULL, 0);

    ls_runtime *rt = NULL;
    ls_runtime_options ro = { .n_threads = 2 };
    ls_model_options mo = { .n_ctx = 1024 };
    CHECK(ls_runtime_open(&ro, &rt) == LS_OK && ls_model_open(rt, path, &mo, &model) == LS_OK, "load: %s",
          ls_error_msg());
    if (model) {
        settings = ls_default_settings(model);
        settings.temperature = 0;
        settings.max_answer_tokens = 12;
        settings.think_budget = 6;
        test_paths();
        test_scores();
        test_without_memory();
        test_bad_file();
        test_empty_file();
        char first_answer[4096] = "";
        int64_t id = test_two_questions(first_answer, sizeof first_answer);
        if (id) {
            test_cache(first_answer);
            test_notes_and_budget(id);
            test_resume_and_forget(id);
        }
    }
    test_quantize(shared);
    ls_model_close(model);
    ls_runtime_close(rt);
    char side[1100];
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", db, (const char *[]){ "", "-wal", "-shm" }[i]);
        unlink(side);
    }
    return check_done();
}
