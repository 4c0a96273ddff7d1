/* test_tokenizer_fuzz_corpus.c — replays the tokenizer fuzzing corpus in every build.
 *
 * tests/corpus/tokenizer/ holds inputs the fuzzer found interesting and every
 * input that once broke an invariant. Each is fed, from a buffer of exactly
 * its size, to the function libFuzzer calls (fuzz/fuzz_tokenizer.c is
 * included below), so a fixed bug stays fixed in the normal build and under
 * ASan + UBSan without clang. Then it feeds a few generated huge inputs
 * (a megabyte of one letter, spaces, digits, random bytes; marks) the same
 * way. Needs LOCALSEEK_SRC (the repository root) and
 * ../shared (the vocabularies); skipped (exit 77) without them.
 */
#include <string.h>

#include "../fuzz/fuzz_tokenizer.c"
#include "check.h"

/* One corpus input: the fuzz target's checks; count inputs per mode (the
 * first byte picks the vocabulary and flags). */
static void replay(const char *name, const uint8_t *data, size_t n, void *ctx)
{
    (void)name;
    LLVMFuzzerTestOneInput(data, n); /* aborts on a broken invariant */
    if (n >= 2)
        ((int *)ctx)[data[0] % 4]++;
}

int main(void)
{
    check_shared_dir();
    fuzz_load(); /* before counting live blocks: the vocabularies stay loaded */
    long base = ls_alloc_live();
    int n_modes[4] = { 0 };
    size_t n_bytes = 0;
    int n_files = check_for_each_repo_file("tests/corpus/tokenizer", replay, n_modes, &n_bytes);
    /* Huge inputs, made here rather than kept in the repository: a megabyte
     * each of one letter, of spaces, of digits, of random bytes, and 256 KB
     * of combining marks, in each of the three vocabularies, with and
     * without special parsing. */
    enum { HUGE = 1 << 20 };
    uint8_t *big = malloc(HUGE + 2);
    uint32_t rng = 12345;
    for (int kind = 0; kind < 5; kind++) {
        size_t len = kind == 4 ? HUGE / 4 : HUGE;
        for (size_t i = 0; i < len; i++) {
            rng = rng * 1664525u + 1013904223u;
            uint8_t r = (uint8_t)(rng >> 24);
            static const uint8_t marks[6] = { 0xcc, 0x81, 0xcc, 0x96, 0xcc, 0xa8 };
            big[2 + i] = kind == 0 ? 'a' : kind == 1 ? ' ' : kind == 2 ? (uint8_t)('0' + r % 10) : kind == 3 ? r
                                                                                        : marks[i % 6];
        }
        for (int mode = 0; mode < 3; mode++) {
            big[0] = (uint8_t)mode;
            big[1] = (uint8_t)(kind & 1); /* TOK_PARSE_SPECIAL on odd kinds */
            LLVMFuzzerTestOneInput(big, len + 2);
        }
    }
    free(big);
    CHECK(n_files >= 10, "the corpus has %d files, expected a real corpus", n_files);
    CHECK(n_modes[0] && n_modes[1] && n_modes[2] && n_modes[3], "every mode is represented (%d %d %d %d)", n_modes[0],
          n_modes[1], n_modes[2], n_modes[3]);
    CHECK(ls_alloc_live() == base, "replay leaked %ld blocks", ls_alloc_live() - base);
    printf("replayed %d corpus files (%zu bytes; modes %d/%d/%d/%d) through LLVMFuzzerTestOneInput\n", n_files,
           n_bytes, n_modes[0], n_modes[1], n_modes[2], n_modes[3]);
    for (int k = 0; k < 3; k++)
        tok_free(fuzz_vocab[k]);
    return check_done();
}
