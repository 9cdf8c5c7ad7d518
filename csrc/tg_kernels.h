/* tg_kernels.h: the whole C API of tinygrad_edu's kernels, one prototype per kernel.
 *
 * This header is also the cffi `cdef` (csrc/_build.py strips the preprocessor lines),
 * so it holds only plain C declarations. Python reaches it through
 * tinygrad_edu/backend/c.py and nowhere else.
 */

/* Thread count used by every parallel kernel (1 = run on the calling thread). */
void tg_set_num_threads(int n);
int tg_get_num_threads(void);

#include <stdint.h>

/* How long (µs) an idle worker of the thread pool spins after a region before it blocks (default 2000,
 * clamped to 0 … TG_POOL_MAX_SPIN_US; 0: block at once). A window already begun keeps its length. */
enum { TG_POOL_MAX_SPIN_US = 1000000 };
void tg_set_pool_spin_us(int64_t us);
int64_t tg_get_pool_spin_us(void);

/* For the tests of threads.c: one parallel region of `parts` parts run as the kernels run theirs;
 * part i does `work` iterations of a dependent floating-point loop, then adds 1 to runs[i]. */
void tg_parallel_probe(int parts, int32_t *runs, int64_t work);

/* ==== instruction set, threads and GEMM (cpu.c, threads.c, gemm.c) ======================= */

/* Instruction-set levels. tg_isa_level: the best level the CPU supports, capped by the
 * environment variable TINYGRAD_EDU_ISA=avx512|avx2|portable (read once) or by
 * tg_set_isa_level; TG_ISA_INVALID when the variable holds anything else. */
enum { TG_ISA_INVALID = -1, TG_ISA_PORTABLE = 0, TG_ISA_AVX2 = 1, TG_ISA_AVX512 = 2 };
int tg_isa_level(void);
/* Cap the level at `level` (never above what the CPU has); returns the level now in use. */
int tg_set_isa_level(int level);

/* Status codes of tg_gemm_*: 0 success. */
enum { TG_GEMM_BAD_SHAPE = 1, TG_GEMM_SMALL_WORKSPACE = 2, TG_GEMM_BAD_ISA = 3, TG_GEMM_BAD_PACKING = 4 };

/* Elements of workspace tg_gemm_* needs with `threads` threads (any shape, any ISA level). */
int64_t tg_gemm_workspace_f32(int threads);
int64_t tg_gemm_workspace_f64(int threads);

/* For each t < batch, with X_t = x + t·sbx (sbx = 0 broadcasts one matrix over the batch):
 *   C_t[i, j] = Σ_{p<k} A_t[i, p] · B_t[p, j]  +  β · C_t[i, j]        (i < m, j < n)
 * where A_t[i, p] = a[t·sba + i·rsa + p·csa], B_t[p, j] = b[t·sbb + p·rsb + j·csb] and
 * C_t[i, j] = c[t·sbc + i·rsc + j·csc]: all strides in elements, so op(A) = Aᵀ is swapped
 * strides, not a copy. β = 0 overwrites C without reading it. work: at least
 * tg_gemm_workspace_*(tg_get_num_threads()) elements. Returns 0 or a TG_GEMM_* status. */
int tg_gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, int64_t sba, int64_t rsa,
                int64_t csa, const float *b, int64_t sbb, int64_t rsb, int64_t csb, float beta, float *c, int64_t sbc,
                int64_t rsc, int64_t csc, float *work, int64_t work_len);
int tg_gemm_f64(int64_t batch, int64_t m, int64_t n, int64_t k, const double *a, int64_t sba, int64_t rsa,
                int64_t csa, const double *b, int64_t sbb, int64_t rsb, int64_t csb, double beta, double *c,
                int64_t sbc, int64_t rsc, int64_t csc, double *work, int64_t work_len);

/* The one-matrix case of tg_gemm_* with fewer arguments (each costs Python time per call):
 * c (m×n, row-major, contiguous) = op(A)·op(B), β = 0. Same strides, workspace and status.
 * The buffers are void pointers, of the suffix's type (float / double): Python passes each
 * NumPy array as ffi.from_buffer(array), a char[] view, cheaper than a typed view (issue 3). */
int tg_matmul_f32(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *b,
                  int64_t rsb, int64_t csb, void *c, void *work, int64_t work_len);
int tg_matmul_f64(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *b,
                  int64_t rsb, int64_t csb, void *c, void *work, int64_t work_len);

/* A B packed once for many products (a recurrent layer's W_hh, the same at every time step):
 *   tg_pack_b_*:        dst = B (k×n, B[p, j] = b[p·rsb + j·csb]) in strips of `width` columns holding all k
 *                       rows, p-major (dst[s·k + p·width + j], s = the strip's first column; zero past n):
 *                       k·⌈n / width⌉·width elements. width must be tg_packed_b_width_*(), the current ISA
 *                       level's (0 if the level is invalid).
 *   tg_matmul_packed_*: c (m×n, row-major) = op(A)·B, A[i, p] = a[i·rsa + p·csa], bp packed by tg_pack_b_*
 *                       with this width at this ISA level (else TG_GEMM_BAD_PACKING); no workspace; threads
 *                       (rows of A split) as tg_gemm_*.
 * Buffers are void pointers of the suffix's type, as in tg_matmul_*. Return 0 or a TG_GEMM_* status. */
int64_t tg_packed_b_width_f32(void);
int64_t tg_packed_b_width_f64(void);
int tg_pack_b_f32(int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, int64_t width, void *dst);
int tg_pack_b_f64(int64_t k, int64_t n, const void *b, int64_t rsb, int64_t csb, int64_t width, void *dst);
int tg_matmul_packed_f32(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *bp,
                         int64_t width, void *c);
int tg_matmul_packed_f64(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *bp,
                         int64_t width, void *c);

/* Σ of a fixed FMA loop (12 independent vector chains, `iterations` rounds) at the current
 * ISA level: times it to measure the machine's FMA peak (benchmarks/bench_matmul.py).
 * Returns the number of floating-point operations done. */
double tg_peak_fma_f32(int64_t iterations);
double tg_peak_fma_f64(int64_t iterations);

/* AMX (cpu.c): 1 when the bfloat16 tile products can run (level AVX-512, CPU and OS allow the
 * tiles, not switched off by tg_allow_amx(0)), else 0. */
int tg_amx_usable(void);
void tg_allow_amx(int allow);
/* float32 products with bfloat16 products on AMX (gemm_amx.c), torch.set_float32_matmul_precision:
 * bf16x3 ("high") C ≈ A_hi·B_hi + A_hi·B_lo + A_lo·B_hi with a = a_hi + a_lo, |a − a_hi − a_lo| ≤
 * 2^-16|a|; bf16x1 ("medium") C ≈ A_hi·B_hi. Same arguments and statuses as tg_gemm_f32 /
 * tg_matmul_f32; the workspace is tg_gemm_bf16_workspace_f32(threads) elements. Where AMX is not
 * usable or does not pay (small products, β ≠ 0, inf/NaN inputs, ...) they run tg_gemm_f32. */
int64_t tg_gemm_bf16_workspace_f32(int threads);
int tg_gemm_bf16x3_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, int64_t sba, int64_t rsa,
                       int64_t csa, const float *b, int64_t sbb, int64_t rsb, int64_t csb, float beta, float *c,
                       int64_t sbc, int64_t rsc, int64_t csc, float *work, int64_t work_len);
int tg_gemm_bf16x1_f32(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, int64_t sba, int64_t rsa,
                       int64_t csa, const float *b, int64_t sbb, int64_t rsb, int64_t csb, float beta, float *c,
                       int64_t sbc, int64_t rsc, int64_t csc, float *work, int64_t work_len);
int tg_matmul_bf16x3_f32(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *b,
                         int64_t rsb, int64_t csb, void *c, void *work, int64_t work_len);
int tg_matmul_bf16x1_f32(int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa, int64_t csa, const void *b,
                         int64_t rsb, int64_t csb, void *c, void *work, int64_t work_len);
/* float64 products emulated with int8 AMX tile products (Ozaki scheme II, gemm_ozaki.c),
 * backend.set_float64_matmul_emulation. The plan holds the scheme's constants, computed exactly in
 * Python (backend/c.py): `moduli` pairwise coprime moduli ≤ 256 (as doubles), M = Π modulus,
 * the CRT weights W_l = w1[l] + w2[l] (w1 exact multiples of 2^s), M = m1 + m2, inv_m ≈ 1/M, and
 * γ: every row of A and column of B is scaled to a 2-norm ≤ 2^γ (2^(2γ+1) < M, γ ≤ 50).
 * tg_gemm_ozaki_f64 takes tg_gemm_f64's arguments (work in bytes: tg_ozaki_workspace) and returns
 * 0, a TG_GEMM_* status, or TG_OZAKI_NOT_RUN when it did not compute C (no AMX-INT8, ISA level
 * below AVX-512, k > TG_OZAKI_MAX_K or 0, β ≠ 0, csc ≠ 1, an inf or NaN, a row or column whose
 * largest magnitude is outside 2^±900): the caller then runs tg_gemm_f64. */
enum { TG_OZAKI_MAX_MODULI = 16, TG_OZAKI_MAX_K = 65536, TG_OZAKI_NOT_RUN = 4 };
struct tg_ozaki_plan {
    int moduli, gamma;
    double modulus[16], w1[16], w2[16];
    double m1, m2, inv_m;
};
int64_t tg_ozaki_workspace(int moduli, int64_t m, int64_t n, int64_t k, int threads);
int tg_gemm_ozaki_f64(const struct tg_ozaki_plan *plan, int64_t batch, int64_t m, int64_t n, int64_t k,
                      const double *a, int64_t sba, int64_t rsa, int64_t csa, const double *b, int64_t sbb,
                      int64_t rsb, int64_t csb, double beta, double *c, int64_t sbc, int64_t rsc, int64_t csc,
                      void *work, int64_t work_len);
/* ==== end of instruction set, threads and GEMM ============================================ */

/* ==== convolution and pooling (conv.c, pool.c) =========================================
 * NCHW, row-major, contiguous; the caller allocates every output. Each kernel returns 0,
 * or 1 (illegal sizes, e.g. a kernel bigger than the padded input, or an output size oh, ow
 * that is not the one below), 2 (conv: workspace too small; max-pool grad: an index outside
 * its plane), 3 (conv: TINYGRAD_EDU_ISA holds an unknown name; the conv kernels run at
 * tg_isa_level()).
 *
 * Both choices below save Python time on every call (issue 3: at most 1 µs per call):
 * - The sizes come as one struct, passed by pointer: Python builds it once per call signature
 *   (backend/c.py keeps it in a cached "plan") instead of converting 13 integers on every call.
 * - Buffers are void pointers: Python passes each NumPy array as ffi.from_buffer(array), a
 *   char[] view, which is cheaper than a typed float[]/double[] view. The element type is the
 *   suffix (_f32: float, _f64: double; indices: int64_t); backend/c.py checked the dtypes.
 * Output size: oh = ⌊(h + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1 (same for ow). The caller's oh, ow
 * are checked against it, so C never writes past an output the caller sized differently.
 */

/* x (n, c, h, w) ⋆ weight (o, c/groups, kh, kw) -> y (n, o, oh, ow); stride (sh, sw), zero padding
 * (ph, pw), dilation (dh, dw), `groups` channel groups (c and o divisible by it; 1 = an ordinary
 * convolution, c = o = groups: depthwise): output channels [k·o/G, (k+1)·o/G) see input channels
 * [k·c/G, (k+1)·c/G) only. groups comes last, so a struct made from the 15 other sizes has
 * groups = 0, which every kernel rejects (status 1). */
struct tg_conv2d_geometry {
    int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, groups;
};

/* Switch points: a group's product goes through the main GEMM kernel instead of the conv's own
 * register tiles when K = (c/G)·kh·kw and o/G both reach these (measured: csrc/conv.c). Exposed
 * so that tests pick shapes on both sides. */
enum {
    TG_CONV_GEMM_MIN_K_FORWARD = 256, TG_CONV_GEMM_MIN_O_FORWARD = 64,
    TG_CONV_GEMM_MIN_K_GRAD_INPUT = 512, TG_CONV_GEMM_MIN_O_GRAD_INPUT = 128,
    TG_CONV_GEMM_MIN_K_GRAD_WEIGHT = 128, TG_CONV_GEMM_MIN_O_GRAD_WEIGHT = 32
};

/* Elements of workspace the three conv kernels need for this geometry with `threads` threads
 * (−1: illegal sizes). The kernels use tg_get_num_threads() threads, fewer if the workspace
 * passed holds fewer per-thread slices, and 1 on small problems. */
int64_t tg_conv2d_workspace_f32(int threads, const struct tg_conv2d_geometry *g);
int64_t tg_conv2d_workspace_f64(int threads, const struct tg_conv2d_geometry *g);

/* In the formulas below, G = groups, c' runs over the c/G input channels of o's group
 * k = o / (o_total/G), and channel c' of that group is input channel k·c/G + c'.
 * y[n, o, oh, ow] = Σ_{c',i,j} weight[o, c', i, j] · x_padded[n, k·c/G + c', oh·sh + i·dh, ow·sw + j·dw] */
int tg_conv2d_f32(const struct tg_conv2d_geometry *g, const void *x, const void *weight, void *y, void *work,
                  int64_t work_len);
int tg_conv2d_f64(const struct tg_conv2d_geometry *g, const void *x, const void *weight, void *y, void *work,
                  int64_t work_len);

/* gx = ∂L/∂x = col2im(W_kᵀ · gy_k) per group k: gx[n, c, p] = Σ over (o in c's group, i, j, oh, ow)
 * reading p of weight · gy */
int tg_conv2d_grad_input_f32(const struct tg_conv2d_geometry *g, const void *gy, const void *weight, void *gx,
                             void *work, int64_t work_len);
int tg_conv2d_grad_input_f64(const struct tg_conv2d_geometry *g, const void *gy, const void *weight, void *gx,
                             void *work, int64_t work_len);

/* gw[o, c', i, j] = ∂L/∂w = Σ_{n,oh,ow} gy[n, o, oh, ow] · x_padded[n, k·c/G + c', oh·sh + i·dh, ow·sw + j·dw] */
int tg_conv2d_grad_weight_f32(const struct tg_conv2d_geometry *g, const void *x, const void *gy, void *gw,
                              void *work, int64_t work_len);
int tg_conv2d_grad_weight_f64(const struct tg_conv2d_geometry *g, const void *x, const void *gy, void *gw,
                              void *work, int64_t work_len);

/* Pooling over `planes` = n·c planes of h×w -> planes of oh×ow; window (kh, kw), stride (sh, sw),
 * padding (ph, pw), dilation (dh, dw; average pooling: 1 only). */
struct tg_pool2d_geometry {
    int64_t planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

/* y = max over the window (padding = −∞; NaN wins; first max on ties) and indices = its flat
 * position row·w + col in the unpadded plane. */
int tg_max_pool2d_f32(const struct tg_pool2d_geometry *g, const void *x, void *y, void *indices);
int tg_max_pool2d_f64(const struct tg_pool2d_geometry *g, const void *x, void *y, void *indices);

/* gx[plane, p] = Σ_{t : indices[plane, t] = p} gy[plane, t]   (gy, indices: planes × oh × ow). Only
 * planes, h, w, oh, ow are read: the indices say where each gradient goes, not the window. */
int tg_max_pool2d_grad_f32(const struct tg_pool2d_geometry *g, const void *gy, const void *indices, void *gx);
int tg_max_pool2d_grad_f64(const struct tg_pool2d_geometry *g, const void *gy, const void *indices, void *gx);

/* y = (Σ of the window, padding = 0) / (kh·kw if count_include_pad else the count of real pixels) */
int tg_avg_pool2d_f32(const struct tg_pool2d_geometry *g, const void *x, void *y, int count_include_pad);
int tg_avg_pool2d_f64(const struct tg_pool2d_geometry *g, const void *x, void *y, int count_include_pad);

/* gx = the adjoint of avg_pool2d: each window spreads gy / divisor evenly over its real pixels */
int tg_avg_pool2d_grad_f32(const struct tg_pool2d_geometry *g, const void *gy, void *gx, int count_include_pad);
int tg_avg_pool2d_grad_f64(const struct tg_pool2d_geometry *g, const void *gy, void *gx, int count_include_pad);
/* ==== end of convolution and pooling ==================================================== */

/* ==== int8 GEMM (qgemm.c) ==== */
/* Status codes of tg_qgemm_* / tg_qconv2d_*: 0 success; 1 illegal sizes (or k > 65536, the
 * largest k whose sums are exact in int32); 2 workspace too small; 3 TINYGRAD_EDU_ISA unknown. */
enum { TG_QGEMM_BAD_SHAPE = 1, TG_QGEMM_SMALL_WORKSPACE = 2, TG_QGEMM_BAD_ISA = 3 };
/* The int8 kernel the current ISA level runs: AVX-512 level with AVX512-VNNI, AVX2 level with
 * AVX-VNNI, else AVX2 (vpmaddwd) or portable; −1 when TINYGRAD_EDU_ISA holds an unknown name. */
enum { TG_QGEMM_PORTABLE = 0, TG_QGEMM_AVX2 = 1, TG_QGEMM_AVX512_VNNI = 2, TG_QGEMM_AVX_VNNI = 3 };
int tg_qgemm_path(void);
/* allow = 0: never use the VNNI instructions (so tests reach the AVX2 kernel on a VNNI CPU); 1: default. */
void tg_qgemm_allow_vnni(int allow);

/* Bytes of workspace tg_qgemm_s8s8s32 needs (−1: negative sizes). */
int64_t tg_qgemm_workspace(int64_t m, int64_t n, int64_t k);
/* c[i·ldc + j] = Σ_{p<k} a[i·lda + p] · b[p·ldb + j]     int8 · int8 -> int32, exact (i < m, j < n) */
int tg_qgemm_s8s8s32(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda, const int8_t *b, int64_t ldb,
                     int32_t *c, int64_t ldc, uint8_t *work, int64_t work_len);

/* Bytes of workspace tg_qconv2d_f32 needs for this geometry with `threads` threads (−1: illegal sizes). */
int64_t tg_qconv2d_workspace(int threads, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                             int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
/* int8 convolution of a float input, NCHW (shapes as the float conv2d), weight int8 (o, c, kh, kw):
 *   q = clip(rint(x · inv_scale), −127, 127)                                  (int8 input)
 *   y[n, o, oh, ow] = float(Σ_{c,i,j} weight[o, c, i, j] · q_padded[n, c, oh·sh + i·dh, ow·sw + j·dw])
 *                     · scale[o] + bias[o]          (two float32 roundings; bias NULL: none) */
int tg_qconv2d_f32(const float *x, float inv_scale, const int8_t *weight, const float *scale, const float *bias,
                   float *y, uint8_t *work, int64_t work_len, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                   int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
/* ==== end of int8 GEMM ==== */

/* ==== fused softmax-cross-entropy and bias+activation (fused.c) ==== */
/* Row-major, contiguous; the caller allocates every output. Status: 0, or one of these. */
enum { TG_FUSED_BAD_SHAPE = 1, TG_FUSED_BAD_TARGET = 2, TG_FUSED_BAD_ACTIVATION = 3 };
/* Activations of tg_bias_act / tg_act_grad. */
enum { TG_ACT_NONE = 0, TG_ACT_RELU = 1 };

/* Softmax-cross-entropy of logits x (rows × classes) against class indices target (rows),
 * rows whose target is ignore_index skipped, weight (classes) the class weights, ε = label_smoothing:
 *   probs[i,c] = e^(x[i,c] − m_i) / Σ_c' e^(x[i,c'] − m_i),   m_i = max_c x[i,c]   (stable: exponents ≤ 0)
 *   loss[i] = (1 − ε)·w[t_i]·(lse_i − x[i,t_i]) + (ε/C)·Σ_c w_c·(lse_i − x[i,c]),  lse_i = m_i + log Σ_c e^(x[i,c] − m_i)
 *   row_weight[i] = w[t_i]                       (loss and row_weight 0 where t_i = ignore_index)
 *   totals[0] = Σ_i ℓ_i,  totals[1] = Σ_i row_weight[i]   (in double: the reductions 'sum' and 'mean')
 *     with ℓ_i the double loss of row i before its rounding to loss[i] (f32: not Σ_i loss[i])
 * lse is computed in double for both types: lse − x of huge float32 logits keeps its digits.
 * A kept target outside 0 … classes−1: status TG_FUSED_BAD_TARGET. */
int tg_cross_entropy_f32(const float *x, const int64_t *target, const float *weight, int64_t rows,
                         int64_t classes, int64_t ignore_index, double label_smoothing, float *loss, float *probs,
                         float *row_weight, double *totals);
int tg_cross_entropy_f64(const double *x, const int64_t *target, const double *weight, int64_t rows,
                         int64_t classes, int64_t ignore_index, double label_smoothing, double *loss, double *probs,
                         double *row_weight, double *totals);

/* ∂L/∂x of the above given p = probs (the softmax) and scale[i] = ∂L/∂loss[i], W = Σ_c w_c:
 *   gx[i,c] = scale[i]·((1 − ε)·w[t_i]·(p[i,c] − [c = t_i]) + (ε/C)·(W·p[i,c] − w_c)),  0 on ignored rows */
int tg_cross_entropy_grad_f32(const float *probs, const int64_t *target, const float *weight, const float *scale,
                              int64_t rows, int64_t classes, int64_t ignore_index, double label_smoothing, float *gx);
int tg_cross_entropy_grad_f64(const double *probs, const int64_t *target, const double *weight, const double *scale,
                              int64_t rows, int64_t classes, int64_t ignore_index, double label_smoothing, double *gx);

/* y[i,j] = act(x[i,j] + bias[j])   (bias NULL: no bias; y may be x; act(v) = v or max(v, 0), NaN kept) */
int tg_bias_act_f32(const float *x, const float *bias, float *y, int64_t rows, int64_t cols, int activation);
int tg_bias_act_f64(const double *x, const double *bias, double *y, int64_t rows, int64_t cols, int activation);

/* gx[i,j] = g[i,j]·act'(y[i,j])  (ReLU: 0 where y ≤ 0, else 1: NaN passes g, as PyTorch),  gbias[j] = Σ_i gx[i,j]  (gbias NULL: not computed) */
int tg_act_grad_f32(const float *g, const float *y, float *gx, float *gbias, int64_t rows, int64_t cols,
                    int activation);
int tg_act_grad_f64(const double *g, const double *y, double *gx, double *gbias, int64_t rows, int64_t cols,
                    int activation);

/* y[k] = e^x[k], k < n (y may be x): the vectorised e^x of the softmax above (csrc/vexp.inc), within ~1 ulp of
 * libm over the whole range (+inf above ln max, subnormals and 0 below, NaN kept); for the tests. */
int tg_exp_f32(const float *x, float *y, int64_t n);
int tg_exp_f64(const double *x, double *y, int64_t n);
/* ==== end of fused softmax-cross-entropy and bias+activation ==== */

/* ==== LSTM cell (lstm.c) ==== */
/* One LSTM step for `batch` rows. gates (batch × 4·hidden) = the pre-activations z in PyTorch's
 * order i, f, g, o, plus gates_x (same shape) and bias (4·hidden, one row for all) when not NULL;
 * c_prev, h, c, tanh_c (batch × hidden); acts (batch × 4·hidden); all row-major, contiguous,
 * allocated by the caller:
 *   z = gates + gates_x + bias
 *   [i | f | g | o] = acts = [σ(z_i) | σ(z_f) | tanh(z_g) | σ(z_o)]
 *   c = f ⊙ c_prev + i ⊙ g,   tanh_c = tanh(c),   h = o ⊙ tanh_c
 * Returns 0, 1 (negative size), 3 (TINYGRAD_EDU_ISA holds an unknown name) or 4 (nothing written) when
 * an output overlaps an input other than exactly (in place) or another output. */
int tg_lstm_cell_f32(const float *gates, const float *gates_x, const float *bias, const float *c_prev, float *h,
                     float *c, float *acts, float *tanh_c, int64_t batch, int64_t hidden);
int tg_lstm_cell_f64(const double *gates, const double *gates_x, const double *bias, const double *c_prev,
                     double *h, double *c, double *acts, double *tanh_c, int64_t batch, int64_t hidden);
/* Its backward, from dh = ∂L/∂h and dc = ∂L/∂c (batch × hidden) and the forward's acts, c_prev, tanh_c:
 *   δc = dc + dh ⊙ o ⊙ (1 − tanh_c²)
 *   d_gates = ∂L/∂z = [δc ⊙ g ⊙ i(1−i) | δc ⊙ c_prev ⊙ f(1−f) | δc ⊙ i ⊙ (1−g²) | dh ⊙ tanh_c ⊙ o(1−o)]
 *   dc_prev = ∂L/∂c_prev = δc ⊙ f
 * Same status codes, and 4 (nothing written) when an output overlaps another array: all are restrict. */
int tg_lstm_cell_backward_f32(const float *dh, const float *dc, const float *acts, const float *c_prev,
                              const float *tanh_c, float *d_gates, float *dc_prev, int64_t batch, int64_t hidden);
int tg_lstm_cell_backward_f64(const double *dh, const double *dc, const double *acts, const double *c_prev,
                              const double *tanh_c, double *d_gates, double *dc_prev, int64_t batch,
                              int64_t hidden);
/* The GRU cell, gates in PyTorch's order r, z, n: gates_x = x W_ihᵀ, gates_h = h_prev W_hhᵀ and acts
 * (batch × 3·hidden), the biases bias_x = b_ih and bias_h = b_hh (3·hidden, one row for all; NULL when
 * absent), h_prev, h (batch × hidden):
 *   x̂ = gates_x + bias_x,  ĥ = gates_h + bias_h
 *   [r | z | n] = acts = [σ(x̂_r + ĥ_r) | σ(x̂_z + ĥ_z) | tanh(x̂_n + r ⊙ ĥ_n)],   h = (1 − z) ⊙ n + z ⊙ h_prev
 * Same status codes (4: as the LSTM cell's). */
int tg_gru_cell_f32(const float *gates_x, const float *bias_x, const float *gates_h, const float *bias_h,
                    const float *h_prev, float *h, float *acts, int64_t batch, int64_t hidden);
int tg_gru_cell_f64(const double *gates_x, const double *bias_x, const double *gates_h, const double *bias_h,
                    const double *h_prev, double *h, double *acts, int64_t batch, int64_t hidden);
/* Its backward from dh = ∂L/∂h, with ĥ_n = gates_h_n + bias_h_n, δn = dh ⊙ (1 − z) ⊙ (1 − n²),
 * δz = dh ⊙ (h_prev − n) ⊙ z(1 − z), δr = δn ⊙ ĥ_n ⊙ r(1 − r):
 *   d_gates_x = [δr | δz | δn],   d_gates_h = [δr | δz | δn ⊙ r],   dh_prev = dh ⊙ z
 * Same status codes, and 4 (nothing written) when an output overlaps another array: all are restrict. */
int tg_gru_cell_backward_f32(const float *dh, const float *acts, const float *gates_h, const float *bias_h,
                             const float *h_prev, float *d_gates_x, float *d_gates_h, float *dh_prev, int64_t batch,
                             int64_t hidden);
int tg_gru_cell_backward_f64(const double *dh, const double *acts, const double *gates_h, const double *bias_h,
                             const double *h_prev, double *d_gates_x, double *d_gates_h, double *dh_prev,
                             int64_t batch, int64_t hidden);
/* ==== end of LSTM cell ==== */

/* ==== optimiser updates (optim.c) ==== */
/* One optimiser step on one parameter of n elements, in place: param, its state buffers and the
 * gradient are contiguous arrays of n elements of the same type (the gradient is only read).
 * Each kernel is the algorithm in the docstring of tinygrad_edu/optim/<name>.py, line by line as
 * numpy_ref.<name>_update computes it, in one pass. g = −grad if maximize else grad. Buffers
 * marked "NULL = off" switch their option off. Returns 0, or 1 for n < 0 or a missing buffer, or 4
 * (nothing written) when two of the arrays share memory. */

/* SGD: g ← g + λθ;  b ← g on the first step, else μ b + (1 − τ) g;  g ← g + μ b (nesterov) or b;
 * θ ← θ − γ g.   momentum_buffer: NULL = no momentum (μ = 0). */
int tg_sgd_update_f32(float *param, const float *grad, float *momentum_buffer, int64_t n, double lr,
                      double momentum, double dampening, double weight_decay, int nesterov, int maximize,
                      int first_step);
int tg_sgd_update_f64(double *param, const double *grad, double *momentum_buffer, int64_t n, double lr,
                      double momentum, double dampening, double weight_decay, int nesterov, int maximize,
                      int first_step);

/* Adam / AdamW: θ ← θ(1 − γλ) (decoupled) or g ← g + λθ;  m ← lerp(m, g, 1 − β₁);
 * v ← β₂ v + (1 − β₂) g²;  v_max ← max(v_max, v) (amsgrad: max_exp_avg_sq, NULL = off);
 * θ ← θ − step_size · m / (√v / bias_correction2_sqrt + ε), with the bias corrections of this
 * step computed by the caller: step_size = γ / (1 − β₁ᵗ), bias_correction2_sqrt = √(1 − β₂ᵗ). */
int tg_adam_update_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq,
                       int64_t n, double lr, double beta1, double beta2, double eps, double weight_decay,
                       int decoupled_weight_decay, int maximize, double step_size, double bias_correction2_sqrt);
int tg_adam_update_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq,
                       double *max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
                       double weight_decay, int decoupled_weight_decay, int maximize, double step_size,
                       double bias_correction2_sqrt);

/* RMSprop: g ← g + λθ;  v ← α v + (1 − α) g²;  centered (grad_avg, NULL = off): g_ave ← lerp(g_ave, g, 1 − α),
 * v ← v − g_ave²;  d = √v + ε;  momentum (momentum_buffer, NULL = off): b ← μ b + g/d, θ ← θ − γ b;
 * else θ ← θ − γ g / d. */
int tg_rmsprop_update_f32(float *param, const float *grad, float *square_avg, float *grad_avg,
                          float *momentum_buffer, int64_t n, double lr, double alpha, double eps,
                          double weight_decay, double momentum, int maximize);
int tg_rmsprop_update_f64(double *param, const double *grad, double *square_avg, double *grad_avg,
                          double *momentum_buffer, int64_t n, double lr, double alpha, double eps,
                          double weight_decay, double momentum, int maximize);

/* Adagrad: g ← g + λθ;  s ← s + g²;  θ ← θ − γ̃ g / (√s + ε)   (γ̃ = lr, already decayed by the caller) */
int tg_adagrad_update_f32(float *param, const float *grad, float *state_sum, int64_t n, double lr, double eps,
                          double weight_decay, int maximize);
int tg_adagrad_update_f64(double *param, const double *grad, double *state_sum, int64_t n, double lr, double eps,
                          double weight_decay, int maximize);
/* Adadelta: v ← ρ v + (1 − ρ) g²;  Δ ← √(u + ε) / √(v + ε) · g;  u ← ρ u + (1 − ρ) Δ²;  θ ← θ − γ Δ */
int tg_adadelta_update_f32(float *param, const float *grad, float *square_avg, float *acc_delta, int64_t n, double lr,
                           double rho, double eps, double weight_decay, int maximize);
int tg_adadelta_update_f64(double *param, const double *grad, double *square_avg, double *acc_delta, int64_t n,
                           double lr, double rho, double eps, double weight_decay, int maximize);
/* Adamax: m ← lerp(m, g, 1 − β₁);  u ← max(β₂ u, |g| + ε);  θ ← θ − (γ / bias_correction1) · (m / u) */
int tg_adamax_update_f32(float *param, const float *grad, float *exp_avg, float *exp_inf, int64_t n, double lr,
                         double beta1, double beta2, double eps, double weight_decay, int maximize,
                         double bias_correction1);
int tg_adamax_update_f64(double *param, const double *grad, double *exp_avg, double *exp_inf, int64_t n, double lr,
                         double beta1, double beta2, double eps, double weight_decay, int maximize,
                         double bias_correction1);
/* NAdam: Adam's moments;  d = √(v / bias_correction2) + ε;  θ ← θ − grad_coefficient · (g / d) −
 * exp_avg_coefficient · (m / d) */
int tg_nadam_update_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, int64_t n, double lr,
                        double beta1, double beta2, double eps, double weight_decay, int decoupled_weight_decay,
                        int maximize, double bias_correction2, double grad_coefficient, double exp_avg_coefficient);
int tg_nadam_update_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq, int64_t n, double lr,
                        double beta1, double beta2, double eps, double weight_decay, int decoupled_weight_decay,
                        int maximize, double bias_correction2, double grad_coefficient, double exp_avg_coefficient);
/* RAdam: Adam's moments;  θ ← θ − (m / bc1) γ · (√bc2 / (√v + ε)) · rect, or θ − (m / bc1) γ when rect < 0 (ρ_t ≤
 * 5) */
int tg_radam_update_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, int64_t n, double lr,
                        double beta1, double beta2, double eps, double weight_decay, int decoupled_weight_decay,
                        int maximize, double bias_correction1, double bias_correction2, double rect);
int tg_radam_update_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq, int64_t n, double lr,
                        double beta1, double beta2, double eps, double weight_decay, int decoupled_weight_decay,
                        int maximize, double bias_correction1, double bias_correction2, double rect);
/* Rprop: η ← clip(η · (η₊ | η₋ | 1 by the sign of g·prev), Γ_min, Γ_max);  g ← 0 where η₋;  θ ← θ − sign(g) η;
 * prev ← g */
int tg_rprop_update_f32(float *param, const float *grad, float *prev, float *step_size, int64_t n, double etaminus,
                        double etaplus, double step_size_min, double step_size_max, int maximize);
int tg_rprop_update_f64(double *param, const double *grad, double *prev, double *step_size, int64_t n,
                        double etaminus, double etaplus, double step_size_min, double step_size_max, int maximize);
/* ASGD: θ ← θ (1 − λη) − η g;  ax ← ax + μ (θ − ax), or ax ← θ when μ = 1 */
int tg_asgd_update_f32(float *param, const float *grad, float *ax, int64_t n, double lambd, double eta, double mu,
                       double weight_decay, int maximize);
int tg_asgd_update_f64(double *param, const double *grad, double *ax, int64_t n, double lambd, double eta, double mu,
                       double weight_decay, int maximize);
/* ==== end of optimiser updates ==== */

/* ==== elementwise special functions (special.c) ==== */
/* The error-function family, y[i] = f(x[i]) for i < n, vector kernels per ISA level (float32 in float
 * lanes); 0, or 1 when n < 0, 3 when TINYGRAD_EDU_ISA holds an unknown name.
 * erf x = (2/√π) ∫₀^x e^(−t²) dt;  erfc x = 1 − erf x;  erfcx x = e^(x²) erfc x;  ndtr x = Φ(x) = ½ erfc(−x/√2);
 * log_ndtr x = ln Φ(x);  ndtri p = Φ⁻¹(p);  erfinv y = erf⁻¹(y). */
int tg_erf_f32(const float *x, float *y, int64_t n);
int tg_erf_f64(const double *x, double *y, int64_t n);
int tg_erfc_f32(const float *x, float *y, int64_t n);
int tg_erfc_f64(const double *x, double *y, int64_t n);
int tg_erfcx_f32(const float *x, float *y, int64_t n);
int tg_erfcx_f64(const double *x, double *y, int64_t n);
int tg_ndtr_f32(const float *x, float *y, int64_t n);
int tg_ndtr_f64(const double *x, double *y, int64_t n);
int tg_log_ndtr_f32(const float *x, float *y, int64_t n);
int tg_log_ndtr_f64(const double *x, double *y, int64_t n);
int tg_ndtri_f32(const float *x, float *y, int64_t n);
int tg_ndtri_f64(const double *x, double *y, int64_t n);
int tg_erfinv_f32(const float *x, float *y, int64_t n);
int tg_erfinv_f64(const double *x, double *y, int64_t n);
/* ==== end of elementwise special functions ==== */
