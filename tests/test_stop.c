/* test_stop.c — stop strings on streamed text: split over many chunks,
 * partial matches released, overlapping candidates, several strings, UTF-8,
 * empty input, chunking never changing the result, limits and memory. */
#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "base/status.h"
#include "check.h"
#include "generate/stop.h"

enum { OUT_CAP = 4096 };

static stop_matcher *make(const char *const *strings, int n)
{
    stop_matcher *m = NULL;
    ls_status st = stop_create(strings, n, &m);
    CHECK(st == LS_OK, "stop_create: %s", ls_error_msg());
    return m;
}

/* Feeds chunks[0..n) (NULL-terminated if n < 0), then flushes. Appends all
 * output to `shown` (NUL-terminated); returns the stop string's index or -1.
 * `step_out[i]`, when given, receives what chunk i released. */
static int feed(stop_matcher *m, const char *const *chunks, int n, char *shown, char (*step_out)[64])
{
    static char out[OUT_CAP];
    size_t total = 0;
    bool stopped = false;
    for (int i = 0; n < 0 ? chunks[i] != NULL : i < n; i++) {
        size_t n_out = 0;
        stopped = stop_push(m, chunks[i], strlen(chunks[i]), out, sizeof out, &n_out);
        memcpy(shown + total, out, n_out);
        total += n_out;
        if (step_out) {
            memcpy(step_out[i], out, n_out);
            step_out[i][n_out] = 0;
        }
    }
    int which = stop_which(m);
    CHECK(stopped == (which >= 0), "stop_push's result agrees with stop_which");
    total += stop_flush(m, shown + total, OUT_CAP);
    shown[total] = 0;
    CHECK(stop_which(m) == -1, "flush starts over");
    return which;
}

/* The same text cut into chunks at positions cuts[0..n_cuts) (increasing). */
static int feed_cut(stop_matcher *m, const char *text, const size_t *cuts, int n_cuts, char *shown)
{
    static char pieces[80][256]; /* up to 64 cuts: 65 pieces */
    const char *ptr[80];
    size_t prev = 0;
    int n = 0;
    for (int i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : strlen(text);
        memcpy(pieces[n], text + prev, end - prev);
        pieces[n][end - prev] = 0;
        ptr[n] = pieces[n];
        n++;
        prev = end;
    }
    return feed(m, ptr, n, shown, NULL);
}

/* Every way of cutting `text` into two or three chunks, and byte by byte,
 * gives the same output and the same stop as one chunk. */
static void check_any_chunking(const char *const *stops, int n_stops, const char *text, const char *want, int which)
{
    stop_matcher *m = make(stops, n_stops);
    char shown[OUT_CAP];
    size_t len = strlen(text);
    int n_bad = 0;
    int w = feed_cut(m, text, NULL, 0, shown);
    CHECK(w == which && strcmp(shown, want) == 0, "'%s' in one chunk: got '%s' (stop %d), want '%s' (stop %d)", text,
          shown, w, want, which);
    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = { a, b };
            w = feed_cut(m, text, cuts, 2, shown);
            n_bad += w != which || strcmp(shown, want) != 0;
        }
    size_t bytes[64];
    for (size_t i = 0; i + 1 < len && i < 64; i++)
        bytes[i] = i + 1;
    w = feed_cut(m, text, bytes, (int)(len - 1 < 64 ? len - 1 : 64), shown);
    n_bad += w != which || strcmp(shown, want) != 0;
    CHECK(n_bad == 0, "'%s': %d chunkings give another result", text, n_bad);
    stop_free(m);
}

static bool whole_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0)
            return false;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

static void test_split_over_chunks(void)
{
    const char *stops[] = { "<|end|>" };
    stop_matcher *m = make(stops, 1);
    char shown[OUT_CAP], steps[8][64];
    const char *chunks[] = { "Hello <", "|", "en", "d", "|>", " never shown", NULL };
    int w = feed(m, chunks, -1, shown, steps);
    CHECK(w == 0, "the stop string completed over five chunks");
    CHECK(strcmp(shown, "Hello ") == 0, "text before it shown, the rest not: '%s'", shown);
    CHECK(strcmp(steps[0], "Hello ") == 0, "'Hello ' released at once, '<' held: '%s'", steps[0]);
    CHECK(!steps[1][0] && !steps[2][0] && !steps[3][0] && !steps[4][0] && !steps[5][0], "nothing else released");
    stop_free(m);
}

static void test_partial_released(void)
{
    const char *stops[] = { "STOP" };
    stop_matcher *m = make(stops, 1);
    char shown[OUT_CAP], steps[8][64];
    const char *chunks[] = { "ST", "OCK", " market", NULL };
    CHECK(feed(m, chunks, -1, shown, steps) == -1, "STOCK is not STOP");
    CHECK(!steps[0][0], "'ST' held while it could still become STOP");
    CHECK(strcmp(steps[1], "STOCK") == 0, "released as soon as it cannot: '%s'", steps[1]);
    CHECK(strcmp(shown, "STOCK market") == 0, "all text shown: '%s'", shown);

    const char *tail[] = { "one S", "TO", NULL };
    CHECK(feed(m, tail, -1, shown, steps) == -1, "no stop");
    CHECK(strcmp(steps[0], "one ") == 0 && !steps[1][0], "'STO' held at the end");
    CHECK(strcmp(shown, "one STO") == 0, "flush returns the held tail: '%s'", shown);
    stop_free(m);
}

static void test_overlap(void)
{
    const char *aab[] = { "aab" };
    stop_matcher *m = make(aab, 1);
    char shown[OUT_CAP], steps[8][64];
    const char *chunks[] = { "a", "a", "a", "b", NULL };
    CHECK(feed(m, chunks, -1, shown, steps) == 0, "'aab' found in 'aaab'");
    CHECK(strcmp(shown, "a") == 0, "only the first 'a' is shown: '%s'", shown);
    CHECK(!steps[0][0] && !steps[1][0] && strcmp(steps[2], "a") == 0, "the third 'a' releases the first");
    stop_free(m);
    check_any_chunking(aab, 1, "aaab", "a", 0);
    check_any_chunking(aab, 1, "aaac", "aaac", -1);
    check_any_chunking(aab, 1, "aaaaab!", "aaa", 0);
    const char *abab[] = { "abac" };
    check_any_chunking(abab, 1, "xababac", "xab", 0);
}

static void test_several(void)
{
    const char *stops[] = { "###", "\nUser:" };
    check_any_chunking(stops, 2, "Answer: 4\nUser: thanks", "Answer: 4", 1);
    check_any_chunking(stops, 2, "a ## b\nUse it ### x", "a ## b\nUse it ", 0);
    check_any_chunking(stops, 2, "no stop here\nUser", "no stop here\nUser", -1);
    /* the first to complete wins, whatever the chunking */
    const char *nested[] = { "abcd", "bc" };
    check_any_chunking(nested, 2, "xabcd", "xa", 1);
    const char *prefix[] = { "abc", "ab" };
    check_any_chunking(prefix, 2, "zabc", "z", 1);
    const char *none[] = { NULL };
    check_any_chunking(none, 0, "anything <|end|> at all", "anything <|end|> at all", -1);
}

static void test_utf8(void)
{
    const char *stops[] = { "。\n", "答案：" };
    check_any_chunking(stops, 2, "结果是42。\n多余的话", "结果是42", 0);
    check_any_chunking(stops, 2, "问答复 答案：7", "问答复 ", 1);
    check_any_chunking(stops, 2, "句号。后面没有换行", "句号。后面没有换行", -1);

    /* fed whole characters, every released chunk is whole characters */
    stop_matcher *m = make(stops, 2);
    const char *chars[] = { "答", "复", "答", "案", "呢", "。", "好", "答", "案", NULL };
    char shown[OUT_CAP], steps[16][64];
    CHECK(feed(m, chars, -1, shown, steps) == -1, "no stop string completes");
    int n_broken = 0;
    for (int i = 0; chars[i]; i++)
        n_broken += !whole_utf8(steps[i]);
    CHECK(n_broken == 0, "no character cut in half (%d chunks broken)", n_broken);
    CHECK(!steps[0][0] && strcmp(steps[1], "答复") == 0, "'答' held, then released with '复'");
    CHECK(strcmp(shown, "答复答案呢。好答案") == 0, "all text shown: '%s'", shown);
    stop_free(m);
}

static void test_empty_and_after_stop(void)
{
    const char *stops[] = { "STOP" };
    stop_matcher *m = make(stops, 1);
    char out[OUT_CAP];
    size_t n_out = 99;
    CHECK(!stop_push(m, "", 0, out, sizeof out, &n_out) && n_out == 0, "empty input at the start");
    CHECK(!stop_push(m, "xS", 2, out, sizeof out, &n_out) && n_out == 1, "'x' out, 'S' held");
    CHECK(!stop_push(m, NULL, 0, out, sizeof out, &n_out) && n_out == 0, "empty input keeps the held 'S'");
    CHECK(stop_push(m, "TOP and more", 12, out, sizeof out, &n_out) && n_out == 0, "stop completes");
    CHECK(stop_which(m) == 0, "stop_which names it");
    CHECK(stop_push(m, "later", 5, out, sizeof out, &n_out) && n_out == 0, "after a stop, nothing more comes out");
    CHECK(stop_flush(m, out, sizeof out) == 0, "flush after a stop returns nothing");
    CHECK(!stop_push(m, "STO", 3, out, sizeof out, &n_out) && n_out == 0, "works again after flush");
    stop_reset(m);
    CHECK(stop_flush(m, out, sizeof out) == 0, "reset forgets the held tail");
    CHECK(stop_push(m, "STOP", 4, out, sizeof out, &n_out) && n_out == 0, "a stop at the very start shows nothing");
    stop_free(m);
    stop_free(NULL);
}

/* stop_push into a heap buffer of exactly n + STOP_MAX_BYTES bytes, so ASan sees a write past it. */
static bool push_tight(stop_matcher *m, const char *text, size_t n, size_t *n_out)
{
    char *tight = malloc(n + STOP_MAX_BYTES);
    bool stopped = stop_push(m, text, n, tight, n + STOP_MAX_BYTES, n_out);
    free(tight);
    return stopped;
}

static void test_limits(void)
{
    char longest[STOP_MAX_BYTES + 2];
    memset(longest, 'x', sizeof longest);
    longest[STOP_MAX_BYTES + 1] = 0;
    const char *too_long[] = { "ok", longest };
    stop_matcher *m = (stop_matcher *)1;
    ls_error_clear();
    CHECK(stop_create(too_long, 2, &m) == LS_ERR_ARG && m == NULL, "a 65-byte stop string refused");
    CHECK(strstr(ls_error_msg(), "stop string 2") != NULL, "message names it: '%s'", ls_error_msg());
    const char *empty[] = { "" }, *null[] = { NULL };
    CHECK(stop_create(empty, 1, &m) == LS_ERR_ARG, "empty stop string refused");
    CHECK(stop_create(null, 1, &m) == LS_ERR_ARG, "NULL stop string refused");
    const char *nine[9] = { "1", "2", "3", "4", "5", "6", "7", "8", "9" };
    CHECK(stop_create(nine, 9, &m) == LS_ERR_ARG, "nine stop strings refused");
    CHECK(strstr(ls_error_msg(), "at most 8") != NULL, "message gives the limit: '%s'", ls_error_msg());

    /* eight strings of the largest size; the tightest output buffer (ASan checks its end) */
    longest[STOP_MAX_BYTES] = 0;
    const char *eight[8];
    char others[7][8];
    for (int k = 0; k < 7; k++) {
        snprintf(others[k], sizeof others[k], "<%d>", k);
        eight[k] = others[k];
    }
    eight[7] = longest;
    m = make(eight, 8);
    size_t n_out = 0;
    CHECK(!push_tight(m, longest, STOP_MAX_BYTES - 1, &n_out) && n_out == 0,
          "63 bytes of the 64-byte stop string held");
    CHECK(!push_tight(m, "ab", 2, &n_out) && n_out == STOP_MAX_BYTES + 1,
          "released with the next chunk into a buffer of exactly n + STOP_MAX_BYTES (%zu)", n_out);
    CHECK(!push_tight(m, longest, STOP_MAX_BYTES - 1, &n_out) && n_out == 0, "held again");
    CHECK(push_tight(m, "x", 1, &n_out) && stop_which(m) == 7 && n_out == 0, "the 64-byte stop string completes");
    stop_free(m);
}

static void test_memory(void)
{
    const char *stops[] = { "a" };
    long live = ls_alloc_live();
    stop_matcher *m = (stop_matcher *)1;
    ls_alloc_fail_after(1);
    ls_status st = stop_create(stops, 1, &m);
    ls_alloc_fail_after(0);
    CHECK(st == LS_ERR_NOMEM && m == NULL && ls_alloc_live() == live, "allocation failure reported, nothing leaked");
    m = make(stops, 1);
    char out[OUT_CAP];
    size_t n_out;
    ls_alloc_fail_after(1);
    for (int i = 0; i < 100; i++)
        stop_push(m, "xyz", 3, out, sizeof out, &n_out);
    stop_flush(m, out, sizeof out);
    void *probe = ls_malloc(1);
    ls_alloc_fail_after(0);
    CHECK(probe == NULL, "pushing and flushing allocate nothing");
    ls_free(probe);
    stop_free(m);
    CHECK(ls_alloc_live() == live, "everything freed");
}

int main(void)
{
    test_split_over_chunks();
    test_partial_released();
    test_overlap();
    test_several();
    test_utf8();
    test_empty_and_after_stop();
    test_limits();
    test_memory();
    return check_done();
}
