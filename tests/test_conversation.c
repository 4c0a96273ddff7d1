/* test_conversation.c — the request path (orchestrator/conversation.h) on a
 * real model and a real memory file.
 *
 * golden-qwen2-q8_0 has random weights but the DeepSeek-R1 template and
 * tokenizer; at temperature 0 its answers are deterministic, so "the same
 * answer" can be checked. What a user would notice:
 *   - a fact said in one session comes back, labelled, in the prompt of a
 *     later session that asks about it; the current session's own turns are
 *     not recalled; the token budget is kept; --no-memory recalls nothing;
 *   - an exact repeat (case and spaces aside) in a new session is answered
 *     from the cache, marked, identical, without running the model; a change
 *     of settings, system text, model, earlier turns or recalled notes is a
 *     miss; cut-short answers are not cached; regenerating replaces the
 *     cached turn;
 *   - every request leaves one telemetry row; a resumed session continues
 *     with its stored messages;
 *   - an allocation failure anywhere in the path refuses the question or
 *     keeps the answer, never leaves half a turn, and leaks nothing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "check.h"
#include "generate/chat.h"
#include "memory/store.h"
#include "model/model.h"
#include "orchestrator/conversation.h"
#include "tokenizer/tokenizer.h"

typedef struct {
    char text[8192];
    size_t n;
    int cancel_after; /* answer pieces before cancelling; -1 never */
    int n_pieces;
} sink;

static void on_text(void *ctx, gen_part part, const char *t, size_t n)
{
    sink *s = ctx;
    if (part != GEN_ANSWER)
        return;
    s->n_pieces++;
    if (s->n + n < sizeof s->text) {
        memcpy(s->text + s->n, t, n);
        s->n += n;
        s->text[s->n] = 0;
    }
}

static bool cancelled(void *ctx)
{
    sink *s = ctx;
    return s->cancel_after >= 0 && s->n_pieces >= s->cancel_after;
}

static engine *eng;
static const tok_tokenizer *tok;
static mem_store *store;

typedef struct {
    chat *c;          /* the conversation's messages (conv_chat) */
    chat_seat *seat;  /* the engine's place at it */
    conv *v;
} session;

static session open_session(const char *model_name, float temp, const char *system, bool recall, int memory_tokens)
{
    session s = { 0 };
    chat_params p = chat_default_params(TPL_DEEPSEEK_R1);
    p.n_ctx = 1024;
    p.gen.sampling.temp = temp;
    p.gen.n_answer_max = 12;
    p.gen.think_budget = 6;
    CHECK(chat_seat_create(eng, &p, &s.seat) == LS_OK, "seat: %s", ls_error_msg());
    conv_options o = conv_default_options();
    o.model_name = model_name;
    o.model_bytes = 1234;
    o.quant = "Q8_0";
    o.recall = recall;
    o.memory_tokens = memory_tokens;
    CHECK(conv_create(system, store, &o, &s.v) == LS_OK, "conv: %s", ls_error_msg());
    s.c = s.v ? conv_chat(s.v) : NULL;
    return s;
}

static void close_session(session *s)
{
    conv_free(s->v);
    chat_seat_free(s->seat);
}

static conv_turn ask(session *s, const char *text, sink *out)
{
    memset(out, 0, sizeof *out);
    out->cancel_after = -1;
    gen_callbacks cb = { .on_text = on_text, .cancelled = cancelled, .ctx = out };
    conv_turn t;
    ls_status st = conv_ask(s->v, s->seat, text, &cb, &t);
    CHECK(st == LS_OK, "ask '%s': %s", text, ls_error_msg());
    if (st)
        memset(&t, 0, sizeof t);
    return t;
}

/* Telemetry rows and the cache hits among them, over every model, read
 * through the public statistics (mem_stats counts every row); -1 on error. */
static int telemetry_count(bool hits_only)
{
    mem_model_stats *st;
    size_t n_models;
    if (mem_stats(store, &st, &n_models) != LS_OK)
        return -1;
    int n = 0;
    for (size_t i = 0; i < n_models; i++)
        n += hits_only ? st[i].n_cache_hits : st[i].n_requests;
    mem_stats_free(st, n_models);
    return n;
}

static int telemetry_rows(void)
{
    return telemetry_count(false);
}

static void test_recall(void)
{
    sink out;
    session a = open_session("golden.gguf", 0, NULL, true, 512);
    ask(&a, "Please remember: my sister Ana lives in Porto and teaches chemistry.", &out);
    ask(&a, "The weather is nice today.", &out);
    conv_turn t = ask(&a, "Which city does my sister live in?", &out);
    CHECK(t.n_notes == 0, "the session's own turns are in the prompt, not recalled (%d notes)", t.n_notes);
    int64_t first = conv_session(a.v);
    close_session(&a);

    session b = open_session("golden.gguf", 0, NULL, true, 512);
    t = ask(&b, "Which city does my sister live in?", &out);
    CHECK(t.n_notes >= 1, "a fact from an earlier session is recalled (%d notes)", t.n_notes);
    bool found = false;
    for (size_t i = 0; i < conv_n_notes(b.v); i++) {
        conv_note x = conv_get_note(b.v, i);
        found |= strstr(x.content, "Porto") != NULL && x.session_id == first && x.score > 0;
    }
    CHECK(found, "the note holds the fact, its session and a score");
    const char *prompt = chat_seat_last_prompt(b.seat);
    CHECK(strstr(prompt, "Notes recalled from earlier conversations") && strstr(prompt, "Ana lives in Porto"),
          "labelled in the prompt");
    const char *q = strstr(prompt, "Which city does my sister live in?"), *note = strstr(prompt, "Porto");
    CHECK(q && note && note < q, "notes come before the question in the same turn");
    chat_message um = chat_get_message(b.c, chat_n_messages(b.c) - 2);
    CHECK(!strcmp(um.content, "Which city does my sister live in?") && um.memory && strstr(um.memory, "Porto"),
          "the stored question is the user's words; the notes are kept apart");
    mem_message *msgs;
    size_t n;
    CHECK(mem_messages(store, conv_session(b.v), 0, &msgs, &n) == LS_OK && n == 2 &&
              !strcmp(msgs[0].content, "Which city does my sister live in?"),
          "the memory file stores the question without the notes");
    mem_messages_free(msgs, n);

    /* the next turn of the same session keeps re-using the KV cache */
    t = ask(&b, "And what does she teach?", &out);
    CHECK(t.chat.gen.n_reused > 0, "re-use after a turn with notes (%d)", t.chat.gen.n_reused);
    close_session(&b);

    session tight = open_session("golden.gguf", 0, NULL, true, 40);
    t = ask(&tight, "Where does Ana live and what does my sister teach?", &out);
    int used = 0;
    for (size_t i = 0; i < conv_n_notes(tight.v); i++)
        used += conv_get_note(tight.v, i).n_tokens;
    CHECK(used <= 40, "the note budget is kept (%d tokens)", used);
    close_session(&tight);

    session off = open_session("golden.gguf", 0, NULL, false, 512);
    t = ask(&off, "Which city does my sister live in, Ana?", &out);
    CHECK(t.n_notes == 0 && !strstr(chat_seat_last_prompt(off.seat), "Notes recalled"), "--no-memory recalls nothing");
    close_session(&off);
}

static void test_cache(void)
{
    sink out1, out2;
    int rows = telemetry_rows();
    session a = open_session("golden.gguf", 0, NULL, true, 512);
    conv_turn t1 = ask(&a, "Name three prime numbers.", &out1);
    CHECK(!t1.cached && t1.chat.gen.n_answer > 0, "first time generated");
    close_session(&a);

    session b = open_session("golden.gguf", 0, NULL, true, 512);
    conv_turn t2 = ask(&b, "  name THREE prime   numbers. ", &out2);
    CHECK(t2.cached && t2.cached_at[0], "a repeat (case and spaces aside) comes from the cache");
    CHECK(!strcmp(out1.text, out2.text), "same answer: '%s' vs '%s'", out1.text, out2.text);
    CHECK(t2.chat.gen.n_prompt == 0 && chat_seat_n_cached(b.seat) == 0, "the model did not run");
    CHECK(chat_n_messages(b.c) == 2, "the cached turn is part of the conversation");
    printf("cache: generated in %.4f s, from the cache in %.4f s\n", t1.t_total_s, t2.t_total_s);
    /* regenerate: the cached turn is replaced by a fresh one */
    sink out3;
    memset(&out3, 0, sizeof out3);
    out3.cancel_after = -1;
    gen_callbacks cb = { .on_text = on_text, .cancelled = cancelled, .ctx = &out3 };
    conv_turn t3;
    CHECK(conv_regenerate(b.v, b.seat, &cb, &t3) == LS_OK && !t3.cached && t3.chat.gen.n_answer > 0, "regenerated");
    CHECK(t3.chat.gen.n_prompt > 0 && !strcmp(chat_get_message(b.c, 0).content, "  name THREE prime   numbers. "),
          "the model ran on the user's own words");
    mem_message *msgs;
    size_t n;
    CHECK(mem_messages(store, conv_session(b.v), 0, &msgs, &n) == LS_OK && n == 2 && !msgs[1].cached,
          "the store holds the fresh turn only (%zu messages)", n);
    mem_messages_free(msgs, n);
    CHECK(conv_regenerate(b.v, b.seat, &cb, &t3) == LS_ERR_ARG, "nothing cached to regenerate");
    close_session(&b);

    /* misses */
    struct {
        const char *why, *model, *system;
        float temp;
    } cases[] = {
        { "another model", "other.gguf", NULL, 0 },
        { "other sampling settings", "golden.gguf", NULL, 0.7f },
        { "a system text", "golden.gguf", "Answer in French.", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        session s = open_session(cases[i].model, cases[i].temp, cases[i].system, true, 512);
        conv_turn t = ask(&s, "Name three prime numbers.", &out2);
        CHECK(!t.cached, "miss with %s", cases[i].why);
        close_session(&s);
    }
    session d = open_session("golden.gguf", 0, NULL, true, 512);
    ask(&d, "Hello.", &out2);
    conv_turn t = ask(&d, "Name three prime numbers.", &out2);
    CHECK(!t.cached, "miss after other earlier turns");
    close_session(&d);

    /* notes that differ from those the answer was given with: a miss */
    session e = open_session("golden.gguf", 0, NULL, true, 512);
    ask(&e, "Seven and eleven are my favourite prime numbers.", &out2);
    close_session(&e);
    session f = open_session("golden.gguf", 0, NULL, true, 512);
    t = ask(&f, "Name three prime numbers.", &out2);
    CHECK(t.n_notes > 0 && !t.cached, "new notes recalled: answered anew (%d notes, cached %d)", t.n_notes, t.cached);
    close_session(&f);
    session g = open_session("golden.gguf", 0, NULL, true, 512);
    t = ask(&g, "Name three prime numbers.", &out2);
    CHECK(t.cached, "and then cached again with those notes");
    close_session(&g);

    /* a cut-short answer is not cached */
    session h = open_session("golden.gguf", 0, NULL, true, 512);
    memset(&out2, 0, sizeof out2);
    out2.cancel_after = 1;
    gen_callbacks cb2 = { .on_text = on_text, .cancelled = cancelled, .ctx = &out2 };
    CHECK(conv_ask(h.v, h.seat, "Count from one to ten.", &cb2, &t) == LS_OK && t.chat.gen.stop == GEN_STOP_CANCELLED,
          "interrupted");
    close_session(&h);
    session k = open_session("golden.gguf", 0, NULL, true, 512);
    t = ask(&k, "Count from one to ten.", &out2);
    CHECK(!t.cached, "an interrupted answer is not served from the cache");
    close_session(&k);

    CHECK(telemetry_rows() == rows + 13, "one telemetry row per request (%d new)", telemetry_rows() - rows);
    int hits = telemetry_count(true);
    CHECK(hits == 2, "two cache hits recorded (%d)", hits);
}

static void test_resume(void)
{
    sink out;
    session a = open_session("golden.gguf", 0, NULL, true, 512);
    ask(&a, "First question of a session to resume.", &out);
    ask(&a, "Second question.", &out);
    int64_t id = conv_session(a.v);
    close_session(&a);
    session b = open_session("golden.gguf", 0, NULL, true, 512);
    CHECK(conv_resume(b.v, id) == LS_OK && chat_n_messages(b.c) == 4 && conv_session(b.v) == id, "resumed");
    conv_turn t = ask(&b, "Third question.", &out);
    CHECK(t.chat.gen.n_prompt > 40 && strstr(chat_seat_last_prompt(b.seat), "First question of a session to resume."),
          "the stored turns are in the prompt");
    mem_session info;
    CHECK(mem_session_get(store, id, &info) == LS_OK && info.n_messages == 6, "saved into the same session");
    mem_session_clear(&info);
    CHECK(conv_resume(b.v, 999999) == LS_ERR_NOT_FOUND && chat_n_messages(b.c) == 6, "unknown id: nothing changes");
    CHECK(conv_forget(b.v, id) == LS_OK && conv_session(b.v) == 0 && chat_n_messages(b.c) == 0,
          "forgetting the current session starts a new one");
    CHECK(mem_session_get(store, id, &info) == LS_ERR_NOT_FOUND, "gone from the file");
    close_session(&b);
}

/* Every allocation of the request path may fail: the question is then
 * refused or its answer kept, never half-stored, and nothing leaks. */
static void test_alloc_failures(void)
{
    sink out;
    session warm = open_session("golden.gguf", 0, NULL, true, 512);
    ask(&warm, "Which city does my sister live in?", &out); /* buffers grown once, as in use */
    int n_fail = 0;
    log_set_level(LOG_ERROR); /* the warnings of logged-only failures are expected here */
    for (long k = 1; k < 160; k++) {
        long live = ls_alloc_live();
        conv_options o = conv_default_options();
        o.model_name = "alloc.gguf";
        conv *v = NULL;
        ls_alloc_fail_after(k);
        ls_status st = conv_create(NULL, store, &o, &v);
        conv_turn t1, t2;
        memset(&out, 0, sizeof out);
        out.cancel_after = -1;
        gen_callbacks cb = { .on_text = on_text, .cancelled = cancelled, .ctx = &out };
        if (!st)
            st = conv_ask(v, warm.seat, "Which city does my sister live in, Ana?", &cb, &t1);
        if (!st) { /* a new session for the same question: the cache path */
            conv_new_session(v);
            st = conv_ask(v, warm.seat, "Which city does my sister live in, Ana?", &cb, &t2);
        }
        ls_alloc_fail_after(0);
        bool ok = st == LS_OK;
        CHECK(!v || ok || chat_n_messages(conv_chat(v)) % 2 == 0, "no half turn in the conversation (k=%ld)", k);
        conv_free(v);
        CHECK(ls_alloc_live() == live, "no leak when allocation %ld fails", k);
        n_fail += !ok; /* some failures are only logged (a cache not read): the answer is given anyway */
    }
    log_set_level(LOG_WARN);
    CHECK(n_fail > 5, "allocation failures were exercised (%d)", n_fail);
    close_session(&warm);
}

int main(void)
{
    const char *shared = check_shared_dir();
    char path[1024], db[] = "/tmp/localseek_conv_XXXXXX";
    snprintf(path, sizeof path, "%s/models/golden-qwen2-q8_0.gguf", shared);
    engine_params ep = { .n_ctx = 1024, .n_threads = 2 };
    CHECK(engine_open(path, &ep, NULL, &eng, NULL) == LS_OK, "load: %s", ls_error_msg());
    tok = eng ? engine_tokenizer(eng) : NULL;
    int fd = mkstemp(db);
    if (fd >= 0)
        close(fd);
    unlink(db); /* a fresh file is created at that name */
    CHECK(mem_open(db, &store) == LS_OK, "store: %s", ls_error_msg());
    if (eng && store) {
        test_recall();
        test_cache();
        test_resume();
        test_alloc_failures();
    }
    mem_close(store);
    engine_close(eng);
    char side[1100];
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", db, (const char *[]){ "", "-wal", "-shm" }[i]);
        unlink(side);
    }
    return check_done();
}
