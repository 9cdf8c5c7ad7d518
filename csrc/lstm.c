/* lstm.c: the LSTM cell (and the GRU cell) in C, forward and backward, float32 and float64. One
 * pass over the gates replaces the chain of NumPy calls (three σ, two tanh, products and sums,
 * each a separate sweep over memory). The definition of correct is
 * tinygrad_edu/backend/numpy_ref.py (lstm_cell, lstm_cell_backward, gru_cell, gru_cell_backward);
 * tinygrad_edu/ops/recurrent.py uses them.
 *
 * Layout (row-major, contiguous): gates, acts, d_gates (batch × 4·hidden, LSTM; × 3·hidden, GRU)
 * with the gates in PyTorch's order (i, f, g, o; r, z, n); every other array (batch × hidden).
 *
 * The cell is written once with GCC vector extensions (lstm_cell.inc) and compiled for AVX-512,
 * AVX2+FMA and SSE2 by for_each_isa.inc; tg_isa_level() (cpu.c) picks one at run time.
 */
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

enum { TG_LSTM_BAD_SHAPE = 1, TG_LSTM_BAD_ISA = 3, TG_LSTM_OVERLAP = 4 }; /* 4: c.py's _CELL_OVERLAP */

#define ISA_KERNELS "lstm_cell.inc"
#include "for_each_isa.inc"

/* The body of every entry point: check the sizes, pick the ISA variant, run it on (args…, batch, hidden). */
#define RUN(name, sfx, ...)                                                                    \
    do {                                                                                       \
        __typeof__(&name##_portable##sfx) kernel = TG_ISA_PICK(name, sfx);                     \
        if (batch < 0 || hidden < 0)                                                           \
            return TG_LSTM_BAD_SHAPE;                                                          \
        if (!kernel)                                                                           \
            return TG_LSTM_BAD_ISA;                                                            \
        kernel(__VA_ARGS__, batch, hidden);                                                    \
        return 0;                                                                              \
    } while (0)

/* The cells' arrays must not overlap where one is written (tg_arrays_overlap, status TG_LSTM_OVERLAP,
 * nothing written). The backward kernels declare every array restrict, a promise that no two overlap
 * where one is written; broken, it would let the compiler reorder loads and stores into wrong gradients.
 * The forward kernels read an element of each input before they write the same element of any output, so
 * an output may be exactly an input there (in place), as PyTorch allows for out=; a partial overlap would
 * read what an earlier chunk wrote (PyTorch: "some elements of the input tensor and the written-to tensor
 * refer to a single memory location"), and so would two outputs sharing memory.
 *
 * The four entry points for element type T (names end in sfx); prototypes in tg_kernels.h. */
#define DEFINE_CELL_KERNELS(T, sfx)                                                                            \
    int tg_lstm_cell##sfx(const T *gates, const T *gates_x, const T *bias, const T *c_prev, T *h, T *c,         \
                          T *acts, T *tanh_c, int64_t batch, int64_t hidden)                                   \
    {                                                                                                          \
        int64_t row = batch * hidden * (int64_t)sizeof(T), rows4 = 4 * row;                                    \
        const void *at[] = {h, c, acts, tanh_c, gates, gates_x, bias, c_prev};                                 \
        const int64_t bytes[] = {row, row, rows4, row, rows4, rows4, 4 * hidden * (int64_t)sizeof(T), row};    \
        if (batch >= 0 && hidden >= 0 && tg_arrays_overlap(4, 8, at, bytes, 1))                                \
            return TG_LSTM_OVERLAP;                                                                            \
        RUN(lstm_cell, sfx, gates, gates_x, bias, c_prev, h, c, acts, tanh_c);                                 \
    }                                                                                                          \
    int tg_lstm_cell_backward##sfx(const T *dh, const T *dc, const T *acts, const T *c_prev, const T *tanh_c,   \
                                   T *d_gates, T *dc_prev, int64_t batch, int64_t hidden)                      \
    {                                                                                                          \
        int64_t row = batch * hidden * (int64_t)sizeof(T), rows4 = 4 * row;                                    \
        const void *at[] = {d_gates, dc_prev, dh, dc, acts, c_prev, tanh_c};                                   \
        const int64_t bytes[] = {rows4, row, row, row, rows4, row, row};                                       \
        if (batch >= 0 && hidden >= 0 && tg_arrays_overlap(2, 7, at, bytes, 0))                                \
            return TG_LSTM_OVERLAP;                                                                            \
        RUN(lstm_cell_backward, sfx, dh, dc, acts, c_prev, tanh_c, d_gates, dc_prev);                          \
    }                                                                                                          \
    int tg_gru_cell##sfx(const T *gates_x, const T *bias_x, const T *gates_h, const T *bias_h, const T *h_prev, \
                         T *h, T *acts, int64_t batch, int64_t hidden)                                         \
    {                                                                                                          \
        int64_t row = batch * hidden * (int64_t)sizeof(T), rows3 = 3 * row;                                    \
        int64_t one = 3 * hidden * (int64_t)sizeof(T); /* a bias: one row of 3·hidden */                       \
        const void *at[] = {h, acts, gates_x, bias_x, gates_h, bias_h, h_prev};                                \
        const int64_t bytes[] = {row, rows3, rows3, one, rows3, one, row};                                     \
        if (batch >= 0 && hidden >= 0 && tg_arrays_overlap(2, 7, at, bytes, 1))                                \
            return TG_LSTM_OVERLAP;                                                                            \
        RUN(gru_cell, sfx, gates_x, bias_x, gates_h, bias_h, h_prev, h, acts);                                 \
    }                                                                                                          \
    int tg_gru_cell_backward##sfx(const T *dh, const T *acts, const T *gates_h, const T *bias_h,               \
                                  const T *h_prev, T *d_gates_x, T *d_gates_h, T *dh_prev, int64_t batch,      \
                                  int64_t hidden)                                                              \
    {                                                                                                          \
        int64_t row = batch * hidden * (int64_t)sizeof(T), rows3 = 3 * row;                                    \
        const void *at[] = {d_gates_x, d_gates_h, dh_prev, dh, acts, gates_h, bias_h, h_prev};                 \
        const int64_t bytes[] = {rows3, rows3, row, row, rows3, rows3, 3 * hidden * (int64_t)sizeof(T), row};  \
        if (batch >= 0 && hidden >= 0 && tg_arrays_overlap(3, 8, at, bytes, 0))                                \
            return TG_LSTM_OVERLAP;                                                                            \
        RUN(gru_cell_backward, sfx, dh, acts, gates_h, bias_h, h_prev, d_gates_x, d_gates_h, dh_prev);         \
    }

DEFINE_CELL_KERNELS(float, _f32)
DEFINE_CELL_KERNELS(double, _f64)
