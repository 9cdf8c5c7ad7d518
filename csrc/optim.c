/* optim.c: the optimisers' update rules, one pass over each parameter's memory, in place
 * (float32 and float64).
 *
 * The definition of correct is tinygrad_edu/backend/numpy_ref.py (sgd_update, adam_update,
 * rmsprop_update, adagrad_update), whose lines follow the algorithms in the docstrings of
 * tinygrad_edu/optim/{sgd,adam,rmsprop,adagrad}.py. NumPy runs each line of such an
 * algorithm as its own pass over the whole parameter (and allocates a temporary for it);
 * here every element goes through all the lines at once, so the parameter, its gradient and
 * its state are read and written exactly once per step.
 *
 * Rounding: every line is computed in the element type, in the reference's order and without
 * fused multiply-adds, so the results equal NumPy's bit for bit (the tests check it). The
 * double arguments (learning rate, betas, bias corrections, ...) are rounded to the element
 * type once, as NumPy rounds a Python float multiplying a float32 array.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_internal.h"
#include "tg_kernels.h"

/* a·b + c must stay two roundings: contracting it into an FMA would differ from NumPy */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

enum { TG_OPTIM_BAD_ARGUMENT = 1, TG_OPTIM_OVERLAP = 4 }; /* 4: c.py's _UPDATE_OVERLAP */

/* Whether two of the update's arrays share memory (status TG_OPTIM_OVERLAP, nothing written): at holds the
 * parameter, the state buffers (NULL = off), then the gradient, each n elements of `size` bytes. Each
 * element is read, updated and written before the next one, so an alias would make an array's later
 * elements read values already updated (or, exactly aliased, read one value for two quantities), which
 * NumPy's line-by-line passes would compute differently: the two backends refuse it alike
 * (numpy_ref.check_update_arrays). */
static int update_arrays_overlap(int count, const void *const *at, int64_t n, size_t size)
{
    int64_t bytes[5]; /* at most: param, three state buffers, grad */
    for (int k = 0; k < count; k++)
        bytes[k] = n * (int64_t)size;
    return tg_arrays_overlap(count - 1, count, at, bytes, 0); /* all but the gradient are written */
}

/* the loop helpers are inlined into each caller, where their `with_*` flags are constants */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

#define T float
#define SQRT sqrtf
#define SFX(name) name##_f32
#include "optim_typed.inc"

#define T double
#define SQRT sqrt
#define SFX(name) name##_f64
#include "optim_typed.inc"
