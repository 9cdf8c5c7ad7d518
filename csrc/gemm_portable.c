/* gemm_portable.c: gemm_typed.inc's kernels at the portable (SSE2) level, float32 and float64 (tg_gemm_level_portable_*;
 * gemm.c dispatches to them). One file per level so that the build compiles the levels at the same time:
 * with the tiles unrolled for every row count, each takes minutes. */
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#define ISA_ONLY_PORTABLE
#define ISA_KERNELS "gemm_typed.inc"
#include "for_each_isa.inc"
