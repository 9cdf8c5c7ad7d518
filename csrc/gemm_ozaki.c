/* gemm_ozaki.c: float64 matmul emulated with exact int8 products on AMX (Ozaki scheme II), for
 * tinygrad_edu.backend.set_float64_matmul_emulation(moduli). The constants of the scheme (the
 * moduli, the CRT weights, γ) are computed exactly in Python (backend/c.py, _ozaki_plan) and come
 * in as struct tg_ozaki_plan; this file does the O(n²·N) passes and the N integer products.
 *
 * The scheme (Ozaki, Uchino & Imamura 2024, "Ozaki scheme II: a GEMM-oriented emulation of
 * floating-point matrix multiplication using an integer modular technique"):
 *   1. Scale. Row i of A by 2^Ea_i, column j of B by 2^Eb_j, and round to integers:
 *          a'_ip = rint(a_ip · 2^Ea_i),   b'_pj = rint(b_pj · 2^Eb_j)
 *      with Ea_i = γ − ceil(log2 ‖a_i‖₂) (so ‖a'_i‖₂ ≤ 2^γ up to the rounding), likewise Eb_j. By
 *      Cauchy–Schwarz |Σ_p a'_ip b'_pj| ≤ ‖a'_i‖·‖b'_j‖ < M/2, M = Π m_l, so C' = A'B' is known
 *      once it is known modulo M. γ ≤ 50 (residue step below).
 *   2. Residues. For each of the N pairwise coprime moduli m_l ≤ 256: A'_l = A' mod m_l and
 *      B'_l = B' mod m_l in the symmetric range (|r| ≤ m_l/2, int8; r = 128 for m = 256 wraps to
 *      −128 ≡ 128), computed in double as r = a' − m·rint(a'/m) (exact: |a'| < 2^50, so rint's
 *      argument is off by < 2^-11 and |r| ≤ m/2 + m·2^-11 < 128.5).
 *   3. Products. C'_l = A'_l · B'_l with TDPBSSD (int8 · int8 summed exactly in int32: |C'_l| ≤
 *      k·128² < 2^31 for k ≤ 131071; k ≤ TG_OZAKI_MAX_K), reduced mod m_l to int8 again.
 *   4. CRT. C' ≡ Σ_l C'_l · W_l (mod M), W_l = (M/m_l)·((M/m_l)^-1 mod m_l). Each W_l = W1_l + W2_l,
 *      W1_l a multiple of 2^s with ≤ 42 significant bits (so S1 = Σ_l C'_l W1_l is exact in double:
 *      N·128·2^42 ≤ 2^53), W2_l < 2^s rounded to double. With S2 = Σ_l C'_l W2_l, q = rint(S1/M)
 *      and M = M1 + M2 split the same way:
 *          C' = (S1 − q·M1) + (S2 − q·M2)       (S1 − q·M1 exact: both multiples of 2^s)
 *      and the result is C_ij = C'_ij · 2^-Ea_i · 2^-Eb_j.
 * The error is that of step 1 only (steps 2-4 are exact up to the final rounding):
 *      |C − AB|_ij ≤ Σ_p (|δa_ip||b_pj| + |a_ip||δb_pj| + |δa_ip δb_pj|), |δa_ip| ≤ 2^-Ea_i−1,
 * so about 2^-γ relative to ‖a_i‖‖b_j‖: uniform within a row and a column, i.e. an element much
 * smaller than its row's norm keeps fewer bits (the price of the scheme; native FMA has none).
 *
 * The kernel does not run (returns TG_OZAKI_NOT_RUN, and Python runs the native float64 GEMM)
 * when: the ISA level is below AVX-512, the CPU or OS has no AMX-INT8 tiles (tg_amx_usable,
 * cpu.c), k > TG_OZAKI_MAX_K, β ≠ 0 or csc ≠ 1 (the batched entry point), a value is inf or NaN,
 * or a row/column's largest magnitude is outside 2^±900 (the scale factors must stay normal).
 *
 * Layout (per modulus, in the workspace): A'_l as tiles of 16 rows × 64 k (TDPBSSD's A operand),
 * tile (t, c) = rows 16t…16t+15, k = 64c…64c+63, at (t·chunks + c)·1024 bytes; B'_l the same with
 * columns as "lines", then each tile transposed as 16 × 16 32-bit units into VNNI layout (row r =
 * B[4r…4r+3, j] for the 16 columns j); the residues of C as int8, rows of np bytes. Padding rows,
 * columns and k are zeros.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 11
#define TG_OZAKI_BUILD 1
#include <immintrin.h>
#else
#define TG_OZAKI_BUILD 0
#endif

enum { TILE = 1024 /* bytes per tile */, LINE_GROUP = 16, BLOCK = 32 /* C block: 2×2 tiles */ };
/* Threads split a product of at least this many multiply-adds per modulus. */
#define OZAKI_PARALLEL_MIN_MACS ((double)(1 << 21))

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

/* The padded sizes and where each array lives in the workspace (byte offsets from the 64-byte
 * aligned start). */
struct ozaki_layout {
    int64_t mp, np, kp, chunks;
    int64_t a_per_mod, b_per_mod, c_per_mod;
    int64_t a_at, b_at, c_at, scale_a_at, scale_b_at, line_at, line_bytes;
};

static struct ozaki_layout layout(int moduli, int64_t m, int64_t n, int64_t k)
{
    struct ozaki_layout l;
    l.mp = round_up(m, BLOCK), l.np = round_up(n, BLOCK), l.kp = round_up(k, 64), l.chunks = l.kp / 64;
    l.a_per_mod = l.mp * l.kp, l.b_per_mod = l.np * l.kp, l.c_per_mod = l.mp * l.np;
    l.a_at = 0;
    l.b_at = l.a_at + moduli * l.a_per_mod;
    l.c_at = l.b_at + moduli * l.b_per_mod;
    l.scale_a_at = l.c_at + moduli * l.c_per_mod;
    l.scale_b_at = l.scale_a_at + 8 * l.mp;
    l.line_at = l.scale_b_at + 8 * l.np;
    l.line_bytes = 8 * l.kp * LINE_GROUP;
    return l;
}

int64_t tg_ozaki_workspace(int moduli, int64_t m, int64_t n, int64_t k, int threads)
{
    if (moduli < 1 || moduli > TG_OZAKI_MAX_MODULI || m < 0 || n < 0 || k < 0)
        return 0;
    threads = threads < 1 ? 1 : threads;
    struct ozaki_layout l = layout(moduli, m, n, k);
    return l.line_at + threads * l.line_bytes + 64; /* + room to align the start to 64 bytes */
}

#if TG_OZAKI_BUILD
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,amx-tile,amx-int8")

/* 16 integer-valued doubles (x0, x1) mod m, symmetric, as 16 bytes (step 2). */
static inline __m128i residues16(__m512d x0, __m512d x1, __m512d m, __m512d inv_m)
{
    enum { NEAREST = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
    __m512d r0 = _mm512_fnmadd_pd(_mm512_roundscale_pd(_mm512_mul_pd(x0, inv_m), NEAREST), m, x0);
    __m512d r1 = _mm512_fnmadd_pd(_mm512_roundscale_pd(_mm512_mul_pd(x1, inv_m), NEAREST), m, x1);
    __m512i r = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtpd_epi32(r0)), _mm512_cvtpd_epi32(r1), 1);
    return _mm512_cvtepi32_epi8(r); /* the low byte: 128 becomes −128, the same residue mod 256 */
}

/* One operand to split: element (line l, p) at src[l·ls + p·ks]; lines rows of A or columns of B. */
struct splitting {
    const struct tg_ozaki_plan *plan;
    const double *src;
    int64_t ls, ks, lines, k;
    int vnni;                /* B: transpose each tile into VNNI layout */
    const struct ozaki_layout *l;
    uint8_t *out;            /* modulus 0's tiles; modulus md at out + md·per_mod */
    int64_t per_mod;
    double *unscale;         /* 2^-E per line */
    uint8_t *lines_work;     /* a line buffer per part */
    int failed;              /* a value not finite or out of range */
};

/* The scale exponent E of a line (step 1), from its values x[0 … k): 0 for a zero line; returns
 * nonzero when a value is not finite or the largest magnitude is outside 2^±900. */
static int line_exponent(const double *x, int64_t k, int gamma, int *exponent)
{
    __m512d big = _mm512_setzero_pd();
    __mmask8 bad = 0;
    for (int64_t p = 0; p < k; p += 8) {
        __m512d v = _mm512_abs_pd(_mm512_loadu_pd(x + p)); /* x is padded with zeros to 8 */
        bad |= _mm512_fpclass_pd_mask(v, 0x01 | 0x08 | 0x80); /* QNaN, +inf, SNaN (abs: no −inf) */
        big = _mm512_max_pd(big, v);
    }
    double largest = _mm512_reduce_max_pd(big);
    *exponent = 0;
    if (bad)
        return 1;
    if (largest == 0)
        return 0;
    int e;
    (void)frexp(largest, &e); /* largest ∈ [2^(e−1), 2^e) */
    if (e < -900 || e > 900)
        return 1;
    const __m512d down = _mm512_set1_pd(ldexp(1.0, -e));
    __m512d sum = _mm512_setzero_pd();
    for (int64_t p = 0; p < k; p += 8) {
        __m512d v = _mm512_mul_pd(_mm512_loadu_pd(x + p), down);
        sum = _mm512_fmadd_pd(v, v, sum);
    }
    /* ‖x‖ = 2^e·√s with s ∈ [1/4, k]: ceil(log2 ‖x‖) ≤ e + ceil(log2(s)/2) */
    *exponent = gamma - e - (int)ceil(0.5 * log2(_mm512_reduce_add_pd(sum)));
    return 0;
}

/* Transpose the 16 × 16 32-bit units of one tile in place (line-major -> VNNI layout). */
static void tile_to_vnni(uint8_t *tile)
{
    uint32_t rows[256];
    memcpy(rows, tile, TILE);
    const __m512i down_a_column = _mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128, 112, 96, 80, 64, 48, 32,
                                                   16, 0);
    for (int r = 0; r < 16; r++)
        _mm512_storeu_si512(tile + 64 * r, _mm512_i32gather_epi32(down_a_column, (const int *)rows + r, 4));
}

/* Split the line groups [group0, group1) of an operand (steps 1 and 2). */
/* Lines line0 … line0+15 of an operand into lines[q·kp + p], zeros beyond the operand. Along the
 * contiguous direction: line by line when k is contiguous, else k by k (16 neighbouring values of one
 * row of B per step; a column at a time would touch a new cache line per value). */
static void gather_group(const struct splitting *s, int64_t line0, double *lines)
{
    const int64_t kp = s->l->kp, count = s->lines - line0 < LINE_GROUP ? s->lines - line0 : LINE_GROUP;
    memset(lines, 0, (size_t)(LINE_GROUP * kp) * sizeof(double));
    if (s->ks == 1) {
        for (int64_t q = 0; q < count; q++)
            memcpy(lines + q * kp, s->src + (line0 + q) * s->ls, (size_t)s->k * sizeof(double));
        return;
    }
    for (int64_t p = 0; p < s->k; p++)
        for (int64_t q = 0; q < count; q++)
            lines[q * kp + p] = s->src[p * s->ks + (line0 + q) * s->ls];
}

/* Split the line groups [group0, group1) of an operand (steps 1 and 2). */
static void split_groups(struct splitting *s, int64_t group0, int64_t group1, double *lines)
{
    const struct ozaki_layout *l = s->l;
    const int moduli = s->plan->moduli;
    __m512d modulus[TG_OZAKI_MAX_MODULI], inverse[TG_OZAKI_MAX_MODULI]; /* locals: the byte stores alias the plan */
    for (int md = 0; md < moduli; md++) {
        modulus[md] = _mm512_set1_pd(s->plan->modulus[md]);
        inverse[md] = _mm512_set1_pd(1.0 / s->plan->modulus[md]);
    }
    for (int64_t g = group0; g < group1; g++) {
        gather_group(s, LINE_GROUP * g, lines);
        for (int q = 0; q < LINE_GROUP; q++) {
            const int64_t at_line = LINE_GROUP * g + q;
            const double *line = lines + q * l->kp;
            int exponent = 0;
            if (line_exponent(line, l->kp, s->plan->gamma, &exponent)) {
                __atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
                return;
            }
            s->unscale[at_line] = ldexp(1.0, -exponent);
            const __m512d up = _mm512_set1_pd(ldexp(1.0, exponent));
            enum { NEAREST = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
            for (int64_t p = 0; p < l->kp; p += 16) {
                __m512d x0 = _mm512_roundscale_pd(_mm512_mul_pd(_mm512_loadu_pd(line + p), up), NEAREST);
                __m512d x1 = _mm512_roundscale_pd(_mm512_mul_pd(_mm512_loadu_pd(line + p + 8), up), NEAREST);
                uint8_t *to = s->out + (g * l->chunks + p / 64) * TILE + 64 * q + p % 64;
                for (int md = 0; md < moduli; md++)
                    _mm_storeu_si128((__m128i *)(to + md * s->per_mod), residues16(x0, x1, modulus[md], inverse[md]));
            }
        }
        if (s->vnni)
            for (int md = 0; md < moduli; md++)
                for (int64_t c = 0; c < l->chunks; c++)
                    tile_to_vnni(s->out + md * s->per_mod + (g * l->chunks + c) * TILE);
    }
}

static void split_part(void *ctx, int part, int parts)
{
    struct splitting *s = ctx;
    const int64_t groups = round_up(s->lines, BLOCK) / LINE_GROUP;
    split_groups(s, groups * part / parts, groups * (part + 1) / parts,
                 (double *)(s->lines_work + part * s->l->line_bytes));
}

/* A 32×32 block of int32 sums -> residues mod m (int8) at out (row stride ld). The sums are exact
 * integers below 2^31, so their doubles are exact and r = x − m·rint(x/m) is too. */
static void reduce_block(const int32_t *sums, double m, int8_t *out, int64_t ld)
{
    enum { NEAREST = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
    const __m512d vm = _mm512_set1_pd(m), inv = _mm512_set1_pd(1.0 / m);
    for (int r = 0; r < BLOCK; r++)
        for (int h = 0; h < BLOCK; h += 16) {
            __m512i v = _mm512_loadu_si512(sums + r * BLOCK + h);
            __m512d x0 = _mm512_cvtepi32_pd(_mm512_castsi512_si256(v));
            __m512d x1 = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v, 1));
            _mm_storeu_si128((__m128i *)(out + r * ld + h), residues16(x0, x1, vm, inv));
        }
}

/* The products and the CRT of one range of rows. */
struct product_job {
    const struct tg_ozaki_plan *plan;
    const struct ozaki_layout *l;
    const uint8_t *a_tiles, *b_tiles;
    int8_t *residues;
    const double *unscale_a, *unscale_b;
    double *c;
    int64_t m, n, rsc;
};

/* Step 3 for row blocks [b0, b1): C'_l mod m_l of those rows, every modulus. */
static void products(const struct product_job *j, int64_t b0, int64_t b1)
{
    const struct ozaki_layout *l = j->l;
    const int64_t next = l->chunks * TILE; /* from one tile row (16 lines) to the next */
    int32_t sums[BLOCK * BLOCK] __attribute__((aligned(64)));
    tg_amx_load_tile_config();
    for (int md = 0; md < j->plan->moduli; md++) {
        const uint8_t *a_mod = j->a_tiles + md * l->a_per_mod, *b_mod = j->b_tiles + md * l->b_per_mod;
        int8_t *res = j->residues + md * l->c_per_mod;
        for (int64_t ib = b0; ib < b1; ib++)
            for (int64_t jb = 0; jb < l->np / BLOCK; jb++) {
                const uint8_t *a = a_mod + 2 * ib * next, *b = b_mod + 2 * jb * next;
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
                for (int64_t c = 0; c < l->chunks; c++) { /* loads between products: measured 1.7x faster */
                    _tile_loadd(6, b + c * TILE, 64);
                    _tile_loadd(4, a + c * TILE, 64);
                    _tile_dpbssd(0, 4, 6);
                    _tile_loadd(7, b + next + c * TILE, 64);
                    _tile_dpbssd(1, 4, 7);
                    _tile_loadd(5, a + next + c * TILE, 64);
                    _tile_dpbssd(2, 5, 6);
                    _tile_dpbssd(3, 5, 7);
                }
                _tile_stored(0, sums, 4 * BLOCK);
                _tile_stored(1, sums + 16, 4 * BLOCK);
                _tile_stored(2, sums + 16 * BLOCK, 4 * BLOCK);
                _tile_stored(3, sums + 16 * BLOCK + 16, 4 * BLOCK);
                reduce_block(sums, j->plan->modulus[md], res + BLOCK * (ib * l->np + jb), l->np);
            }
    }
    _tile_release();
}

/* Step 4 for rows [i0, i1) of C. */
static void reconstruct(const struct product_job *j, int64_t i0, int64_t i1)
{
    const struct tg_ozaki_plan *p = j->plan;
    const struct ozaki_layout *l = j->l;
    enum { NEAREST = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
    const __m512d inv_m = _mm512_set1_pd(p->inv_m), m1 = _mm512_set1_pd(p->m1), m2 = _mm512_set1_pd(p->m2);
    for (int64_t i = i0; i < i1; i++) {
        const __m512d row_unscale = _mm512_set1_pd(j->unscale_a[i]);
        for (int64_t col = 0; col < j->n; col += 8) {
            __m512d s1 = _mm512_setzero_pd(), s2 = _mm512_setzero_pd();
            for (int md = 0; md < p->moduli; md++) {
                const int8_t *r = j->residues + md * l->c_per_mod + i * l->np + col; /* np ≥ col + 8 */
                __m512d x = _mm512_cvtepi32_pd(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)r)));
                s1 = _mm512_fmadd_pd(x, _mm512_set1_pd(p->w1[md]), s1);
                s2 = _mm512_fmadd_pd(x, _mm512_set1_pd(p->w2[md]), s2);
            }
            __m512d q = _mm512_roundscale_pd(_mm512_mul_pd(s1, inv_m), NEAREST);
            __m512d c = _mm512_add_pd(_mm512_fnmadd_pd(q, m1, s1), _mm512_fnmadd_pd(q, m2, s2));
            c = _mm512_mul_pd(_mm512_mul_pd(c, row_unscale), _mm512_loadu_pd(j->unscale_b + col));
            const __mmask8 keep = j->n - col >= 8 ? 0xff : (__mmask8)((1u << (j->n - col)) - 1);
            _mm512_mask_storeu_pd(j->c + i * j->rsc + col, keep, c);
        }
    }
}

static void product_part(void *ctx, int part, int parts)
{
    const struct product_job *j = ctx;
    const int64_t blocks = j->l->mp / BLOCK, b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
    products(j, b0, b1);
    reconstruct(j, b0 * BLOCK < j->m ? b0 * BLOCK : j->m, b1 * BLOCK < j->m ? b1 * BLOCK : j->m);
}

static int ozaki_product(const struct tg_ozaki_plan *plan, int64_t m, int64_t n, int64_t k, const double *a,
                         int64_t rsa, int64_t csa, const double *b, int64_t rsb, int64_t csb, double *c, int64_t rsc,
                         uint8_t *work, int parts)
{
    const struct ozaki_layout l = layout(plan->moduli, m, n, k);
    struct splitting sa = {plan, a, rsa, csa, m, k, 0, &l, work + l.a_at, l.a_per_mod,
                           (double *)(work + l.scale_a_at), work + l.line_at, 0};
    struct splitting sb = {plan, b, csb, rsb, n, k, 1, &l, work + l.b_at, l.b_per_mod,
                           (double *)(work + l.scale_b_at), work + l.line_at, 0};
    tg_parallel_run(parts, split_part, &sa);
    if (!sa.failed)
        tg_parallel_run(parts, split_part, &sb);
    if (sa.failed || sb.failed)
        return TG_OZAKI_NOT_RUN;
    struct product_job job = {plan, &l, work + l.a_at, work + l.b_at, (int8_t *)(work + l.c_at),
                              sa.unscale, sb.unscale, c, m, n, rsc};
    tg_parallel_run(parts, product_part, &job);
    return 0;
}
#pragma GCC pop_options
#endif

/* Whether this CPU and OS can run the int8 tile products (asked once). */
static int amx_int8_present(void)
{
    static int cached = -1;
    int present = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (present == -1) {
#if TG_OZAKI_BUILD
        __builtin_cpu_init();
        present = __builtin_cpu_supports("amx-int8") && __builtin_cpu_supports("avx512vl");
#else
        present = 0;
#endif
        __atomic_store_n(&cached, present, __ATOMIC_RELEASE);
    }
    return present;
}

int tg_gemm_ozaki_f64(const struct tg_ozaki_plan *plan, int64_t batch, int64_t m, int64_t n, int64_t k,
                      const double *a, int64_t sba, int64_t rsa, int64_t csa, const double *b, int64_t sbb,
                      int64_t rsb, int64_t csb, double beta, double *c, int64_t sbc, int64_t rsc, int64_t csc,
                      void *work, int64_t work_len)
{
    if (!plan || plan->moduli < 1 || plan->moduli > TG_OZAKI_MAX_MODULI || plan->gamma < 1 || plan->gamma > 50 ||
        batch < 0 || m < 0 || n < 0 || k < 0)
        return TG_GEMM_BAD_SHAPE;
    if (beta != 0 || csc != 1 || k > TG_OZAKI_MAX_K || k == 0 || !TG_OZAKI_BUILD || !tg_amx_usable() ||
        !amx_int8_present())
        return TG_OZAKI_NOT_RUN;
    int parts = tg_get_num_threads();
    if ((double)m * n * k < OZAKI_PARALLEL_MIN_MACS || parts < 1)
        parts = 1;
    if (work_len < tg_ozaki_workspace(plan->moduli, m, n, k, parts))
        return TG_GEMM_SMALL_WORKSPACE;
#if TG_OZAKI_BUILD
    uint8_t *aligned = (uint8_t *)work + (64 - (uintptr_t)work % 64) % 64;
    for (int64_t t = 0; t < batch; t++)
        if (m && n && ozaki_product(plan, m, n, k, a + t * sba, rsa, csa, b + t * sbb, rsb, csb, c + t * sbc, rsc,
                                    aligned, parts))
            return TG_OZAKI_NOT_RUN; /* Python recomputes the whole batch natively */
#else
    (void)a, (void)sba, (void)rsa, (void)csa, (void)b, (void)sbb, (void)rsb, (void)csb, (void)c, (void)sbc, (void)rsc;
#endif
    return 0;
}
