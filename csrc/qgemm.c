/* qgemm.c: int8 × int8 → int32 matrix products, and the int8 convolution (and, through a 1×1
 * convolution, the int8 linear layer) of post-training quantised models.
 * The definition of correct is tinygrad_edu/backend/numpy_ref.py (qgemm, qconv2d).
 *
 * The instruction: vpdpbusd (AVX-512 VNNI) multiplies 64 unsigned bytes by 64 signed bytes and
 * adds each group of four products into one of 16 int32 lanes, exactly (no saturation):
 *     acc[j] += Σ_{t<4} u[4j + t] · s[4j + t]
 * One operand must be unsigned, so the kernels add 128 to every byte of B (b + 128 ∈ [0, 255];
 * for a byte that is just flipping its top bit) and subtract the extra term afterwards:
 *     Σ_p a[i, p] · b[p, j] = Σ_p a[i, p] · (b[p, j] + 128) − 128 · Σ_p a[i, p]
 * where the second sum (`corr`) depends on the row only. A (signed: the weights) is broadcast
 * four bytes at a time; B (unsigned: the activations) is packed in panels of 16 columns so that
 * one 64-byte load holds four consecutive k of 16 columns (qgemm_tile.inc).
 *
 * Paths, chosen at run time from tg_isa_level() (cpu.c) and the CPU's features:
 *   AVX-512 level and a CPU with AVX512-VNNI   vpdpbusd on zmm, tiles of 8 rows × 48 columns
 *   AVX2 level and a CPU with AVX-VNNI         vpdpbusd on ymm (VEX), tiles of 6 rows × 16 columns
 *   AVX2 level otherwise (or AVX-512 without VNNI)  the same sums with vpmaddwd: bytes widened to
 *       int16 (b + 128 zero-extended, a sign-extended) and multiplied in pairs into int32, exact
 *       (vpmaddubsw would saturate its int16 pair sums: 2·255·127 > 32767)
 *   portable                                   GCC vector extensions, plain C arithmetic
 * Every sum is exact for k ≤ TG_QGEMM_MAX_K = 65536: |Σ (b + 128)·a| ≤ 65536·255·128 < 2^31.
 *
 * The convolution (NCHW, float32 in and out) quantises its input x into zero-padded byte images,
 * packs the kernel taps into panels straight from them (see struct qconv_plan for the layouts)
 * and multiplies the int8 weights by them, one block of samples at a time, with the rescale fused
 * into the tile's store:
 *     u = clip(rint(x · inv_scale), −127, 127) + 128            (the quantised input, as unsigned)
 *     y[n, o, p] = (Σ_k w[o, k] · cols_n[k, p]) · scale[o] + bias[o]
 * A linear layer is the 1×1 convolution of (N, K, 1, 1); there the samples pack straight into panels.
 */
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define TG_QGEMM_X86 1
#include <immintrin.h>
#else
#define TG_QGEMM_X86 0
#endif

#define TG_QGEMM_MAX_K 65536
/* Threads only above this much work (multiply-adds for qgemm, unfolded column bytes of the whole batch
 * for qconv). Set when threads were created per region; with threads.c's pool (session 25, Zen 3 KVM
 * guest, AVX2 path, 1 vs 2 threads after 100 µs of busy Python, a build that always splits) nothing
 * below them gained: qlinear up to 64×784×256 (2^23.6) 0.97-1.00×, qconv LeNet conv2 at batch 8
 * (2^16.9) 0.77×; only 32→64 3×3 on 16×16 at batch 2 (2^17.2) 1.15×. */
#define QGEMM_PARALLEL_MIN_MACS ((double)(1 << 26))
#define QCONV_PARALLEL_MIN_ELEMS ((int64_t)1 << 18) /* unfolded column bytes of the whole batch */
#define QCONV_BLOCK_BYTES ((int64_t)128 * 1024)     /* rows + panels of one block of samples */
#define ZERO_U8 128                                 /* the unsigned byte that stands for 0 */

/* y = (float)(acc − corr) · scale + bias must round twice, as NumPy does, never as one FMA. */
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

/* What the tiles need: A (m × kp signed bytes), its row corrections, and where results go:
 * int32 C (c, ldc: qgemm) or float y[sample, row, pixel] (scale, bias, plane: qconv2d), column j
 * of a block being global column col_offset + j. */
struct qjob {
    int64_t m, kp;
    const int8_t *a;
    const int32_t *corr;
    int32_t *c;
    int64_t ldc;
    float *y;
    const float *scale, *bias;
    int64_t plane, col_offset;
    const uint16_t *chunk_mask; /* float output: per 16 columns of a sample, the outputs among them */
    const int32_t *chunk_first; /* and the pixel index of the first */
    int64_t ls;                 /* columns per sample; 0: one column per sample (the linear layer) */
};

/* a[0 … 3] as one 32-bit word (vpdpbusd's group of four), whatever p's alignment */
static inline int32_t four_bytes(const int8_t *p)
{
    int32_t word;
    memcpy(&word, p, 4);
    return word;
}

/* ---- the kernel paths ------------------------------------------------------------ */

#if TG_QGEMM_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vnni,avx2,fma")
#define PATH(name) name##_vnni512
#define STORE_COMPRESS512
#define MR 8
#define NP 3
#define VPP 1
typedef __m512i PATH(acc);
typedef __m512i PATH(bvec);
typedef __m512i PATH(aword);
static inline PATH(bvec) PATH(load_b)(const uint8_t *p) { return _mm512_loadu_si512(p); }
static inline PATH(aword) PATH(load_a)(const int8_t *p) { return _mm512_set1_epi32(four_bytes(p)); }
static inline PATH(acc) PATH(dot)(PATH(acc) acc, PATH(bvec) b, PATH(aword) a) { return _mm512_dpbusd_epi32(acc, b, a); }
static inline PATH(acc) PATH(zero)(void) { return _mm512_setzero_si512(); }
static inline void PATH(store)(int32_t *dst, PATH(acc) v) { _mm512_storeu_si512(dst, v); }
#include "qgemm_tile.inc"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define PATH(name) name##_avx2
#define MR 4
#define NP 1
#define VPP 2
typedef __m256i PATH(acc);
typedef struct {
    __m256i even, odd; /* bytes 0, 2 and 1, 3 of each lane's four, zero-extended to int16 */
} PATH(bvec);
typedef struct {
    __m256i even, odd; /* the same bytes of a, sign-extended to int16 */
} PATH(aword);
static inline PATH(bvec) PATH(load_b)(const uint8_t *p)
{
    __m256i u = _mm256_loadu_si256((const __m256i *)p);
    return (PATH(bvec)){_mm256_and_si256(u, _mm256_set1_epi16(0x00FF)), _mm256_srli_epi16(u, 8)};
}
static inline PATH(aword) PATH(load_a)(const int8_t *p)
{
    __m256i s = _mm256_set1_epi32(four_bytes(p));
    return (PATH(aword)){_mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8), _mm256_srai_epi16(s, 8)};
}
/* vpmaddwd: b0·a0 + b2·a2 and b1·a1 + b3·a3 per int32 lane, each |…| ≤ 2·255·128: exact */
static inline PATH(acc) PATH(dot)(PATH(acc) acc, PATH(bvec) b, PATH(aword) a)
{
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(b.even, a.even), _mm256_madd_epi16(b.odd, a.odd)));
}
static inline PATH(acc) PATH(zero)(void) { return _mm256_setzero_si256(); }
static inline void PATH(store)(int32_t *dst, PATH(acc) v) { _mm256_storeu_si256((__m256i *)dst, v); }
#include "qgemm_tile.inc"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,avxvnni")
#define PATH(name) name##_avx_vnni
#define MR 6
#define NP 1
#define VPP 2
typedef __m256i PATH(acc);
typedef __m256i PATH(bvec);
typedef __m256i PATH(aword);
static inline PATH(bvec) PATH(load_b)(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline PATH(aword) PATH(load_a)(const int8_t *p) { return _mm256_set1_epi32(four_bytes(p)); }
static inline PATH(acc) PATH(dot)(PATH(acc) acc, PATH(bvec) b, PATH(aword) a) { return _mm256_dpbusd_avx_epi32(acc, b, a); }
static inline PATH(acc) PATH(zero)(void) { return _mm256_setzero_si256(); }
static inline void PATH(store)(int32_t *dst, PATH(acc) v) { _mm256_storeu_si256((__m256i *)dst, v); }
#include "qgemm_tile.inc"
#pragma GCC pop_options
#endif

#define PATH(name) name##_portable
#define MR 4
#define NP 1
#define VPP 4
typedef int32_t PATH(acc) __attribute__((vector_size(16)));
typedef uint32_t PATH(u32x4) __attribute__((vector_size(16), aligned(1), may_alias));
typedef struct {
    PATH(acc) byte[4]; /* byte t of each lane's four, as int32 */
} PATH(bvec);
typedef struct {
    int32_t byte[4];
} PATH(aword);
static inline PATH(bvec) PATH(load_b)(const uint8_t *p)
{
    PATH(u32x4) u = *(const PATH(u32x4) *)p;
    PATH(bvec) b;
    for (int t = 0; t < 4; t++)
        b.byte[t] = (PATH(acc))((u >> (8 * t)) & 0xFF);
    return b;
}
static inline PATH(aword) PATH(load_a)(const int8_t *p) { return (PATH(aword)){{p[0], p[1], p[2], p[3]}}; }
static inline PATH(acc) PATH(dot)(PATH(acc) acc, PATH(bvec) b, PATH(aword) a)
{
    return acc + b.byte[0] * a.byte[0] + b.byte[1] * a.byte[1] + b.byte[2] * a.byte[2] + b.byte[3] * a.byte[3];
}
static inline PATH(acc) PATH(zero)(void) { return (PATH(acc)){0}; }
static inline void PATH(store)(int32_t *dst, PATH(acc) v) { memcpy(dst, &v, sizeof v); }
#include "qgemm_tile.inc"

static int vnni_allowed = 1; /* tg_qgemm_allow_vnni: tests reach the vpmaddwd path on a VNNI CPU */

void tg_qgemm_allow_vnni(int allow) { vnni_allowed = allow != 0; }

/* The kernel path at the current ISA level, or −1 when TINYGRAD_EDU_ISA holds an unknown name. */
int tg_qgemm_path(void)
{
    int level = tg_isa_level();
    if (level < TG_ISA_PORTABLE)
        return -1;
#if TG_QGEMM_X86
    if (level >= TG_ISA_AVX512 && vnni_allowed && __builtin_cpu_supports("avx512vnni") &&
        __builtin_cpu_supports("avx512bw"))
        return TG_QGEMM_AVX512_VNNI;
    if (level >= TG_ISA_AVX2 && vnni_allowed && __builtin_cpu_supports("avxvnni"))
        return TG_QGEMM_AVX_VNNI;
    if (level >= TG_ISA_AVX2)
        return TG_QGEMM_AVX2;
#endif
    return TG_QGEMM_PORTABLE;
}

static void gemm_panels(int path, const struct qjob *job, const uint8_t *panels, int64_t ncols, int64_t p_begin,
                        int64_t p_end)
{
#if TG_QGEMM_X86
    if (path == TG_QGEMM_AVX512_VNNI) {
        gemm_panels_vnni512(job, panels, ncols, p_begin, p_end);
        return;
    }
    if (path == TG_QGEMM_AVX_VNNI) {
        gemm_panels_avx_vnni(job, panels, ncols, p_begin, p_end);
        return;
    }
    if (path == TG_QGEMM_AVX2) {
        gemm_panels_avx2(job, panels, ncols, p_begin, p_end);
        return;
    }
#endif
    gemm_panels_portable(job, panels, ncols, p_begin, p_end);
}

/* ---- packing: rows of bytes -> panels ---------------------------------------------------- */

/* A (m × k, row stride lda) -> m × kp, zero-padded; corr[i] = 128 · Σ_p a[i, p]. */
static void prepare_a(const int8_t *a, int64_t lda, int64_t m, int64_t k, int64_t kp, int8_t *a_out, int32_t *corr)
{
    for (int64_t i = 0; i < m; i++) {
        int32_t sum = 0;
        for (int64_t p = 0; p < k; p++)
            sum += a[i * lda + p];
        memcpy(a_out + i * kp, a + i * lda, (size_t)k);
        memset(a_out + i * kp + k, 0, (size_t)(kp - k));
        corr[i] = 128 * sum;
    }
}

/* Where the bytes of B are: B[p, col] = base[(col / ls)·sample_stride + offset(p) + col % ls], with
 * offset(p) = tap_offset[p], or p·ld without a table. A matrix is one "sample" (ls = its width);
 * the convolution's columns are samples of ls columns each (im2col rows, or the padded images
 * themselves, read at the offset of each kernel tap). */
struct qsource {
    const uint8_t *base;
    int64_t sample_stride, ls, ld, k, ncols;
    const int64_t *tap_offset;
    uint8_t flip; /* XORed into every byte: 0x80 turns a signed b into the unsigned b + 128 */
};

/* B[·, col] starts at source_columns(src, col) + offset(p) (col: the first of 16 in one sample). */
static const uint8_t *source_columns(const struct qsource *src, int64_t col)
{
    return src->base + (col / src->ls) * src->sample_stride + col % src->ls;
}

static int64_t source_offset(const struct qsource *src, int64_t p) { return src->tap_offset ? src->tap_offset[p] : p * src->ld; }

/* Panels [q_begin, q_end):  panel[q][g][j][t] = B[4g + t, 16q + j] ^ flip   (rows ≥ k and columns
 * ≥ ncols: ZERO_U8), one byte at a time. */
static void pack_scalar(const struct qsource *src, int64_t kp, int64_t q_begin, int64_t q_end, uint8_t *panels)
{
    for (int64_t q = q_begin; q < q_end; q++) {
        uint8_t *dst = panels + q * kp * 16;
        for (int64_t p = 0; p < kp; p++)
            for (int64_t j = 0; j < 16; j++) {
                int64_t col = q * 16 + j;
                dst[(p / 4) * 64 + j * 4 + p % 4] =
                    p < src->k && col < src->ncols ? source_columns(src, col)[source_offset(src, p)] ^ src->flip
                                                   : ZERO_U8;
            }
    }
}

#if TG_QGEMM_X86
/* pack_scalar for whole panels with SSE2 (every x86-64 has it): four 16-byte rows interleaved by
 * bytes, then by 16-bit pairs, give the 64 bytes of one group of four k. A panel never straddles
 * two samples (ls is a multiple of 16 wherever ncols > ls). */
static void pack_sse2(const struct qsource *src, int64_t kp, int64_t q_begin, int64_t q_end, uint8_t *panels)
{
    const __m128i mask = _mm_set1_epi8((char)src->flip);
    const uint8_t zero_row[16] = {ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8,
                                  ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8, ZERO_U8};
    int64_t whole = src->ncols / 16;
    for (int64_t q = q_begin; q < q_end && q < whole; q++) {
        uint8_t *dst = panels + q * kp * 16;
        const uint8_t *columns = source_columns(src, q * 16);
        for (int64_t p = 0; p < kp; p += 4) {
            __m128i r[4];
            for (int t = 0; t < 4; t++) {
                __m128i row = _mm_loadu_si128(
                    (const __m128i *)(p + t < src->k ? columns + source_offset(src, p + t) : zero_row));
                r[t] = p + t < src->k ? _mm_xor_si128(row, mask) : row;
            }
            __m128i lo01 = _mm_unpacklo_epi8(r[0], r[1]), hi01 = _mm_unpackhi_epi8(r[0], r[1]);
            __m128i lo23 = _mm_unpacklo_epi8(r[2], r[3]), hi23 = _mm_unpackhi_epi8(r[2], r[3]);
            _mm_storeu_si128((__m128i *)(dst + p * 16), _mm_unpacklo_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(dst + p * 16 + 16), _mm_unpackhi_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(dst + p * 16 + 32), _mm_unpacklo_epi16(hi01, hi23));
            _mm_storeu_si128((__m128i *)(dst + p * 16 + 48), _mm_unpackhi_epi16(hi01, hi23));
        }
    }
    if (q_end > whole) /* the partial last panel */
        pack_scalar(src, kp, q_begin > whole ? q_begin : whole, q_end, panels);
}
#endif

static void pack(int path, const struct qsource *src, int64_t kp, int64_t q_begin, int64_t q_end, uint8_t *panels)
{
#if TG_QGEMM_X86
    if (path != TG_QGEMM_PORTABLE) {
        pack_sse2(src, kp, q_begin, q_end, panels);
        return;
    }
#endif
    pack_scalar(src, kp, q_begin, q_end, panels);
}

/* Panels from samples stored one after another (count samples of `stride` bytes): the linear
 * layer's B = xᵀ, so column j's bytes 4g … 4g+3 are one 32-bit word of sample j. Bytes k … kp−1
 * of a sample may be anything (A is zero there), but must be readable. */
static void pack_samples(const uint8_t *samples, int64_t stride, int64_t count, int64_t kp, uint8_t *panels)
{
    for (int64_t q = 0; q < (count + 15) / 16; q++) {
        uint8_t *dst = panels + q * kp * 16;
        for (int64_t j = 0; j < 16; j++) {
            const uint8_t *src = samples + (q * 16 + j) * stride;
            if (q * 16 + j < count)
                for (int64_t p = 0; p < kp; p += 4)
                    memcpy(dst + p * 16 + j * 4, src + p, 4);
            else
                for (int64_t p = 0; p < kp; p += 4)
                    memset(dst + p * 16 + j * 4, ZERO_U8, 4);
        }
    }
}

/* 64-byte aligned start inside a workspace (the workspace sizes include 64 bytes of room). */
static uint8_t *align64(uint8_t *p) { return p + (64 - (uintptr_t)p % 64) % 64; }

/* ---- tg_qgemm_s8s8s32 -------------------------------------------------------------------- */

/* Workspace layout (bytes, 64-aligned pieces): A padded (m × kp), corr (m int32), panels (⌈n/16⌉ × 16 × kp). */
static int64_t qgemm_a_bytes(int64_t m, int64_t kp) { return round_up(m * kp, 64) + round_up(4 * m, 64); }

int64_t tg_qgemm_workspace(int64_t m, int64_t n, int64_t k)
{
    if (m < 0 || n < 0 || k < 0)
        return -1;
    int64_t kp = round_up(k, 4);
    return 64 + qgemm_a_bytes(m, kp) + round_up(n, 16) * kp;
}

struct qgemm_run {
    int path;
    struct qjob job;
    struct qsource b;
    uint8_t *panels;
};

/* Part `part` of `parts`: its share of the panels, packed, then multiplied. */
static void qgemm_part(void *ctx, int part, int parts)
{
    const struct qgemm_run *run = ctx;
    int64_t panels = (run->b.ncols + 15) / 16;
    int64_t q0 = panels * part / parts, q1 = panels * (part + 1) / parts;
    if (q0 >= q1)
        return;
    pack(run->path, &run->b, run->job.kp, q0, q1, run->panels);
    gemm_panels(run->path, &run->job, run->panels, run->b.ncols, q0, q1);
}

int tg_qgemm_s8s8s32(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda, const int8_t *b, int64_t ldb,
                     int32_t *c, int64_t ldc, uint8_t *work, int64_t work_len)
{
    int path = tg_qgemm_path();
    if (path < 0)
        return TG_QGEMM_BAD_ISA;
    if (m < 0 || n < 0 || k < 0 || k > TG_QGEMM_MAX_K || lda < k || ldb < n || ldc < n)
        return TG_QGEMM_BAD_SHAPE;
    if (work_len < tg_qgemm_workspace(m, n, k))
        return TG_QGEMM_SMALL_WORKSPACE;
    if (m == 0 || n == 0)
        return 0;
    int64_t kp = round_up(k, 4);
    uint8_t *base = align64(work);
    int8_t *a_padded = (int8_t *)base;
    int32_t *corr = (int32_t *)(base + round_up(m * kp, 64));
    prepare_a(a, lda, m, k, kp, a_padded, corr);
    struct qgemm_run run = {path,
                            {m, kp, a_padded, corr, c, ldc, NULL, NULL, NULL, 0, 0, NULL, NULL, 0},
                            {(const uint8_t *)b, 0, n, ldb, k, n, NULL, 0x80},
                            base + qgemm_a_bytes(m, kp)};
    int parts = tg_get_num_threads();
    if ((double)m * n * k < QGEMM_PARALLEL_MIN_MACS)
        parts = 1;
    if (parts > 1)
        tg_parallel_run(parts, qgemm_part, &run);
    else
        qgemm_part(&run, 0, 1);
    return 0;
}

/* ---- tg_qconv2d_f32 ---------------------------------------------------------------------- */

struct qgeom {
    int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

/* Fill g (oh = ⌊(h + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1, likewise ow); nonzero when illegal. */
static int qgeom_init(struct qgeom *g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                      int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw)
{
    if (n < 0 || c < 1 || h < 1 || w < 1 || o < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 ||
        dh < 1 || dw < 1 || c * kh * kw > TG_QGEMM_MAX_K)
        return 1;
    int64_t span_h = h + 2 * ph - dh * (kh - 1) - 1, span_w = w + 2 * pw - dw * (kw - 1) - 1;
    if (span_h < 0 || span_w < 0)
        return 1;
    *g = (struct qgeom){n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, span_h / sh + 1, span_w / sw + 1};
    return 0;
}

/* How a convolution is laid out. Three modes:
 *   grid   (stride 1): the columns of a sample are the positions t < oh·wp of its padded image
 *          (wp = w + 2pw wide), so tap (c, i, j) reads the image itself at offset
 *          c·hp·wp + i·dh·wp + j·dw: no im2col at all. Positions with t mod wp ≥ ow are computed
 *          and dropped (wp/ow more work, far cheaper than unfolding).
 *   im2col (other strides, or when over half the grid would be dropped, e.g. 2×2 images padded
 *          to 4×4): the taps are unfolded into rows first, ow columns per output row.
 *   linear (1×1 kernel on 1×1 inputs): each sample is one column, packed straight from its bytes.
 * A sample owns ls columns (its positions rounded up to 16, so no panel straddles two samples);
 * chunk_mask / chunk_first say, per 16 columns of a sample, which are outputs and the first one's
 * pixel index. */
struct qconv_plan {
    int mode;
    int64_t k, kp, plane, grid_w, ls, chunks, samples_per_block, ld;
    int64_t image_plane, image_sample, quant_bytes, shared_bytes, part_bytes;
};
enum { MODE_GRID = 0, MODE_IM2COL = 1, MODE_LINEAR = 2 };

static void qconv_plan_init(struct qconv_plan *pl, const struct qgeom *g)
{
    int64_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    pl->k = g->c * g->kh * g->kw;
    pl->kp = round_up(pl->k, 4);
    pl->plane = g->oh * g->ow;
    /* the grid computes ls_grid columns per sample for oh·ow outputs: measured worth it from 1/2 useful */
    int64_t ls_grid = round_up(g->oh * wp, 16);
    pl->mode = g->kh == 1 && g->kw == 1 && g->h == 1 && g->w == 1 && g->ph == 0 && g->pw == 0 ? MODE_LINEAR
               : g->sh == 1 && g->sw == 1 && 2 * pl->plane >= 1 * ls_grid                      ? MODE_GRID
                                                                                              : MODE_IM2COL;
    pl->grid_w = pl->mode == MODE_GRID ? wp : g->ow;
    pl->ls = pl->mode == MODE_LINEAR ? 1 : round_up(g->oh * pl->grid_w, 16);
    pl->chunks = pl->ls / 16;
    /* one block: its panels (and im2col rows) ≈ QCONV_BLOCK_BYTES */
    int64_t per_sample = (pl->mode == MODE_IM2COL ? 2 : 1) * pl->kp * pl->ls;
    pl->samples_per_block = per_sample >= QCONV_BLOCK_BYTES ? 1 : QCONV_BLOCK_BYTES / per_sample;
    if (pl->samples_per_block > g->n)
        pl->samples_per_block = g->n > 0 ? g->n : 1;
    pl->ld = round_up(pl->samples_per_block * pl->ls, 16);
    /* a padded image per sample, + slack: grid reads of dropped columns run up to wp + 16 bytes
     * past the last plane, 16-byte row copies write up to 16 past it */
    pl->image_plane = hp * wp;
    pl->image_sample = round_up(g->c * pl->image_plane + wp + 64, 64);
    pl->quant_bytes = pl->mode == MODE_LINEAR || (g->ph == 0 && g->pw == 0) ? 0 : round_up(g->c * g->h * g->w + 64, 64);
    pl->shared_bytes = round_up(g->o * pl->kp, 64) + round_up(4 * g->o, 64) + round_up(8 * pl->kp, 64) +
                       round_up(6 * pl->chunks, 64) + g->n * pl->image_sample;
    pl->part_bytes = pl->quant_bytes + (pl->mode == MODE_IM2COL ? round_up(pl->k * pl->ld + 64, 64) : 0) +
                     pl->ld * pl->kp;
}

int64_t tg_qconv2d_workspace(int threads, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                             int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw)
{
    struct qgeom g;
    struct qconv_plan pl;
    if (qgeom_init(&g, n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw) != 0)
        return -1;
    qconv_plan_init(&pl, &g);
    return 64 + pl.shared_bytes + (threads < 1 ? 1 : threads) * pl.part_bytes;
}

/* u = clip(rint(x · inv_scale), −127, 127) + 128 for len values. Clipping before rounding gives
 * the same bytes (±127 are integers), and adding then subtracting 1.5·2^23 rounds a float of
 * magnitude < 2^22 to the nearest integer, ties to even, as rint and NumPy do; written as plain
 * C, the loop vectorises for each path's target. */
#define QUANTIZE_BODY                                                                                                \
    for (int64_t i = 0; i < len; i++) {                                                                             \
        float v = x[i] * inv_scale;                                                                                 \
        v = v < -127.0f ? -127.0f : v;                                                                              \
        v = v > 127.0f ? 127.0f : v;                                                                                \
        v = (v + 12582912.0f) - 12582912.0f;                                                                        \
        u[i] = (uint8_t)((int32_t)v + ZERO_U8);                                                                     \
    }
#if TG_QGEMM_X86
__attribute__((target("avx512f,avx512bw"))) static void quantize_avx512(const float *x, int64_t len, float inv_scale,
                                                                         uint8_t *u)
{
    QUANTIZE_BODY
}
__attribute__((target("avx2"))) static void quantize_avx2(const float *x, int64_t len, float inv_scale, uint8_t *u)
{
    QUANTIZE_BODY
}
#endif
static void quantize_portable(const float *x, int64_t len, float inv_scale, uint8_t *u) { QUANTIZE_BODY }
#undef QUANTIZE_BODY

static void quantize(int path, const float *x, int64_t len, float inv_scale, uint8_t *u)
{
#if TG_QGEMM_X86
    if (path == TG_QGEMM_AVX512_VNNI) {
        quantize_avx512(x, len, inv_scale, u);
        return;
    }
    if (path == TG_QGEMM_AVX2 || path == TG_QGEMM_AVX_VNNI) {
        quantize_avx2(x, len, inv_scale, u);
        return;
    }
#endif
    quantize_portable(x, len, inv_scale, u);
}

struct qconv_run {
    int path;
    struct qgeom g;
    struct qconv_plan pl;
    struct qjob job;
    const float *x;
    float inv_scale;
    const int64_t *tap_offset; /* grid: tap (c, i, j) -> its offset in a padded image */
    uint8_t *images, *part_work;
};

/* 16-byte copies of len bytes: may write up to 15 bytes past dst + len and read past src + len. */
static void copy16(uint8_t *dst, const uint8_t *src, int64_t len)
{
    for (int64_t q = 0; q < len; q += 16)
        memcpy(dst + q, src + q, 16);
}

/* Quantise samples [s0, s1) into images of c planes (h + 2ph) × (w + 2pw), padding ZERO_U8: each
 * sample in one vectorised pass, then its rows copied into place. Rows are written in order and
 * each row's pads after its copy, so the over-writes of copy16 are always overwritten. */
static void quantize_images(const struct qconv_run *run, uint8_t *quantized, int64_t s0, int64_t s1)
{
    const struct qgeom *g = &run->g;
    int64_t wp = g->w + 2 * g->pw, plane = g->h * g->w;
    for (int64_t s = s0; s < s1; s++) {
        uint8_t *image = run->images + s * run->pl.image_sample;
        const float *x = run->x + s * g->c * plane;
        if (!run->pl.quant_bytes) { /* no padding: the quantised sample is the image */
            quantize(run->path, x, g->c * plane, run->inv_scale, image);
            continue;
        }
        quantize(run->path, x, g->c * plane, run->inv_scale, quantized);
        for (int64_t ci = 0; ci < g->c; ci++) {
            uint8_t *dst = image + ci * run->pl.image_plane;
            memset(dst, ZERO_U8, (size_t)(g->ph * wp));
            for (int64_t r = 0; r < g->h; r++) {
                uint8_t *row = dst + (g->ph + r) * wp;
                memset(row, ZERO_U8, (size_t)g->pw);
                copy16(row + g->pw, quantized + ci * plane + r * g->w, g->w);
                memset(row + g->pw + g->w, ZERO_U8, (size_t)g->pw);
            }
            memset(dst + (g->ph + g->h) * wp, ZERO_U8, (size_t)(g->ph * wp));
        }
    }
}

/* rows[(c, i, j), s·ls + oh·ow + q] = image[n0 + s, c, oh·sh + i·dh, q·sw + j·dw] for `count`
 * samples (k rows of ld bytes; the images are padded, so no bounds checks). */
static void im2col_bytes(const struct qconv_run *run, int64_t n0, int64_t count, uint8_t *rows)
{
    const struct qgeom *g = &run->g;
    int64_t wp = g->w + 2 * g->pw, ld = run->pl.ld, ls = run->pl.ls;
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                uint8_t *row = rows + ((ci * g->kh + i) * g->kw + j) * ld;
                for (int64_t s = 0; s < count; s++) {
                    const uint8_t *image = run->images + (n0 + s) * run->pl.image_sample + ci * run->pl.image_plane;
                    for (int64_t r = 0; r < g->oh; r++) {
                        const uint8_t *src = image + (r * g->sh + i * g->dh) * wp + j * g->dw;
                        uint8_t *dst = row + s * ls + r * g->ow;
                        if (g->sw == 1)
                            copy16(dst, src, g->ow);
                        else
                            for (int64_t q = 0; q < g->ow; q++)
                                dst[q] = src[q * g->sw];
                    }
                }
            }
}

/* Part `part` of `parts`: whole blocks of samples, quantised, (unfolded,) packed and multiplied. */
static void qconv_part(void *ctx, int part, int parts)
{
    const struct qconv_run *run = ctx;
    const struct qconv_plan *pl = &run->pl;
    int64_t per_block = pl->samples_per_block, blocks = (run->g.n + per_block - 1) / per_block;
    int64_t begin = blocks * part / parts * per_block, end = blocks * (part + 1) / parts * per_block;
    end = end < run->g.n ? end : run->g.n;
    if (begin >= end)
        return;
    uint8_t *quantized = run->part_work + part * pl->part_bytes, *rows = quantized + pl->quant_bytes;
    uint8_t *panels = rows + (pl->mode == MODE_IM2COL ? round_up(pl->k * pl->ld + 64, 64) : 0);
    quantize_images(run, quantized, begin, end);
    struct qjob job = run->job;
    for (int64_t n0 = begin; n0 < end; n0 += per_block) {
        int64_t count = end - n0 < per_block ? end - n0 : per_block, ncols = count * pl->ls;
        const uint8_t *images = run->images + n0 * pl->image_sample;
        if (pl->mode == MODE_LINEAR) {
            pack_samples(images, pl->image_sample, count, pl->kp, panels);
        } else {
            struct qsource src = {images, pl->image_sample, pl->ls, 0, pl->k, ncols, run->tap_offset, 0};
            if (pl->mode == MODE_IM2COL) {
                im2col_bytes(run, n0, count, rows);
                src = (struct qsource){rows, pl->ls, pl->ls, pl->ld, pl->k, ncols, NULL, 0};
            }
            pack(run->path, &src, pl->kp, 0, (ncols + 15) / 16, panels);
        }
        job.col_offset = n0 * pl->ls;
        gemm_panels(run->path, &job, panels, ncols, 0, (ncols + 15) / 16);
    }
}

/* Per 16 columns of a sample: which are outputs (t < oh·grid_w and t mod grid_w < ow) and the
 * pixel index oh·ow + ow of the first. */
static void chunk_tables(const struct qgeom *g, const struct qconv_plan *pl, uint16_t *mask, int32_t *first)
{
    for (int64_t chunk = 0; chunk < pl->chunks; chunk++) {
        mask[chunk] = 0;
        first[chunk] = 0;
        for (int l = 15; l >= 0; l--) {
            int64_t t = chunk * 16 + l, row = t / pl->grid_w, col = t % pl->grid_w;
            if (row < g->oh && col < g->ow) {
                mask[chunk] |= (uint16_t)(1u << l);
                first[chunk] = (int32_t)(row * g->ow + col);
            }
        }
    }
}

int tg_qconv2d_f32(const float *x, float inv_scale, const int8_t *weight, const float *scale, const float *bias,
                   float *y, uint8_t *work, int64_t work_len, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                   int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw)
{
    struct qconv_run run;
    if (qgeom_init(&run.g, n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw) != 0)
        return TG_QGEMM_BAD_SHAPE;
    run.path = tg_qgemm_path();
    if (run.path < 0)
        return TG_QGEMM_BAD_ISA;
    const struct qconv_plan *pl = &run.pl;
    qconv_plan_init(&run.pl, &run.g);
    int64_t slices = (work_len - 64 - pl->shared_bytes) / pl->part_bytes;
    if (work_len < 64 + pl->shared_bytes || slices < 1)
        return TG_QGEMM_SMALL_WORKSPACE;
    if (n == 0)
        return 0;
    /* the shared pieces: weights, corrections, tap offsets, chunk tables, images */
    uint8_t *at = align64(work);
    int8_t *w_padded = (int8_t *)at;
    int32_t *corr = (int32_t *)(at += round_up(o * pl->kp, 64));
    int64_t *tap_offset = (int64_t *)(at += round_up(4 * o, 64));
    uint16_t *chunk_mask = (uint16_t *)(at += round_up(8 * pl->kp, 64));
    int32_t *chunk_first = (int32_t *)(chunk_mask + pl->chunks);
    run.images = at += round_up(6 * pl->chunks, 64);
    run.part_work = at + n * pl->image_sample;
    prepare_a(weight, pl->k, o, pl->k, pl->kp, w_padded, corr);
    for (int64_t ci = 0, p = 0; ci < c; ci++)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                tap_offset[p++] = ci * pl->image_plane + i * dh * (w + 2 * pw) + j * dw;
    chunk_tables(&run.g, pl, chunk_mask, chunk_first);
    for (int64_t s = 0; s < n; s++) /* the slack after each image: read (dropped columns), so defined */
        memset(run.images + s * pl->image_sample + c * pl->image_plane, ZERO_U8,
               (size_t)(pl->image_sample - c * pl->image_plane));
    run.job = (struct qjob){o,           pl->kp, w_padded, corr, NULL, 0, y, scale, bias, pl->plane, 0,
                            chunk_mask, chunk_first, pl->mode == MODE_LINEAR ? 0 : pl->ls};
    run.x = x;
    run.inv_scale = inv_scale;
    run.tap_offset = tap_offset;
    int64_t blocks = (n + pl->samples_per_block - 1) / pl->samples_per_block, parts = tg_get_num_threads();
    parts = parts < slices ? parts : slices;
    parts = parts < blocks ? parts : blocks;
    if (n * pl->k * pl->plane < QCONV_PARALLEL_MIN_ELEMS || parts < 1)
        parts = 1;
    if (parts > 1)
        tg_parallel_run((int)parts, qconv_part, &run);
    else
        qconv_part(&run, 0, 1);
    return 0;
}

#pragma GCC pop_options
