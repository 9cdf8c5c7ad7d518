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

/* Run task(ctx, part, parts) for part = 0 … parts−1, part 0 on the calling thread and the
 * others on freshly created threads, and return when all have finished (fork-join). */
typedef void (*tg_task)(void *ctx, int part, int parts);
void tg_parallel_run(int parts, tg_task task, void *ctx);

#endif
