/*
 * get: print the bodies of entries of a quire archive, like `quire get ARCHIVE KEY...`,
 * with their title and date on stderr.
 *
 *   cargo build --release -p quire-c
 *   cc -Ibindings/c/include bindings/c/examples/get.c target/release/libquire.a \
 *      -lpthread -ldl -lm -o quire-get                      # static, or
 *   cc -Ibindings/c/include bindings/c/examples/get.c -Ltarget/release -lquire -o quire-get
 *   ./quire-get samples.quire seed-article.txt
 *
 * Exit status: 0, 1 when the archive cannot be read, 3 when a key is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quire.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ARCHIVE KEY...\n", argv[0]);
        return 2;
    }
    quire_archive *archive;
    if (quire_open(argv[1], &archive) != QUIRE_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], quire_last_error());
        return 1;
    }
    int status = 0;
    size_t cap = 64 * 1024, len;
    uint8_t *buf = malloc(cap);
    for (int i = 2; i < argc && buf; i++) {
        const char *key = argv[i];
        int rc = quire_get(archive, key, strlen(key), buf, cap, &len);
        if (rc == QUIRE_BUFFER_TOO_SMALL) { /* len holds the size needed */
            uint8_t *bigger = realloc(buf, cap = len);
            if (!bigger) break;
            buf = bigger;
            rc = quire_get(archive, key, strlen(key), buf, cap, &len);
        }
        if (rc != QUIRE_OK) {
            fprintf(stderr, "%s: %s\n", key, quire_last_error());
            status = rc == QUIRE_NOT_FOUND ? 3 : 1;
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
