/* gemm.c: C = op(A)·op(B) + β·C in float32 and float64, batched, any operand transposed
 * or strided (strides in elements; a transpose is swapped strides, never a copy).
 * The kernels are in gemm_typed.inc, compiled once per (type, instruction set); this file
 * checks the arguments, picks the instruction set (cpu.c) and splits large products
 * over threads (threads.c). The definition of correct is np.matmul
 * (tinygrad_edu/backend/numpy_ref.py).
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
 * the second vCPU spinning for 2 ms after a region. Measured with it on a Zen 3 KVM guest (session
 * 24; 1 vs 2 threads in one process, busy Python before each call, seven quiet runs): 64×784×256
 * float32 (2^24.6) after 0 or 100 µs of Python 1.3-1.8× in 11 of 14 readings, 0.95-1.02× in 3;
 * after 500 µs 0.97-1.6×, after 2 ms 0.9-1.3×; 64×128×512 and 64×512×128 (2^23) 0.9-1.8×, most runs ≥ 1.1×
 * up to 100 µs. Whole training steps (bench_train's models, 2 threads against 1, eight runs,
 * median and range): MLP 1.12× (0.95-1.48), LSTM 1.22× (0.90-1.43), LeNet (its convolutions split
 * as before) 1.09× (0.91-1.71); fork-join with 2^29 in the same runs: 1.01×, 0.99×, 1.11×.
 * With another process holding a core (two runs): 64×784×256 0.81-0.98×, the steps MLP 0.97-1.10×,
 * LSTM 0.90-1.02×, LeNet 0.86-0.97× (fork-join with 2^29: 0.99-1.13×, 1.00-1.06×, 0.77-0.85×):
 * a loss of up to 14 %, not a collapse. Products below 2^23 were not measured. */
#define TG_PARALLEL_MIN_FLOPS ((double)(1 << 23))

#define ISA_KERNELS "gemm_typed.inc" /* gemm_<isa>_<type> and gemm_workspace_<isa>_<type> */
#include "for_each_isa.inc"

typedef void (*gemm_fn)(const struct tg_gemm_problem *g, void *work);

/* The kernel for this element size at instruction-set level `level` (NULL: bad level). */
static gemm_fn gemm_kernel(int level, size_t elem)
{
#if TG_GEMM_X86
    if (level == TG_ISA_AVX512)
        return elem == 4 ? (gemm_fn)gemm_avx512_f32 : (gemm_fn)gemm_avx512_f64;
    if (level == TG_ISA_AVX2)
        return elem == 4 ? (gemm_fn)gemm_avx2_f32 : (gemm_fn)gemm_avx2_f64;
#endif
    if (level >= TG_ISA_PORTABLE)
        return elem == 4 ? (gemm_fn)gemm_portable_f32 : (gemm_fn)gemm_portable_f64;
    return NULL;
}

static int64_t workspace_per_thread(size_t elem)
{
    int64_t most = elem == 4 ? gemm_workspace_portable_f32() : gemm_workspace_portable_f64();
#if TG_GEMM_X86
    int64_t sizes[4] = {gemm_workspace_avx512_f32(), gemm_workspace_avx2_f32(), gemm_workspace_avx512_f64(),
                        gemm_workspace_avx2_f64()};
    for (int i = elem == 4 ? 0 : 2, end = i + 2; i < end; i++)
        most = sizes[i] > most ? sizes[i] : most;
#endif
    return most + 64 / (int64_t)elem; /* + room to align the start to 64 bytes */
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
    gemm_fn kernel = gemm_kernel(tg_isa_level(), elem);
    if (!kernel)
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
    struct gemm_job job = {kernel, elem, batch, sba, sbb, sbc,
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

typedef void (*pack_fn)(int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, void *dst);
typedef void (*prepacked_fn)(const struct tg_gemm_problem *g);
struct packed_kernels {
    int64_t width; /* columns per strip of the packed layout; 0: bad ISA level */
    pack_fn pack;
    prepacked_fn product;
};

#define PACKED_KERNELS(suffix)                                                                     \
    (struct packed_kernels){packed_width_##suffix(), (pack_fn)pack_b_whole_##suffix, (prepacked_fn)gemm_prepacked_##suffix}

/* The packing and product kernels of instruction-set level `level` for this element size. */
static struct packed_kernels packed_kernels(int level, size_t elem)
{
#if TG_GEMM_X86
    if (level == TG_ISA_AVX512)
        return elem == 4 ? PACKED_KERNELS(avx512_f32) : PACKED_KERNELS(avx512_f64);
    if (level == TG_ISA_AVX2)
        return elem == 4 ? PACKED_KERNELS(avx2_f32) : PACKED_KERNELS(avx2_f64);
#endif
    if (level >= TG_ISA_PORTABLE)
        return elem == 4 ? PACKED_KERNELS(portable_f32) : PACKED_KERNELS(portable_f64);
    return (struct packed_kernels){0, NULL, NULL};
}

static int pack_b(size_t elem, int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, int64_t width,
                  void *dst)
{
    struct packed_kernels kernels = packed_kernels(tg_isa_level(), elem);
    if (!kernels.width)
        return TG_GEMM_BAD_ISA;
    if (k < 0 || n < 0)
        return TG_GEMM_BAD_SHAPE;
    if (width != kernels.width)
        return TG_GEMM_BAD_PACKING;
    if (k > 0 && n > 0)
        kernels.pack(k, n, b, rsb, csb, dst);
    return 0;
}

struct packed_job {
    prepacked_fn product;
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
    struct packed_kernels kernels = packed_kernels(tg_isa_level(), elem);
    if (!kernels.width)
        return TG_GEMM_BAD_ISA;
    if (m < 0 || n < 0 || k < 0)
        return TG_GEMM_BAD_SHAPE;
    if (width != kernels.width)
        return TG_GEMM_BAD_PACKING;
    if (m == 0 || n == 0)
        return 0;
    if (k == 0) {
        scale_c(elem, c, m, n, n, 1, 0.0);
        return 0;
    }
    struct packed_job job = {kernels.product, elem, {m, n, k, a, rsa, csa, bp, 0, 0, c, n, 1, 0.0}};
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
    struct packed_kernels packed = packed_kernels(level, elem);
    kernels->product = gemm_kernel(level, elem);
    kernels->packed_product = packed.product;
    kernels->packed_width = packed.width;
    return kernels->product && packed.width ? 0 : TG_GEMM_BAD_ISA;
}

int tg_gemm_1t_kernels_f32(int level, struct tg_gemm_1t_kernels *kernels) { return gemm_1t_kernels(level, 4, kernels); }

int tg_gemm_1t_kernels_f64(int level, struct tg_gemm_1t_kernels *kernels) { return gemm_1t_kernels(level, 8, kernels); }

int64_t tg_packed_b_width_f32(void) { return packed_kernels(tg_isa_level(), 4).width; }

int64_t tg_packed_b_width_f64(void) { return packed_kernels(tg_isa_level(), 8).width; }

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
