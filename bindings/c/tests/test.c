/*
 * The C test of libquire: 10,000 random gets compared with the Rust reader's bytes, every
 * accessor, both iterators, the four ways of opening (quire_open_url with local paths:
 * tests/remote.c reads URLs), four threads on one handle,
 * errors (missing keys, bad arguments, a truncated, a bit-flipped and a foreign archive),
 * a prefix walk that goes on past a damaged index page, title suggestions (against the
 * Rust reader's, folding, no title index), and full-text search (against `quire search
 * --json`'s answers, which test.sh writes to DIR/search-expected.tsv; highlights, errors, no
 * full-text index, a damaged one).
 *
 *   cargo run -p quire-c --example fixture -- DIR     # test.quire, expected.bin, ...
 *   cc -std=c11 -Wall -Wextra -Werror -Ibindings/c/include bindings/c/tests/test.c \
 *      -Ltarget/release -lquire -Wl,-rpath,target/release -lpthread -o quire-test
 *   valgrind --leak-check=full --error-exitcode=1 ./quire-test DIR
 *
 * Prints "N passed, 0 failed" and exits 0 when every check passes.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quire.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (cond) {                                                                         \
            passed++;                                                                       \
        } else {                                                                            \
            failed++;                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fprintf(stderr, " (last error: %s)\n", quire_last_error());                     \
        }                                                                                   \
    } while (0)

/* One entry as the Rust reader read it (expected.bin, see examples/fixture.rs). */
typedef struct {
    const char *key;
    uint32_t key_len;
    const uint8_t *body;
    uint64_t body_len;
    const char *title; /* NULL: none */
    uint32_t title_len;
    uint32_t date; /* YYYYMMDD, 0: none */
    const char *ctype;
    uint32_t ctype_len;
} expected_entry;

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static uint32_t u32le(const uint8_t **p) {
    const uint8_t *b = *p;
    *p += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t u64le(const uint8_t **p) {
    uint64_t lo = u32le(p);
    return lo | (uint64_t)u32le(p) << 32;
}

static expected_entry *parse_expected(const uint8_t *p, uint64_t *count) {
    *count = u64le(&p);
    expected_entry *e = calloc(*count, sizeof *e);
    for (uint64_t i = 0; e && i < *count; i++) {
        e[i].key_len = u32le(&p);
        e[i].key = (const char *)p;
        p += e[i].key_len;
        e[i].body_len = u64le(&p);
        e[i].body = p;
        p += e[i].body_len;
        uint32_t t = u32le(&p);
        if (t) {
            e[i].title = (const char *)p;
            e[i].title_len = t - 1;
            p += t - 1;
        }
        e[i].date = u32le(&p);
        e[i].ctype_len = u32le(&p);
        e[i].ctype = (const char *)p;
        p += e[i].ctype_len;
    }
    return e;
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t next_random(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* Every accessor of entry i against the expected values. */
static void check_fields(quire_archive *a, const expected_entry *e, uint64_t i) {
    const char *key;
    size_t key_len;
    CHECK(quire_key(a, i, &key, &key_len) == QUIRE_OK, "key %llu", (unsigned long long)i);
    CHECK(key_len == e->key_len && memcmp(key, e->key, key_len) == 0, "key of %llu",
          (unsigned long long)i);
    uint64_t index = 0;
    CHECK(quire_index_of(a, e->key, e->key_len, &index) == QUIRE_OK && index == i, "index_of");
    uint64_t blen;
    CHECK(quire_body_len(a, i, &blen) == QUIRE_OK && blen == e->body_len, "body_len");

    char title[512];
    size_t needed = 0;
    int rc = quire_title(a, i, title, sizeof title, &needed);
    if (e->title) {
        CHECK(rc == QUIRE_OK && needed == e->title_len + 1u &&
                  memcmp(title, e->title, e->title_len) == 0 && title[e->title_len] == 0,
              "title of %.*s", (int)e->key_len, e->key);
        CHECK(quire_title(a, i, title, e->title_len, &needed) == QUIRE_BUFFER_TOO_SMALL &&
                  needed == e->title_len + 1u,
              "title too small");
    } else {
        CHECK(rc == QUIRE_NOT_FOUND, "no title: %d", rc);
    }

    int y, m, d;
    rc = quire_date(a, i, &y, &m, &d);
    if (e->date) {
        CHECK(rc == QUIRE_OK && (uint32_t)(y * 10000 + m * 100 + d) == e->date, "date %d", rc);
    } else {
        CHECK(rc == QUIRE_NOT_FOUND, "no date: %d", rc);
    }

    const char *ct;
    size_t ct_len;
    CHECK(quire_content_type(a, i, &ct, &ct_len) == QUIRE_OK && ct_len == e->ctype_len &&
              memcmp(ct, e->ctype, ct_len) == 0,
          "content type");
}

/* The body of entry i by key into a caller buffer (sized from QUIRE_BUFFER_TOO_SMALL),
 * by index, and allocated by the library: all equal to the expected bytes. */
static int get_all_ways(quire_archive *a, const expected_entry *e, uint64_t i) {
    int ok = 1;
    size_t needed = 123;
    int rc = quire_get(a, e->key, e->key_len, NULL, 0, &needed);
    if (e->body_len == 0) {
        ok &= rc == QUIRE_OK && needed == 0;
    } else {
        ok &= rc == QUIRE_BUFFER_TOO_SMALL && needed == e->body_len;
    }
    uint8_t *buf = malloc(needed + 1);
    ok &= quire_get(a, e->key, e->key_len, buf, needed + 1, &needed) == QUIRE_OK;
    ok &= needed == e->body_len && memcmp(buf, e->body, e->body_len) == 0;
    ok &= quire_get_by_index(a, i, buf, needed + 1, &needed) == QUIRE_OK;
    ok &= needed == e->body_len && memcmp(buf, e->body, e->body_len) == 0;
    free(buf);

    uint8_t *body = NULL;
    size_t len = 0;
    ok &= quire_get_alloc(a, e->key, e->key_len, &body, &len) == QUIRE_OK;
    ok &= body != NULL && len == e->body_len && memcmp(body, e->body, len) == 0;
    quire_free(body);
    ok &= quire_get_by_index_alloc(a, i, &body, &len) == QUIRE_OK;
    ok &= body != NULL && len == e->body_len && memcmp(body, e->body, len) == 0;
    quire_free(body);
    return ok;
}

typedef struct {
    quire_archive *a;
    const expected_entry *e;
    uint64_t count;
    uint64_t seed;
    int bad;
} thread_arg;

static void *thread_main(void *p) {
    thread_arg *t = p;
    for (int n = 0; n < 300; n++) {
        uint64_t i = next_random(&t->seed) % t->count;
        uint8_t *body = NULL;
        size_t len = 0;
        if (quire_get_alloc(t->a, t->e[i].key, t->e[i].key_len, &body, &len) != QUIRE_OK ||
            len != t->e[i].body_len || memcmp(body, t->e[i].body, len) != 0) {
            t->bad++;
        }
        quire_free(body);
    }
    return NULL;
}

static char path_buf[4096];
static const char *in_dir(const char *dir, const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

/* Title suggestions: quire_suggest on test.quire against the Rust reader's answers
 * (suggest.bin), the folding of case, diacritics and width on titles.quire, an archive
 * without a title index, and the accessors' errors. */
static void check_suggestions(const char *dir) {
    quire_archive *a = NULL;
    CHECK(quire_open(in_dir(dir, "test.quire"), &a) == QUIRE_OK, "open for suggest");
    int has = -1;
    CHECK(quire_has_title_index(a, &has) == QUIRE_OK && has == 1, "has_title_index: %d", has);
    size_t sl;
    uint8_t *sb = read_file(in_dir(dir, "suggest.bin"), &sl);
    CHECK(sb != NULL, "read suggest.bin");
    if (!sb) {
        quire_close(a);
        return;
    }
    const uint8_t *p = sb;
    uint32_t cases = u32le(&p), nonempty = 0, bad = 0;
    for (uint32_t c = 0; c < cases; c++) {
        uint32_t qlen = u32le(&p);
        const char *q = (const char *)p;
        p += qlen;
        uint64_t limit = u64le(&p);
        uint32_t want = u32le(&p);
        quire_suggestions *s = NULL;
        size_t n = 99;
        int rc = quire_suggest(a, q, qlen, limit == UINT64_MAX ? SIZE_MAX : (size_t)limit, &s);
        if (rc != QUIRE_OK || quire_suggestions_len(s, &n) != QUIRE_OK || n != want) {
            if (bad++ < 5)
                fprintf(stderr, "suggest %.*s (limit %llu): rc %d, %zu of %u\n", (int)qlen, q,
                        (unsigned long long)limit, rc, n, want);
        }
        nonempty += want > 0;
        for (uint32_t i = 0; i < want; i++) {
            uint32_t kl = u32le(&p);
            const char *k = (const char *)p;
            p += kl;
            uint32_t tl = u32le(&p);
            const char *t = tl ? (const char *)p : NULL;
            p += tl ? tl - 1 : 0;
            uint32_t kind = u32le(&p);
            if (i >= n) continue;
            const char *gk, *gt;
            size_t gkl, gtl;
            int gkind = -1;
            int ok = quire_suggestion_key(s, i, &gk, &gkl) == QUIRE_OK && gkl == kl &&
                     memcmp(gk, k, kl) == 0 && gk[kl] == 0;
            int trc = quire_suggestion_title(s, i, &gt, &gtl);
            ok &= t ? trc == QUIRE_OK && gtl == tl - 1 && memcmp(gt, t, gtl) == 0 && gt[gtl] == 0
                    : trc == QUIRE_NOT_FOUND && gt == NULL && gtl == 0;
            ok &= quire_suggestion_kind(s, i, &gkind) == QUIRE_OK && gkind == (int)kind;
            if (!ok && bad++ < 5)
                fprintf(stderr, "suggest %.*s: suggestion %u differs (%.*s)\n", (int)qlen, q, i,
                        (int)kl, k);
        }
        quire_suggestions_free(s);
    }
    CHECK(bad == 0 && cases == 39 && nonempty >= 20, "suggest.bin: %u cases, %u differ, %u "
          "non-empty", cases, bad, nonempty);
    free(sb);

    /* A suggestion's key opens its entry; the suggestions outlive the handle. */
    quire_suggestions *s = NULL;
    size_t n = 0;
    CHECK(quire_suggest(a, "title 1", 7, 10, &s) == QUIRE_OK && quire_suggestions_len(s, &n) ==
              QUIRE_OK && n == 10, "suggest title 1: %zu", n);
    const char *k;
    size_t kl;
    uint64_t index;
    CHECK(quire_suggestion_key(s, 0, &k, &kl) == QUIRE_OK &&
              quire_index_of(a, k, kl, &index) == QUIRE_OK,
          "a suggestion's key is an entry's");
    /* Accessors' errors. */
    int kind;
    CHECK(quire_suggestion_key(s, n, &k, &kl) == QUIRE_ERR_RANGE && k == NULL && kl == 0,
          "key out of range");
    CHECK(quire_suggestion_kind(s, (size_t)-1, &kind) == QUIRE_ERR_RANGE, "kind out of range");
    CHECK(quire_suggestion_title(s, 0, NULL, &kl) == QUIRE_ERR_ARGUMENT, "title into NULL");
    CHECK(quire_suggestions_len(NULL, &n) == QUIRE_ERR_ARGUMENT, "len of NULL");
    quire_close(a);
    CHECK(quire_suggestion_key(s, 9, &k, &kl) == QUIRE_OK && kl > 0, "after close");
    CHECK(quire_suggestions_free(s) == QUIRE_OK && quire_suggestions_free(NULL) == QUIRE_OK,
          "suggestions_free");

    /* Folding: case, diacritics, width, ß; title starts, then shorter, then word starts. */
    CHECK(quire_open(in_dir(dir, "titles.quire"), &a) == QUIRE_OK, "open titles.quire");
    static const char *const want_keys[] = {"wide", "zh", "zh-upper", "notitle/zurich", "air"};
    static const int want_kinds[] = {QUIRE_MATCH_TITLE, QUIRE_MATCH_TITLE, QUIRE_MATCH_TITLE,
                                     QUIRE_MATCH_WORD, QUIRE_MATCH_WORD};
    static const char *const queries[] = {"zurich", "Z\xc3\x9cR", "\xef\xbd\x9a\xef\xbd\x95"};
    for (int q = 0; q < 3; q++) {
        s = NULL;
        n = 0;
        CHECK(quire_suggest(a, queries[q], strlen(queries[q]), SIZE_MAX, &s) == QUIRE_OK &&
                  quire_suggestions_len(s, &n) == QUIRE_OK && n == 5,
              "zurich, query %d: %zu suggestions", q, n);
        for (size_t i = 0; i < n && i < 5; i++) {
            int kd = -1;
            CHECK(quire_suggestion_key(s, i, &k, &kl) == QUIRE_OK && kl == strlen(want_keys[i]) &&
                      memcmp(k, want_keys[i], kl) == 0 &&
                      quire_suggestion_kind(s, i, &kd) == QUIRE_OK && kd == want_kinds[i],
                  "zurich, query %d, suggestion %zu: %.*s, kind %d", q, i, (int)kl, k, kd);
        }
        const char *t;
        size_t tl;
        CHECK(quire_suggestion_title(s, 3, &t, &tl) == QUIRE_NOT_FOUND && !t,
              "an entry without a title is suggested by its key");
        CHECK(quire_suggestion_title(s, 4, &t, &tl) == QUIRE_OK &&
                  strcmp(t, "Flughafen Z\xc3\xbcrich") == 0 && tl == strlen(t),
              "a title, NUL-terminated");
        quire_suggestions_free(s);
    }
    CHECK(quire_suggest(a, "STRASSE", 7, 2, &s) == QUIRE_OK &&
              quire_suggestions_len(s, &n) == QUIRE_OK && n == 1 &&
              quire_suggestion_key(s, 0, &k, &kl) == QUIRE_OK && kl == 6 &&
              memcmp(k, "street", 6) == 0,
          "STRASSE finds Stra\xc3\x9f" "e");
    quire_suggestions_free(s);
    CHECK(quire_suggest(a, "zurich", 6, 2, &s) == QUIRE_OK &&
              quire_suggestions_len(s, &n) == QUIRE_OK && n == 2,
          "limit 2");
    quire_suggestions_free(s);
    CHECK(quire_suggest(a, "zurich", 6, 0, &s) == QUIRE_OK &&
              quire_suggestions_len(s, &n) == QUIRE_OK && n == 0,
          "limit 0");
    quire_suggestions_free(s);
    CHECK(quire_suggest(a, NULL, 0, SIZE_MAX, &s) == QUIRE_OK &&
              quire_suggestions_len(s, &n) == QUIRE_OK && n == 7,
          "the empty text matches every entry: %zu", n);
    quire_suggestions_free(s);
    s = (quire_suggestions *)1;
    CHECK(quire_suggest(a, "\xff", 1, 10, &s) == QUIRE_ERR_ARGUMENT && s == NULL,
          "text not UTF-8");
    CHECK(quire_suggest(a, NULL, 3, 10, &s) == QUIRE_ERR_ARGUMENT, "NULL text");
    CHECK(quire_suggest(a, "z", 1, 10, NULL) == QUIRE_ERR_ARGUMENT, "NULL out");
    CHECK(quire_suggest(NULL, "z", 1, 10, &s) == QUIRE_ERR_ARGUMENT, "NULL handle");
    quire_close(a);

    /* No title index: QUIRE_ERR_NO_INDEX, and the entries still read. */
    CHECK(quire_open(in_dir(dir, "no-index.quire"), &a) == QUIRE_OK, "open no-index.quire");
    CHECK(quire_has_title_index(a, &has) == QUIRE_OK && has == 0, "no title index: %d", has);
    s = (quire_suggestions *)1;
    CHECK(quire_suggest(a, "zurich", 6, 10, &s) == QUIRE_ERR_NO_INDEX && s == NULL,
          "suggest without a title index");
    CHECK(strstr(quire_last_error(), "no title index") != NULL, "message says so");
    CHECK(quire_index_of(a, "zh", 2, &index) == QUIRE_OK, "entries still read");
    CHECK(quire_has_title_index(a, NULL) == QUIRE_ERR_ARGUMENT, "has_title_index into NULL");
    quire_close(a);
}

/* A growing string (aborts the test when memory runs out). */
typedef struct {
    char *p;
    size_t len, cap;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* `n` bytes of `s` escaped for HTML as quire's Snippet::to_html escapes them. */
static void sb_html(strbuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': sb_str(b, "&amp;"); break;
        case '<': sb_str(b, "&lt;"); break;
        case '>': sb_str(b, "&gt;"); break;
        case '"': sb_str(b, "&quot;"); break;
        case '\'': sb_str(b, "&#39;"); break;
        default: sb_add(b, s + i, 1);
        }
    }
}

/* Appends result `i` of `r` as a line of search-expected.tsv (KEY, TITLE or "(none)", SCORE,
 * the snippet as HTML), checking on the way what the line does not show: the entry number,
 * the float score, the highlights' bounds and order. Returns 0 when a check failed. */
static int search_line(quire_archive *a, quire_search_results *r, size_t i, strbuf *out) {
    const char *k = NULL, *t = NULL, *text = NULL, *ek = NULL;
    size_t kl = 0, tl = 0, text_len = 0, ekl = 0, count = 0;
    const size_t *ranges = NULL;
    uint64_t score = 0, index = 0;
    double bm25 = -1;
    int ok = quire_search_result_key(r, i, &k, &kl) == QUIRE_OK && k[kl] == 0;
    int trc = quire_search_result_title(r, i, &t, &tl);
    ok &= trc == QUIRE_OK || (trc == QUIRE_NOT_FOUND && t == NULL && tl == 0);
    ok &= quire_search_result_score(r, i, &score, &bm25) == QUIRE_OK;
    double diff = bm25 - (double)score * 0.6931471805599453 / 4294967296.0;
    ok &= diff <= 1e-9 * (1 + bm25) && -diff <= 1e-9 * (1 + bm25);
    ok &= quire_search_result_index(r, i, &index) == QUIRE_OK &&
          quire_key(a, index, &ek, &ekl) == QUIRE_OK && ekl == kl && memcmp(ek, k, kl) == 0;
    ok &= quire_search_result_snippet(r, i, &text, &text_len) == QUIRE_OK && text[text_len] == 0;
    ok &= quire_search_result_highlights(r, i, &ranges, &count) == QUIRE_OK;
    ok &= (count == 0) == (ranges == NULL);
    if (!ok) return 0;
    char num[32];
    sb_add(out, k, kl);
    sb_str(out, "\t");
    if (trc == QUIRE_OK) sb_add(out, t, tl);
    else sb_str(out, "(none)");
    snprintf(num, sizeof num, "\t%llu\t", (unsigned long long)score);
    sb_str(out, num);
    size_t at = 0;
    for (size_t m = 0; m < count; m++) {
        size_t start = ranges[2 * m], end = ranges[2 * m + 1];
        if (start < at || start >= end || end > text_len) return 0;
        sb_html(out, text + at, start - at);
        sb_str(out, "<b>");
        sb_html(out, text + start, end - start);
        sb_str(out, "</b>");
        at = end;
    }
    sb_html(out, text + at, text_len - at);
    sb_str(out, "\n");
    return 1;
}

/* Full-text search: the queries of search-queries.txt on search.quire give what `quire
 * search --json` gives (search-expected.tsv, written by test.sh in the same format), the
 * accessors' errors, results that outlive the handle, invalid queries, an archive without a
 * full-text index, and a damaged one. */
static void check_search(const char *dir) {
    quire_archive *a = NULL;
    CHECK(quire_open(in_dir(dir, "search.quire"), &a) == QUIRE_OK, "open search.quire");
    if (!a) return;
    int has = -1;
    CHECK(quire_has_search_index(a, &has) == QUIRE_OK && has == 1, "has_search_index: %d", has);
    char tok[256];
    size_t needed = 0;
    CHECK(quire_search_tokenizer(a, tok, sizeof tok, &needed) == QUIRE_OK &&
              needed == strlen(tok) + 1 && strncmp(tok, "quire-text/", 11) == 0 &&
              strstr(tok, "lang=eng") != NULL,
          "tokenizer %s", tok);
    size_t full = needed;
    CHECK(quire_search_tokenizer(a, tok, 4, &needed) == QUIRE_BUFFER_TOO_SMALL && needed == full,
          "tokenizer into a small buffer: %zu", needed);
    CHECK(quire_search_tokenizer(a, NULL, 0, &needed) == QUIRE_BUFFER_TOO_SMALL && needed == full,
          "tokenizer's size");

    size_t ql = 0, el = 0;
    uint8_t *qf = read_file(in_dir(dir, "search-queries.txt"), &ql);
    uint8_t *expected = read_file(in_dir(dir, "search-expected.tsv"), &el);
    CHECK(qf != NULL, "read search-queries.txt");
    CHECK(expected != NULL, "read search-expected.tsv (test.sh writes it with quire search --json)");
    strbuf got = {0};
    unsigned queries = 0, nonempty = 0, bad = 0;
    for (size_t at = 0; qf && at < ql;) {
        const char *line = (const char *)qf + at;
        const char *nl = memchr(line, '\n', ql - at);
        size_t len = nl ? (size_t)(nl - line) : ql - at;
        at += len + 1;
        const char *tab = memchr(line, '\t', len);
        if (!tab) continue;
        size_t limit = (size_t)strtoull(line, NULL, 10);
        const char *q = tab + 1;
        size_t qlen = len - (size_t)(q - line);
        sb_add(&got, line, len);
        sb_str(&got, "\n");
        quire_search_results *r = NULL;
        size_t n = 0;
        int rc = quire_search(a, qlen ? q : NULL, qlen, limit, &r);
        queries++;
        if (rc != QUIRE_OK || quire_search_results_len(r, &n) != QUIRE_OK) {
            fprintf(stderr, "search %.*s: rc %d (%s)\n", (int)qlen, q, rc, quire_last_error());
            bad++;
            continue;
        }
        nonempty += n > 0;
        for (size_t i = 0; i < n; i++) {
            if (!search_line(a, r, i, &got)) {
                fprintf(stderr, "search %.*s: result %zu inconsistent\n", (int)qlen, q, i);
                bad++;
            }
        }
        quire_search_results_free(r);
    }
    int same = expected && got.p && el == got.len && memcmp(expected, got.p, el) == 0;
    if (!same && got.p) {
        FILE *f = fopen(in_dir(dir, "search-got.tsv"), "wb");
        if (f) {
            fwrite(got.p, 1, got.len, f);
            fclose(f);
        }
    }
    CHECK(same && bad == 0 && queries == 21 && nonempty >= 15,
          "the C results equal quire search --json's (%u queries, %u non-empty, %u bad; see "
          "search-got.tsv beside search-expected.tsv)",
          queries, nonempty, bad);
    free(got.p);
    free(qf);
    free(expected);

    /* Accessors' errors; the results outlive the handle. */
    quire_search_results *r = NULL;
    size_t n = 0, kl = 0, count = 0;
    const char *k = NULL;
    const size_t *ranges = NULL;
    uint64_t score = 0;
    CHECK(quire_search(a, "river", 5, 4, &r) == QUIRE_OK && quire_search_results_len(r, &n) ==
              QUIRE_OK && n == 4, "search river: %zu", n);
    CHECK(quire_search_result_key(r, n, &k, &kl) == QUIRE_ERR_RANGE && k == NULL && kl == 0,
          "key out of range");
    CHECK(quire_search_result_score(r, (size_t)-1, &score, NULL) == QUIRE_ERR_RANGE,
          "score out of range");
    CHECK(quire_search_result_score(r, 0, NULL, NULL) == QUIRE_OK, "score into NULL, NULL");
    CHECK(quire_search_result_highlights(r, 0, NULL, &count) == QUIRE_ERR_ARGUMENT,
          "highlights into NULL");
    CHECK(quire_search_result_highlights(r, 0, &ranges, &count) == QUIRE_OK && count >= 1 &&
              ranges != NULL, "river is marked: %zu", count);
    CHECK(quire_search_result_snippet(r, 9, &k, &kl) == QUIRE_ERR_RANGE, "snippet out of range");
    CHECK(quire_search_results_len(NULL, &n) == QUIRE_ERR_ARGUMENT, "len of NULL");
    quire_close(a);
    a = NULL;
    const char *text = NULL;
    size_t text_len = 0;
    CHECK(quire_search_result_snippet(r, 3, &text, &text_len) == QUIRE_OK && text_len > 0 &&
              quire_search_result_key(r, 3, &k, &kl) == QUIRE_OK && kl == 8,
          "results after close");
    CHECK(quire_search_results_free(r) == QUIRE_OK && quire_search_results_free(NULL) == QUIRE_OK,
          "search_results_free");

    /* Invalid queries: QUIRE_ERR_ARGUMENT and no results. */
    CHECK(quire_open(in_dir(dir, "search.quire"), &a) == QUIRE_OK, "open search.quire again");
    strbuf q = {0};
    for (int i = 0; i < 700; i++) sb_str(&q, "river ");
    r = (quire_search_results *)1;
    CHECK(quire_search(a, q.p, q.len, 10, &r) == QUIRE_ERR_ARGUMENT && r == NULL &&
              strstr(quire_last_error(), "4096") != NULL,
          "a query over 4096 bytes");
    q.len = 0;
    for (int i = 0; i < 65; i++) {
        char w[16];
        snprintf(w, sizeof w, "w%d ", i);
        sb_str(&q, w);
    }
    CHECK(quire_search(a, q.p, q.len, 10, &r) == QUIRE_ERR_ARGUMENT, "65 distinct words");
    free(q.p);
    CHECK(quire_search(a, "\xff", 1, 10, &r) == QUIRE_ERR_ARGUMENT && r == NULL,
          "query not UTF-8");
    CHECK(quire_search(a, NULL, 3, 10, &r) == QUIRE_ERR_ARGUMENT, "NULL query");
    CHECK(quire_search(a, "river", 5, 10, NULL) == QUIRE_ERR_ARGUMENT, "NULL out");
    CHECK(quire_search(NULL, "river", 5, 10, &r) == QUIRE_ERR_ARGUMENT, "NULL handle");
    CHECK(quire_has_search_index(a, NULL) == QUIRE_ERR_ARGUMENT, "has_search_index into NULL");
    quire_close(a);

    /* No full-text index: QUIRE_ERR_NO_INDEX. */
    CHECK(quire_open(in_dir(dir, "titles.quire"), &a) == QUIRE_OK, "open titles.quire");
    CHECK(quire_has_search_index(a, &has) == QUIRE_OK && has == 0, "no search index: %d", has);
    r = (quire_search_results *)1;
    CHECK(quire_search(a, "zurich", 6, 10, &r) == QUIRE_ERR_NO_INDEX && r == NULL &&
              strstr(quire_last_error(), "no full-text index") != NULL,
          "search without a full-text index");
    CHECK(quire_search_tokenizer(a, tok, sizeof tok, &needed) == QUIRE_ERR_NO_INDEX,
          "tokenizer without a full-text index");
    quire_close(a);

    /* A damaged index (the root's CRC in the SEARCH header): QUIRE_ERR_DAMAGED, bodies read. */
    size_t len = 0;
    uint8_t *bytes = read_file(in_dir(dir, "search.quire"), &len);
    CHECK(bytes != NULL && len > 96, "read search.quire");
    if (!bytes) return;
    uint64_t base = 0;
    unsigned sections = (unsigned)bytes[18] | (unsigned)bytes[19] << 8;
    for (unsigned i = 0; i < sections && 96 + 32 * (size_t)i + 32 <= len; i++) {
        const uint8_t *rec = bytes + 96 + 32 * i;
        const uint8_t *p = rec + 8;
        if (u32le(&rec) == 5) base = u64le(&p);
    }
    CHECK(base > 0 && base + 64 < len, "the SEARCH section: %llu", (unsigned long long)base);
    if (base > 0 && base + 64 < len) {
        bytes[base + 48] ^= 0x10;
        CHECK(quire_open_memory(bytes, len, &a) == QUIRE_OK, "open the damaged copy");
        r = (quire_search_results *)1;
        CHECK(quire_search(a, "river", 5, 10, &r) == QUIRE_ERR_DAMAGED && r == NULL &&
                  strstr(quire_last_error(), "full-text index") != NULL,
              "search a damaged index");
        uint64_t index = 0;
        CHECK(quire_index_of(a, "doc/0002", 8, &index) == QUIRE_OK && index == 2,
              "entries still read");
        quire_close(a);
    }
    free(bytes);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR (made by: cargo run -p quire-c --example fixture -- DIR)\n",
                argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    size_t exp_len;
    uint8_t *exp_bytes = read_file(in_dir(dir, "expected.bin"), &exp_len);
    if (!exp_bytes) {
        fprintf(stderr, "cannot read %s\n", path_buf);
        return 2;
    }
    uint64_t count;
    expected_entry *exp = parse_expected(exp_bytes, &count);
    CHECK(exp != NULL && count == 3000, "expected.bin holds %llu entries", (unsigned long long)count);
    CHECK(strlen(quire_version()) > 0, "version");

    /* Open by path (memory map). */
    quire_archive *a = NULL;
    CHECK(quire_open(in_dir(dir, "test.quire"), &a) == QUIRE_OK && a, "open");
    uint64_t n = 0;
    CHECK(quire_len(a, &n) == QUIRE_OK && n == count, "len %llu", (unsigned long long)n);

    /* 10,000 random gets, every way, against the Rust reader's bytes. */
    int mismatches = 0;
    for (int k = 0; k < 10000; k++) {
        uint64_t i = next_random(&rng_state) % count;
        if (!get_all_ways(a, &exp[i], i)) {
            if (mismatches++ < 5)
                fprintf(stderr, "get %d: entry %llu differs (%s)\n", k, (unsigned long long)i,
                        quire_last_error());
        }
        if (k % 10 == 0) check_fields(a, &exp[i], i);
    }
    CHECK(mismatches == 0, "%d of 10000 random gets differ", mismatches);

    /* Iteration in entry order visits every entry once, in order. */
    quire_iter *it = NULL;
    CHECK(quire_iter_new(a, &it) == QUIRE_OK, "iter_new");
    uint64_t index, seen = 0;
    int in_order = 1;
    while (quire_iter_next(it, &index) == QUIRE_OK) in_order &= index == seen++;
    CHECK(in_order && seen == count, "entry order: %llu", (unsigned long long)seen);

    /* Entries are numbered in key order (byte-wise), and a key from quire_key stays valid
       until quire_close, however many others are asked for after it. */
    int key_order = 1;
    for (uint64_t i = 1; i < count; i++) {
        size_t n = exp[i - 1].key_len < exp[i].key_len ? exp[i - 1].key_len : exp[i].key_len;
        int c = memcmp(exp[i - 1].key, exp[i].key, n);
        key_order &= c < 0 || (c == 0 && exp[i - 1].key_len < exp[i].key_len);
    }
    CHECK(key_order, "entries are not in key order");
    const char *first_key;
    size_t first_len;
    CHECK(quire_key(a, 0, &first_key, &first_len) == QUIRE_OK, "key 0");
    for (uint64_t i = 0; i < count; i++) {
        const char *k;
        size_t kl;
        CHECK(quire_key(a, i, &k, &kl) == QUIRE_OK, "key %llu", (unsigned long long)i);
    }
    CHECK(first_len == exp[0].key_len && memcmp(first_key, exp[0].key, first_len) == 0,
          "the key of entry 0 changed");
    CHECK(quire_iter_next(it, &index) == QUIRE_DONE, "done stays done");
    CHECK(quire_iter_free(it) == QUIRE_OK, "iter_free");

    /* Prefix iteration: the keys under "world/", sorted, and no other. */
    const char *prefix = "world/";
    size_t plen = strlen(prefix);
    uint64_t under = 0;
    for (uint64_t i = 0; i < count; i++)
        under += exp[i].key_len >= plen && memcmp(exp[i].key, prefix, plen) == 0;
    CHECK(quire_iter_prefix(a, prefix, plen, &it) == QUIRE_OK, "iter_prefix");
    seen = 0;
    int sorted = 1, matches = 1;
    const char *prev = NULL;
    size_t prev_len = 0;
    while (quire_iter_next(it, &index) == QUIRE_OK) {
        const char *key;
        size_t key_len;
        quire_key(a, index, &key, &key_len);
        matches &= key_len >= plen && memcmp(key, prefix, plen) == 0;
        if (prev) {
            int c = memcmp(prev, key, prev_len < key_len ? prev_len : key_len);
            sorted &= c < 0 || (c == 0 && prev_len < key_len);
        }
        prev = key;
        prev_len = key_len;
        seen++;
    }
    CHECK(sorted && matches && seen == under && under > 0, "prefix: %llu of %llu",
          (unsigned long long)seen, (unsigned long long)under);
    CHECK(quire_iter_next(it, &index) == QUIRE_DONE, "prefix done");
    CHECK(quire_iter_free(it) == QUIRE_OK, "iter_free");
    /* An iterator keeps the data alive after its handle is closed. */
    quire_iter *late = NULL;
    CHECK(quire_iter_new(a, &late) == QUIRE_OK, "iter_new");

    /* Four threads on one handle. */
    pthread_t threads[4];
    thread_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (thread_arg){a, exp, count, 1000 + (uint64_t)t, 0};
        pthread_create(&threads[t], NULL, thread_main, &args[t]);
    }
    int bad = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        bad += args[t].bad;
    }
    CHECK(bad == 0, "%d of 1200 threaded gets differ", bad);

    /* Verify, and the expected non-successes. */
    size_t problems = 99;
    CHECK(quire_verify(a, &problems) == QUIRE_OK && problems == 0, "verify");
    size_t needed = 7;
    CHECK(quire_get(a, "no/such/key", 11, NULL, 0, &needed) == QUIRE_NOT_FOUND && needed == 0,
          "missing key");
    CHECK(strstr(quire_last_error(), "no/such/key") != NULL, "message names the key");
    uint8_t *body = (uint8_t *)1;
    size_t len = 5;
    CHECK(quire_get_alloc(a, "\xff\xfe", 2, &body, &len) == QUIRE_NOT_FOUND && body == NULL &&
              len == 0,
          "non-UTF-8 key");
    CHECK(quire_get_by_index(a, count, NULL, 0, &needed) == QUIRE_ERR_RANGE, "range");
    CHECK(quire_len(NULL, &n) == QUIRE_ERR_ARGUMENT, "NULL handle");
    CHECK(quire_len(a, NULL) == QUIRE_ERR_ARGUMENT, "NULL out");
    CHECK(quire_get(a, NULL, 3, NULL, 0, &needed) == QUIRE_ERR_ARGUMENT, "NULL key");
    CHECK(quire_get(a, "x", 1, NULL, 10, &needed) == QUIRE_ERR_ARGUMENT, "NULL buf");
    CHECK(quire_iter_prefix(a, "\xff", 1, &it) == QUIRE_ERR_ARGUMENT && it == NULL,
          "non-UTF-8 prefix");
    CHECK(quire_close(a) == QUIRE_OK, "close");
    CHECK(quire_close(NULL) == QUIRE_OK, "close NULL");

    /* The iterator made before close still works. */
    seen = 0;
    while (quire_iter_next(late, &index) == QUIRE_OK) seen++;
    CHECK(seen == count, "iterator after close: %llu", (unsigned long long)seen);
    CHECK(quire_iter_free(late) == QUIRE_OK && quire_iter_free(NULL) == QUIRE_OK, "iter_free");

    /* From memory: copied, then borrowed. */
    size_t file_len;
    uint8_t *file = read_file(in_dir(dir, "test.quire"), &file_len);
    CHECK(file != NULL, "read test.quire");
    CHECK(quire_open_memory(file, file_len, &a) == QUIRE_OK, "open_memory");
    memset(file, 0, 64); /* a copy: the caller's bytes no longer matter */
    for (int k = 0; k < 200; k++) {
        uint64_t i = next_random(&rng_state) % count;
        CHECK(get_all_ways(a, &exp[i], i), "memory get %llu", (unsigned long long)i);
    }
    quire_close(a);
    free(file);
    file = read_file(in_dir(dir, "test.quire"), &file_len);
    CHECK(quire_open_memory_borrowed(file, file_len, &a) == QUIRE_OK, "open_memory_borrowed");
    for (int k = 0; k < 200; k++) {
        uint64_t i = next_random(&rng_state) % count;
        CHECK(get_all_ways(a, &exp[i], i), "borrowed get %llu", (unsigned long long)i);
    }
    quire_close(a);
    free(file);

    /* quire_open_url with a local path: positioned reads, or a map with
     * QUIRE_OPEN_MEMORY_MAP; the defaults; options checked before anything is opened.
     * (URLs: tests/remote.c, against real servers.) */
    quire_open_options o;
    CHECK(quire_open_options_default(&o) == QUIRE_OK && o.struct_size == sizeof o &&
              o.flags == 0 && o.timeout_ms == 30000 && o.connect_timeout_ms == 10000 &&
              o.retries == 3 && o.parallel == 32 && o.cache_bytes == 64u << 20,
          "open options' defaults");
    CHECK(quire_open_options_default(NULL) == QUIRE_ERR_ARGUMENT, "defaults into NULL");
    for (int way = 0; way < 3; way++) {
        o.flags = way == 2 ? QUIRE_OPEN_MEMORY_MAP : 0;
        a = NULL;
        CHECK(quire_open_url(in_dir(dir, "test.quire"), way == 0 ? NULL : &o, &a) == QUIRE_OK &&
                  a,
              "open_url of a path, way %d", way);
        CHECK(quire_len(a, &n) == QUIRE_OK && n == count, "open_url: len");
        for (int k = 0; k < 100; k++) {
            uint64_t i = next_random(&rng_state) % count;
            CHECK(get_all_ways(a, &exp[i], i), "open_url get %llu", (unsigned long long)i);
        }
        quire_close(a);
    }
    quire_open_options_default(&o);
    a = (quire_archive *)1;
    CHECK(quire_open_url(in_dir(dir, "no-such-file.quire"), &o, &a) == QUIRE_ERR_IO && !a,
          "open_url: missing file");
    CHECK(quire_open_url(NULL, &o, &a) == QUIRE_ERR_ARGUMENT && !a, "open_url: NULL");
    CHECK(quire_open_url(in_dir(dir, "test.quire"), &o, NULL) == QUIRE_ERR_ARGUMENT,
          "open_url: NULL out");
    CHECK(quire_open_url("http://127.0.0.1:1:2/a.quire", &o, &a) == QUIRE_ERR_ARGUMENT && !a,
          "open_url: malformed URL");
    CHECK(quire_open_url(in_dir(dir, "truncated.quire"), &o, &a) == QUIRE_ERR_DAMAGED && !a,
          "open_url: truncated");
    o.flags = QUIRE_OPEN_SALVAGE;
    CHECK(quire_open_url(in_dir(dir, "truncated.quire"), &o, &a) == QUIRE_OK && a,
          "open_url: truncated, salvaged");
    CHECK(quire_get_by_index_alloc(a, 0, &body, &len) == QUIRE_OK && len == exp[0].body_len &&
              memcmp(body, exp[0].body, len) == 0,
          "salvaged: the first entry");
    quire_free(body);
    quire_close(a);
    o.flags = 0x80;
    CHECK(quire_open_url(in_dir(dir, "test.quire"), &o, &a) == QUIRE_ERR_ARGUMENT && !a,
          "open_url: unknown flag");
    quire_open_options_default(&o);
    o.struct_size = 8;
    CHECK(quire_open_url(in_dir(dir, "test.quire"), &o, &a) == QUIRE_ERR_ARGUMENT && !a,
          "open_url: struct_size too small");
    /* A struct from a newer quire.h: fields past the ones known are fine while zero. */
    struct {
        quire_open_options o;
        uint64_t newer;
    } big;
    memset(&big, 0, sizeof big);
    quire_open_options_default(&big.o);
    big.o.struct_size = sizeof big;
    CHECK(quire_open_url(in_dir(dir, "test.quire"), &big.o, &a) == QUIRE_OK && a,
          "open_url: a larger struct, zero past the known fields");
    quire_close(a);
    big.newer = 1;
    CHECK(quire_open_url(in_dir(dir, "test.quire"), &big.o, &a) == QUIRE_ERR_ARGUMENT && !a,
          "open_url: a larger struct with a field this library does not know");

    /* Errors: a missing file, a foreign file, a truncated archive, flipped bits. */
    a = (quire_archive *)1;
    CHECK(quire_open(in_dir(dir, "no-such-file.quire"), &a) == QUIRE_ERR_IO && a == NULL,
          "missing file");
    CHECK(strstr(quire_last_error(), "no-such-file") != NULL, "message names the file");
    CHECK(quire_open(in_dir(dir, "expected.bin"), &a) == QUIRE_ERR_NOT_ARCHIVE && !a, "foreign");
    CHECK(quire_open(in_dir(dir, "truncated.quire"), &a) == QUIRE_ERR_DAMAGED && !a,
          "truncated");
    CHECK(strstr(quire_last_error(), "truncated") != NULL, "message says truncated");
    CHECK(quire_open(in_dir(dir, "flipped-header.quire"), &a) < 0 && !a, "flipped header");
    CHECK(quire_open(NULL, &a) == QUIRE_ERR_ARGUMENT, "NULL path");
    CHECK(quire_open_memory(NULL, 0, &a) == QUIRE_ERR_NOT_ARCHIVE, "empty memory");
    CHECK(strstr(quire_last_error(), "empty (0 bytes)") != NULL, "empty memory: says so");
    {
        FILE *f = fopen(in_dir(dir, "empty.quire"), "wb");
        CHECK(f != NULL, "create an empty file");
        if (f) fclose(f);
        CHECK(quire_open(in_dir(dir, "empty.quire"), &a) == QUIRE_ERR_NOT_ARCHIVE && !a,
              "empty file");
        CHECK(strstr(quire_last_error(), "empty (0 bytes)") != NULL &&
                  strstr(quire_last_error(), "text mode") == NULL,
              "empty file: says it is empty, not text mode");
        CHECK(quire_open(dir, &a) < 0 && !a, "a directory");
        CHECK(strstr(quire_last_error(), "directory") != NULL &&
                  strstr(quire_last_error(), "No such device") == NULL,
              "a directory: says so");
    }

    /* A flipped bit in the data: the archive opens, the entries in the damaged block fail
     * with QUIRE_ERR_DAMAGED and a message naming the block, every other entry reads back
     * right, and verify reports it. */
    CHECK(quire_open(in_dir(dir, "flipped.quire"), &a) == QUIRE_OK, "open flipped");
    int damaged = 0, wrong = 0;
    for (uint64_t i = 0; i < count; i++) {
        int rc = quire_get_by_index_alloc(a, i, &body, &len);
        if (rc == QUIRE_ERR_DAMAGED) {
            damaged++;
            if (!strstr(quire_last_error(), "block")) wrong++;
        } else if (rc != QUIRE_OK || len != exp[i].body_len ||
                   memcmp(body, exp[i].body, len) != 0) {
            wrong++;
        }
        quire_free(body);
    }
    CHECK(damaged > 0 && wrong == 0, "flipped: %d damaged, %d wrong", damaged, wrong);
    problems = 0;
    CHECK(quire_verify(a, &problems) == QUIRE_ERR_DAMAGED && problems > 0, "verify flipped");
    CHECK(strstr(quire_last_error(), "checksum") != NULL, "verify message");
    quire_close(a);

    /* A damaged index page (damaged-page.quire: the same entries with 2 KiB pages, one byte
     * flipped in the second page; damaged-page.txt: that page's first entry and count). A
     * prefix walk returns QUIRE_ERR_DAMAGED once, where the page's entries would be, with a
     * message naming them, and can be advanced past it: every other entry under the prefix
     * follows, in order. An entry-order iterator fails once per entry of the page. */
    unsigned long long lost_first = 0, lost_count = 0;
    FILE *txt = fopen(in_dir(dir, "damaged-page.txt"), "r");
    CHECK(txt && fscanf(txt, "%llu %llu", &lost_first, &lost_count) == 2 && lost_count > 0 &&
              lost_first + lost_count < count,
          "damaged-page.txt");
    if (txt) fclose(txt);
    CHECK(quire_open(in_dir(dir, "damaged-page.quire"), &a) == QUIRE_OK, "open damaged page");
    char lost_msg[64];
    snprintf(lost_msg, sizeof lost_msg, "%llu entries lost", lost_count);
    /* Every key, then the keys of the lost page's first entry's section (up to its '/'). */
    const expected_entry *pe = &exp[lost_first];
    size_t section_len = 0;
    while (section_len < pe->key_len && pe->key[section_len] != '/') section_len++;
    for (int pass = 0; pass < 2; pass++) {
        const char *pre = pass == 0 ? "" : pe->key;
        size_t pre_len = pass == 0 ? 0 : section_len + 1;
        CHECK(quire_iter_prefix(a, pre, pre_len, &it) == QUIRE_OK, "iter_prefix damaged");
        uint64_t want = 0, got = 0, before = 0;
        int errors = 0, wrong = 0, rc;
        while ((rc = quire_iter_next(it, &index)) != QUIRE_DONE) {
            if (rc == QUIRE_ERR_DAMAGED) {
                errors++;
                before = got;
                if (!strstr(quire_last_error(), lost_msg)) {
                    fprintf(stderr, "damaged page: message: %s\n", quire_last_error());
                    wrong++;
                }
                continue;
            }
            if (rc != QUIRE_OK) {
                wrong++;
                break;
            }
            /* The next entry under the prefix that is not on the lost page. */
            while (want < count &&
                   ((want >= lost_first && want < lost_first + lost_count) ||
                    exp[want].key_len < pre_len || memcmp(exp[want].key, pre, pre_len) != 0))
                want++;
            if (index != want) {
                if (wrong++ < 5)
                    fprintf(stderr, "damaged page: got entry %llu, want %llu\n",
                            (unsigned long long)index, (unsigned long long)want);
            }
            want = index + 1;
            got++;
        }
        uint64_t under = 0, under_before = 0;
        for (uint64_t i = 0; i < count; i++) {
            int in = exp[i].key_len >= pre_len && memcmp(exp[i].key, pre, pre_len) == 0;
            if (in && (i < lost_first || i >= lost_first + lost_count)) {
                under++;
                under_before += i < lost_first;
            }
        }
        CHECK(errors == 1 && wrong == 0 && got == under && before == under_before,
              "damaged page, prefix of %zu bytes: %d errors, %d wrong, %llu of %llu entries, "
              "error after %llu (want %llu)",
              pre_len, errors, wrong, (unsigned long long)got, (unsigned long long)under,
              (unsigned long long)before, (unsigned long long)under_before);
        CHECK(quire_iter_next(it, &index) == QUIRE_DONE, "damaged page: done stays done");
        CHECK(quire_iter_free(it) == QUIRE_OK, "iter_free");
    }
    CHECK(quire_iter_new(a, &it) == QUIRE_OK, "iter_new damaged");
    uint64_t ok_n = 0, damaged_n = 0;
    int rc;
    while ((rc = quire_iter_next(it, &index)) != QUIRE_DONE) {
        if (rc == QUIRE_OK) ok_n++;
        else if (rc == QUIRE_ERR_DAMAGED) damaged_n++;
        else break;
    }
    CHECK(ok_n == count - lost_count && damaged_n == lost_count,
          "entry order over a damaged page: %llu read, %llu damaged", (unsigned long long)ok_n,
          (unsigned long long)damaged_n);
    CHECK(quire_iter_free(it) == QUIRE_OK, "iter_free");
    quire_close(a);

    check_suggestions(dir);
    check_search(dir);

    free(exp);
    free(exp_bytes);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
