/* platform.h — the few operating-system services localseek needs.
 *
 * Read-only memory maps of files (model weights are used in place, never
 * copied), a monotonic clock, core counts, the process's memory use and the
 * machine's memory limits (MemAvailable, cgroups). Everything Linux-specific
 * lives here so the rest of the code does not care. Called by: gguf (maps),
 * generate/guard (limits), apps and benchmarks (clock, memory).
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

/* ---- machine limits ---------------------------------------------------- */
/* How much more memory this process can get: the one place that reads it.
 *   MemAvailable (/proc/meminfo): the kernel's own figure for "what a new
 *     program can get without swapping" (free memory plus caches it can drop);
 *   a cgroup cap (a container, a systemd slice): /proc/self/cgroup names our
 *     cgroup; its memory.max − memory.current (v2) or memory.limit_in_bytes −
 *     memory.usage_in_bytes (v1) is the room left. A parent's cap binds too,
 *     so the folders are walked up to the mount root and the tightest wins.
 * The smaller room is the limit. Every read goes through a "system root"
 * folder holding proc/ and sys/, so tests can point it at a fake tree.
 * LIMITATION: a cgroup's usage counts page cache it could drop (e.g. a model
 * file read earlier), so the room left may be understated there. */
typedef enum {
    PLAT_MEM_LIMIT_NONE = 0,     /* nothing could be read */
    PLAT_MEM_LIMIT_MEMAVAILABLE, /* "available memory (MemAvailable)" */
    PLAT_MEM_LIMIT_CGROUP,       /* "the cgroup memory limit" */
} plat_mem_limit_kind;

typedef struct {
    plat_mem_limit_kind kind;   /* which figure binds (the smaller room) */
    const char *name;           /* plat_mem_limit_name(kind), for messages */
    size_t free_bytes;          /* the room left by that figure; 0 when kind is NONE */
    size_t mem_available_bytes; /* /proc/meminfo MemAvailable; 0 if unreadable */
    int cgroup_version;         /* 1 or 2 when a cgroup memory limit is set, else 0 */
    size_t cgroup_max_bytes;    /* the binding cgroup's limit */
    size_t cgroup_used_bytes;   /* and its current usage */
} plat_mem_limit;

/* Reads the machine's memory limit. `sysroot`: folder holding proc/ and sys/
 * (NULL = $LOCALSEEK_SYSROOT, else the real root). Never fails: what cannot
 * be read is left out (kind NONE when nothing could). */
void plat_mem_limit_read(const char *sysroot, plat_mem_limit *out);
/* "available memory (MemAvailable)", "the cgroup memory limit", "unknown". */
const char *plat_mem_limit_name(plat_mem_limit_kind kind);

#endif
