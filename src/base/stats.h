/* stats.h — summarising repeated measurements: sorting and percentiles.
 *
 * Benchmarks (kernel sweeps, bandwidth passes, retrieval lookups) and the
 * telemetry summary (`localseek stats`) all reduce a list of timings or
 * speeds to a median and a tail. They share this one definition, so "p95"
 * means the same everywhere: the nearest-rank percentile (the smallest value
 * that at least pct % of the measurements do not exceed).
 *
 * Owns: nothing. Called by: tensor/membw.c, memory/store.c, apps (bench).
 */
#ifndef LS_STATS_H
#define LS_STATS_H

#include <stddef.h>

/* Sorts v[0..n) in ascending order. */
void ls_sort_doubles(double *v, size_t n);

/* Nearest-rank percentile (0 < pct <= 100) of v[0..n), which it sorts;
 * 0 when n == 0. pct 50 is the lower median, 100 the maximum. */
double ls_percentile(double *v, size_t n, double pct);

#endif
