/*
 * get: print the bodies of entries of a quire archive, like `quire get ARCHIVE KEY...`,
 * with their title and date on stderr. ARCHIVE is a path or an http://, https:// or s3://
 * URL (quire_open_url); -t sets the request timeout in milliseconds, -r the retries.
 *
 *   cargo build --release -p quire-c
 *   cc -Ibindings/c/include bindings/c/examples/get.c target/release/libquire.a \
 *      -lpthread -ldl -lm -o quire-get                      # static, or
 *   cc -Ibindings/c/include bindings/c/examples/get.c -Ltarget/release -lquire -o quire-get
 *   ./quire-get samples.quire seed-article.txt
 *   ./quire-get -t 5000 -r 1 https://example.org/news.quire world/00042
 *
 * Exit status: 0; 1 when the archive is not one or is damaged; 2 for bad arguments; 3 when
 * a key is missing; 4 when the file or the network failed (the archive may be fine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quire.h"

/* The exit status for a failed call: the network's and the system's failures apart from
 * bytes that arrived and are wrong. */
static int exit_status(int rc) {
    switch (rc) {
    case QUIRE_NOT_FOUND:
        return 3;
    case QUIRE_ERR_IO:
    case QUIRE_ERR_NETWORK:
    case QUIRE_ERR_TIMEOUT:
    case QUIRE_ERR_NOT_FOUND:
    case QUIRE_ERR_FORBIDDEN:
    case QUIRE_ERR_CHANGED:
        return 4;
    case QUIRE_ERR_ARGUMENT:
        return 2;
    default:
        return 1;
    }
}

int main(int argc, char **argv) {
    quire_open_options options;
    quire_open_options_default(&options);
    int first = 1;
    for (; first + 1 < argc && argv[first][0] == '-'; first += 2) {
        if (!strcmp(argv[first], "-t")) {
            options.timeout_ms = strtoull(argv[first + 1], NULL, 10);
        } else if (!strcmp(argv[first], "-r")) {
            options.retries = (uint32_t)strtoul(argv[first + 1], NULL, 10);
        } else {
            break;
        }
    }
    if (argc - first < 2) {
        fprintf(stderr, "usage: %s [-t TIMEOUT_MS] [-r RETRIES] ARCHIVE|URL KEY...\n", argv[0]);
        return 2;
    }
    quire_archive *archive;
    int rc = quire_open_url(argv[first], &options, &archive);
    if (rc != QUIRE_OK) {
        /* The message names the path or URL. */
        fprintf(stderr, "%s\n", quire_last_error());
        return exit_status(rc);
    }
    int status = 0;
    size_t cap = 64 * 1024, len;
    uint8_t *buf = malloc(cap);
    for (int i = first + 1; i < argc && buf; i++) {
        const char *key = argv[i];
        rc = quire_get(archive, key, strlen(key), buf, cap, &len);
        if (rc == QUIRE_BUFFER_TOO_SMALL) { /* len holds the size needed */
            uint8_t *bigger = realloc(buf, cap = len);
            if (!bigger) break;
            buf = bigger;
            rc = quire_get(archive, key, strlen(key), buf, cap, &len);
        }
        if (rc != QUIRE_OK) {
            fprintf(stderr, "%s: %s\n", key, quire_last_error());
            status = exit_status(rc);
            /* The network or a changed object fails every key alike: stop. */
            if (status == 4) break;
            continue;
        }
        uint64_t index;
        char title[256];
        size_t needed;
        int y, m, d;
        if (quire_index_of(archive, key, strlen(key), &index) == QUIRE_OK) {
            if (quire_title(archive, index, title, sizeof title, &needed) == QUIRE_OK)
                fprintf(stderr, "title: %s\n", title);
            if (quire_date(archive, index, &y, &m, &d) == QUIRE_OK)
                fprintf(stderr, "date: %04d-%02d-%02d\n", y, m, d);
        }
        fwrite(buf, 1, len, stdout);
    }
    free(buf);
    quire_close(archive);
    return status;
}
