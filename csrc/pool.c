/* pool.c: max and average pooling over NCHW planes, forward and backward (float32 and float64).
 *
 * The definition of correct is tinygrad_edu/backend/numpy_ref.py (max_pool2d, max_pool2d_grad,
 * avg_pool2d, avg_pool2d_grad). Pooling moves memory and does almost no arithmetic, so the
 * kernels are plain loops over one plane at a time (it stays in L1), except the 2×2 stride-2
 * max-pool of LeNet, which is vectorised with 16-byte vectors (pool_2x2.inc; every x86-64 has
 * SSE2). The typed bodies live in pool_typed.inc, included once per element type.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

enum { TG_POOL_BAD_SHAPE = 1, TG_POOL_BAD_INDEX = 2 };

/* Nonzero unless the caller's sizes are legal (dilation 1 where `dilated` is 0) and its output size
 * g->oh, g->ow is the one they imply: OH = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1 (likewise OW).
 * The forward kernels check this first, so their loops may trust every size in g. */
static int pool_geometry_check(const struct tg_pool2d_geometry *g, int dilated)
{
    return g->planes < 0 || (!dilated && (g->dh != 1 || g->dw != 1)) ||
           tg_window_check(g->h, g->w, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->dh, g->dw, g->oh, g->ow);
}

/* The input rows [*lo, *hi) that output row `out` of a window (size k, no dilation) covers. */
static void window_span(int64_t out, int64_t stride, int64_t pad, int64_t k, int64_t size, int64_t *lo, int64_t *hi)
{
    int64_t start = out * stride - pad;
    *lo = start < 0 ? 0 : start;
    *hi = start + k > size ? size : start + k;
}

/* ---- the 2×2 max-pool row kernel, 16-byte vectors ----------------------------------------
 * SSE2 width on purpose: LeNet's pooled rows are 14 and 5 wide, so wider vectors would leave
 * most windows to the scalar tail (measured: AVX-512 3.7× and AVX2 1.9× slower than SSE2 here). */

/* __builtin_shuffle is GCC's; other compilers get the scalar loop only */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_POOL_VECTOR_LOOP 1
#else
#define TG_POOL_VECTOR_LOOP 0
#endif
#define VEC_BYTES 16
#define T float
#define I int32_t
#define ISA(name) name##_f32
#include "pool_2x2.inc"

#define T double
#define I int64_t
#define ISA(name) name##_f64
#include "pool_2x2.inc"
#undef VEC_BYTES

/* ---- the pooling kernels -------------------------------------------------------------------- */

#define T float
#define SFX(name) name##_f32
#include "pool_typed.inc"

#define T double
#define SFX(name) name##_f64
#include "pool_typed.inc"
