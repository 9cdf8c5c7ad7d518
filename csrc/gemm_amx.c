/* gemm_amx.c: float32 matmul with bfloat16 products on AMX, for
 * torch.set_float32_matmul_precision("high" | "medium") (tinygrad_edu.set_float32_matmul_precision).
 *
 * bfloat16 (bf16) is float32 with the low 16 bits dropped: float32's exponent range, 8 significant
 * bits, so rounding to it (round to nearest even) has the unit roundoff u = 2^-8. Every float32 a
 * splits into two bf16 numbers:
 *     hi = bf16(a)              |a − hi| ≤ 2^-8 |a|         (a − hi is exact in float32)
 *     lo = bf16(a − hi)         |a − hi − lo| ≤ 2^-8 |a − hi| ≤ 2^-16 |a|
 * and a product of two bf16 numbers (8 × 8 significant bits) is exact in float32.
 *   "high"   (bf16x3, Henry, Tang & Heinecke 2019, arXiv:1904.06376): three passes,
 *                a·b ≈ hi_a·hi_b + hi_a·lo_b + lo_a·hi_b
 *            dropping lo_a·lo_b (≤ 2^-16 |ab|) and the two split errors (≤ 2^-16 |ab| each):
 *                |a·b − (hi_a·hi_b + hi_a·lo_b + lo_a·hi_b)| ≤ 3.01·2^-16 |a·b|,
 *            and the 3k exact products of an element are summed in float32, at most 3k roundings of
 *            2^-24 each relative to Σ|terms| ≤ (1 + 2^-8)²(1 + 2·2^-8) Σ|a||b| ≈ 1.016 Σ|a||b|, so
 *                |C − A·B| ≤ (3.01·2^-16 + 3.1·k·2^-24) · (|A|·|B|)   elementwise.
 *   "medium" one pass, a·b ≈ hi_a·hi_b:  |a·b − hi_a·hi_b| ≤ (2^-8 + 2^-8(1 + 2^-8)) |a·b|, so
 *                |C − A·B| ≤ (2.01·2^-8 + 1.02·k·2^-24) · (|A|·|B|).
 * (tests/test_kernels_amx.py checks both bounds.) "highest", the default, never comes here: it is
 * the float32 FMA GEMM of gemm.c.
 *
 * The instruction: TDPBF16PS C, A, B adds A (16 rows × 32 bf16) · B (32 × 16 bf16) to C (16 × 16
 * float32), all three in tile registers of 16 rows × 64 bytes. B is in "VNNI" layout: row r of its
 * tile holds the pairs (B[2r, j], B[2r + 1, j]) for j = 0…15. There are 8 tile registers: tiles 0-3
 * hold a 32 × 32 block of C, 4-5 two A tiles (32 rows), 6-7 two B tiles (32 columns), so each A and B
 * tile loaded feeds two products. The blocking is gemm_typed.inc's (Goto & van de Geijn 2008):
 *   for jc in steps of NC:     B panel  KC×NC    packed as hi and lo bf16 VNNI tiles
 *     for pc in steps of KC:
 *       for ic in steps of MC: A block  MC×KC    packed as hi and lo bf16 tiles
 *         for jr, ir in steps of 32: the 32×32 block of C += its Σ over KC/32 tile products per pass
 * C goes through memory between K blocks (loaded into the tiles and stored again), in float32.
 *
 * What differs from the float32 result besides the rounding above:
 *   - inf, NaN, and |a| > 3.3895e38 (bf16(a) overflows to ±inf): the packing sees lo = a − hi not
 *     finite, the AMX work stops, and the whole product is computed again by the FMA GEMM ("highest"),
 *     so a non-finite input gives exactly the float32 result (at the price of the wasted AMX work).
 *   - denormals: the bf16 conversion and TDPBF16PS treat denormal inputs as zero and flush denormal
 *     results to zero (MXCSR is not consulted). An a with |a| < 2^-126 counts as 0; a lo below
 *     2^-126 (|a| below about 2^-118) is dropped, so such an a has medium's accuracy; an accumulated
 *     sum smaller than 2^-126 in magnitude becomes 0. Each costs at most 2^-126·|b| per product.
 * The FMA GEMM also runs (exactly as "highest") where AMX does not pay or cannot run: products
 * below the size threshold, β ≠ 0, an operand with no unit stride, a level below AVX-512, no AMX in
 * the CPU or OS, or AMX switched off (tg_allow_amx, cpu.c).
 */
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 11
#define TG_AMX_BUILD 1
#include <immintrin.h>
#else
#define TG_AMX_BUILD 0
#endif

/* Blocking. KC: k values per packed block (a multiple of 32, the k of one tile); MC, NC: multiples
 * of 32 (one C block). Per thread the workspace holds the A block and the B panel as hi and lo bf16
 * (2·MC·KC and 2·KC·NC bf16 = MC·KC and KC·NC floats: 4.5 MiB) and one 32×32 float C block for the
 * edges. Each K block loads and stores every C block once: a long KC pays most (measured, thread CPU
 * time, medians of 9, twice, 1024³ "high"/"medium" GF/s: KC 256 × MC 128 × NC 1024: 370/716, KC 512:
 * 432/823, KC 1024: 463-484/882-917; NC 256 loses 10-30 %, MC 64 or 256 the same within noise). */
#define KC 1024
#define MC 128
#define NC 1024
enum { TILE_ROWS = 16, TILE_K = 32, TILE_U32 = 256 /* 32-bit units in a tile: 16 rows × 16 */ };

/* Smaller products run the FMA GEMM: C blocks are 32×32 and k is padded to a multiple of 32, so
 * below 32 in any dimension most of the tile work is padding, and packing costs O(mk + kn) against
 * the product's O(mnk). Measured (thread CPU time, "high" vs "highest", µs): 64×64×64 1.8 vs 4.2,
 * 128³ 10 vs 24, (64×784)·(784×256) 77 vs 137, 32×128×32 1.6 vs 2.7 (Python's ~1 µs not counted in
 * the AMX figure); but 16×1000×1000 564 vs 264, 1000×1000×16 290 vs 254, 512×8×512 79 vs 26. */
#define AMX_MIN_SIDE 32
#define AMX_MIN_FLOPS ((double)(1 << 18))
/* Threads split a product of at least this many flops (2mnk per matrix; at "high" ~0.5 ms on one
 * core, against tens of µs to create and join a thread). */
#define AMX_PARALLEL_MIN_FLOPS ((double)(1 << 28))

static int64_t amx_workspace_per_thread(void)
{
    int64_t amx = (int64_t)MC * KC + (int64_t)KC * NC + 32 * 32 + 16; /* + room to align to 64 bytes */
    int64_t fma = tg_gemm_1t_workspace_f32();
    return amx > fma ? amx : fma;
}

int64_t tg_gemm_bf16_workspace_f32(int threads) { return amx_workspace_per_thread() * (threads < 1 ? 1 : threads); }

#if TG_AMX_BUILD
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512bf16,amx-tile,amx-bf16")

/* _tile_loadconfig's 64-byte operand, palette 1: every tile 16 rows of 64 bytes. */
struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
};

void tg_amx_load_tile_config(void)
{
    struct tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) {
        config.bytes_per_row[t] = 64;
        config.rows[t] = TILE_ROWS;
    }
    /* GCC 12 does not see that ldtilecfg reads the config and drops the stores above as dead once this
     * function is not inlined (a config of zeros: #GP, SIGSEGV): the barrier says memory is read. */
    __asm__ __volatile__("" : : "r"(&config) : "memory");
    _tile_loadconfig(&config);
}

/* p[0 … count), zero beyond (count may be ≤ 0 or > 16); masked lanes are not read. */
static inline __m512 load16(const float *p, int64_t count)
{
    if (count >= 16)
        return _mm512_loadu_ps(p);
    if (count <= 0)
        return _mm512_setzero_ps();
    return _mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), p);
}

/* The float32 values of 16 bf16 numbers: their bits in the upper half of 32. */
static inline __m512 widen(__m256i bf16)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bf16), 16));
}

/* hi = bf16(x), lo = bf16(x − hi) of 32 floats (x0 then x1), as 32 bf16 each in that order.
 * Returns the lanes whose x − hi is not finite: x is ±inf or NaN, or bf16(x) overflowed. */
static inline __mmask16 split(__m512 x0, __m512 x1, __m512i *hi, __m512i *lo)
{
    enum { NOT_FINITE = 0x01 | 0x08 | 0x10 | 0x80 }; /* fpclass: QNaN, +inf, −inf, SNaN */
    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
    __m512 r0 = _mm512_sub_ps(x0, widen(_mm512_castsi512_si256(h)));
    __m512 r1 = _mm512_sub_ps(x1, widen(_mm512_extracti64x4_epi64(h, 1)));
    *hi = h;
    *lo = (__m512i)_mm512_cvtne2ps_pbh(r1, r0);
    return _mm512_fpclass_ps_mask(r0, NOT_FINITE) | _mm512_fpclass_ps_mask(r1, NOT_FINITE);
}

/* An operand block to pack: element (line l, k) at src[l·ls + k·ks] for l < lines, k < kc (pack_tiles). */
struct packing {
    const float *src;
    int64_t ls, ks, lines, kc;
};

/* Row q of tile (t, c) as loaded along the contiguous direction: by line (k contiguous: line
 * 16t + q, its 32 k) or by pair (lines contiguous: k = 32c + 2q and the next, paired up, for the 16
 * lines), converted to hi and lo. Returns the lanes that are not finite (see split). */
static inline __mmask16 load_row(const struct packing *pk, int64_t t, int64_t c, int64_t q, __m512i *hi, __m512i *lo)
{
    const __m512i pair_up = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                             6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512 x0 = _mm512_setzero_ps(), x1 = _mm512_setzero_ps();
    if (pk->ks == 1) {
        int64_t line = 16 * t + q, k0 = TILE_K * c;
        if (line < pk->lines) {
            x0 = load16(pk->src + line * pk->ls + k0, pk->kc - k0);
            x1 = load16(pk->src + line * pk->ls + k0 + 16, pk->kc - k0 - 16);
        }
        return split(x0, x1, hi, lo);
    }
    int64_t k0 = TILE_K * c + 2 * q, line0 = 16 * t;
    if (k0 < pk->kc)
        x0 = load16(pk->src + k0 * pk->ks + line0, pk->lines - line0);
    if (k0 + 1 < pk->kc)
        x1 = load16(pk->src + (k0 + 1) * pk->ks + line0, pk->lines - line0);
    __mmask16 bad = split(x0, x1, hi, lo);
    *hi = _mm512_permutexvar_epi16(pair_up, *hi);
    *lo = _mm512_permutexvar_epi16(pair_up, *lo);
    return bad;
}

/* Transpose the 16 × 16 32-bit units of r[0 … 15] (row i = r[i]): 2×2 blocks of units within each
 * 128-bit lane (unpack 32), then 4×4 (unpack 64), then the 4 × 4 grid of 128-bit lanes (two shuffles). */
static inline void transpose_16x16(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    }
}

/* Pack `lines` lines (rows of A, or columns of B) of kc values each into bf16 tiles, hi and lo (lo
 * NULL: one pass). Element (line l, k) is src[l·ls + k·ks], and ks == 1 or ls == 1. The tile (t, c)
 * of lines 16t … 16t+15 and k = 32c … 32c+31 is 16 × 16 32-bit units (bf16 pairs), unit (l, p) =
 * (k = 32c + 2p, 32c + 2p + 1) of line l: stored by line (row l = 16 pairs: an A tile) or, with
 * vnni, by pair (row p = 16 lines: a B tile in VNNI layout). Tiles follow each other c fastest; lines
 * beyond `lines` (up to 16·tiles) and k beyond kc are zeros. Loading along the contiguous direction
 * gives the rows by line (k contiguous) or by pair (lines contiguous); where the tile is the other
 * way round (a transposed A, B as nn.Linear's weight) each tile is transposed in registers (a scatter
 * per row was 2-4× slower overall). Returns nonzero when a value is not finite (see split). */
static int pack_tiles(const float *src, int64_t ls, int64_t ks, int64_t lines, int64_t kc, int vnni, int64_t tiles,
                      uint32_t *hi, uint32_t *lo)
{
    const int64_t chunks = (kc + TILE_K - 1) / TILE_K;
    const struct packing pk = {src, ls, ks, lines, kc};
    __mmask16 bad = 0;
    __m512i h[16], l[16];
    if ((ks == 1) == vnni) { /* whole tiles, transposed */
        for (int64_t t = 0; t < tiles; t++)
            for (int64_t c = 0; c < chunks; c++) {
                const int64_t at = (t * chunks + c) * TILE_U32;
                for (int q = 0; q < 16; q++)
                    bad |= load_row(&pk, t, c, q, &h[q], &l[q]);
                transpose_16x16(h);
                for (int q = 0; q < 16; q++)
                    _mm512_storeu_si512(hi + at + 16 * q, h[q]);
                if (lo) {
                    transpose_16x16(l);
                    for (int q = 0; q < 16; q++)
                        _mm512_storeu_si512(lo + at + 16 * q, l[q]);
                }
            }
        return bad != 0;
    }
    /* row by row, reading src in memory order (the contiguous direction innermost) */
    for (int64_t outer = 0; outer < (ks == 1 ? tiles : chunks); outer++)
        for (int64_t q = 0; q < 16; q++)
            for (int64_t inner = 0; inner < (ks == 1 ? chunks : tiles); inner++) {
                const int64_t t = ks == 1 ? outer : inner, c = ks == 1 ? inner : outer;
                const int64_t at = (t * chunks + c) * TILE_U32 + 16 * q;
                bad |= load_row(&pk, t, c, q, &h[0], &l[0]);
                _mm512_storeu_si512(hi + at, h[0]);
                if (lo)
                    _mm512_storeu_si512(lo + at, l[0]);
            }
    return bad != 0;
}

/* The four products of tiles 4-5 (A) by tiles 6-7 (B) into the C tiles 0-3. */
#define PRODUCTS_2X2()                                                                                                 \
    do {                                                                                                               \
        _tile_dpbf16ps(0, 4, 6);                                                                                       \
        _tile_dpbf16ps(1, 4, 7);                                                                                       \
        _tile_dpbf16ps(2, 5, 6);                                                                                       \
        _tile_dpbf16ps(3, 5, 7);                                                                                       \
    } while (0)

/* One 32×32 block of C (row stride ld_bytes): C = (first ? 0 : C) + Σ over the chunks and passes.
 * a_hi/a_lo: its two A tiles' first chunk (the second tile `chunks` tiles on), b_hi/b_lo the same
 * for B. passes 3: lo·hi, hi·hi, hi·lo, loading A_lo, B_hi, then A_hi, then B_lo (8 tiles per 12
 * products); passes 1: hi·hi. */
static void block_32x32(float *c, int64_t ld_bytes, int first, const uint32_t *a_hi, const uint32_t *a_lo,
                        const uint32_t *b_hi, const uint32_t *b_lo, int64_t chunks, int passes)
{
    const int64_t next = chunks * TILE_U32, down = 16 * ld_bytes / (int64_t)sizeof(float);
    if (first) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    } else {
        _tile_loadd(0, c, ld_bytes);
        _tile_loadd(1, c + 16, ld_bytes);
        _tile_loadd(2, c + down, ld_bytes);
        _tile_loadd(3, c + down + 16, ld_bytes);
    }
    for (int64_t i = 0; i < chunks; i++) {
        const int64_t at = i * TILE_U32;
        if (passes == 3) {
            _tile_loadd(4, a_lo + at, 64);
            _tile_loadd(5, a_lo + at + next, 64);
            _tile_loadd(6, b_hi + at, 64);
            _tile_loadd(7, b_hi + at + next, 64);
            PRODUCTS_2X2();
            _tile_loadd(4, a_hi + at, 64);
            _tile_loadd(5, a_hi + at + next, 64);
            PRODUCTS_2X2();
            _tile_loadd(6, b_lo + at, 64);
            _tile_loadd(7, b_lo + at + next, 64);
            PRODUCTS_2X2();
        } else {
            _tile_loadd(4, a_hi + at, 64);
            _tile_loadd(5, a_hi + at + next, 64);
            _tile_loadd(6, b_hi + at, 64);
            _tile_loadd(7, b_hi + at + next, 64);
            PRODUCTS_2X2();
        }
    }
    _tile_stored(0, c, ld_bytes);
    _tile_stored(1, c + 16, ld_bytes);
    _tile_stored(2, c + down, ld_bytes);
    _tile_stored(3, c + down + 16, ld_bytes);
}

/* The rows × cols corner of a 32×32 block at c (row stride ldc) to or from `edge` (row stride 32,
 * zeros beyond the corner when loading). */
static void copy_corner(float *c, int64_t ldc, float *edge, int64_t rows, int64_t cols, int to_edge)
{
    if (to_edge)
        memset(edge, 0, 32 * 32 * sizeof(float));
    for (int64_t i = 0; i < rows; i++)
        memcpy(to_edge ? edge + 32 * i : c + i * ldc, to_edge ? c + i * ldc : edge + 32 * i, (size_t)cols * sizeof(float));
}

/* C = A·B for one product (β = 0, m, n, k ≥ 1, csc = 1, a unit stride in A and in B) on the calling
 * thread. Returns nonzero, C incomplete, when an input is not finite or *stop was set (by another
 * thread that found one). work: amx_workspace_per_thread() floats, 64-byte aligned. */
static int amx_product(const struct tg_gemm_problem *g, int passes, float *work, int *stop)
{
    const float *a = g->a, *b = g->b;
    float *c = g->c;
    uint32_t *a_hi = (uint32_t *)work, *a_lo = a_hi + MC * KC / 2, *b_hi = a_lo + MC * KC / 2;
    uint32_t *b_lo = b_hi + KC * NC / 2;
    float *edge = (float *)(b_lo + KC * NC / 2);
    int bad = 0;
    tg_amx_load_tile_config();
    for (int64_t jc = 0; jc < g->n && !bad; jc += NC) {
        const int64_t nc = g->n - jc < NC ? g->n - jc : NC, col_tiles = (nc + 31) / 32 * 2;
        for (int64_t pc = 0; pc < g->k && !bad; pc += KC) {
            const int64_t kc = g->k - pc < KC ? g->k - pc : KC, chunks = (kc + TILE_K - 1) / TILE_K;
            bad = pack_tiles(b + pc * g->rsb + jc * g->csb, g->csb, g->rsb, nc, kc, 1, col_tiles, b_hi,
                             passes == 3 ? b_lo : 0);
            for (int64_t ic = 0; ic < g->m && !bad; ic += MC) {
                const int64_t mc = g->m - ic < MC ? g->m - ic : MC, row_tiles = (mc + 31) / 32 * 2;
                bad = pack_tiles(a + ic * g->rsa + pc * g->csa, g->rsa, g->csa, mc, kc, 0, row_tiles, a_hi,
                                 passes == 3 ? a_lo : 0) ||
                      __atomic_load_n(stop, __ATOMIC_RELAXED);
                for (int64_t jr = 0; jr < nc && !bad; jr += 32)
                    for (int64_t ir = 0; ir < mc; ir += 32) {
                        const int64_t rows = mc - ir < 32 ? mc - ir : 32, cols = nc - jr < 32 ? nc - jr : 32;
                        const int64_t a_at = ir / 16 * chunks * TILE_U32, b_at = jr / 16 * chunks * TILE_U32;
                        float *block = c + (ic + ir) * g->rsc + jc + jr;
                        if (rows == 32 && cols == 32) {
                            block_32x32(block, g->rsc * (int64_t)sizeof(float), pc == 0, a_hi + a_at, a_lo + a_at,
                                        b_hi + b_at, b_lo + b_at, chunks, passes);
                            continue;
                        }
                        if (pc > 0)
                            copy_corner(block, g->rsc, edge, rows, cols, 1);
                        block_32x32(edge, 32 * sizeof(float), pc == 0, a_hi + a_at, a_lo + a_at, b_hi + b_at,
                                    b_lo + b_at, chunks, passes);
                        copy_corner(block, g->rsc, edge, rows, cols, 0);
                    }
            }
        }
    }
    _tile_release();
    return bad;
}
#pragma GCC pop_options
#endif

/* A batch of products (tg_gemm_f32's arguments) and how the threads share it: the batch × strips
 * units, a strip being 32 columns of C (or 32 rows when C is taller than wide); each part takes a
 * contiguous range of units, i.e. per matrix of the batch one range of whole strips. */
struct amx_job {
    struct tg_gemm_problem g; /* the first product */
    int64_t batch, sba, sbb, sbc, strips;
    int by_rows, passes;
    float *work;
    int64_t work_per_part;
    int stop; /* set by the part that finds a value that is not finite */
};

static void amx_run_part(void *ctx, int part, int parts)
{
#if TG_AMX_BUILD
    struct amx_job *job = ctx;
    float *work = job->work + part * job->work_per_part;
    work += (64 - (uintptr_t)work % 64) % 64 / sizeof(float);
    const int64_t units = job->batch * job->strips;
    for (int64_t u = units * part / parts, end = units * (part + 1) / parts; u < end;) {
        const int64_t t = u / job->strips, s0 = u % job->strips;
        const int64_t s1 = s0 + (end - u) < job->strips ? s0 + (end - u) : job->strips;
        struct tg_gemm_problem g = job->g;
        g.a = (const float *)g.a + t * job->sba;
        g.b = (const float *)g.b + t * job->sbb;
        g.c = (float *)g.c + t * job->sbc;
        const int64_t lo = 32 * s0, hi = 32 * s1 < (job->by_rows ? g.m : g.n) ? 32 * s1 : (job->by_rows ? g.m : g.n);
        if (job->by_rows) {
            g.m = hi - lo;
            g.a = (const float *)g.a + lo * g.rsa;
            g.c = (float *)g.c + lo * g.rsc;
        } else {
            g.n = hi - lo;
            g.b = (const float *)g.b + lo * g.csb;
            g.c = (float *)g.c + lo;
        }
        if (amx_product(&g, job->passes, work, &job->stop)) {
            __atomic_store_n(&job->stop, 1, __ATOMIC_RELAXED);
            return;
        }
        u += s1 - s0;
    }
#else
    (void)ctx, (void)part, (void)parts;
#endif
}

/* Whether the AMX path takes this product (else the FMA GEMM, the float32 result). */
static int amx_takes(int64_t batch, int64_t m, int64_t n, int64_t k, int64_t rsa, int64_t csa, int64_t rsb,
                     int64_t csb, float beta, int64_t csc, int64_t work_len, int parts)
{
    /* the cheap tests first: most small products stop here, before the ISA level and CPU checks */
    if (m < AMX_MIN_SIDE || n < AMX_MIN_SIDE || k < AMX_MIN_SIDE || (double)batch * m * n * k * 2 < AMX_MIN_FLOPS)
        return 0;
    if (beta != 0 || csc != 1 || (rsa != 1 && csa != 1) || (rsb != 1 && csb != 1))
        return 0;
    return TG_AMX_BUILD && work_len >= amx_workspace_per_thread() * parts && tg_amx_usable();
}

static int gemm_bf16(int passes, int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, int64_t sba,
                     int64_t rsa, int64_t csa, const float *b, int64_t sbb, int64_t rsb, int64_t csb, float beta,
                     float *c, int64_t sbc, int64_t rsc, int64_t csc, float *work, int64_t work_len)
{
    int parts = tg_get_num_threads();
    if ((double)batch * m * n * k * 2 < AMX_PARALLEL_MIN_FLOPS)
        parts = 1;
    if (amx_takes(batch, m, n, k, rsa, csa, rsb, csb, beta, csc, work_len, parts)) {
        const int by_rows = m > n;
        struct amx_job job = {{m, n, k, a, rsa, csa, b, rsb, csb, c, rsc, csc, 0.0},
                              batch, sba, sbb, sbc, ((by_rows ? m : n) + 31) / 32, by_rows, passes, work,
                              amx_workspace_per_thread(), 0};
        if (parts == 1)
            amx_run_part(&job, 0, 1);
        else
            tg_parallel_run(parts, amx_run_part, &job);
        if (!job.stop)
            return 0;
    }
    return tg_gemm_f32(batch, m, n, k, a, sba, rsa, csa, b, sbb, rsb, csb, beta, c, sbc, rsc, csc, work, work_len);
}

/* The entry points (tg_kernels.h), one pair per number of passes: tg_gemm_bf16x3_f32 and
 * tg_matmul_bf16x3_f32 ("high"), tg_gemm_bf16x1_f32 and tg_matmul_bf16x1_f32 ("medium"). */
#define ENTRY_POINTS(passes)                                                                                           \
    int tg_gemm_bf16x##passes##_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, int64_t sba,     \
                                    int64_t rsa, int64_t csa, const float *b, int64_t sbb, int64_t rsb, int64_t csb, \
                                    float beta, float *c, int64_t sbc, int64_t rsc, int64_t csc, float *work,       \
                                    int64_t work_len)                                                                \
    {                                                                                                                  \
        return gemm_bf16(passes, batch, m, n, k, a, sba, rsa, csa, b, sbb, rsb, csb, beta, c, sbc, rsc, csc, work,   \
                         work_len);                                                                                    \
    }                                                                                                                  \
    int tg_matmul_bf16x##passes##_f32(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa,      \
                                      const void *b, int64_t rsb, int64_t csb, void *c, void *work, int64_t work_len) \
    {                                                                                                                  \
        return gemm_bf16(passes, 1, m, n, k, a, 0, rsa, csa, b, 0, rsb, csb, 0.0f, c, 0, n, 1, work, work_len);       \
    }
ENTRY_POINTS(3)
ENTRY_POINTS(1)
