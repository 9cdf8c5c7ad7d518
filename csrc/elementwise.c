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

/* One loop per element type: the same code over float with erff and double with erf. */
#define TG_ERF_KERNEL(NAME, T, ERF)                  \
    int NAME(const T *x, T *y, int64_t n)            \
    {                                                \
        if (n < 0)                                   \
            return 1;                                \
        for (int64_t i = 0; i < n; i++)              \
            y[i] = ERF(x[i]);                        \
        return 0;                                    \
    }

TG_ERF_KERNEL(tg_erf_f32, float, erff)
TG_ERF_KERNEL(tg_erf_f64, double, erf)
