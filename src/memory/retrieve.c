/* retrieve.c — words in, ranked earlier messages out.
 *
 * How it works:
 *   1. mem_fts_query() cuts the text into words (runs of ASCII letters and
 *      digits, or of any non-ASCII bytes, so "Zürich" and "東京" stay whole),
 *      lowercases ASCII, drops common English words and one-letter words,
 *      and writes each remaining word in double quotes joined by OR. Quoting
 *      makes every word a plain search term: FTS5's own syntax (AND, NEAR,
 *      *, column filters) never comes from the user.
 *   2. Each word's number of messages is counted (up to a cap) and only the
 *      rarest words whose matches together stay under MAX_POSTINGS are
 *      searched: the time of a search grows with the matches it ranks, and
 *      the commonest words weigh least in BM25 anyway.
 *   3. One prepared query asks FTS5 for the best matches in BM25 order
 *      (`ORDER BY rank LIMIT n` lets FTS5 keep only a top-n while scanning),
 *      and joins them with `messages`.
 *   4. In C: skip what the caller says the prompt holds, messages that say
 *      the same as the question (normalized comparison), duplicates of an
 *      earlier hit, and hits far weaker than the best one.
 */
#include "memory/retrieve.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/alloc.h"
#include "base/log.h"
#include "memory/store_internal.h"

/* Words that say how a question is asked, not what it is about. */
static const char *const stop_words[] = {
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done",
    "down", "each", "few", "for", "from", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "just", "know", "let", "me", "more", "most", "my", "no", "nor",
    "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "please",
    "same", "say", "she", "should", "so", "some", "such", "tell", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "us", "very", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
    "your", "yours",
};

static bool is_stop_word(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++)
        if (strlen(stop_words[i]) == n && memcmp(stop_words[i], w, n) == 0)
            return true;
    return false;
}

static bool is_word_byte(unsigned char c)
{
    return c >= 0x80 || isalnum(c);
}

enum { MAX_TERMS = 32, MAX_TERM_BYTES = 64 };

/* The searchable words of `text`, lowercased, each once, in order. */
static size_t split_terms(const char *text, char terms[MAX_TERMS][MAX_TERM_BYTES])
{
    size_t n_terms = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n_terms < MAX_TERMS;) {
        if (!is_word_byte(*p)) {
            p++;
            continue;
        }
        char w[MAX_TERM_BYTES];
        size_t n = 0;
        while (*p && is_word_byte(*p)) {
            if (n < sizeof w - 1)
                w[n++] = (char)tolower(*p);
            p++;
        }
        if (n >= sizeof w - 1)
            continue; /* an over-long "word" (a hash, a URL): not worth searching */
        w[n] = 0;
        if ((n < 2 && (unsigned char)w[0] < 0x80) || is_stop_word(w, n))
            continue;
        bool seen = false;
        for (size_t k = 0; k < n_terms && !seen; k++)
            seen = strcmp(terms[k], w) == 0;
        if (!seen)
            memcpy(terms[n_terms++], w, n + 1);
    }
    return n_terms;
}

/* Quoted terms joined by OR into out (cut at cap - 1); returns the length. */
static size_t join_terms(char terms[][MAX_TERM_BYTES], size_t n_terms, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t k = 0; k < n_terms; k++) {
        /* words hold no '"' (not a word byte), so quoting needs no escapes */
        size_t need = strlen(terms[k]) + 2 + (k ? 4 : 0);
        if (len + need + 1 > cap)
            break;
        len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", k ? " OR " : "", terms[k]);
    }
    return len;
}

size_t mem_fts_query(const char *text, char *out, size_t cap)
{
    char terms[MAX_TERMS][MAX_TERM_BYTES];
    return join_terms(terms, split_terms(text, terms), out, cap);
}

char *mem_normalize(const char *text)
{
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, 0, &folded,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
    if (n < 0)
        return NULL;
    char *out = ls_malloc((size_t)n + 1);
    if (out) { /* collapse runs of white space into one space, trim both ends */
        size_t k = 0;
        bool space = false;
        for (utf8proc_ssize_t i = 0; i < n; i++) {
            unsigned char c = folded[i];
            if (isspace(c)) {
                space = k > 0;
                continue;
            }
            if (space)
                out[k++] = ' ';
            space = false;
            out[k++] = (char)c;
        }
        out[k] = 0;
    }
    free(folded); /* utf8proc allocates with malloc */
    return out;
}

void mem_hits_free(mem_hit *hits, size_t n)
{
    for (size_t i = 0; hits && i < n; i++) {
        ls_free(hits[i].role);
        ls_free(hits[i].content);
        ls_free(hits[i].created_at);
    }
    ls_free(hits);
}

/* Matches a search may rank in all. BM25 is computed for every message that
 * holds any of the words, at about a microsecond each, so this bounds a
 * lookup to a few milliseconds however large the memory grows (`localseek
 * bench --memory`: p95 under 10 ms at 100,000 messages on
 * the 2-core test machine). */
enum { MAX_POSTINGS = 4000 };

/* Messages holding `term`, counted up to MAX_POSTINGS + 1 (the scan stops
 * there: a word that common is not used anyway). */
static ls_status term_frequency(mem_store *s, sqlite3_stmt *count, const char *term, int *df)
{
    char quoted[MAX_TERM_BYTES + 2];
    snprintf(quoted, sizeof quoted, "\"%s\"", term);
    sqlite3_reset(count);
    sqlite3_bind_text(count, 1, quoted, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(count, 2, MAX_POSTINGS + 1);
    int rc = sqlite3_step(count);
    if (rc != SQLITE_ROW)
        return mem_fail(s, rc, "searching earlier messages");
    *df = sqlite3_column_int(count, 0);
    return LS_OK;
}

/* Keeps the rarest words whose matches together stay within MAX_POSTINGS:
 * a word found in thousands of messages tells little about which ones matter
 * (its BM25 weight is small) and would cost the most time. Writes the query
 * into `match`; returns its length (0: nothing specific to search for). */
static ls_status choose_terms(mem_store *s, const char *text, char *match, size_t cap, size_t *len)
{
    char terms[MAX_TERMS][MAX_TERM_BYTES];
    int df[MAX_TERMS];
    size_t n = split_terms(text, terms);
    *len = 0;
    match[0] = 0;
    if (n == 0)
        return LS_OK;
    sqlite3_stmt *count;
    int rc = sqlite3_prepare_v2(mem_db(s),
                                "SELECT count(*) FROM (SELECT 1 FROM messages_fts WHERE messages_fts MATCH ?1 LIMIT ?2)",
                                -1, &count, NULL);
    if (rc != SQLITE_OK)
        return mem_fail(s, rc, "searching earlier messages");
    ls_status st = LS_OK;
    for (size_t i = 0; i < n && !st; i++)
        st = term_frequency(s, count, terms[i], &df[i]);
    sqlite3_finalize(count);
    if (st)
        return st;
    for (size_t i = 1; i < n; i++) { /* insertion sort by frequency, rarest first */
        char w[MAX_TERM_BYTES];
        int d = df[i];
        memcpy(w, terms[i], sizeof w);
        size_t k = i;
        for (; k > 0 && df[k - 1] > d; k--) {
            df[k] = df[k - 1];
            memcpy(terms[k], terms[k - 1], sizeof w);
        }
        df[k] = d;
        memcpy(terms[k], w, sizeof w);
    }
    size_t kept = 0;
    long total = 0;
    while (kept < n && df[kept] == 0)
        kept++; /* found nowhere: harmless, costs nothing */
    while (kept < n && total + df[kept] <= MAX_POSTINGS)
        total += df[kept++];
    for (size_t i = kept; i < n; i++)
        log_debug("retrieve: '%s' is in %s%d messages: too common to search for", terms[i],
                  df[i] > MAX_POSTINGS ? "over " : "", df[i] > MAX_POSTINGS ? MAX_POSTINGS : df[i]);
    *len = join_terms(terms, kept, match, cap);
    return LS_OK;
}

static const char search_sql[] =
    "SELECT m.id, m.session_id, m.role, m.content, datetime(m.created_at, 'localtime'), f.rank"
    " FROM (SELECT rowid, rank FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rank LIMIT ?2) AS f"
    " JOIN messages m ON m.id = f.rowid ORDER BY f.rank";

static bool skipped(const mem_query *q, int64_t id, int64_t session)
{
    if (q->skip_session && session == q->skip_session && id >= q->skip_from_id)
        return true;
    for (size_t i = 0; i < q->n_skip_ids; i++)
        if (q->skip_ids[i] == id)
            return true;
    return false;
}

ls_status mem_retrieve(mem_store *s, const char *text, const mem_query *qin, mem_hit **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    mem_query q = qin ? *qin : (mem_query){ 0 };
    if (q.max_hits <= 0)
        q.max_hits = 8;
    if (q.min_relative <= 0)
        q.min_relative = 0.25;
    char match[1024];
    size_t match_len;
    ls_status chosen = choose_terms(s, text, match, sizeof match, &match_len);
    if (chosen || match_len == 0)
        return chosen;

    sqlite3 *db = mem_db(s);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, search_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return mem_fail(s, rc, "searching earlier messages");
    /* Over-fetch: some of the best may be skipped (the session's own turns). */
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, q.max_hits * 4 + 32);

    char *question = mem_normalize(text);
    mem_hit *hits = ls_calloc((size_t)q.max_hits, sizeof *hits);
    char **seen = ls_calloc((size_t)q.max_hits, sizeof *seen); /* normalized contents kept so far */
    ls_status status = hits && seen ? LS_OK : ls_error(LS_ERR_NOMEM, "out of memory searching earlier messages");
    double best = 0;
    rc = SQLITE_DONE;
    while (!status && *n < (size_t)q.max_hits && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), session = sqlite3_column_int64(st, 1);
        double score = -sqlite3_column_double(st, 5); /* FTS5 ranks better matches more negative */
        if (skipped(&q, id, session))
            continue;
        if (*n == 0)
            best = score;
        else if (score < q.min_relative * best)
            break; /* ordered by score: the rest are weaker still */
        const char *content = (const char *)sqlite3_column_text(st, 3);
        char *norm = mem_normalize(content ? content : "");
        bool repeat = norm && question && strcmp(norm, question) == 0;
        for (size_t k = 0; k < *n && norm && !repeat; k++)
            repeat = strcmp(seen[k], norm) == 0;
        if (repeat || !norm) {
            ls_free(norm);
            continue;
        }
        mem_hit *h = &hits[*n];
        seen[*n] = norm;
        (*n)++;
        h->message_id = id;
        h->session_id = session;
        h->score = score;
        h->method = "fts5-bm25";
        h->role = ls_strdup((const char *)sqlite3_column_text(st, 2));
        h->content = ls_strdup(content ? content : "");
        h->created_at = ls_strdup((const char *)sqlite3_column_text(st, 4));
        if (!h->role || !h->content || !h->created_at)
            status = ls_error(LS_ERR_NOMEM, "out of memory searching earlier messages");
    }
    if (!status && rc != SQLITE_ROW && rc != SQLITE_DONE)
        status = mem_fail(s, rc, "searching earlier messages");
    sqlite3_finalize(st);
    for (size_t k = 0; seen && k < *n; k++)
        ls_free(seen[k]);
    ls_free(seen);
    ls_free(question);
    if (status || *n == 0) {
        mem_hits_free(hits, *n);
        *n = 0;
        return status;
    }
    *out = hits;
    return LS_OK;
}
