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
#include <string.h>

#include "../fuzz/fuzz_gguf.c"
#include "base/alloc.h"
#include "check.h"

/* One corpus input: the fuzz target's checks, then count the valid files. */
static void replay(const char *name, const uint8_t *data, size_t n, void *ctx)
{
    LLVMFuzzerTestOneInput(data, n); /* aborts on a broken invariant */
    gguf_file *g = NULL;
    if (gguf_open_memory(data, n, name, &g) == LS_OK)
        ++*(int *)ctx;
    gguf_close(g);
}

int main(void)
{
    long base = ls_alloc_live();
    int n_opened = 0;
    size_t n_bytes = 0;
    int n_files = check_for_each_repo_file("tests/corpus/gguf", replay, &n_opened, &n_bytes);
    CHECK(n_files >= 10, "the corpus has %d files, expected a real corpus", n_files);
    CHECK(n_opened >= 1, "some corpus files are valid GGUF (%d)", n_opened);
    CHECK(ls_alloc_live() == base, "replay leaked %ld blocks", ls_alloc_live() - base);
    printf("replayed %d corpus files (%zu bytes, %d valid GGUF) through LLVMFuzzerTestOneInput\n", n_files, n_bytes,
           n_opened);
    return check_done();
}
