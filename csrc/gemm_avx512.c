/* gemm_avx512.c: gemm_typed.inc's kernels at the AVX-512 level, float32 and float64 (tg_gemm_level_avx512_*;
 * gemm.c dispatches to them). One file per level so that the build compiles the levels at the same time:
 * with the tiles unrolled for every row count, each takes minutes. */
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#define ISA_ONLY_AVX512
#define ISA_KERNELS "gemm_typed.inc"
#include "for_each_isa.inc"
