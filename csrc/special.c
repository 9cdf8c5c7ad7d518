/* special.c: the error-function family, elementwise over a contiguous array.
 *
 *   erfc  erfcx  ndtr  log_ndtr  ndtri  erfinv     (float64, and float32 computed in double)
 *
 * The NumPy reference is ops/special.py (``_erfc`` … ``_erfinv``): the same methods, vectorised, with
 * the same branch points, so the two agree to an ulp or two; the tests check that, and both against
 * PyTorch. What each function does (x a double, w = |x| or −x/√2 as stated):
 *
 *   erfc(x)      libm's erfc (C99). glibc computes it as e^(−z² − 0.5625) · e^((z − x)(z + x) + R/S)
 *                with z = x rounded to 20 bits (the split that keeps e^(−x²) exact in the tail) and
 *                rational R/S from Sun's fdlibm; measured against mpmath within 2 ulp over (−6, 27).
 *   erfcx(x)     e^(x²) erfc(x) for 0 ≤ x < 25, with e^(x²) = e^p (1 + e), x² = p + e exactly
 *                (Dekker's product), so the rounding of x² is not magnified by x²; for x ≥ 25 the
 *                asymptotic series (A&S 7.1.23)
 *                    erfcx(x) = 1/(x√π) Σₖ (−1)ᵏ (2k − 1)!! / (2x²)ᵏ,   k = 0..8;
 *                for x < 0 the reflection erfcx(x) = 2e^(x²) − erfcx(−x).
 *   ndtr(x)      Φ(x) = ½ erfc(−x/√2) for x ≥ −1; below, ½ erfcx(−x/√2) e^(−x²/2) (the rounding of
 *                x/√2 would cost erfc x² ulps; erfcx barely depends on it).
 *   log_ndtr(x)  ln Φ(x) = log1p(−Φ(−x)) for x ≥ 0, ln(erfcx(−x/√2)/2) − x²/2 for x < 0 (no underflow).
 *   erfinv(y)    |y| < ½: start from erf⁻¹(y) ≈ y P(y²), P a degree-6 polynomial fitted to 8·10⁻¹⁰,
 *                then one Halley step on erf(z) = y;  |y| ≥ ½: w with erfc(w) = 1 − |y| (1 − |y| exact),
 *                started from Abramowitz & Stegun 26.2.23 (|error| < 4.5·10⁻⁴ in Φ⁻¹),
 *                    t = √(−2 ln(c/2)),  w ≈ (t − (c₀ + c₁t + c₂t²)/(1 + d₁t + d₂t² + d₃t³)) / √2,
 *                then Halley steps on erfc(w) = c. Both equations have f''/f' = −2z, so one step is
 *                    z ← z − u / (1 + z u),   u = f/f',
 *                and it triples the number of correct digits: one step from the fit's 10⁻⁹, two
 *                from A&S's 3·10⁻⁴, reach double precision. For the tail u is written without e^(−w²),
 *                which underflows: u = −(√π/2)(erfcx(w) − c e^(w²)), c e^(w²) = e^(ln c + p)(1 + e).
 *   ndtri(p)     Φ⁻¹(p) = √2 erf⁻¹(2p − 1) for |p − ½| < ¼ (2p − 1 exact there), else −√2 w with
 *                erfc(w) = 2 min(p, 1 − p) (1 − p exact for p ≥ ½), signed by p − ½.
 *
 * Accuracy against mpmath, float64, maximum over ~4,000 points per function (the module docstring of
 * ops/special.py says which): erfc 2 ulp, erfcx 3, ndtr 5, log_ndtr 4, ndtri 3, erfinv 3.
 * float32 kernels convert to double, call the same code and round once: correctly rounded but for
 * the rare double-rounding case (≤ 0.5 ulp + 2⁻²⁹ ulp).
 * Plain scalar C: libm's erfc/erf/exp/log are calls, so nothing vectorises; the cost is the number of
 * those calls. Measured (1 thread, 10⁵ float64 over the ranges above, medians, a busy machine): erfc
 * 15 ns an element, erfcx 17, ndtr 23, log_ndtr 26, erfinv 44, ndtri 46 (their tails: log, then per
 * Halley step erfc and 2 exp); float32 the same. The NumPy reference's one Python call per element
 * (math.erfc) costs 70–300 ns.
 */
#include <math.h>
#include <stdint.h>

#include "tg_kernels.h"

#define SQRT_PI 1.7724538509055160273
#define SQRT2 1.4142135623730950488
#define VELTKAMP 134217729.0 /* 2²⁷ + 1 */
#define LN2 0.69314718055994530942

/* x² = p + e exactly (Dekker's product, plain arithmetic): x = h + l with h the upper 26 bits of x
 * (Veltkamp's split), so h², 2hl and l² are exact and e = ((h² − p) + 2hl) + l². |x| < 2⁹⁹⁶.
 * (Built without FMA contraction, as _build.py does: fusing K·x into c − x would break the split.) */
static double square_exact(double x, double *error)
{
    double c = VELTKAMP * x, h = c - (c - x), l = x - h, p = x * x;
    *error = ((h * h - p) + 2.0 * h * l) + l * l;
    return p;
}

/* e^(s·x²) for s = ±1 or −½, without the rounding of x²: e^(s p) e^(s e) = e^(s p) (1 + s e), since
 * |e| ≤ 2⁻⁵³ p makes (s e)²/2 negligible. One exp: a second for e^(s e) cost ~10 ns for nothing. */
static double exp_of_square(double x, double s)
{
    if (!(fabs(x) < 4096.0))
        return exp(s * x * x); /* ±inf, nan, or a result that is 0 or inf anyway */
    double e, p = square_exact(x, &e);
    return exp(s * p) * (1.0 + s * e);
}

static double erfcx_nonnegative(double a)
{
    if (a < 25.0)
        return exp_of_square(a, 1.0) * erfc(a);
    double inverse = 1.0 / (2.0 * a * a), term = 1.0, total = 1.0; /* a ≥ 25, ±inf or nan */
    for (int k = 1; k <= 8; k++) {
        term = -term * (2 * k - 1) * inverse;
        total += term;
    }
    return total / (a * SQRT_PI);
}

static double erfcx_d(double x)
{
    double y = erfcx_nonnegative(fabs(x));
    return x < 0 ? 2.0 * exp_of_square(x, 1.0) - y : y;
}

static double ndtr_d(double x)
{
    if (x < -1.0)
        return 0.5 * erfcx_nonnegative(-x / SQRT2) * exp_of_square(x, -0.5);
    return 0.5 * erfc(-x / SQRT2);
}

static double log_ndtr_d(double x)
{
    if (!(x < 0.0))
        return log1p(-ndtr_d(-x)); /* (nan too) */
    return log(erfcx_nonnegative(-x / SQRT2) / 2.0) - x * x / 2.0;
}

/* One Halley step z − u/(1 + z u) for f(z) = 0 with f''/f' = −2z (erf and erfc alike). */
static double halley(double z, double u) { return z - u / (1.0 + z * u); }

/* z with erf(z) = y, for |y| < ½: z ≈ y P(y²), then one Halley step with u = (erf z − y)(√π/2) e^(z²)
 * (z² < ¼: its rounding costs nothing). P is a least-squares Chebyshev fit of degree 6 to erf⁻¹(y)/y in
 * t = y² ∈ [0, ¼], made for this file with mpmath (relative error < 8·10⁻¹⁰; P(0) = √π/2). */
static const double ERFINV_CENTRE[7] = {0.8862269261230462, 0.23201340845630156, 0.1275723066615253,
                                        0.08617738942327736, 0.06904131716764376, 0.029601975219609892,
                                        0.09781949310648161};

static double erfinv_centre(double y)
{
    double t = y * y, p = ERFINV_CENTRE[6];
    for (int k = 5; k >= 0; k--)
        p = p * t + ERFINV_CENTRE[k];
    double z = y * p;
    return halley(z, (erf(z) - y) * (0.5 * SQRT_PI) * exp(z * z));
}

/* w ≥ 0 with erfc(w) = c, for 0 < c ≤ ½: A&S 26.2.23 for Φ⁻¹(c/2), then two Halley steps. */
static double erfc_inverse(double c)
{
    double log_c = log(c), t = sqrt(-2.0 * (log_c - LN2)); /* ln(c/2) without a second log */
    double w = (t - (2.515517 + t * (0.802853 + t * 0.010328)) /
                    (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)))) / SQRT2;
    for (int step = 0; step < 2; step++) {
        double e, p = square_exact(w, &e); /* c e^(w²) = e^(ln c + p) (1 + e), w ≤ 27.3 */
        double c_exp_w2 = exp(log_c + p) * (1.0 + e);
        w = halley(w, -0.5 * SQRT_PI * (erfcx_nonnegative(w) - c_exp_w2));
    }
    return w;
}

static double erfinv_d(double y)
{
    double a = fabs(y);
    if (!(a <= 1.0))
        return NAN; /* |y| > 1 or nan */
    if (a < 0.5)
        return erfinv_centre(y);
    return copysign(a == 1.0 ? INFINITY : erfc_inverse(1.0 - a), y);
}

static double ndtri_d(double p)
{
    if (!(p >= 0.0 && p <= 1.0))
        return NAN;
    if (fabs(p - 0.5) < 0.25)
        return SQRT2 * erfinv_centre(2.0 * p - 1.0);
    double q = p < 0.5 ? p : 1.0 - p;
    double z = q == 0.0 ? INFINITY : SQRT2 * erfc_inverse(2.0 * q);
    return p < 0.5 ? -z : z;
}

/* The kernels: one loop per function and element type; float goes through double. */
#define TG_SPECIAL_KERNELS(NAME, FUNCTION)                          \
    int tg_##NAME##_f64(const double *x, double *y, int64_t n)      \
    {                                                               \
        if (n < 0)                                                  \
            return 1;                                               \
        for (int64_t i = 0; i < n; i++)                             \
            y[i] = FUNCTION(x[i]);                                  \
        return 0;                                                   \
    }                                                               \
    int tg_##NAME##_f32(const float *x, float *y, int64_t n)        \
    {                                                               \
        if (n < 0)                                                  \
            return 1;                                               \
        for (int64_t i = 0; i < n; i++)                             \
            y[i] = (float)FUNCTION((double)x[i]);                   \
        return 0;                                                   \
    }

TG_SPECIAL_KERNELS(erfc, erfc)
TG_SPECIAL_KERNELS(erfcx, erfcx_d)
TG_SPECIAL_KERNELS(ndtr, ndtr_d)
TG_SPECIAL_KERNELS(log_ndtr, log_ndtr_d)
TG_SPECIAL_KERNELS(ndtri, ndtri_d)
TG_SPECIAL_KERNELS(erfinv, erfinv_d)
