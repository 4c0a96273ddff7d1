/* platform.c — Linux implementations: mmap, clock_gettime, sysfs topology,
 * /proc/self/status, and the memory limits (/proc/meminfo, /proc/self/cgroup
 * and the cgroup folders under /sys/fs/cgroup, all read through a system
 * root so that tests can fake them). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_SET */
#include "base/platform.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

ls_status plat_map_file(const char *path, plat_map *out)
{
    out->data = NULL;
    out->size_bytes = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ls_error(e == ENOENT ? LS_ERR_NOT_FOUND : LS_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ls_error(LS_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return LS_OK; /* an empty file maps to nothing; parsers report it as truncated */
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file alive */
    if (p == MAP_FAILED)
        return ls_error(LS_ERR_IO, "%s: cannot map %lld bytes: %s", path, (long long)st.st_size, strerror(e));
    /* Ask for 2 MiB pages (advice only: ignored where the kernel or the file
     * system cannot). Decoding streams every weight once per token; with 4 KiB
     * pages that is a page-table walk per 4 KiB and a stop of the hardware
     * prefetcher at every page boundary. Asked before the first touch, Linux
     * reads the file into 2 MiB page-cache pages and maps them whole (so the
     * rarely read embedding table becomes resident too: ~+100 MiB on 1.5B).
     * `bench -m r1-1.5b-q4_k_m -n 128`, page cache dropped before each run,
     * 4 interleaved pairs: tg 26.5 -> 28.0 tokens/s (mean). */
    (void)madvise(p, (size_t)st.st_size, MADV_HUGEPAGE);
    out->data = p;
    out->size_bytes = (size_t)st.st_size;
    return LS_OK;
}

void plat_unmap(plat_map *m)
{
    if (m->data)
        munmap((void *)(uintptr_t)m->data, m->size_bytes);
    m->data = NULL;
    m->size_bytes = 0;
}

double plat_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads one small integer from a sysfs file; -1 if absent. */
static int read_int_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int v = -1;
    if (fscanf(f, "%d", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

int plat_physical_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    /* Count distinct (package, core) pairs among the CPUs we may run on. */
    int seen_pkg[CPU_SETSIZE], seen_core[CPU_SETSIZE], n_seen = 0, n_cpus = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        n_cpus++;
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", c);
        int core = read_int_file(path);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
        int pkg = read_int_file(path);
        if (core < 0 || pkg < 0)
            return n_cpus > 0 ? CPU_COUNT(&set) : 1; /* no topology: count logical CPUs */
        int dup = 0;
        for (int i = 0; i < n_seen && !dup; i++)
            dup = seen_pkg[i] == pkg && seen_core[i] == core;
        if (!dup) {
            seen_pkg[n_seen] = pkg;
            seen_core[n_seen] = core;
            n_seen++;
        }
    }
    return n_seen > 0 ? n_seen : 1;
}

/* Finds "Key:   123 kB" in a /proc file and returns the value in bytes. */
static size_t proc_kb_field(const char *file, const char *key)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[256];
    size_t klen = strlen(key), v = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            unsigned long long kb = 0;
            if (sscanf(line + klen + 1, "%llu", &kb) == 1)
                v = (size_t)kb * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

size_t plat_rss_bytes(void)
{
    return proc_kb_field("/proc/self/status", "VmRSS");
}

size_t plat_peak_rss_bytes(void)
{
    return proc_kb_field("/proc/self/status", "VmHWM");
}

size_t plat_rss_quick_bytes(void)
{
    /* statm: total program size, then resident pages, in pages. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size_pages = 0, rss_pages = 0;
    if (sscanf(buf, "%llu %llu", &size_pages, &rss_pages) != 2)
        return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (size_t)rss_pages * (size_t)(page > 0 ? page : 4096);
}

/* ======================================================================== */
/* Machine limits                                                            */
/* ======================================================================== */

const char *plat_mem_limit_name(plat_mem_limit_kind kind)
{
    switch (kind) {
    case PLAT_MEM_LIMIT_MEMAVAILABLE: return "available memory (MemAvailable)";
    case PLAT_MEM_LIMIT_CGROUP: return "the cgroup memory limit";
    case PLAT_MEM_LIMIT_NONE: break;
    }
    return "unknown";
}

/* A cgroup limit at or above this is "no limit" (v1 writes 2^63 rounded to pages). */
static const uint64_t CGROUP_UNLIMITED = (uint64_t)1 << 62;

/* Reads the first line of sysroot/rel into buf; false if it cannot be read. */
static bool read_line(const char *sysroot, const char *rel, char *buf, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", sysroot, rel);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    return ok;
}

/* A cgroup number file: true with *v for a number, false for "max", absent or garbage. */
static bool read_u64(const char *sysroot, const char *rel, uint64_t *v)
{
    char line[128];
    if (!read_line(sysroot, rel, line, sizeof line) || !isdigit((unsigned char)line[0]))
        return false;
    char *end;
    unsigned long long x = strtoull(line, &end, 10);
    if (*end && *end != '\n')
        return false;
    *v = x;
    return true;
}

/* True when the comma-separated controller list names "memory". */
static bool has_memory_controller(const char *list, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && list[j] != ',')
            j++;
        if (j - i == 6 && memcmp(list + i, "memory", 6) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

/* Finds this process's cgroup in sysroot/proc/self/cgroup: the v1 memory
 * hierarchy's path when there is one (version 1), else the unified v2 path
 * (version 2); 0 when neither. Lines read "id:controllers:path". */
static int find_cgroup(const char *sysroot, char *path, size_t cap)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/proc/self/cgroup", sysroot);
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[4096];
    int version = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        const char *ctrl = c1 + 1, *where = c2 + 1;
        size_t ctrl_len = (size_t)(c2 - ctrl);
        if (has_memory_controller(ctrl, ctrl_len)) {
            snprintf(path, cap, "%s", where);
            version = 1;
            break; /* the v1 memory controller, when mounted, is the one that limits */
        }
        if (ctrl_len == 0 && strncmp(line, "0:", 2) == 0) {
            snprintf(path, cap, "%s", where);
            version = 2;
        }
    }
    fclose(f);
    return version;
}

/* Walks from the cgroup folder `mount`+`path` up to `mount` itself and keeps
 * the tightest limit: the smallest (limit − usage). A folder missing on the
 * way (a container sees only its own part of the tree) is skipped. */
static bool tightest_cgroup(const char *sysroot, const char *mount, const char *path, const char *max_file,
                            const char *used_file, uint64_t *max_out, uint64_t *used_out)
{
    char rel[4096];
    /* A path with ".." lies outside what this mount shows (another cgroup
     * namespace): only the mount root's own files can be read then. */
    snprintf(rel, sizeof rel, "%s", strstr(path, "..") ? "" : path);
    bool found = false;
    uint64_t best_room = 0;
    for (;;) {
        size_t len = strlen(rel);
        while (len > 0 && rel[len - 1] == '/')
            rel[--len] = '\0';
        char f_max[4600], f_used[4600];
        snprintf(f_max, sizeof f_max, "%s%s/%s", mount, rel, max_file);
        snprintf(f_used, sizeof f_used, "%s%s/%s", mount, rel, used_file);
        uint64_t max, used = 0;
        if (read_u64(sysroot, f_max, &max) && max < CGROUP_UNLIMITED) {
            read_u64(sysroot, f_used, &used);
            uint64_t room = max > used ? max - used : 0;
            if (!found || room < best_room) {
                best_room = room;
                *max_out = max;
                *used_out = used;
                found = true;
            }
        }
        if (len == 0)
            break;
        char *slash = strrchr(rel, '/');
        if (slash)
            *slash = '\0';
        else
            rel[0] = '\0';
    }
    return found;
}

void plat_mem_limit_read(const char *sysroot, plat_mem_limit *out)
{
    memset(out, 0, sizeof *out);
    if (!sysroot)
        sysroot = getenv("LOCALSEEK_SYSROOT");
    if (!sysroot)
        sysroot = "";

    /* 1. The machine: MemAvailable. */
    char meminfo[4096];
    snprintf(meminfo, sizeof meminfo, "%s/proc/meminfo", sysroot);
    out->mem_available_bytes = proc_kb_field(meminfo, "MemAvailable");
    if (out->mem_available_bytes) {
        out->kind = PLAT_MEM_LIMIT_MEMAVAILABLE;
        out->free_bytes = out->mem_available_bytes;
    }

    /* 2. A cgroup cap, when it leaves less room than the machine has. */
    char path[4096];
    int version = find_cgroup(sysroot, path, sizeof path);
    uint64_t max = 0, used = 0;
    bool capped = false;
    if (version == 2)
        capped = tightest_cgroup(sysroot, "/sys/fs/cgroup", path, "memory.max", "memory.current", &max, &used);
    else if (version == 1)
        capped = tightest_cgroup(sysroot, "/sys/fs/cgroup/memory", path, "memory.limit_in_bytes",
                                 "memory.usage_in_bytes", &max, &used);
    if (capped) {
        out->cgroup_version = version;
        out->cgroup_max_bytes = (size_t)max;
        out->cgroup_used_bytes = (size_t)used;
        size_t room = (size_t)(max > used ? max - used : 0);
        if (out->kind == PLAT_MEM_LIMIT_NONE || room < out->free_bytes) {
            out->kind = PLAT_MEM_LIMIT_CGROUP;
            out->free_bytes = room;
        }
    }
    out->name = plat_mem_limit_name(out->kind);
}
