/* elementwise.c: special functions NumPy lacks, one pass over a contiguous array.
 *
 * erf: the reference (backend/numpy_ref.py) calls Python's math.erf once per element, which
 * is exact but costs ~50 ns an element in the interpreter; the C library's erf/erff compute
 * the same function (to within an ulp) in a few ns. Plain C: libm has no vector erf that a
 * portable build could rely on, so there is nothing to choose at run time.
 */
#include <math.h>
#include <stdint.h>

#include "tg_kernels.h"

int tg_erf_f32(const float *x, float *y, int64_t n)
{
    if (n < 0)
        return 1;
    for (int64_t i = 0; i < n; i++)
        y[i] = erff(x[i]);
    return 0;
}

int tg_erf_f64(const double *x, double *y, int64_t n)
{
    if (n < 0)
        return 1;
    for (int64_t i = 0; i < n; i++)
        y[i] = erf(x[i]);
    return 0;
}
