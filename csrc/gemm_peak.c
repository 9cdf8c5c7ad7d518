/* gemm_peak.c: the FMA peak of this core, measured by a loop that does nothing but FMAs.
 * 12 independent accumulator chains hide the FMA latency (4 cycles × 2 pipes needs ≥ 8),
 * so the loop runs at the throughput limit: flops / time is the peak a GEMM can approach. */
#include <stdint.h>

#include "tg_kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define TG_PEAK_X86 1
#else
#define TG_PEAK_X86 0
#endif

#define CHAINS 12

#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")

/* acc ← acc·x + y, CHAINS vectors wide; returns a value depending on every chain. */
#define TG_PEAK_BODY(T, VEC_BYTES)                                                        \
    typedef T vec __attribute__((vector_size(VEC_BYTES)));                               \
    vec acc[CHAINS], x = (vec){0} + (T)0.999999, y = (vec){0} + (T)1e-7;                \
    for (int c = 0; c < CHAINS; c++)                                                      \
        acc[c] = (vec){0} + (T)c;                                                         \
    for (int64_t it = 0; it < iterations; it++)                                           \
        for (int c = 0; c < CHAINS; c++)                                                  \
            acc[c] = acc[c] * x + y;                                                      \
    T sum = 0;                                                                            \
    for (int c = 0; c < CHAINS; c++)                                                      \
        for (int l = 0; l < (int)(VEC_BYTES / sizeof(T)); l++)                            \
            sum += acc[c][l];                                                             \
    *sink = sum;                                                                          \
    return 2.0 * CHAINS * (double)(VEC_BYTES / sizeof(T)) * (double)iterations;

#if TG_PEAK_X86
__attribute__((target("avx512f"))) static double peak_avx512_f32(int64_t iterations, volatile float *sink)
{
    TG_PEAK_BODY(float, 64)
}
__attribute__((target("avx512f"))) static double peak_avx512_f64(int64_t iterations, volatile double *sink)
{
    TG_PEAK_BODY(double, 64)
}
__attribute__((target("avx2,fma"))) static double peak_avx2_f32(int64_t iterations, volatile float *sink)
{
    TG_PEAK_BODY(float, 32)
}
__attribute__((target("avx2,fma"))) static double peak_avx2_f64(int64_t iterations, volatile double *sink)
{
    TG_PEAK_BODY(double, 32)
}
#endif
static double peak_portable_f32(int64_t iterations, volatile float *sink) { TG_PEAK_BODY(float, 16) }
static double peak_portable_f64(int64_t iterations, volatile double *sink) { TG_PEAK_BODY(double, 16) }

#pragma GCC pop_options

double tg_peak_fma_f32(int64_t iterations)
{
    volatile float sink;
#if TG_PEAK_X86
    if (tg_isa_level() == TG_ISA_AVX512)
        return peak_avx512_f32(iterations, &sink);
    if (tg_isa_level() == TG_ISA_AVX2)
        return peak_avx2_f32(iterations, &sink);
#endif
    return peak_portable_f32(iterations, &sink);
}

double tg_peak_fma_f64(int64_t iterations)
{
    volatile double sink;
#if TG_PEAK_X86
    if (tg_isa_level() == TG_ISA_AVX512)
        return peak_avx512_f64(iterations, &sink);
    if (tg_isa_level() == TG_ISA_AVX2)
        return peak_avx2_f64(iterations, &sink);
#endif
    return peak_portable_f64(iterations, &sink);
}
