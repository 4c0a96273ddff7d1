/* test_fuzz_gguf_corpus.c — replays the GGUF fuzzing corpus in every build.
 *
 * tests/corpus/gguf/ holds the inputs the fuzzer found interesting (a
 * minimized corpus) and every input that once crashed the reader. This test
 * feeds each one, from a buffer of exactly its size, to the very function
 * libFuzzer calls — fuzz/fuzz_gguf.c is included below — so a fixed crash
 * stays fixed in the normal build and under ASan + UBSan, without clang or
 * libFuzzer. The corpus is found through LOCALSEEK_SRC (the repository root,
 * set by CTest); without it the test is skipped (exit 77).
 */
#include <dirent.h>
#include <string.h>

#include "../fuzz/fuzz_gguf.c"
#include "base/alloc.h"
#include "check.h"

int main(void)
{
    const char *src = getenv("LOCALSEEK_SRC");
    if (!src || !*src) {
        printf("SKIPPED: LOCALSEEK_SRC (the repository root) is not set\n");
        return 77;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/corpus/gguf", src);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "corpus folder %s exists", dir);
    if (!d)
        return check_done();

    long base = ls_alloc_live();
    int n_files = 0, n_opened = 0;
    size_t n_bytes = 0;
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
        LLVMFuzzerTestOneInput(buf, n); /* aborts on a broken invariant */
        gguf_file *g = NULL;
        if (gguf_open_memory(buf, n, e->d_name, &g) == LS_OK)
            n_opened++;
        gguf_close(g);
        free(buf);
        n_files++;
        n_bytes += n;
    }
    closedir(d);
    CHECK(n_files >= 10, "the corpus has %d files, expected a real corpus", n_files);
    CHECK(n_opened >= 1, "some corpus files are valid GGUF (%d)", n_opened);
    CHECK(ls_alloc_live() == base, "replay leaked %ld blocks", ls_alloc_live() - base);
    printf("replayed %d corpus files (%zu bytes, %d valid GGUF) through LLVMFuzzerTestOneInput\n", n_files, n_bytes,
           n_opened);
    return check_done();
}
