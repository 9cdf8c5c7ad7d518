/* fused.c: kernels that replace a chain of NumPy passes by one C pass over the data.
 *
 *   softmax-cross-entropy   loss and ∂loss/∂logits of rows × classes logits, with class
 *                           indices, ignore_index, class weights and label smoothing
 *   bias + activation       y = act(x + b) (a Linear layer's output, or a bare ReLU) and
 *                           its backward gx = g ⊙ act'(y) with the bias gradient Σ_rows gx
 *   e^x                     vexp.inc's vectorised exponential, which the softmax uses, on its own
 *                           (tg_exp: what the tests compare with np.exp over the whole range)
 *
 * These are memory-bound (a few flops per element loaded), so they are plain C compiled
 * with -O3: the compiler vectorises the loops at the baseline instruction set, and there is
 * no per-ISA variant. The exception is e^x (25-40 flops per element), which vexp.inc writes
 * with explicit vectors, here of the baseline's width (16 bytes, SSE2). Sums and the
 * log-sum-exp are kept in double. The bodies are in fused_typed.inc, compiled once for float
 * and once for double. The definition of correct is tinygrad_edu/backend/numpy_ref.py.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tg_kernels.h"

/* vexp.inc's e^x at the portable vector width (SSE2 on x86-64): these kernels have no per-ISA variant */
#define VEC_BYTES 16
#define ISA(name) NAME(name)

#define T float
#define NAME(name) name##_f32
#include "fused_typed.inc"

#define T double
#define NAME(name) name##_f64
#include "fused_typed.inc"

#undef VEC_BYTES
#undef ISA
