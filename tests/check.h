/* check.h — the tiny test harness every tests/test_*.c uses.
 *
 * CHECK(cond, fmt, ...) records a pass or a failure (printing the failing
 * condition with file:line and a formatted explanation); check_done() prints
 * "N passed, N failed" and returns the exit status. A test that needs
 * ../shared calls check_shared_dir(), which exits 77 (CTest "skipped") with
 * a clear line when it is missing — a skipped test never reports success.
 */
#ifndef LS_CHECK_H
#define LS_CHECK_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int check_n_pass, check_n_fail;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            check_n_pass++;                                                    \
        } else {                                                               \
            check_n_fail++;                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

static inline int check_done(void)
{
    printf("%d passed, %d failed\n", check_n_pass, check_n_fail);
    return check_n_fail == 0 && check_n_pass > 0 ? 0 : 1;
}

/* The shared reference folder (LOCALSEEK_SHARED, default ../shared); exits 77
 * with an explanation when it does not exist. */
static inline const char *check_shared_dir(void)
{
    const char *d = getenv("LOCALSEEK_SHARED");
    if (!d || !*d)
        d = "../shared";
    struct stat st;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("SKIPPED: shared reference folder '%s' not found (set LOCALSEEK_SHARED)\n", d);
        exit(77);
    }
    return d;
}

/* Reads a whole file into a malloc'd buffer of exactly its size (so ASan
 * flags a read even one byte past the end) plus a NUL after it that is not
 * counted in *n_bytes. NULL if it cannot be read. Caller frees with free(). */
static inline uint8_t *check_read_file(const char *path, size_t *n_bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    size_t n = buf ? fread(buf, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)len) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *n_bytes = n;
    return buf;
}

/* Calls fn for every file of the repository folder `rel` (e.g.
 * "tests/corpus/gguf"), each read into a buffer of exactly its size. The
 * repository is found through LOCALSEEK_SRC (set by CTest); without it the
 * test is skipped (exit 77). Returns the number of files and adds their bytes
 * to *n_bytes; a folder or file that cannot be read is a recorded failure. */
typedef void (*check_file_fn)(const char *name, const uint8_t *data, size_t n, void *ctx);

static inline int check_for_each_repo_file(const char *rel, check_file_fn fn, void *ctx, size_t *n_bytes)
{
    const char *src = getenv("LOCALSEEK_SRC");
    if (!src || !*src) {
        printf("SKIPPED: LOCALSEEK_SRC (the repository root) is not set\n");
        exit(77);
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", src, rel);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "folder %s exists", dir);
    if (!d)
        return 0;
    int n_files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n = 0;
        uint8_t *buf = check_read_file(path, &n);
        CHECK(buf != NULL, "read %s", path);
        if (!buf)
            continue;
        fn(e->d_name, buf, n, ctx);
        free(buf);
        n_files++;
        *n_bytes += n;
    }
    closedir(d);
    return n_files;
}

/* For tests CTest runs once per kernel path (tests/test_paths_*.c): exits 77
 * when LOCALSEEK_CPU asks for a path this CPU cannot run, so the run reports
 * "skipped" instead of silently testing another path. `chosen` is the name
 * of the path actually selected (kern_get()->name). */
static inline void check_kernel_path(const char *chosen)
{
    const char *want = getenv("LOCALSEEK_CPU");
    if (want && *want && strcmp(chosen, want) != 0) {
        printf("SKIPPED: this CPU cannot run the %s kernel path\n", want);
        exit(77);
    }
}

#endif
