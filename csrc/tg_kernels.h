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

/* ==== convolution and pooling (conv.c, pool.c) =========================================
 * NCHW, row-major, contiguous; the caller allocates every output. Each kernel returns 0,
 * or 1 (illegal sizes, e.g. a kernel bigger than the padded input), 2 (conv: workspace too
 * small; max-pool grad: an index outside its plane). Shapes: x (n, c, h, w), weight
 * (o, c, kh, kw), y (n, o, oh, ow) with oh = ⌊(h + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1 (same for ow).
 */

/* Instruction-set level of the conv kernels: 2 AVX-512, 1 AVX2+FMA, 0 portable (SSE2).
 * force: cap it at `level` (never above what the CPU has); returns the level now in use. */
int tg_conv_isa_level(void);
int tg_conv_force_isa_level(int level);

/* Elements of workspace the three conv kernels need for this geometry (−1: illegal sizes). */
int64_t tg_conv2d_workspace_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                                int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
int64_t tg_conv2d_workspace_f64(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                                int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);

/* y[n, o, oh, ow] = Σ_{c,i,j} weight[o, c, i, j] · x_padded[n, c, oh·sh + i·dh, ow·sw + j·dw] */
int tg_conv2d_f32(const float *x, const float *weight, float *y, float *work, int64_t work_len, int64_t n,
                  int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                  int64_t ph, int64_t pw, int64_t dh, int64_t dw);
int tg_conv2d_f64(const double *x, const double *weight, double *y, double *work, int64_t work_len, int64_t n,
                  int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                  int64_t ph, int64_t pw, int64_t dh, int64_t dw);

/* gx = ∂L/∂x = col2im(W_flatᵀ · gy): gx[n, c, p] = Σ over (o, i, j, oh, ow) reading p of weight · gy */
int tg_conv2d_grad_input_f32(const float *gy, const float *weight, float *gx, float *work, int64_t work_len,
                             int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                             int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
int tg_conv2d_grad_input_f64(const double *gy, const double *weight, double *gx, double *work, int64_t work_len,
                             int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                             int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);

/* gw[o, c, i, j] = ∂L/∂w = Σ_{n,oh,ow} gy[n, o, oh, ow] · x_padded[n, c, oh·sh + i·dh, ow·sw + j·dw] */
int tg_conv2d_grad_weight_f32(const float *x, const float *gy, float *gw, float *work, int64_t work_len,
                              int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                              int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
int tg_conv2d_grad_weight_f64(const double *x, const double *gy, double *gw, double *work, int64_t work_len,
                              int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                              int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);

/* Over `planes` = n·c planes of h×w: y = max over the window (padding = −∞; NaN wins; first max
 * on ties) and indices = its flat position row·w + col in the unpadded plane. */
int tg_max_pool2d_f32(const float *x, float *y, int64_t *indices, int64_t planes, int64_t h, int64_t w,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
int tg_max_pool2d_f64(const double *x, double *y, int64_t *indices, int64_t planes, int64_t h, int64_t w,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);

/* gx[plane, p] = Σ_{t : indices[plane, t] = p} gy[plane, t]   (gy, indices: planes × oh × ow) */
int tg_max_pool2d_grad_f32(const float *gy, const int64_t *indices, float *gx, int64_t planes, int64_t h,
                           int64_t w, int64_t oh, int64_t ow);
int tg_max_pool2d_grad_f64(const double *gy, const int64_t *indices, double *gx, int64_t planes, int64_t h,
                           int64_t w, int64_t oh, int64_t ow);

/* y = (Σ of the window, padding = 0) / (kh·kw if count_include_pad else the count of real pixels) */
int tg_avg_pool2d_f32(const float *x, float *y, int64_t planes, int64_t h, int64_t w, int64_t kh, int64_t kw,
                      int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad);
int tg_avg_pool2d_f64(const double *x, double *y, int64_t planes, int64_t h, int64_t w, int64_t kh, int64_t kw,
                      int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad);

/* gx = the adjoint of avg_pool2d: each window spreads gy / divisor evenly over its real pixels */
int tg_avg_pool2d_grad_f32(const float *gy, float *gx, int64_t planes, int64_t h, int64_t w, int64_t kh,
                           int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad);
int tg_avg_pool2d_grad_f64(const double *gy, double *gx, int64_t planes, int64_t h, int64_t w, int64_t kh,
                           int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad);
/* ==== end of convolution and pooling ==================================================== */
