/* special.c: the error-function family, elementwise over a contiguous array, as vector kernels.
 *
 *   erf  erfc  erfcx  ndtr  log_ndtr  ndtri  erfinv     (float32 and float64)
 *
 * Written once with GCC vector extensions (special_typed.inc) and compiled for AVX-512, AVX2+FMA and SSE2
 * by for_each_isa.inc; tg_isa_level() (cpu.c) picks one at run time. float32 runs in float lanes (twice
 * as many per vector) with shorter polynomials; float64 in double lanes. e^x is vexp.inc's. The NumPy
 * reference is ops/special.py (``_erfc`` … ``_erfinv``, on Python's math.erfc): the same functions by
 * the textbook methods; the tests check both against mpmath and PyTorch. Methods (a = |x|):
 *
 *   erfcx(a), a ≥ 0   (1 + 2a) erfcx(a) = P(t), t = (a − K)/(a + K), K = 3 (Shepherd & Laframboise 1981:
 *                     smooth on t ∈ [−1, 1], a = ∞ at t = 1), P a polynomial fitted with mpmath
 *                     (Chebyshev interpolation at 26 / 11 nodes, written in powers of t: ERFCX_F64 / _F32).
 *   e^(s x²)          without the rounding of x²: x² = p + e exactly (Dekker's product), e^(s p)(1 + s e).
 *   erfc(x)           erfcx(a) e^(−a²), and 2 − that for x < 0.
 *   erf(x)            x + x(P(x²) − 1), P(x²) = Σₙ (2/√π)(−1)ⁿ x²ⁿ/(n!(2n + 1)) (Taylor), for a < ½, else
 *                     ±(1 − erfc(a)); float32: the Taylor series to a < ¾, erf's Taylor series at 1 to
 *                     a < 1.09 (where erfc(a) > ⅛: 1 − erfc would not be within one ulp).
 *   erfcx(x)          erfcx(a), and 2e^(x²) − erfcx(a) for x < 0.
 *   ndtr(x)           q = Φ(−a) = ½ erfcx(a/√2) e^(−x²/2) (the rounding of a/√2 only enters erfcx, which
 *                     barely depends on it); Φ(x) = q for x < 0, 1 − q otherwise.
 *   log_ndtr(x)       ln(½ erfcx(a/√2)) − x²/2 for x < 0 (no underflow), ln(1 − q) for x ≥ 0 (Kahan's
 *                     log1p: ln(u)·(−q)/(u − 1), u = 1 − q rounded); ln is special_typed.inc's, fdlibm's form.
 *   erfinv(y)         |y| < ½: y P(y²), P a Chebyshev series fitted to erf⁻¹(y)/y (4·10⁻¹⁸; float32 uses 7 of
 *                     its 15 terms);  |y| ≥ ½: w with erfc w = 1 − |y| (exact), w = s Q(ln s),
 *                     s = √(−ln c), Q a Chebyshev series fitted with mpmath (4·10⁻¹¹), then (float64) one
 *                     Halley step on erfc w = c. Both equations have f''/f' = −2z, so a step is
 *                     z ← z − u/(1 + z u), u = f/f', and it triples the number of correct digits.
 *   ndtri(p)          √2 erf⁻¹(2p − 1) for |p − ½| < ¼ (2p − 1 exact there), else ∓√2 w with
 *                     erfc w = 2 min(p, 1 − p) (1 − p exact for p ≥ ½).
 * Every branch is a lane-wise select; a branch no lane of a vector needs is skipped.
 *
 * Accuracy against mpmath (tests/test_kernels_special_vec.py: dense grids with tails, subnormals, ±0, ±∞,
 * NaN, every ISA) is stated in ops/special.py's module docstring.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tg_internal.h"
#include "tg_kernels.h"

enum { TG_SPECIAL_BAD_SIZE = 1, TG_SPECIAL_BAD_ISA = 3 };

/* (1 + 2a) erfcx(a) = Σₖ ERFCX[k] tᵏ, t = (a − 3)/(a + 3): float64 within 2·10⁻¹⁷ of the function, float32 4·10⁻¹⁰ */
#define ERFCX_F64_TERMS 26
static const double ERFCX_F64[ERFCX_F64_TERMS] = {
    1.2530080582697296,     -0.1356211061245812,    -0.04756229435344912,   0.12964515870276316,
    -0.11927366341538978,   0.06830802734389313,    -0.023770514917107986,  0.0025293918173706497,
    0.0018886903443894542,  -0.0007798322831260387, -0.00010515971612176149, 0.00012509940933306624,
    4.949184182276066e-06,  -2.010075903780886e-05, -7.307985940695724e-07, 3.4728430145951554e-06,
    3.5571413343395913e-07, -6.172971639709339e-07, -1.4042772727671948e-07, 1.0252159854733823e-07,
    4.1031674722876435e-08, -1.3744637271614611e-08, -8.205287217548862e-09, 1.1435382719942424e-09,
    8.373239801913565e-10,  -2.5208846559132343e-11};
#define ERFCX_F32_TERMS 11
static const double ERFCX_F32[ERFCX_F32_TERMS] = {
    1.2530080582697296,   -0.13562021387623402,  -0.04756225170643757,   0.12962717489066664,
    -0.11927451860620696, 0.0684107595220041,    -0.023765692173267204,  0.002284952149043377,
    0.00187749464838414,  -0.0005131594359951843, -9.351062915344479e-05};

/* (2/√π)(−1)ⁿ / (n! (2n + 1)), n = 0 … 12: erf's Taylor series in x² */
static const double ERF_TAYLOR[13] = {
    1.1283791670955126,     -0.37612638903183754,  0.11283791670955126,     -0.026866170645131252,
    0.005223977625442188,   -0.0008548327023450853, 0.00012055332981789664, -1.492565035840625e-05,
    1.6462114365889248e-06, -1.6365844691234924e-07, 1.4807192815879218e-08, -1.2290555301717928e-09,
    9.422759064650411e-11};

/* float32 erf between ERF_F32_SERIES_END and ERF_F32_NEAR_ONE_END, where erfc(|x|) > ⅛ and 1 − erfc, with erfc's
 * few float ulps of error, would not be within one ulp: erf(1 + s) = Σₙ ERF_AT_ONE[n] sⁿ, erf's Taylor
 * coefficients at 1 (mpmath; s ∈ [−¼, 0.09], truncated after s¹⁰: 2·10⁻¹¹) */
#define ERF_F32_SERIES_END 0.75
#define ERF_F32_NEAR_ONE_END 1.09
static const double ERF_AT_ONE[11] = {
    0.8427007929497149, 0.4151074974205947, -0.4151074974205947, 0.1383691658068649, 0.06918458290343245,
    -0.06918458290343245, 0.0046123055268954966, 0.015154718159799489, -0.004777030724284622,
    -0.0018851883701199847, 0.0012262875805634853};

/* 2/(2j + 1), j = 1 … 10: ln(1 + f) = 2s + s·Σⱼ (2/(2j + 1)) s^(2j) */
static const double LOG_SERIES[10] = {2.0 / 3,  2.0 / 5,  2.0 / 7,  2.0 / 9,  2.0 / 11,
                                      2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21};

/* erf⁻¹(y)/y = Σₖ ERFINV_CENTRE[k] Tₖ(8y² − 1) for y² ≤ ¼: Chebyshev interpolation at 20 nodes with mpmath
 * (erf⁻¹ is analytic for |y| < 1, so the coefficients fall ~14× a term: 15 terms reach 4·10⁻¹⁸, 7 terms 8·10⁻¹⁰) */
#define ERFINV_CENTRE_TERMS 15
static const double ERFINV_CENTRE[ERFINV_CENTRE_TERMS] = {
    0.9187256117350144,     0.03375857560006542,    0.0013206742781165998, 6.404076996787596e-05,
    3.441212150449627e-06,  1.9639319431763806e-07, 1.1660992270753084e-08, 7.120387036722737e-10,
    4.4393783156625655e-11, 2.8127938621948305e-12, 1.8051946908097276e-13, 1.1707093852711806e-14,
    7.658493022440133e-16,  5.046812059932414e-17,  3.3466401083134304e-18};

/* erfc⁻¹(c) = s Q(t), s = √(−ln c), t = (ln s − MID)/HALF: Q's Chebyshev coefficients (interpolation at 22 nodes with
 * mpmath; ln s from −0.183 (c = ½) to 3.306 (c = 4.9·10⁻³²⁴)) */
#define ERFC_INVERSE_MID 1.5615499828855999
#define ERFC_INVERSE_HALF 1.744806443176432
#define ERFC_INVERSE_TERMS 22
static const double ERFC_INVERSE[ERFC_INVERSE_TERMS] = {
    0.8681882403297588,     0.19542445478956064,    -0.08439772168764106,  0.019004823036153546,
    0.0006594647403184991,  -0.0021257100199707944, 0.000731119438856496,  -6.182948044191369e-05,
    -5.0920362750993584e-05, 2.6302397333322182e-05, -5.121555890071275e-06, -7.23959606419304e-07,
    8.461402528373491e-07,  -2.7191411097261065e-07, 2.116923828923414e-08, 2.115810257334846e-08,
    -1.144877237012764e-08, 2.5685434539303075e-09, 1.8836749980326496e-10, -3.8265825748474983e-10,
    1.5045815235913254e-10, -2.74383086761057e-11};

#define ISA_KERNELS "special_typed.inc"
#include "for_each_isa.inc"

/* tg_<NAME>_f32 / _f64: y[i] = NAME(x[i]) for i < n; 1 when n < 0, 3 when the ISA name is unknown. */
#define TG_SPECIAL_KERNEL(NAME, T, sfx)                                                  \
    int tg_##NAME##sfx(const T *x, T *y, int64_t n)                                     \
    {                                                                                   \
        __typeof__(&NAME##_array_portable##sfx) kernel = TG_ISA_PICK(NAME##_array, sfx); \
        if (n < 0)                                                                      \
            return TG_SPECIAL_BAD_SIZE;                                                 \
        if (!kernel)                                                                    \
            return TG_SPECIAL_BAD_ISA;                                                  \
        kernel(x, y, n);                                                                \
        return 0;                                                                       \
    }
#define TG_SPECIAL_KERNELS(NAME)         \
    TG_SPECIAL_KERNEL(NAME, float, _f32) \
    TG_SPECIAL_KERNEL(NAME, double, _f64)

TG_SPECIAL_KERNELS(erf)
TG_SPECIAL_KERNELS(erfc)
TG_SPECIAL_KERNELS(erfcx)
TG_SPECIAL_KERNELS(ndtr)
TG_SPECIAL_KERNELS(log_ndtr)
TG_SPECIAL_KERNELS(ndtri)
TG_SPECIAL_KERNELS(erfinv)
