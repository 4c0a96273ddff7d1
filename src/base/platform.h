/* platform.h — the few operating-system services localseek needs.
 *
 * Read-only memory maps of files (model weights are used in place, never
 * copied), a monotonic clock, core counts and the process's memory use.
 * Everything Linux-specific lives here so the rest of the code does not
 * care. Called by: gguf (maps), apps and benchmarks (clock, memory).
 */
#ifndef LS_PLATFORM_H
#define LS_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct {
    const uint8_t *data; /* first byte of the file, read-only; NULL for an empty file */
    size_t size_bytes;   /* file size */
} plat_map;

/* Maps `path` read-only. On failure returns LS_ERR_IO / LS_ERR_NOT_FOUND with
 * a message naming the file. Release with plat_unmap(). */
ls_status plat_map_file(const char *path, plat_map *out);
/* Unmaps; safe on a zeroed or already-unmapped map. */
void plat_unmap(plat_map *m);

/* Seconds from an arbitrary fixed point, monotonic, ~ns resolution. */
double plat_now_s(void);

/* Physical cores available to this process (hyper-threads counted once,
 * limited by the CPU affinity mask); at least 1. */
int plat_physical_cores(void);

/* Resident set size now, and the peak so far, in bytes (0 if unknown). */
size_t plat_rss_bytes(void);
size_t plat_peak_rss_bytes(void);
/* Resident set size now from /proc/self/statm: one short read and no text
 * search, cheap enough to poll during generation (0 if unknown). */
size_t plat_rss_quick_bytes(void);

/* Memory the kernel says a new allocation can get without swapping
 * (MemAvailable), in bytes; 0 if unknown. */
size_t plat_mem_available_bytes(void);

#endif
