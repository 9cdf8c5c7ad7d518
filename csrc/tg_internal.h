/* tg_internal.h: declarations shared between the C files but not part of the Python API
 * (so not in tg_kernels.h, which is also the cffi cdef). */
#ifndef TG_INTERNAL_H
#define TG_INTERNAL_H

#include <stdint.h>

/* One product C (m×n) = op(A)·op(B) + β·C; every operand is a pointer plus a row and a column
 * stride in elements (the element type is the kernel's). */
struct tg_gemm_problem {
    int64_t m, n, k;
    const void *a;
    int64_t rsa, csa;
    const void *b;
    int64_t rsb, csb;
    void *c;
    int64_t rsc, csc;
    double beta;
};

/* gemm_typed.inc's kernels at one instruction-set level and element type, defined by gemm_avx512.c,
 * gemm_avx2.c and gemm_portable.c (one file per level: the build compiles them at the same time); gemm.c
 * checks the arguments and dispatches to them.
 *   product         C (m × n) = op(A)·op(B) + β·C on the calling thread (see tg_gemm_1t_kernels)
 *   workspace       elements of `work` that product needs
 *   packed_width    columns per strip of a packed B
 *   pack_b          dst = B (k × n) in strips of packed_width columns holding all k rows
 *   packed_product  product with g->b packed by pack_b (its strides unused), no workspace */
struct tg_gemm_level {
    void (*product)(const struct tg_gemm_problem *g, void *work);
    int64_t workspace;
    int64_t packed_width;
    void (*pack_b)(int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, void *dst);
    void (*packed_product)(const struct tg_gemm_problem *g);
};
extern const struct tg_gemm_level tg_gemm_level_avx512_f32, tg_gemm_level_avx512_f64, tg_gemm_level_avx2_f32,
    tg_gemm_level_avx2_f64, tg_gemm_level_portable_f32, tg_gemm_level_portable_f64;

/* gemm.c's kernels of one instruction-set level, for callers that run many products on their own threads
 * (the convolutions). The caller resolves them once, from one reading of tg_isa_level(), so that a level set
 * meanwhile by another Python thread (tg_set_isa_level: cffi releases the GIL) cannot pair the packed strip width
 * of one level with the product kernel of another.
 *   product         C (m × n) = op(A)·op(B) + β·C with m, n, k ≥ 1 (β = 0: C not read); work holds
 *                   tg_gemm_1t_workspace_*() elements (any level's), best started on a 64-byte line (tg_align_64)
 *   packed_product  the same with g->b packed by tg_pack_b_* in strips of packed_width columns (its strides
 *                   unused), no workspace
 * tg_gemm_1t_kernels_* return 0, or TG_GEMM_BAD_ISA for an unknown level. */
struct tg_gemm_1t_kernels {
    void (*product)(const struct tg_gemm_problem *g, void *work);
    void (*packed_product)(const struct tg_gemm_problem *g);
    int64_t packed_width;
};
int64_t tg_gemm_1t_workspace_f32(void);
int64_t tg_gemm_1t_workspace_f64(void);
int tg_gemm_1t_kernels_f32(int level, struct tg_gemm_1t_kernels *kernels);
int tg_gemm_1t_kernels_f64(int level, struct tg_gemm_1t_kernels *kernels);

/* p rounded up to a 64-byte line, where packed GEMM panels start: a vector load that straddles two lines costs
 * two. */
static inline void *tg_align_64(void *p)
{
    return (char *)p + (64 - (uintptr_t)p % 64) % 64;
}

/* gemm_amx.c: configure this thread's AMX tiles (palette 1, all 8 tiles 16 rows × 64 bytes), for
 * gemm_amx.c and gemm_ozaki.c; only on a CPU where tg_amx_usable() is 1. */
void tg_amx_load_tile_config(void);

/* Run task(ctx, part, parts) once for each part = 0 … parts−1, on the calling thread and the
 * pool's workers (any part on any thread), and return when all have finished (threads.c). */
typedef void (*tg_task)(void *ctx, int part, int parts);
void tg_parallel_run(int parts, tg_task task, void *ctx);

/* A sliding window over an h×w input (kernel kh×kw, stride, padding, dilation) and the output
 * size oh×ow it was given: 0 when every size is in range, the kernel fits the padded input and
 * oh, ow are the window formula's ⌊(h + 2p − d(k − 1) − 1)/s⌋ + 1; 1 otherwise. Convolution
 * and pooling both check their geometry with it before touching memory. */
static inline int tg_window_check(int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                                  int64_t pw, int64_t dh, int64_t dw, int64_t oh, int64_t ow)
{
    if (h < 1 || w < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 || dh < 1 || dw < 1)
        return 1;
    int64_t span_h = h + 2 * ph - dh * (kh - 1) - 1, span_w = w + 2 * pw - dw * (kw - 1) - 1;
    if (span_h < 0 || span_w < 0)
        return 1; /* the kernel is bigger than the padded input */
    return oh != span_h / sh + 1 || ow != span_w / sw + 1;
}

/* Whether an array the kernel writes shares memory with another of its arrays: the first n_written of the
 * n arrays are written, array k starts at at[k] and is bytes[k] long, and each written array is compared
 * once with every later one (the later written ones, then the ones only read: numpy_ref.check_out_apart's
 * order). NULL (an absent optional array) and empty arrays share nothing. With in_place, a written array
 * may be exactly a read one (same start, same length: element i of the output is computed from element i
 * of that input, read before it is written); any other overlap counts. Addresses are compared as
 * integers: < between pointers into different objects is undefined in C. */
static inline int tg_arrays_overlap(int n_written, int n, const void *const *at, const int64_t *bytes, int in_place)
{
    for (int k = 0; k < n_written; k++)
        for (int j = k + 1; j < n; j++) {
            uintptr_t a = (uintptr_t)at[k], b = (uintptr_t)at[j];
            if (in_place && j >= n_written && a == b && bytes[k] == bytes[j])
                continue;
            if (a && b && bytes[k] > 0 && bytes[j] > 0 && a < b + (uintptr_t)bytes[j] &&
                b < a + (uintptr_t)bytes[k])
                return 1;
        }
    return 0;
}

/* The variant of kernel `name` for the current ISA level (name ## _avx512 ## sfx, _avx2, _portable: the names
 * for_each_isa.inc gives), or NULL when TINYGRAD_EDU_ISA holds an unknown name. The AVX variants exist exactly
 * where for_each_isa.inc builds them (GCC on x86). */
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define TG_ISA_PICK(name, sfx)                                                                 \
    (tg_isa_level() == TG_ISA_AVX512 ? name##_avx512##sfx                                     \
     : tg_isa_level() == TG_ISA_AVX2 ? name##_avx2##sfx                                       \
     : tg_isa_level() == TG_ISA_PORTABLE ? name##_portable##sfx : NULL)
#else
#define TG_ISA_PICK(name, sfx) (tg_isa_level() == TG_ISA_PORTABLE ? name##_portable##sfx : NULL)
#endif

#endif
