/* stop.c — stop strings by appending bytes and comparing tails.
 *
 * Each push lays out, in the caller's buffer, the held tail from last time
 * followed by the new bytes, one byte at a time; after each byte it asks
 * whether the text written so far ends with a stop string (comparing the
 * last byte first, so most checks cost one comparison). The first hit ends
 * the stream there. With no hit, the longest end of the text that is a
 * proper beginning of some stop string is cut off and kept in `held` for the
 * next push; the rest is returned.
 *
 * Invariants: n_held < STOP_MAX_BYTES; held[] never contains a whole stop
 * string; any stop string that completes later starts inside held[] or in
 * bytes not yet seen (held[] is the LONGEST possible start, so a match cannot
 * begin before it). Cost: O(bytes × stop strings) for the scan plus
 * O(stop strings × STOP_MAX_BYTES²) for the tail search, once per push —
 * small next to one token of a model.
 */
#include "generate/stop.h"

#include <assert.h>
#include <string.h>

#include "base/alloc.h"

struct stop_matcher {
    int n_strings;
    size_t len[STOP_MAX_STRINGS];                  /* bytes of each stop string */
    char str[STOP_MAX_STRINGS][STOP_MAX_BYTES];    /* not NUL-terminated */
    char held[STOP_MAX_BYTES];                     /* [n_held] possible start of a stop string */
    size_t n_held;
    int which; /* the stop string that completed, -1 none */
};

ls_status stop_create(const char *const *strings, int n_strings, stop_matcher **out)
{
    *out = NULL;
    if (n_strings < 0 || n_strings > STOP_MAX_STRINGS)
        return ls_error(LS_ERR_ARG, "at most %d stop strings are supported (got %d)", STOP_MAX_STRINGS, n_strings);
    for (int k = 0; k < n_strings; k++) {
        if (!strings[k] || !strings[k][0])
            return ls_error(LS_ERR_ARG, "stop string %d is empty", k + 1);
        if (strlen(strings[k]) > STOP_MAX_BYTES)
            return ls_error(LS_ERR_ARG, "stop string %d is %zu bytes long; the limit is %d", k + 1,
                            strlen(strings[k]), STOP_MAX_BYTES);
    }
    stop_matcher *m = ls_calloc(1, sizeof *m);
    if (!m)
        return ls_error(LS_ERR_NOMEM, "no memory for the stop-string matcher");
    m->n_strings = n_strings;
    for (int k = 0; k < n_strings; k++) {
        m->len[k] = strlen(strings[k]);
        memcpy(m->str[k], strings[k], m->len[k]);
    }
    m->which = -1;
    *out = m;
    return LS_OK;
}

void stop_free(stop_matcher *m)
{
    ls_free(m);
}

void stop_reset(stop_matcher *m)
{
    m->n_held = 0;
    m->which = -1;
}

int stop_which(const stop_matcher *m)
{
    return m->which;
}

/* The stop string that text[0..len) ends with, or -1. */
static int ends_with_stop(const stop_matcher *m, const char *text, size_t len)
{
    for (int k = 0; k < m->n_strings; k++) {
        size_t l = m->len[k];
        if (l <= len && text[len - 1] == m->str[k][l - 1] && memcmp(text + len - l, m->str[k], l) == 0)
            return k;
    }
    return -1;
}

/* Length of the longest end of text[0..len) that is a proper beginning of some stop string. */
static size_t partial_tail(const stop_matcher *m, const char *text, size_t len)
{
    size_t best = 0;
    for (int k = 0; k < m->n_strings; k++)
        for (size_t l = m->len[k] - 1 < len ? m->len[k] - 1 : len; l > best; l--)
            if (memcmp(text + len - l, m->str[k], l) == 0) {
                best = l;
                break;
            }
    return best;
}

bool stop_push(stop_matcher *m, const char *text, size_t n, char *out, size_t out_cap, size_t *n_out)
{
    assert(out_cap >= n + STOP_MAX_BYTES);
    (void)out_cap;
    *n_out = 0;
    if (m->which >= 0)
        return true;
    memcpy(out, m->held, m->n_held);
    size_t len = m->n_held;
    for (size_t i = 0; i < n; i++) {
        out[len++] = text[i];
        int k = ends_with_stop(m, out, len);
        if (k >= 0) {
            m->which = k;
            m->n_held = 0;
            *n_out = len - m->len[k];
            return true;
        }
    }
    size_t t = partial_tail(m, out, len);
    memcpy(m->held, out + len - t, t);
    m->n_held = t;
    *n_out = len - t;
    return false;
}

size_t stop_flush(stop_matcher *m, char *out, size_t out_cap)
{
    assert(out_cap >= STOP_MAX_BYTES);
    (void)out_cap;
    size_t n = m->which >= 0 ? 0 : m->n_held;
    memcpy(out, m->held, n);
    stop_reset(m);
    return n;
}
