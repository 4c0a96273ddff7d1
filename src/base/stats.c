/* stats.c — see stats.h. qsort with a comparison that keeps NaNs from
 * breaking the order's consistency (they compare equal to everything, which
 * qsort tolerates; none of our callers produce them). */
#include "base/stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ls_sort_doubles(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_double);
}

double ls_percentile(double *v, size_t n, double pct)
{
    if (n == 0)
        return 0;
    ls_sort_doubles(v, n);
    size_t rank = (size_t)ceil(pct / 100.0 * (double)n);
    return v[rank > 0 ? (rank <= n ? rank - 1 : n - 1) : 0];
}
