/* fuzz_memory.c — libFuzzer target for the memory layer's handling of user
 * text: the FTS5 query builder, normalization, storing and searching.
 *
 * An input is cut at its first 0x00 byte: the part before is saved as a turn
 * (question and answer) in an in-memory store, the part after (or the whole
 * input) is the search text. Invariants (a broken one calls abort()):
 *   - mem_fts_query() writes only double-quoted words joined by " OR ", with
 *     no quote, space or control byte inside a word;
 *   - mem_normalize() succeeds on valid UTF-8 and its result has no leading,
 *     trailing or doubled spaces;
 *   - saving the turn succeeds, and the stored messages read back verbatim
 *     (text up to the first 0x00, as C strings are);
 *   - mem_retrieve() succeeds for any text, and every hit's score is positive.
 * The store is recreated every 512 inputs so memory stays bounded.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "fuzz.h"
#include "base/alloc.h"
#include "base/status.h"
#include "memory/retrieve.h"
#include "memory/store.h"

static mem_store *store;
static int64_t session;
static unsigned n_inputs;

static void check_query(const char *text)
{
    char q[1024];
    size_t len = mem_fts_query(text, q, sizeof q);
    FUZZ_ASSERT(len == strlen(q));
    const char *p = q;
    while (*p) {
        FUZZ_ASSERT(*p == '"');
        const char *end = strchr(p + 1, '"');
        FUZZ_ASSERT(end && end > p + 1);
        for (const char *c = p + 1; c < end; c++)
            FUZZ_ASSERT((unsigned char)*c > ' ' && *c != 0x7f);
        p = end + 1;
        if (*p) {
            FUZZ_ASSERT(strncmp(p, " OR ", 4) == 0);
            p += 4;
        }
    }
}

static void check_normalize(const char *text)
{
    char *n = mem_normalize(text);
    bool valid = utf8proc_decompose((const utf8proc_uint8_t *)text, 0, NULL, 0, UTF8PROC_NULLTERM) >= 0;
    FUZZ_ASSERT(n || !valid);
    if (n) {
        size_t len = strlen(n);
        FUZZ_ASSERT(len == 0 || (n[0] != ' ' && n[len - 1] != ' '));
        FUZZ_ASSERT(!strstr(n, "  "));
    }
    ls_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (n_inputs++ % 512 == 0) {
        mem_close(store);
        FUZZ_ASSERT(mem_open(":memory:", &store) == LS_OK);
        FUZZ_ASSERT(mem_session_create(store, "fuzz.gguf", "", &session) == LS_OK);
        static const char *const seed[] = { "My sister Ana lives in Porto.", "The weather is nice today.",
                                            "Zürich et 東京 sont loin." };
        for (int i = 0; i < 3; i++) {
            mem_turn t = { .user = seed[i], .answer = seed[(i + 1) % 3], .model = "fuzz.gguf" };
            FUZZ_ASSERT(mem_turn_save(store, session, &t, NULL, NULL) == LS_OK);
        }
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    size_t first = strlen(text); /* the part before the first 0x00 */
    const char *search = first < size ? text + first + 1 : text;

    check_query(text);
    check_query(search);
    check_normalize(text);

    mem_turn t = { .user = text, .answer = search, .thinking = text, .model = search };
    int64_t q_id, a_id;
    FUZZ_ASSERT(mem_turn_save(store, session, &t, &q_id, &a_id) == LS_OK);
    mem_message *m;
    size_t n;
    FUZZ_ASSERT(mem_messages(store, session, 2, &m, &n) == LS_OK && n == 2);
    FUZZ_ASSERT(m[0].id == q_id && !strcmp(m[0].content, text) && !strcmp(m[1].content, search));
    FUZZ_ASSERT(!strcmp(m[1].thinking, text) && !strcmp(m[1].model, search));
    mem_messages_free(m, n);

    mem_hit *hits;
    FUZZ_ASSERT(mem_retrieve(store, search, NULL, &hits, &n) == LS_OK);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(hits[i].score > 0);
    mem_hits_free(hits, n);
    free(text);
    return 0;
}
