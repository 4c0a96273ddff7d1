/* fuzz.h — what every libFuzzer target here shares: the entry point's
 * declaration and FUZZ_ASSERT, which reports a broken invariant (with the
 * file and line, which name the target, and the library's last error
 * sentence) and calls abort(), so the fuzzer records the input as a crash. */
#ifndef LS_FUZZ_H
#define LS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                                    \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "invariant broken at %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                    ls_error_msg());                                                                         \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

#endif
