/* conv.c: 2-D convolution (cross-correlation, PyTorch's conv2d) in C: forward, gradient w.r.t.
 * the input and w.r.t. the weight, float32 and float64, with stride, zero padding, dilation and
 * channel groups. The definition of correct is
 * tinygrad_edu/backend/numpy_ref.py (conv2d, conv2d_grad_input, conv2d_grad_weight).
 *
 * Method (the numpy_ref method, reorganised for the cache): im2col, a matrix product,
 * col2im, one block of samples at a time so that the unfolded columns stay in L2:
 *     y[n]  = W_flat · cols[n]                       (O × K)·(K × OH·OW)
 *     gx[n] = col2im(W_flatᵀ · gy[n])                (K × O)·(O × OH·OW)
 *     gw    = Σ_n gy[n] · cols[n]ᵀ                   (O × OH·OW)·(OH·OW × K)
 * with K = C·kh·kw. A grouped convolution runs these steps once per group inside each block of
 * samples, on channel offsets into x, W and y (no copies): group k multiplies W_k (O/G × K/G) by
 * the columns of input channels [k·C/G, (k+1)·C/G). Depthwise convolutions (C/G = 1, O/G ≤ 2)
 * skip the columns altogether (conv_depthwise.inc: a direct kernel vectorised along the
 * output row). Small products (O is 6 or 16 in LeNet), where a general packed GEMM loses to
 * its packing cost, use two register-tiled kernels written once in portable C (conv_gemm.inc)
 * and compiled for AVX-512, AVX2+FMA and SSE2; large ones (CIFAR-style 32-128 channels, see
 * conv_uses_gemm) call the main GEMM kernel single-threaded (tg_gemm_1t_kernels_*, gemm.c) on the
 * same blocks; their forward unfolds each sample one strip of columns at a time, straight into the
 * GEMM's packed layout of B. The level is chosen at run time by tg_isa_level() (cpu.c), shared with
 * the GEMM, and read once per call: one call runs the kernels of one level throughout. The caller passes a workspace of tg_conv2d_workspace_*() elements
 * (C never allocates).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

/* The AVX-512 and AVX2 variants need GCC's target pragmas on x86; elsewhere (another compiler,
 * another architecture) only the portable variant is built, and the extension still builds. */
#ifndef TG_CONV_X86
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define TG_CONV_X86 1
#else
#define TG_CONV_X86 0
#endif
#endif
#if TG_CONV_X86
#include <immintrin.h>
#endif

enum { TG_CONV_BAD_SHAPE = 1, TG_CONV_SMALL_WORKSPACE = 2, TG_CONV_BAD_ISA = 3 };

/* Columns of one block: ~this many bytes, comfortably inside a 1 MiB L2. */
#define BLOCK_BYTES ((int64_t)256 * 1024)
/* Go parallel only when the unfolded columns of the whole batch reach this many elements (LeNet's
 * layers have ~1M). Measured with threads.c's pool (session 25, Zen 3 KVM guest; forward + both
 * gradients, 1 vs 2 threads with 50-300 µs of busy Python before each, a build that always splits,
 * two runs): LeNet conv1 loses below it (batch 4 and 8, 2^16.3-2^17.3: 0.85-0.98×) and gains above
 * (batch 16, 2^18.3: 1.15-1.20×); conv2 0.96-1.09× up to batch 16 (2^17.9); 32→64 3×3 on 16×16 gains
 * 1.33-1.36× at batch 2 (2^17.2), which a flop count would catch but no one threshold separates from
 * conv1 at batch 8. */
#define PARALLEL_MIN_ELEMS ((int64_t)1 << 18)

/* Nonzero unless the caller's sizes are legal (groups ≥ 1 dividing c and o) and its output size
 * g->oh, g->ow is the one they imply: OH = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1 (likewise OW).
 * Every kernel checks this first, so the loops below may trust every size in g. */
static int conv_geometry_check(const struct tg_conv2d_geometry *g)
{
    return g->n < 0 || g->c < 1 || g->o < 1 || g->groups < 1 || g->c % g->groups != 0 || g->o % g->groups != 0 ||
           tg_window_check(g->h, g->w, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->dh, g->dw, g->oh, g->ow);
}

/* The problem of one channel group: c/G input and o/G output channels (groups kept, so that the
 * kernels still know how many channels a sample has: c·groups in x, o·groups in y). Group k is
 * then this problem on x, weight and y advanced by k·c/G, k·(o/G)·(c/G)·kh·kw and k·o/G channels. */
static struct tg_conv2d_geometry group_geometry(const struct tg_conv2d_geometry *g)
{
    struct tg_conv2d_geometry group = *g;
    group.c = g->c / g->groups;
    group.o = g->o / g->groups;
    return group;
}

/* Largest channel multiplier M = o/G that a depthwise convolution runs with the direct kernels
 * below: each input plane then feeds M output planes (∂x: M passes over each gx row), and from
 * M = 3 on the im2col/GEMM route, which reuses every unfolded column M times from registers, was
 * as fast or faster (16×32×28×28, 3×3: M = 2 direct fwd/∂x/∂w 0.59/0.86/0.60 ms vs 0.84/0.96/0.79;
 * M = 4 direct 1.20/1.95/1.21 vs 1.10/1.20/1.06). LeNet's conv1 (c = 1, o = 6) stays on the GEMM. */
#define DEPTHWISE_MAX_MULTIPLIER 2

/* Depthwise (one input channel per group) with a small multiplier: the direct kernels
 * (conv_depthwise.inc) instead of im2col + GEMM, whose products would have one row (o/G) and
 * kh·kw columns, far too small for a register tile. */
static int conv_is_depthwise(const struct tg_conv2d_geometry *g)
{
    return g->c == g->groups && g->o / g->groups <= DEPTHWISE_MAX_MULTIPLIER;
}

/* The three products of a group and when each goes through the main GEMM kernel (gemm.c: packed
 * panels, 75-80% of the FMA peak) instead of the register tiles of conv_gemm.inc (tuned for
 * LeNet's O = 6 and 16): from K = C/G·kh·kw ≥ TG_CONV_GEMM_MIN_K_* and O/G ≥ TG_CONV_GEMM_MIN_O_*
 * (tg_kernels.h). Measured (f32, AVX-512, 1 thread, 3×3 pad 1, 16×16 B16, CPU time, tiles/GEMM):
 *   ∂w  gy·colsᵀ: K 144 O 32 1.11, K 288 O 32..128 1.32..1.88, K 576..1152 O 32..128 1.42..1.97;
 *       below (K 72, or O 16: LeNet's conv2 K 150 0.95) no gain. gemm_dot keeps one lane-wide
 *       partial sum per (o, k) pair, which costs a read-modify-write per block; the GEMM packs.
 *   fwd W·cols: O 32 0.89..0.94, O 64..128 1.01..1.06: the tiles already run near the GEMM.
 *   ∂x  Wᵀ·gy (inner dimension O): O 32 0.79..0.82, O 64 0.96..1.07, O 128 1.10..1.17 (K ≥ 576). */
enum conv_product { CONV_FORWARD, CONV_GRAD_INPUT, CONV_GRAD_WEIGHT };

/* The products `product` of this group geometry go through the main GEMM (tg_gemm_1t_kernels_*). The ∂w
 * bounds are the lowest, so conv_uses_gemm(g, CONV_GRAD_WEIGHT) says whether any product does
 * (and the workspace must hold the GEMM's buffers). */
static int conv_uses_gemm(const struct tg_conv2d_geometry *group, enum conv_product product)
{
    static const int64_t min_k[3] = {TG_CONV_GEMM_MIN_K_FORWARD, TG_CONV_GEMM_MIN_K_GRAD_INPUT,
                                     TG_CONV_GEMM_MIN_K_GRAD_WEIGHT};
    static const int64_t min_o[3] = {TG_CONV_GEMM_MIN_O_FORWARD, TG_CONV_GEMM_MIN_O_GRAD_INPUT,
                                     TG_CONV_GEMM_MIN_O_GRAD_WEIGHT};
    return group->c * group->kh * group->kw >= min_k[product] && group->o >= min_o[product];
}

/* ⌈a / b⌉ and ⌊a / b⌋ for b > 0 and any sign of a (C's / truncates towards zero). */
static int64_t ceil_div(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Output columns q in [*lo, *hi) read an input column q·stride + shift inside [0, size). */
static void valid_outputs(int64_t out_len, int64_t size, int64_t stride, int64_t shift, int64_t *lo, int64_t *hi)
{
    int64_t first = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    int64_t last = size - 1 - shift < 0 ? -1 : (size - 1 - shift) / stride; /* last valid q */
    *lo = first < out_len ? first : out_len;
    *hi = last + 1 < out_len ? last + 1 : out_len;
    if (*hi < *lo)
        *hi = *lo;
}

/* ---- the product kernels: 2 types × 3 instruction sets ---------------------------------- */

#define ISA_KERNELS "conv_gemm.inc"
#include "for_each_isa.inc"

#define ISA_KERNELS "conv_depthwise.inc"
#include "for_each_isa.inc"

/* ---- the drivers: im2col/col2im blocks and the three convolution kernels ----------------- */

/* Where the buffers of one part's workspace start (elements; part_layout_* in conv_typed.inc), and its size. */
struct part_layout {
    int64_t sums_at, gemm_at, padded_at, size;
};

#define T float
#define SFX(name) name##_f32
#include "conv_typed.inc"

#define T double
#define SFX(name) name##_f64
#include "conv_typed.inc"
