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
 * columns as "lines", in VNNI layout (row r = B[4r…4r+3, j] for the 16 columns j: written so
 * directly when B is stored by rows, else transposed tile by tile); the residues of C as int8 in
 * 32×32 blocks of 1 KB (rows of 32 bytes), block (ib, jb) at (ib·np/32 + jb)·1024. Padding rows,
 * columns and k are zeros.
 *
 * Speed (the O(n²·N) passes are memory-bound, the products AMX-bound). The residues are written with
 * streamed stores (whole 64-byte lines, not read first); the split reads each operand along its
 * contiguous direction; the products keep a row block of A'_l in L1 (k in passes of 512) and a panel
 * of B'_l (≤ 1 MB) in L2, and prefetch the next row block of A'_l. Measured at 1024³, 13 moduli,
 * 1 thread (ms of CPU time): split A 2.0, split B 2.9, products with their mod-reduce 10.3, CRT 1.6:
 * 17 ms against NumPy's (OpenBLAS) 25 ms float64 GEMM; 2048³: 109 against 184.
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
    int64_t a_at, b_at, c_at, scale_a_at, scale_b_at, line_at, line_bytes, sums_at, sums_bytes;
};

static struct ozaki_layout layout(int moduli, int64_t m, int64_t n, int64_t k)
{
    struct ozaki_layout l;
    l.mp = round_up(m, BLOCK), l.np = round_up(n, BLOCK), l.kp = round_up(k, 64), l.chunks = l.kp / 64;
    /* + 256: the moduli's blocks of C, read together by the CRT, would all map to one L1 set */
    l.a_per_mod = l.mp * l.kp, l.b_per_mod = l.np * l.kp, l.c_per_mod = l.mp * l.np + 256;
    l.a_at = 0;
    l.b_at = l.a_at + moduli * l.a_per_mod;
    l.c_at = l.b_at + moduli * l.b_per_mod;
    l.scale_a_at = l.c_at + moduli * l.c_per_mod;
    l.scale_b_at = l.scale_a_at + 8 * l.mp;
    l.line_at = l.scale_b_at + 8 * l.np;
    l.line_bytes = 8 * l.kp * LINE_GROUP;
    l.sums_bytes = 4 * BLOCK * l.np;
    return l;
}

int64_t tg_ozaki_workspace(int moduli, int64_t m, int64_t n, int64_t k, int threads)
{
    if (moduli < 1 || moduli > TG_OZAKI_MAX_MODULI || m < 0 || n < 0 || k < 0)
        return 0;
    threads = threads < 1 ? 1 : threads;
    struct ozaki_layout l = layout(moduli, m, n, k);
    return l.line_at + threads * (l.line_bytes + l.sums_bytes) + 64; /* + room to align the start to 64 bytes */
}

#if TG_OZAKI_BUILD
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi,amx-tile,amx-int8")

/* x + ROUNDER, for |x| < 2^51, is x rounded to the nearest integer (ties to even) plus ROUNDER, exactly:
 * the sum lies in [2^52, 2^53), where the doubles are the integers. Its low mantissa bits are that
 * integer in two's complement (ROUNDER = 1.5·2^52: bit 51 stays set), so the low byte of its bit
 * pattern is the integer mod 256. Two adds instead of a rounding instruction, and no conversion. */
#define ROUNDER 6755399441055744.0

static __mmask8 tail_mask(int64_t left) { return left >= 8 ? 0xff : left <= 0 ? 0 : (__mmask8)((1u << left) - 1); }

/* The moduli as vectors (locals of each part: byte stores through uint8_t * may alias the plan). */
struct moduli_vectors {
    int count;
    __m512d modulus[TG_OZAKI_MAX_MODULI], inverse[TG_OZAKI_MAX_MODULI];
};

static void moduli_vectors_of(const struct tg_ozaki_plan *plan, struct moduli_vectors *mv)
{
    mv->count = plan->moduli;
    for (int md = 0; md < plan->moduli; md++) {
        mv->modulus[md] = _mm512_set1_pd(plan->modulus[md]);
        mv->inverse[md] = _mm512_set1_pd(1.0 / plan->modulus[md]);
    }
}

/* Where the low bytes of 8 vectors v_0 … v_7 (8 lanes each) go in 64 output bytes: each pair
 * (v_2a, v_2a+1) is one two-table byte permutation (index[a]) filling the bytes fills[a]. */
struct packing {
    __m512i index[4];
    __mmask64 fills[4];
};

/* plain: v_i holds k = 8i … 8i+7 of one line, to byte 8i + j (a tile row of A'). vnni: v_2t+h holds
 * lines 8h … 8h+7 at k = 4r + t, to byte 4·(8h + j) + t (row r of a VNNI tile of B'). */
static struct packing packing_for(int vnni)
{
    uint8_t index[4][64] = {{0}};
    struct packing pk = {.fills = {0}};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) {
            const int at = vnni ? 4 * (8 * (i % 2) + j) + i / 2 : 8 * i + j;
            index[i / 2][at] = (uint8_t)(64 * (i % 2) + 8 * j); /* lane j's low byte in the pair's 128 */
            pk.fills[i / 2] |= 1ull << at;
        }
    for (int a = 0; a < 4; a++)
        pk.index[a] = _mm512_loadu_si512(index[a]);
    return pk;
}

/* Step 2 for 64 values: rounded[i] = x + ROUNDER for 8 vectors of integers x (|x| ≤ 2^50). For every
 * modulus m: q = rint(x/m) = (x·(1/m) + ROUNDER) − ROUNDER, and r + ROUNDER = (x + ROUNDER) − q·m,
 * exact in one FMA (r = x − m·q, |r| ≤ m/2 + m·2^-11 < 128.5 as |x/m| < 2^43); its low byte is r,
 * symmetric (r = 128 for m = 256 becomes −128: the same residue). 64 bytes at out + md·per_mod. */
static inline void store_residues(const __m512d rounded[8], const struct moduli_vectors *mv,
                                  const struct packing *pk, uint8_t *out, int64_t per_mod)
{
    const __m512d rounder = _mm512_set1_pd(ROUNDER);
    __m512d x[8];
    for (int i = 0; i < 8; i++)
        x[i] = _mm512_sub_pd(rounded[i], rounder);
    for (int md = 0; md < mv->count; md++) {
        __m512i bytes = _mm512_setzero_si512();
        for (int a = 0; a < 4; a++) {
            __m512i pair[2];
            for (int h = 0; h < 2; h++) {
                __m512d q = _mm512_sub_pd(_mm512_fmadd_pd(x[2 * a + h], mv->inverse[md], rounder), rounder);
                pair[h] = _mm512_castpd_si512(_mm512_fnmadd_pd(q, mv->modulus[md], rounded[2 * a + h]));
            }
            bytes = _mm512_mask_mov_epi8(bytes, pk->fills[a], _mm512_permutex2var_epi8(pair[0], pk->index[a], pair[1]));
        }
        _mm512_stream_si512((void *)(out + md * per_mod), bytes); /* whole lines: not read first (measured 1.5-2x) */
    }
}

/* One operand to split: element (line l, p) at src[l·ls + p·ks]; lines rows of A or columns of B. */
struct splitting {
    const struct tg_ozaki_plan *plan;
    const double *src;
    int64_t ls, ks, lines, k;
    int vnni;                /* B: tiles in VNNI layout */
    const struct ozaki_layout *l;
    uint8_t *out;            /* modulus 0's tiles; modulus md at out + md·per_mod */
    int64_t per_mod;
    double *unscale;         /* 2^-E per line */
    uint8_t *lines_work;     /* a line buffer per part */
    int failed;              /* a value not finite or out of range */
};

/* Step 1's exponent, part 1: largest ∈ [2^(e−1), 2^e) (e = 0 for 0); nonzero when outside 2^±900. */
static int top_exponent(double largest, int *e)
{
    *e = 0;
    if (largest == 0)
        return 0;
    (void)frexp(largest, e);
    return *e < -900 || *e > 900;
}

/* Part 2, from s = Σ (x_p·2^-e)² ∈ [1/4, k] (0: a zero line): ‖x‖ = 2^e·√s, so
 * E = γ − ceil(log2 ‖x‖) = γ − e − ceil(log2(s)/2). */
static int scale_exponent(int gamma, int e, double s) { return s == 0 ? 0 : gamma - e - (int)ceil(0.5 * log2(s)); }

/* The scale exponent E of a line x[0 … k) (contiguous); nonzero when a value is inf or NaN or the
 * largest magnitude is outside 2^±900. */
static int line_exponent(const double *x, int64_t k, int gamma, int *exponent)
{
    __m512d big = _mm512_setzero_pd();
    __mmask8 bad = 0;
    for (int64_t p = 0; p < k; p += 8) {
        __m512d v = _mm512_abs_pd(_mm512_maskz_loadu_pd(tail_mask(k - p), x + p));
        bad |= _mm512_fpclass_pd_mask(v, 0x01 | 0x08 | 0x80); /* QNaN, +inf, SNaN (abs: no −inf) */
        big = _mm512_max_pd(big, v);
    }
    int e;
    if (bad || top_exponent(_mm512_reduce_max_pd(big), &e))
        return 1;
    const __m512d down = _mm512_set1_pd(ldexp(1.0, -e));
    __m512d sum = _mm512_setzero_pd();
    for (int64_t p = 0; p < k; p += 8) {
        __m512d v = _mm512_mul_pd(_mm512_maskz_loadu_pd(tail_mask(k - p), x + p), down);
        sum = _mm512_fmadd_pd(v, v, sum);
    }
    *exponent = scale_exponent(gamma, e, _mm512_reduce_add_pd(sum));
    return 0;
}

/* B stored by rows: COLUMN_GROUPS line groups at a time, so that its rows are read 2 KB at a stretch
 * (16 columns at a time, every row a new page: measured 2.3 of split B's 3.5 ms at 1024³). */
enum { COLUMN_GROUPS = 16, COLUMNS = COLUMN_GROUPS * LINE_GROUP, AHEAD = 16 /* rows prefetched ahead */ };

/* The same for width ≤ COLUMNS neighbouring lines (a multiple of 8) stored side by side, x[q + p·ks]
 * for q < count (the others: 0). */
static int columns_exponents(const double *x, int64_t ks, int64_t k, int64_t width, int64_t count, int gamma,
                             int *exponent)
{
    __m512d big[COLUMNS / 8], sum[COLUMNS / 8], down[COLUMNS / 8];
    for (int64_t v = 0; v < width / 8; v++)
        big[v] = sum[v] = _mm512_setzero_pd();
    __mmask8 bad = 0;
    for (int64_t p = 0; p < k; p++)
        for (int64_t v = 0; v < width / 8; v++) {
            _mm_prefetch((const char *)(x + (p + AHEAD) * ks + 8 * v), _MM_HINT_T0); /* a no-op past the end */
            __m512d value = _mm512_abs_pd(_mm512_maskz_loadu_pd(tail_mask(count - 8 * v), x + p * ks + 8 * v));
            bad |= _mm512_fpclass_pd_mask(value, 0x01 | 0x08 | 0x80);
            big[v] = _mm512_max_pd(big[v], value);
        }
    double largest[COLUMNS], scale[COLUMNS], sums[COLUMNS];
    int e[COLUMNS];
    for (int64_t v = 0; v < width / 8; v++)
        _mm512_storeu_pd(largest + 8 * v, big[v]);
    for (int64_t q = 0; q < width; q++) {
        if (bad || top_exponent(largest[q], &e[q]))
            return 1;
        scale[q] = ldexp(1.0, -e[q]);
    }
    for (int64_t v = 0; v < width / 8; v++)
        down[v] = _mm512_loadu_pd(scale + 8 * v);
    for (int64_t p = 0; p < k; p++)
        for (int64_t v = 0; v < width / 8; v++) {
            __m512d value = _mm512_mul_pd(_mm512_maskz_loadu_pd(tail_mask(count - 8 * v), x + p * ks + 8 * v), down[v]);
            sum[v] = _mm512_fmadd_pd(value, value, sum[v]);
        }
    for (int64_t v = 0; v < width / 8; v++)
        _mm512_storeu_pd(sums + 8 * v, sum[v]);
    for (int64_t q = 0; q < width; q++)
        exponent[q] = scale_exponent(gamma, e[q], sums[q]);
    return 0;
}

/* Steps 1 and 2 for line group g, its k contiguous: line q at x + q·ls (q < count; the others and
 * k ≥ k are zeros), into plain tiles. */
static int split_rows(struct splitting *s, const struct moduli_vectors *mv, int64_t g, const double *x,
                      int64_t ls, int64_t count)
{
    const struct ozaki_layout *l = s->l;
    const struct packing plain = packing_for(0);
    const __m512d rounder = _mm512_set1_pd(ROUNDER);
    for (int64_t q = 0; q < LINE_GROUP; q++) {
        int exponent = 0;
        if (q < count && line_exponent(x + q * ls, s->k, s->plan->gamma, &exponent))
            return 1;
        s->unscale[LINE_GROUP * g + q] = ldexp(1.0, -exponent);
        const __m512d up = _mm512_set1_pd(ldexp(1.0, exponent));
        for (int64_t c = 0; c < l->chunks; c++) {
            __m512d rounded[8];
            for (int i = 0; i < 8; i++) {
                const int64_t p = 64 * c + 8 * i;
                const __mmask8 in = q < count ? tail_mask(s->k - p) : 0;
                rounded[i] = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(in, x + q * ls + p), up, rounder);
            }
            store_residues(rounded, mv, &plain, s->out + (g * l->chunks + c) * TILE + 64 * q, s->per_mod);
        }
    }
    return 0;
}

/* Steps 1 and 2 for line groups g0 … g0+span−1 (span ≤ COLUMN_GROUPS), their lines contiguous: line q
 * at x[q + p·ks] (q < count, zeros elsewhere), straight into VNNI tiles: row r of tile c from
 * k = 64c + 4r … 64c + 4r + 3. */
static int split_columns(struct splitting *s, const struct moduli_vectors *mv, int64_t g0, int64_t span,
                         const double *x, int64_t ks, int64_t count)
{
    const struct ozaki_layout *l = s->l;
    const int64_t width = LINE_GROUP * span;
    int exponent[COLUMNS];
    if (columns_exponents(x, ks, s->k, width, count, s->plan->gamma, exponent))
        return 1;
    double up[COLUMNS];
    for (int64_t q = 0; q < width; q++) {
        s->unscale[LINE_GROUP * g0 + q] = ldexp(1.0, -exponent[q]);
        up[q] = ldexp(1.0, exponent[q]);
    }
    const struct packing vnni = packing_for(1);
    const __m512d rounder = _mm512_set1_pd(ROUNDER);
    for (int64_t c = 0; c < l->chunks; c++)
        for (int r = 0; r < 16; r++)
            for (int64_t g = 0; g < span; g++) { /* 4 rows, 16 columns at a time */
                const __m512d up0 = _mm512_loadu_pd(up + 16 * g), up1 = _mm512_loadu_pd(up + 16 * g + 8);
                const __mmask8 in0 = tail_mask(count - 16 * g), in1 = tail_mask(count - 16 * g - 8);
                __m512d rounded[8];
                for (int t = 0; t < 4; t++) {
                    const int64_t p = 64 * c + 4 * r + t;
                    const double *at = x + (p < s->k ? p * ks : 0) + 16 * g;
                    _mm_prefetch((const char *)(at + AHEAD * ks), _MM_HINT_T0);
                    _mm_prefetch((const char *)(at + AHEAD * ks + 8), _MM_HINT_T0);
                    const __mmask8 here0 = p < s->k ? in0 : 0, here1 = p < s->k ? in1 : 0;
                    rounded[2 * t] = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(here0, at), up0, rounder);
                    rounded[2 * t + 1] = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(here1, at + 8), up1, rounder);
                }
                store_residues(rounded, mv, &vnni, s->out + ((g0 + g) * l->chunks + c) * TILE + 64 * r, s->per_mod);
            }
    return 0;
}

/* Transpose the 16 × 16 32-bit units of one tile in place (plain -> VNNI layout). */
static void tile_to_vnni(uint8_t *tile)
{
    uint32_t rows[256];
    memcpy(rows, tile, TILE);
    const __m512i down_a_column = _mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128, 112, 96, 80, 64, 48, 32,
                                                   16, 0);
    for (int r = 0; r < 16; r++)
        _mm512_storeu_si512(tile + 64 * r, _mm512_i32gather_epi32(down_a_column, (const int *)rows + r, 4));
}

/* Lines line0 … line0+15 of an operand whose k is not contiguous (A stored by columns, or strided)
 * into lines[q·kp + p], zeros beyond the operand; k by k, so that the 16 values of one k are read
 * together (a line at a time would touch a new cache line per value). */
static void gather_group(const struct splitting *s, int64_t line0, double *lines)
{
    const int64_t kp = s->l->kp, count = s->lines - line0 < LINE_GROUP ? s->lines - line0 : LINE_GROUP;
    memset(lines, 0, (size_t)(LINE_GROUP * kp) * sizeof(double));
    for (int64_t p = 0; p < s->k; p++)
        for (int64_t q = 0; q < count; q++)
            lines[q * kp + p] = s->src[p * s->ks + (line0 + q) * s->ls];
}

/* Split the line groups [group0, group1) of an operand (steps 1 and 2): straight from the operand
 * where k or (for B) the lines are contiguous, else through a line buffer. */
static void split_groups(struct splitting *s, int64_t group0, int64_t group1, double *lines)
{
    const struct ozaki_layout *l = s->l;
    struct moduli_vectors mv;
    moduli_vectors_of(s->plan, &mv);
    for (int64_t g = group0, span = 1; g < group1; g += span) {
        const int columns = s->vnni && s->ls == 1; /* B stored by rows */
        span = columns ? (group1 - g < COLUMN_GROUPS ? group1 - g : COLUMN_GROUPS) : 1;
        const int64_t line0 = LINE_GROUP * g, left = s->lines - line0;
        const int64_t count = left < 0 ? 0 : left < LINE_GROUP * span ? left : LINE_GROUP * span;
        const double *first = count ? s->src + line0 * s->ls : s->src;
        int failed;
        if (columns)
            failed = split_columns(s, &mv, g, span, first, s->ks, count);
        else if (s->ks == 1)
            failed = split_rows(s, &mv, g, first, s->ls, count);
        else {
            gather_group(s, line0, lines);
            failed = split_rows(s, &mv, g, lines, l->kp, LINE_GROUP);
        }
        if (failed) {
            __atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
            return;
        }
        if (s->vnni && s->ls != 1)
            for (int md = 0; md < mv.count; md++)
                for (int64_t c = 0; c < l->chunks; c++)
                    tile_to_vnni(s->out + md * s->per_mod + (g * l->chunks + c) * TILE);
    }
    _mm_sfence(); /* the streamed stores are in memory before another thread's products read them */
}

static void split_part(void *ctx, int part, int parts)
{
    struct splitting *s = ctx;
    const int64_t groups = round_up(s->lines, BLOCK) / LINE_GROUP;
    split_groups(s, groups * part / parts, groups * (part + 1) / parts,
                 (double *)(s->lines_work + part * s->l->line_bytes));
}

/* A 32×32 block of int32 sums -> residues mod m (int8), 32×32 bytes at out. The sums are exact
 * integers below 2^31: their doubles are exact, and store_residues's steps with them. */
static void reduce_block(const int32_t *sums, const struct moduli_vectors *one, const struct packing *plain,
                         uint8_t *out)
{
    const __m512d rounder = _mm512_set1_pd(ROUNDER);
    for (int piece = 0; piece < BLOCK * BLOCK / 64; piece++) {
        __m512d rounded[8];
        for (int i = 0; i < 8; i += 2) {
            __m512i v = _mm512_load_si512(sums + 64 * piece + 8 * i);
            rounded[i] = _mm512_add_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(v)), rounder);
            rounded[i + 1] = _mm512_add_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v, 1)), rounder);
        }
        store_residues(rounded, one, plain, out + 64 * piece, 0);
    }
}

/* The products and the CRT of one range of rows. */
struct product_job {
    const struct tg_ozaki_plan *plan;
    const struct ozaki_layout *l;
    const uint8_t *a_tiles, *b_tiles;
    uint8_t *residues; /* C'_l mod m_l: 32×32-byte blocks, a row of blocks after another */
    uint8_t *sums; /* a row of C blocks' int32 sums per part */
    const double *unscale_a, *unscale_b;
    double *c;
    int64_t m, n, rsc;
};

/* Step 3 for row blocks [b0, b1): C'_l mod m_l of those rows, every modulus. k is cut into passes of
 * K_PASS chunks, so that a row block of A'_l (2 tile rows, 16 KB) can stay in L1 while the column
 * blocks of B'_l stream from L2 (measured at k = 1024, products ms: passes of 2 chunks 16.5, 4 12.3,
 * 8 10.7, the whole k 10.9: saving and reloading the sums costs more than shorter passes gain); the
 * int32 sums of a row of C blocks wait between passes in sums (32×32 per block). */
enum { K_PASS = 8 };
static void products(const struct product_job *j, int64_t b0, int64_t b1, int32_t *sums)
{
    const struct ozaki_layout *l = j->l;
    const int64_t next = l->chunks * TILE; /* from one tile row (16 lines) to the next */
    /* C blocks per panel of columns: B'_l's panel (≤ 1 MB) stays in L2 while every row block passes */
    const int64_t blocks = l->np / BLOCK, panel = (1 << 20) / (2 * next) > 1 ? (1 << 20) / (2 * next) : 1;
    const struct packing plain = packing_for(0);
    tg_amx_load_tile_config();
    for (int md = 0; md < j->plan->moduli; md++) {
        const uint8_t *a_mod = j->a_tiles + md * l->a_per_mod, *b_mod = j->b_tiles + md * l->b_per_mod;
        uint8_t *res = j->residues + md * l->c_per_mod;
        struct moduli_vectors one = {.count = 1};
        one.modulus[0] = _mm512_set1_pd(j->plan->modulus[md]);
        one.inverse[0] = _mm512_set1_pd(1.0 / j->plan->modulus[md]);
        for (int64_t j0 = 0; j0 < blocks; j0 += panel)
            for (int64_t ib = b0; ib < b1; ib++)
                for (int64_t c0 = 0; c0 < l->chunks; c0 += K_PASS)
                    for (int64_t jb = j0; jb < j0 + panel && jb < blocks; jb++) {
                        const uint8_t *a = a_mod + 2 * ib * next, *b = b_mod + 2 * jb * next;
                        const int64_t c1 = c0 + K_PASS < l->chunks ? c0 + K_PASS : l->chunks;
                        int32_t *block = sums + jb * BLOCK * BLOCK;
                        if (c0 == 0 && ib + 1 < b1) { /* the next row block of A'_l into L2, a share per C block */
                            const int64_t share = (2 * next / panel + 63) / 64 * 64, from = (jb - j0) * share;
                            for (int64_t at = from; at < from + share && at < 2 * next; at += 64)
                                _mm_prefetch((const char *)(a + 2 * next + at), _MM_HINT_T1);
                        }
                        if (c0 == 0) {
                            _tile_zero(0);
                            _tile_zero(1);
                            _tile_zero(2);
                            _tile_zero(3);
                        } else {
                            _tile_loadd(0, block, 4 * BLOCK);
                            _tile_loadd(1, block + 16, 4 * BLOCK);
                            _tile_loadd(2, block + 16 * BLOCK, 4 * BLOCK);
                            _tile_loadd(3, block + 16 * BLOCK + 16, 4 * BLOCK);
                        }
                        for (int64_t c = c0; c < c1; c++) { /* loads between products: measured 1.7x faster */
                            _tile_loadd(6, b + c * TILE, 64);
                            _tile_loadd(4, a + c * TILE, 64);
                            _tile_dpbssd(0, 4, 6);
                            _tile_loadd(7, b + next + c * TILE, 64);
                            _tile_dpbssd(1, 4, 7);
                            _tile_loadd(5, a + next + c * TILE, 64);
                            _tile_dpbssd(2, 5, 6);
                            _tile_dpbssd(3, 5, 7);
                        }
                        _tile_stored(0, block, 4 * BLOCK);
                        _tile_stored(1, block + 16, 4 * BLOCK);
                        _tile_stored(2, block + 16 * BLOCK, 4 * BLOCK);
                        _tile_stored(3, block + 16 * BLOCK + 16, 4 * BLOCK);
                        if (c1 == l->chunks)
                            reduce_block(block, &one, &plain, res + BLOCK * (ib * l->np + BLOCK * jb));
                    }
    }
    _tile_release();
    _mm_sfence();
}

/* Step 4 for rows [i0, i1) of C (i0 a multiple of 32), block by block of residues. */
static void reconstruct(const struct product_job *j, int64_t i0, int64_t i1)
{
    const struct tg_ozaki_plan *p = j->plan;
    const struct ozaki_layout *l = j->l;
    enum { NEAREST = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
    const __m512d inv_m = _mm512_set1_pd(p->inv_m), m1 = _mm512_set1_pd(p->m1), m2 = _mm512_set1_pd(p->m2);
    __m512d w1[TG_OZAKI_MAX_MODULI], w2[TG_OZAKI_MAX_MODULI];
    for (int md = 0; md < p->moduli; md++)
        w1[md] = _mm512_set1_pd(p->w1[md]), w2[md] = _mm512_set1_pd(p->w2[md]);
    for (int64_t first = i0; first < i1; first += BLOCK)
        for (int64_t col0 = 0; col0 < j->n; col0 += BLOCK) {
            for (int64_t i = first; i < first + BLOCK && i < i1; i++) {
                const __m512d row_unscale = _mm512_set1_pd(j->unscale_a[i]);
                const uint8_t *row = j->residues + BLOCK * (i / BLOCK * l->np + col0) + BLOCK * (i % BLOCK);
                __m512d s1[4], s2[4];
                for (int h = 0; h < 4; h++)
                    s1[h] = s2[h] = _mm512_setzero_pd();
                for (int md = 0; md < p->moduli; md++) {
                    const __m256i bytes = _mm256_load_si256((const __m256i *)(row + md * l->c_per_mod));
                    const __m512i low = _mm512_cvtepi8_epi32(_mm256_castsi256_si128(bytes));
                    const __m512i high = _mm512_cvtepi8_epi32(_mm256_extracti128_si256(bytes, 1));
                    const __m512d x[4] = {_mm512_cvtepi32_pd(_mm512_castsi512_si256(low)),
                                          _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(low, 1)),
                                          _mm512_cvtepi32_pd(_mm512_castsi512_si256(high)),
                                          _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(high, 1))};
                    for (int h = 0; h < 4; h++) {
                        s1[h] = _mm512_fmadd_pd(x[h], w1[md], s1[h]);
                        s2[h] = _mm512_fmadd_pd(x[h], w2[md], s2[h]);
                    }
                }
                for (int h = 0; h < 4 && col0 + 8 * h < j->n; h++) {
                    const int64_t col = col0 + 8 * h;
                    __m512d q = _mm512_roundscale_pd(_mm512_mul_pd(s1[h], inv_m), NEAREST);
                    __m512d c = _mm512_add_pd(_mm512_fnmadd_pd(q, m1, s1[h]), _mm512_fnmadd_pd(q, m2, s2[h]));
                    c = _mm512_mul_pd(_mm512_mul_pd(c, row_unscale), _mm512_loadu_pd(j->unscale_b + col));
                    _mm512_mask_storeu_pd(j->c + i * j->rsc + col, tail_mask(j->n - col), c);
                }
            }
        }
}

static void product_part(void *ctx, int part, int parts)
{
    const struct product_job *j = ctx;
    const int64_t blocks = j->l->mp / BLOCK, b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
    products(j, b0, b1, (int32_t *)(j->sums + part * j->l->sums_bytes));
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
    struct product_job job = {plan, &l, work + l.a_at, work + l.b_at, work + l.c_at,
                              work + l.line_at + parts * l.line_bytes,
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
        present = __builtin_cpu_supports("amx-int8") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("avx512vbmi");
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
