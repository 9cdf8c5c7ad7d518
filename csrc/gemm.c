/* gemm.c: C = op(A)·op(B) + β·C in float32 and float64, batched, any operand transposed
 * or strided (strides in elements; a transpose is swapped strides, never a copy).
 * The kernels are in gemm_typed.inc, compiled once per (type, instruction set) by gemm_avx512.c,
 * gemm_avx2.c and gemm_portable.c; this file checks the arguments, picks the instruction set
 * (cpu.c) and splits large products over threads (threads.c). The definition of correct is
 * np.matmul (tinygrad_edu/backend/numpy_ref.py).
 */
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define TG_GEMM_X86 1
#else
#define TG_GEMM_X86 0
#endif

/* Below this many flops (2·m·n·k over the whole batch) a second thread costs more than it saves.
 * With fork-join threads this was 2^29: on a KVM guest an idle vCPU is slow to wake, and 64×784×256
 * float32 at 2 threads ran 0.78-0.82× after 0.5-2 ms of Python (session 23). threads.c's pool keeps
 * the second vCPU spinning for 2 ms after a region; with it (Zen 3 KVM guest, session 24, 1 vs 2
 * threads in one process, busy Python before each call, seven quiet runs) 64×784×256 float32 (2^24.6)
 * ran 1.3-1.8× after 0-100 µs of Python in 11 of 14 readings (0.95-1.02× in 3), 0.97-1.6× after
 * 500 µs, 0.9-1.3× after 2 ms; 64×128×512 and 64×512×128 (2^23) 0.9-1.8×, most ≥ 1.1× up to 100 µs.
 * Products below 2^23 were not measured. The pool's wake-up costs are in threads.c's header; whole
 * training steps at 2 threads, quiet and with a core held by another process, in benchmarks/README.md. */
#define TG_PARALLEL_MIN_FLOPS ((double)(1 << 23))

typedef void (*gemm_fn)(const struct tg_gemm_problem *g, void *work);

/* gemm_typed.inc's kernels at instruction-set level `level` for this element size (NULL: bad level). */
static const struct tg_gemm_level *gemm_level(int level, size_t elem)
{
#if TG_GEMM_X86
    if (level == TG_ISA_AVX512)
        return elem == 4 ? &tg_gemm_level_avx512_f32 : &tg_gemm_level_avx512_f64;
    if (level == TG_ISA_AVX2)
        return elem == 4 ? &tg_gemm_level_avx2_f32 : &tg_gemm_level_avx2_f64;
#endif
    if (level >= TG_ISA_PORTABLE)
        return elem == 4 ? &tg_gemm_level_portable_f32 : &tg_gemm_level_portable_f64;
    return NULL;
}

/* The most workspace any level needs (a level may be forced between calls), + room to align it to 64 bytes. */
static int64_t workspace_per_thread(size_t elem)
{
    int64_t most = 0;
    for (int level = TG_ISA_PORTABLE; level <= TG_ISA_AVX512; level++) {
        int64_t need = gemm_level(level, elem)->workspace;
        most = need > most ? need : most;
    }
    return most + 64 / (int64_t)elem;
}

/* A batch of products and how to split it over threads. */
struct gemm_job {
    gemm_fn kernel;
    size_t elem;
    int64_t batch, sba, sbb, sbc; /* batch strides in elements (0 = broadcast operand) */
    struct tg_gemm_problem g;     /* the first product of the batch */
    char *work;
    int64_t work_per_part; /* elements */
};

/* Part `part` of `parts`: a range of the batch when the batch is big enough, else a range
 * of C's columns (or rows, if C is taller than wide) of every product. */
static void gemm_run_part(void *ctx, int part, int parts)
{
    const struct gemm_job *job = ctx;
    const size_t elem = job->elem;
    char *work = tg_align_64(job->work + (size_t)(part * job->work_per_part) * elem);
    int64_t b0 = 0, b1 = job->batch, lo = 0, hi = 0, extent = 0;
    int split_batch = job->batch >= parts, split_cols = job->g.n >= job->g.m;
    if (split_batch) {
        b0 = job->batch * part / parts;
        b1 = job->batch * (part + 1) / parts;
    } else {
        extent = split_cols ? job->g.n : job->g.m;
        int64_t chunks = (extent + 31) / 32; /* boundaries on multiples of 32 rows/columns */
        lo = chunks * part / parts * 32;
        hi = chunks * (part + 1) / parts * 32;
        hi = hi < extent ? hi : extent;
        if (lo >= hi)
            return;
    }
    for (int64_t i = b0; i < b1; i++) {
        struct tg_gemm_problem g = job->g;
        g.a = (const char *)g.a + (size_t)(i * job->sba) * elem;
        g.b = (const char *)g.b + (size_t)(i * job->sbb) * elem;
        g.c = (char *)g.c + (size_t)(i * job->sbc) * elem;
        if (!split_batch && split_cols) {
            g.n = hi - lo;
            g.b = (const char *)g.b + (size_t)(lo * g.csb) * elem;
            g.c = (char *)g.c + (size_t)(lo * g.csc) * elem;
        } else if (!split_batch) {
            g.m = hi - lo;
            g.a = (const char *)g.a + (size_t)(lo * g.rsa) * elem;
            g.c = (char *)g.c + (size_t)(lo * g.rsc) * elem;
        }
        job->kernel(&g, work);
    }
}

/* C = β·C (β = 0: zeros, C not read), the whole product when k = 0. */
static void scale_c(size_t elem, void *c, int64_t m, int64_t n, int64_t rsc, int64_t csc, double beta)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            int64_t at = i * rsc + j * csc;
            if (elem == 4)
                ((float *)c)[at] = beta == 0 ? 0.0f : (float)beta * ((float *)c)[at];
            else
                ((double *)c)[at] = beta == 0 ? 0.0 : beta * ((double *)c)[at];
        }
}

static int gemm(size_t elem, int64_t batch, int64_t m, int64_t n, int64_t k, const void *a, int64_t sba,
                int64_t rsa, int64_t csa, const void *b, int64_t sbb, int64_t rsb, int64_t csb, double beta, void *c,
                int64_t sbc, int64_t rsc, int64_t csc, void *work, int64_t work_len)
{
    const struct tg_gemm_level *kernels = gemm_level(tg_isa_level(), elem);
    if (!kernels)
        return TG_GEMM_BAD_ISA;
    if (batch < 0 || m < 0 || n < 0 || k < 0)
        return TG_GEMM_BAD_SHAPE;
    if (batch == 0 || m == 0 || n == 0)
        return 0;
    if (k == 0) {
        for (int64_t i = 0; i < batch; i++)
            scale_c(elem, (char *)c + (size_t)(i * sbc) * elem, m, n, rsc, csc, beta);
        return 0;
    }
    int parts = tg_get_num_threads();
    if ((double)batch * m * n * k * 2 < TG_PARALLEL_MIN_FLOPS)
        parts = 1;
    int64_t per_part = workspace_per_thread(elem);
    if (work_len < per_part * parts)
        return TG_GEMM_SMALL_WORKSPACE;
    struct gemm_job job = {kernels->product, elem, batch, sba, sbb, sbc,
                           {m, n, k, a, rsa, csa, b, rsb, csb, c, rsc, csc, beta}, work, per_part};
    if (parts == 1)
        gemm_run_part(&job, 0, 1);
    else
        tg_parallel_run(parts, gemm_run_part, &job);
    return 0;
}

int64_t tg_gemm_1t_workspace_f32(void) { return workspace_per_thread(4); }

int64_t tg_gemm_1t_workspace_f64(void) { return workspace_per_thread(8); }

int64_t tg_gemm_workspace_f32(int threads) { return workspace_per_thread(4) * (threads < 1 ? 1 : threads); }

int64_t tg_gemm_workspace_f64(int threads) { return workspace_per_thread(8) * (threads < 1 ? 1 : threads); }

int tg_gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, int64_t sba, int64_t rsa,
                int64_t csa, const float *b, int64_t sbb, int64_t rsb, int64_t csb, float beta, float *c, int64_t sbc,
                int64_t rsc, int64_t csc, float *work, int64_t work_len)
{
    return gemm(4, batch, m, n, k, a, sba, rsa, csa, b, sbb, rsb, csb, beta, c, sbc, rsc, csc, work, work_len);
}

int tg_gemm_f64(int64_t batch, int64_t m, int64_t n, int64_t k, const double *a, int64_t sba, int64_t rsa,
                int64_t csa, const double *b, int64_t sbb, int64_t rsb, int64_t csb, double beta, double *c,
                int64_t sbc, int64_t rsc, int64_t csc, double *work, int64_t work_len)
{
    return gemm(8, batch, m, n, k, a, sba, rsa, csa, b, sbb, rsb, csb, beta, c, sbc, rsc, csc, work, work_len);
}

int tg_matmul_f32(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *b,
                  int64_t rsb, int64_t csb, void *c, void *work, int64_t work_len)
{
    return gemm(4, 1, m, n, k, a, 0, rsa, csa, b, 0, rsb, csb, 0.0, c, 0, n, 1, work, work_len);
}

int tg_matmul_f64(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *b,
                  int64_t rsb, int64_t csb, void *c, void *work, int64_t work_len)
{
    return gemm(8, 1, m, n, k, a, 0, rsa, csa, b, 0, rsb, csb, 0.0, c, 0, n, 1, work, work_len);
}

/* ---- a B packed once for many products (recurrent layers: the same W_hh at every time step) ---- */

static int pack_b(size_t elem, int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, int64_t width,
                  void *dst)
{
    const struct tg_gemm_level *kernels = gemm_level(tg_isa_level(), elem);
    if (!kernels)
        return TG_GEMM_BAD_ISA;
    if (k < 0 || n < 0)
        return TG_GEMM_BAD_SHAPE;
    if (width != kernels->packed_width)
        return TG_GEMM_BAD_PACKING;
    if (k > 0 && n > 0)
        kernels->pack_b(k, n, b, rsb, csb, dst);
    return 0;
}

struct packed_job {
    void (*product)(const struct tg_gemm_problem *g);
    size_t elem;
    struct tg_gemm_problem g;
};

/* Part `part` of `parts`: a range of the rows of A and C (every part reads all of the packed B). */
static void packed_run_part(void *ctx, int part, int parts)
{
    const struct packed_job *job = ctx;
    struct tg_gemm_problem g = job->g;
    int64_t lo = g.m * part / parts, hi = g.m * (part + 1) / parts;
    if (lo >= hi)
        return;
    g.m = hi - lo;
    g.a = (const char *)g.a + (size_t)(lo * g.rsa) * job->elem;
    g.c = (char *)g.c + (size_t)(lo * g.rsc) * job->elem;
    job->product(&g);
}

static int matmul_packed(size_t elem, int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa,
                         const void *bp, int64_t width, void *c)
{
    const struct tg_gemm_level *kernels = gemm_level(tg_isa_level(), elem);
    if (!kernels)
        return TG_GEMM_BAD_ISA;
    if (m < 0 || n < 0 || k < 0)
        return TG_GEMM_BAD_SHAPE;
    if (width != kernels->packed_width)
        return TG_GEMM_BAD_PACKING;
    if (m == 0 || n == 0)
        return 0;
    if (k == 0) {
        scale_c(elem, c, m, n, n, 1, 0.0);
        return 0;
    }
    struct packed_job job = {kernels->packed_product, elem, {m, n, k, a, rsa, csa, bp, 0, 0, c, n, 1, 0.0}};
    int parts = tg_get_num_threads();
    if ((double)m * n * k * 2 < TG_PARALLEL_MIN_FLOPS)
        parts = 1;
    if (parts == 1)
        packed_run_part(&job, 0, 1);
    else
        tg_parallel_run(parts, packed_run_part, &job);
    return 0;
}

/* The products on the calling thread of one level (tg_internal.h), for the convolutions. */
static int gemm_1t_kernels(int level, size_t elem, struct tg_gemm_1t_kernels *kernels)
{
    const struct tg_gemm_level *chosen = gemm_level(level, elem);
    if (!chosen)
        return TG_GEMM_BAD_ISA;
    kernels->product = chosen->product;
    kernels->packed_product = chosen->packed_product;
    kernels->packed_width = chosen->packed_width;
    return 0;
}

int tg_gemm_1t_kernels_f32(int level, struct tg_gemm_1t_kernels *kernels) { return gemm_1t_kernels(level, 4, kernels); }

int tg_gemm_1t_kernels_f64(int level, struct tg_gemm_1t_kernels *kernels) { return gemm_1t_kernels(level, 8, kernels); }

/* 0 for an unknown level (TINYGRAD_EDU_ISA), which tg_pack_b_* then reports. */
static int64_t packed_b_width(size_t elem)
{
    const struct tg_gemm_level *kernels = gemm_level(tg_isa_level(), elem);
    return kernels ? kernels->packed_width : 0;
}

int64_t tg_packed_b_width_f32(void) { return packed_b_width(4); }

int64_t tg_packed_b_width_f64(void) { return packed_b_width(8); }

int tg_pack_b_f32(int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, int64_t width, void *dst)
{
    return pack_b(4, k, n, b, rsb, csb, width, dst);
}

int tg_pack_b_f64(int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, int64_t width, void *dst)
{
    return pack_b(8, k, n, b, rsb, csb, width, dst);
}

int tg_matmul_packed_f32(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *bp,
                         int64_t width, void *c)
{
    return matmul_packed(4, m, n, k, a, rsa, csa, bp, width, c);
}

int tg_matmul_packed_f64(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *bp,
                         int64_t width, void *c)
{
    return matmul_packed(8, m, n, k, a, rsa, csa, bp, width, c);
}
