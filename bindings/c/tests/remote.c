/*
 * The C test of quire_open_url against real servers (nginx, moto S3), driven by
 * bindings/c/tests/remote.sh (which starts the servers, puts the fixture's test.quire on
 * them, and counts requests in their logs). One check per run:
 *
 *   remote read URL DIR          open URL, compare entries with DIR/expected.bin (made by
 *                                the fixture example): random gets every way, fields, a
 *                                missing key, a prefix walk, four threads, verify
 *   remote timeout URL MS [S]    open with timeout_ms = MS and 0 retries: QUIRE_ERR_TIMEOUT,
 *                                in less than MS + S seconds (default 4)
 *   remote unavailable URL N     open with N retries (and short timeouts): QUIRE_ERR_NETWORK
 *   remote status URL CODE       open fails with status CODE (e.g. -11, QUIRE_ERR_NOT_FOUND)
 *   remote changed URL FILE NEW  open URL (served from FILE), read, rename NEW over FILE,
 *                                read entries not read yet: QUIRE_ERR_CHANGED
 *   remote down URL COMMAND      open URL, read, run COMMAND (which stops the server), read
 *                                entries not read yet and verify: QUIRE_ERR_NETWORK
 *
 * Prints "N passed, 0 failed" and exits 0 when every check passes.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    size_t cap = 1 << 20, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
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

static uint64_t next_random(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Entry i by key (library-allocated) and by index (caller buffer sized by
 * QUIRE_BUFFER_TOO_SMALL), and its fields, against the expected values. */
static int read_entry(quire_archive *a, const expected_entry *e, uint64_t i) {
    int ok = 1;
    uint8_t *body = NULL;
    size_t len = 0;
    ok &= quire_get_alloc(a, e->key, e->key_len, &body, &len) == QUIRE_OK;
    ok &= body != NULL && len == e->body_len && memcmp(body, e->body, len) == 0;
    quire_free(body);

    size_t needed = 0;
    int rc = quire_get_by_index(a, i, NULL, 0, &needed);
    ok &= e->body_len == 0 ? rc == QUIRE_OK : rc == QUIRE_BUFFER_TOO_SMALL;
    ok &= needed == e->body_len;
    uint8_t *buf = malloc(needed + 1);
    ok &= buf && quire_get_by_index(a, i, buf, needed + 1, &needed) == QUIRE_OK;
    ok &= buf && needed == e->body_len && memcmp(buf, e->body, needed) == 0;
    free(buf);

    const char *key;
    size_t key_len;
    ok &= quire_key(a, i, &key, &key_len) == QUIRE_OK && key_len == e->key_len &&
          memcmp(key, e->key, key_len) == 0;
    char title[512];
    rc = quire_title(a, i, title, sizeof title, &needed);
    ok &= e->title ? rc == QUIRE_OK && needed == e->title_len + 1u &&
                         memcmp(title, e->title, e->title_len) == 0
                   : rc == QUIRE_NOT_FOUND;
    int y, m, d;
    rc = quire_date(a, i, &y, &m, &d);
    ok &= e->date ? rc == QUIRE_OK && (uint32_t)(y * 10000 + m * 100 + d) == e->date
                  : rc == QUIRE_NOT_FOUND;
    const char *ct;
    size_t ct_len;
    ok &= quire_content_type(a, i, &ct, &ct_len) == QUIRE_OK && ct_len == e->ctype_len &&
          memcmp(ct, e->ctype, ct_len) == 0;
    return ok;
}

typedef struct {
    quire_archive *a;
    const expected_entry *e;
    uint64_t count, seed;
    int bad;
} thread_arg;

static void *thread_main(void *p) {
    thread_arg *t = p;
    for (int n = 0; n < 25; n++) {
        uint64_t i = next_random(&t->seed) % t->count;
        if (!read_entry(t->a, &t->e[i], i)) t->bad++;
    }
    return NULL;
}

static quire_open_options options_with(uint64_t timeout_ms, uint32_t retries) {
    quire_open_options o;
    CHECK(quire_open_options_default(&o) == QUIRE_OK, "options_default");
    o.timeout_ms = timeout_ms;
    o.retries = retries;
    return o;
}

static void read_archive(const char *url, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/expected.bin", dir);
    size_t exp_len;
    uint8_t *exp_bytes = read_file(path, &exp_len);
    if (!exp_bytes) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    uint64_t count;
    expected_entry *exp = parse_expected(exp_bytes, &count);
    CHECK(exp && count == 3000, "expected.bin holds %llu entries", (unsigned long long)count);

    quire_open_options o = options_with(20000, 2);
    quire_archive *a = NULL;
    CHECK(quire_open_url(url, &o, &a) == QUIRE_OK && a, "open %s", url);
    if (!a) goto done;
    uint64_t n = 0;
    CHECK(quire_len(a, &n) == QUIRE_OK && n == count, "len %llu", (unsigned long long)n);

    /* The first entry, the last, and random ones between. */
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    int bad = 0;
    for (int k = 0; k < 150; k++) {
        uint64_t i = k == 0 ? 0 : k == 1 ? count - 1 : next_random(&seed) % count;
        if (!read_entry(a, &exp[i], i) && bad++ < 5)
            fprintf(stderr, "%s: entry %llu differs (%s)\n", url, (unsigned long long)i,
                    quire_last_error());
    }
    CHECK(bad == 0, "%d of 150 entries differ", bad);

    size_t needed = 7;
    CHECK(quire_get(a, "no/such/key", 11, NULL, 0, &needed) == QUIRE_NOT_FOUND && needed == 0,
          "a missing key is QUIRE_NOT_FOUND");

    /* A prefix walk: every key under "sport/", in order. */
    const char *prefix = "sport/";
    size_t plen = strlen(prefix);
    uint64_t under = 0, seen = 0, index, want = 0;
    for (uint64_t i = 0; i < count; i++)
        under += exp[i].key_len >= plen && memcmp(exp[i].key, prefix, plen) == 0;
    quire_iter *it = NULL;
    CHECK(quire_iter_prefix(a, prefix, plen, &it) == QUIRE_OK, "iter_prefix");
    int in_order = 1, rc;
    while ((rc = quire_iter_next(it, &index)) == QUIRE_OK) {
        while (want < count && !(exp[want].key_len >= plen &&
                                 memcmp(exp[want].key, prefix, plen) == 0))
            want++;
        in_order &= index == want++;
        seen++;
    }
    CHECK(rc == QUIRE_DONE && in_order && seen == under && under > 0,
          "prefix walk: %llu of %llu (status %d)", (unsigned long long)seen,
          (unsigned long long)under, rc);
    quire_iter_free(it);

    /* Four threads on one handle: their requests go in parallel. */
    pthread_t threads[4];
    thread_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (thread_arg){a, exp, count, 77 + (uint64_t)t, 0};
        pthread_create(&threads[t], NULL, thread_main, &args[t]);
    }
    bad = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        bad += args[t].bad;
    }
    CHECK(bad == 0, "%d of 100 threaded reads differ", bad);

    /* Title suggestions over the URL: the Rust reader's answers (suggest.bin). */
    snprintf(path, sizeof path, "%s/suggest.bin", dir);
    size_t sl;
    uint8_t *sb = read_file(path, &sl);
    CHECK(sb != NULL, "read suggest.bin");
    if (sb) {
        const uint8_t *p = sb;
        uint32_t cases = u32le(&p);
        bad = 0;
        for (uint32_t c = 0; c < cases; c++) {
            uint32_t qlen = u32le(&p);
            const char *q = (const char *)p;
            p += qlen;
            uint64_t limit = u64le(&p);
            uint32_t want_n = u32le(&p);
            quire_suggestions *s = NULL;
            size_t got_n = 0;
            int ok = quire_suggest(a, q, qlen, limit == UINT64_MAX ? SIZE_MAX : (size_t)limit,
                                   &s) == QUIRE_OK &&
                     quire_suggestions_len(s, &got_n) == QUIRE_OK && got_n == want_n;
            for (uint32_t i = 0; i < want_n; i++) {
                uint32_t kl = u32le(&p);
                const char *k = (const char *)p;
                p += kl;
                uint32_t tl = u32le(&p);
                p += tl ? tl - 1 : 0;
                uint32_t kind = u32le(&p);
                const char *gk;
                size_t gkl;
                int gkind = -1;
                if (ok)
                    ok = quire_suggestion_key(s, i, &gk, &gkl) == QUIRE_OK && gkl == kl &&
                         memcmp(gk, k, kl) == 0 &&
                         quire_suggestion_kind(s, i, &gkind) == QUIRE_OK && gkind == (int)kind;
            }
            if (!ok && bad++ < 5)
                fprintf(stderr, "%s: suggest %.*s differs (%s)\n", url, (int)qlen, q,
                        quire_last_error());
            quire_suggestions_free(s);
        }
        CHECK(bad == 0 && cases > 0, "%d of %u suggestions differ over %s", bad, cases, url);
        free(sb);
    }

    size_t problems = 99;
    CHECK(quire_verify(a, &problems) == QUIRE_OK && problems == 0, "verify");
    CHECK(quire_close(a) == QUIRE_OK, "close");
done:
    free(exp);
    free(exp_bytes);
}

/* A server that trickles (nginx's /slow/, 1 KiB/s): the open fails with QUIRE_ERR_TIMEOUT
 * after about timeout_ms, not after the 16 s the first 16 KiB would take. */
static void timeout(const char *url, uint64_t ms, double slack) {
    quire_open_options o = options_with(ms, 0);
    quire_archive *a = (quire_archive *)&o;
    double t0 = now();
    int rc = quire_open_url(url, &o, &a);
    double took = now() - t0;
    CHECK(rc == QUIRE_ERR_TIMEOUT && a == NULL, "%s: status %d, want QUIRE_ERR_TIMEOUT", url,
          rc);
    CHECK(took < (double)ms / 1000 + slack, "%s: failed after %.1f s, timeout %llu ms", url, took,
          (unsigned long long)ms);
    CHECK(took > (double)ms / 1000 * 0.8, "%s: failed after %.1f s, before its timeout", url,
          took);
    printf("timeout: %s failed after %.2f s: %s\n", url, took, quire_last_error());
}

/* A server that always answers 503: retried `retries` times (remote.sh counts the requests
 * in nginx's log), then QUIRE_ERR_NETWORK. */
static void unavailable(const char *url, uint32_t retries) {
    quire_open_options o = options_with(5000, retries);
    quire_archive *a = (quire_archive *)&o;
    int rc = quire_open_url(url, &o, &a);
    CHECK(rc == QUIRE_ERR_NETWORK && a == NULL, "%s: status %d, want QUIRE_ERR_NETWORK", url,
          rc);
    CHECK(strstr(quire_last_error(), url) != NULL, "the message names the URL");
    printf("unavailable: %s\n", quire_last_error());
}

static void status(const char *url, int want) {
    quire_archive *a = (quire_archive *)&want;
    int rc = quire_open_url(url, NULL, &a);
    CHECK(rc == want && a == NULL, "%s: status %d, want %d", url, rc, want);
    /* The URL once in the message, not twice. */
    const char *msg = quire_last_error(), *at = strstr(msg, url);
    CHECK(at && !strstr(at + strlen(url), url), "the URL once: %s", msg);
    printf("status %d: %s\n", rc, msg);
}

/* The object replaced on its server after the open: reads of what is not cached yet fail
 * with QUIRE_ERR_CHANGED, not QUIRE_ERR_DAMAGED. */
static void changed(const char *url, const char *file, const char *replacement) {
    quire_open_options o = options_with(20000, 0);
    quire_archive *a = NULL;
    CHECK(quire_open_url(url, &o, &a) == QUIRE_OK, "open %s", url);
    if (!a) return;
    uint64_t count = 0;
    uint8_t *body = NULL;
    size_t len;
    CHECK(quire_len(a, &count) == QUIRE_OK && count > 0, "len");
    CHECK(quire_get_by_index_alloc(a, 0, &body, &len) == QUIRE_OK, "read before the swap");
    quire_free(body);
    CHECK(rename(replacement, file) == 0, "rename %s %s", replacement, file);
    int rc = QUIRE_OK;
    for (uint64_t i = count - 1; i > 0 && rc == QUIRE_OK; i -= 97) {
        rc = quire_get_by_index_alloc(a, i, &body, &len);
        quire_free(body);
        if (i < 97) break;
    }
    CHECK(rc == QUIRE_ERR_CHANGED, "after the swap: status %d, want QUIRE_ERR_CHANGED", rc);
    printf("changed: %s\n", quire_last_error());
    quire_close(a);
}

/* The server gone after the open: reads of what is not cached and verify fail with
 * QUIRE_ERR_NETWORK (the connection is refused), never QUIRE_ERR_DAMAGED. */
static void down(const char *url, const char *command) {
    quire_open_options o = options_with(5000, 0);
    o.connect_timeout_ms = 2000;
    quire_archive *a = NULL;
    CHECK(quire_open_url(url, &o, &a) == QUIRE_OK, "open %s", url);
    if (!a) return;
    uint64_t count = 0;
    uint8_t *body = NULL;
    size_t len;
    CHECK(quire_len(a, &count) == QUIRE_OK && count > 0, "len");
    CHECK(quire_get_by_index_alloc(a, 0, &body, &len) == QUIRE_OK, "read before the stop");
    quire_free(body);
    fflush(stdout);
    CHECK(system(command) == 0, "%s", command);
    int rc = quire_get_by_index_alloc(a, count - 1, &body, &len);
    quire_free(body);
    CHECK(rc == QUIRE_ERR_NETWORK, "a read after the stop: status %d, want QUIRE_ERR_NETWORK",
          rc);
    printf("down: %s\n", quire_last_error());
    size_t problems = 0;
    rc = quire_verify(a, &problems);
    CHECK(rc == QUIRE_ERR_NETWORK, "verify after the stop: status %d, want QUIRE_ERR_NETWORK",
          rc);
    printf("down, verify: %s\n", quire_last_error());
    quire_close(a);
}

int main(int argc, char **argv) {
    const char *mode = argc > 2 ? argv[1] : "";
    if (!strcmp(mode, "read") && argc == 4) {
        read_archive(argv[2], argv[3]);
    } else if (!strcmp(mode, "timeout") && (argc == 4 || argc == 5)) {
        timeout(argv[2], strtoull(argv[3], NULL, 10), argc == 5 ? atof(argv[4]) : 4);
    } else if (!strcmp(mode, "unavailable") && argc == 4) {
        unavailable(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
    } else if (!strcmp(mode, "status") && argc == 4) {
        status(argv[2], atoi(argv[3]));
    } else if (!strcmp(mode, "changed") && argc == 5) {
        changed(argv[2], argv[3], argv[4]);
    } else if (!strcmp(mode, "down") && argc == 4) {
        down(argv[2], argv[3]);
    } else {
        fprintf(stderr,
                "usage: %s read URL DIR | timeout URL MS [SLACK_S] | unavailable URL RETRIES | "
                "status URL CODE | changed URL FILE REPLACEMENT | down URL COMMAND\n",
                argv[0]);
        return 2;
    }
    printf("%s: %d passed, %d failed\n", mode, passed, failed);
    return failed ? 1 : 0;
}
