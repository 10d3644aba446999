/* replay.c - runs a fuzz target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer, so that the committed regressions and seed corpus are part of
 * `make check` (and of its ASan/UBSan build).
 *
 *   replay_NAME                 every file in tests/fuzz/regressions/NAME and
 *                               tests/fuzz/corpus/NAME (under $TOP_SRCDIR, or
 *                               the source tree it was built from)
 *   replay_NAME FILE|DIR...     those instead (to reproduce one crash)
 *
 * A violated invariant aborts, so the test fails with the file named on
 * stdout just before.  Exit status 77 (skip) when there is nothing to run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

#ifndef FUZZ_NAME
#error "build with -DFUZZ_NAME='\"target\"'"
#endif
#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

static size_t replayed;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = fuzz_malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                abort();
            buf = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(buf);
        return -1;
    }
    /* An exact-size copy, as libFuzzer hands it over: reading past the end
     * is then an ASan report rather than a read of slack. */
    uint8_t *input = fuzz_malloc(len);
    if (len)
        memcpy(input, buf, len);
    free(buf);
    printf("%s (%zu bytes)\n", path, len);
    fflush(stdout);
    LLVMFuzzerTestOneInput(input, len);
    free(input);
    replayed++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_path(const char *path, int must_exist)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!must_exist && errno == ENOENT)
            return 0;
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);

    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
            char *full = fuzz_malloc(len);
            snprintf(full, len, "%s/%s", path, names[i]->d_name);
            if (replay_file(full) != 0)
                rc = -1;
            free(full);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;

    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            if (replay_path(argv[i], 1) != 0)
                rc = 1;
    } else {
        const char *top = getenv("TOP_SRCDIR");
        if (!top || !*top)
            top = FUZZ_SRCDIR;
        static const char *const kinds[] = { "regressions", "corpus" };
        for (size_t k = 0; k < 2; k++) {
            size_t len = strlen(top) + strlen(kinds[k]) + strlen(FUZZ_NAME) + 16;
            char *dir = fuzz_malloc(len);
            snprintf(dir, len, "%s/tests/fuzz/%s/%s", top, kinds[k], FUZZ_NAME);
            if (replay_path(dir, 0) != 0)
                rc = 1;
            free(dir);
        }
    }
    printf("%s: replayed %zu inputs\n", FUZZ_NAME, replayed);
    if (rc == 0 && replayed == 0)
        return 77;
    return rc;
}
