/* cpu.c: which instruction set the kernels use, chosen at run time.
 *
 * The extension is compiled without -march=native so that one build runs on any x86-64.
 * Each kernel is compiled three times (AVX-512, AVX2+FMA, portable C) with GCC target
 * pragmas, and this file picks the best level the CPU reports (__builtin_cpu_supports).
 * TINYGRAD_EDU_ISA=avx512|avx2|portable, read once, caps the level (never above what the
 * CPU has), so every path can be tested on one machine; tg_set_isa_level does the same
 * from Python (the tests use it). An unknown value makes tg_isa_level return TG_ISA_INVALID
 * and every kernel that asks for the level return an error, which Python raises.
 *
 * AMX (Advanced Matrix Extensions: tile registers and bfloat16 tile products, gemm_amx.c) is an
 * extra capability on top of the AVX-512 level, not a level of its own: tg_amx_usable() is 1 only
 * when the level is AVX-512 (so TINYGRAD_EDU_ISA=avx2 or portable also means no AMX), the CPU has
 * AMX-TILE, AMX-BF16 and AVX512-BF16, the OS granted this process the tile state (Linux:
 * arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), asked once, before any tile instruction; a
 * refusal means no AMX, never SIGILL) and tg_allow_amx(0) has not switched it off (for tests and
 * benchmarks: the FMA path on an AMX machine).
 */
#if defined(__linux__)
#define _GNU_SOURCE /* syscall() */
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "tg_kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define TG_CPU_X86 1
#else
#define TG_CPU_X86 0
#endif

enum { ISA_UNSET = -2 };

static int isa_cap = ISA_UNSET; /* the cap from the environment or tg_set_isa_level */

static int best_isa(void)
{
    static int best = ISA_UNSET; /* asked once: every kernel call reads the level */
    if (best != ISA_UNSET)
        return best;
    best = TG_ISA_PORTABLE;
#if TG_CPU_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        best = TG_ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        best = TG_ISA_AVX2;
#endif
    return best;
}

static int cap_from_environment(void)
{
    const char *forced = getenv("TINYGRAD_EDU_ISA");
    if (!forced || !*forced || strcmp(forced, "avx512") == 0)
        return TG_ISA_AVX512;
    if (strcmp(forced, "avx2") == 0)
        return TG_ISA_AVX2;
    if (strcmp(forced, "portable") == 0)
        return TG_ISA_PORTABLE;
    return TG_ISA_INVALID;
}

int tg_isa_level(void)
{
    if (isa_cap == ISA_UNSET)
        isa_cap = cap_from_environment();
    if (isa_cap == TG_ISA_INVALID)
        return TG_ISA_INVALID;
    int best = best_isa();
    return isa_cap < best ? isa_cap : best;
}

int tg_set_isa_level(int level)
{
    isa_cap = level < TG_ISA_PORTABLE ? TG_ISA_PORTABLE : level > TG_ISA_AVX512 ? TG_ISA_AVX512 : level;
    return tg_isa_level();
}

static int amx_allowed = 1; /* tg_allow_amx */

void tg_allow_amx(int allow) { amx_allowed = allow != 0; }

/* Whether the CPU has AMX with bfloat16 and the OS lets this process use the tile registers. */
static int amx_present(void)
{
    /* Asked once (the permission is per process) and stored whole, atomically: threads that call this
     * at the same time may each ask the OS (the request is idempotent), but none sees a half-set answer. */
    static int cached = -1;
    int present = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (present != -1)
        return present;
    present = 0;
#if TG_CPU_X86 && defined(__linux__) && defined(SYS_arch_prctl) && __GNUC__ >= 11
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 }; /* from the kernel's asm/prctl.h */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
        __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq"))
        present = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#endif
    __atomic_store_n(&cached, present, __ATOMIC_RELEASE);
    return present;
}

int tg_amx_usable(void) { return amx_allowed && tg_isa_level() == TG_ISA_AVX512 && amx_present(); }
