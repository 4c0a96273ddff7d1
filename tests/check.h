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

#include <stdio.h>
#include <stdlib.h>
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

#endif
