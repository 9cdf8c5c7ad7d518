/* gemm_avx2.c: gemm_typed.inc's kernels at the AVX2+FMA level, float32 and float64 (tg_gemm_level_avx2_*;
 * gemm.c dispatches to them). One file per level so that the build compiles the levels at the same time:
 * with the tiles unrolled for every row count, each takes minutes. */
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#define ISA_ONLY_AVX2
#define ISA_KERNELS "gemm_typed.inc"
#include "for_each_isa.inc"
