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

#include "tg_kernels.h"

enum { TG_POOL_BAD_SHAPE = 1, TG_POOL_BAD_INDEX = 2 };

/* OH = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1 (likewise OW); nonzero when a size is illegal. */
static int pool_geometry(int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                         int64_t pw, int64_t dh, int64_t dw, int64_t *oh, int64_t *ow)
{
    if (h < 1 || w < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 || dh < 1 || dw < 1)
        return 1;
    int64_t span_h = h + 2 * ph - dh * (kh - 1) - 1, span_w = w + 2 * pw - dw * (kw - 1) - 1;
    if (span_h < 0 || span_w < 0)
        return 1; /* the kernel is bigger than the padded input */
    *oh = span_h / sh + 1;
    *ow = span_w / sw + 1;
    return 0;
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
