"""Special functions: the gamma family, error-function relatives, Bessel I₀/I₁ and friends.

    gamma family     Lgamma Digamma Polygamma Zeta Gammainc Gammaincc
    error function   Erfinv Erfc Erfcx Ndtr Ndtri LogNdtr
    Bessel           I0 I1 I0e I1e ModifiedBesselK0 ModifiedBesselK1 ScaledModifiedBesselK0 ScaledModifiedBesselK1
                     BesselJ0 BesselJ1 BesselY0 BesselY1
    others           Xlogy Xlog1py Entr Sinc

Notation as in ``ops/elementwise.py`` (x input, y output, g = ∂L/∂y). NumPy has none of
these (except ``np.i0``), so each is computed here in float64 from a textbook method named
in its docstring, and the result is cast back to the input's dtype (float32 stays float32).

The gamma family shares one method (``polygamma_array``):

* **recurrence** to move x up to a point where an asymptotic series is accurate,
      ln Γ(x) = ln Γ(x + m) − ln(x (x+1) ⋯ (x+m−1)),    ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) − (−1)ⁿ n! / x^(n+1);
* **Stirling's series** there (w ≥ 10 + n), with the Bernoulli numbers B₂ₖ:
      ln Γ(w) ≈ (w − ½) ln w − w + ½ ln 2π + Σₖ B₂ₖ / (2k (2k−1) w^(2k−1))
      ψ(w)    ≈ ln w − 1/(2w) − Σₖ B₂ₖ / (2k w^(2k))
      ψ⁽ⁿ⁾(w) ≈ (−1)^(n+1) [ (n−1)!/wⁿ + n!/(2w^(n+1)) + Σₖ B₂ₖ (2k+n−1)! / ((2k)! w^(2k+n)) ]
  The series diverge, but the first omitted term bounds the error: with the 10 terms used
  and w ≥ 10 + n it is below 10⁻¹⁷ relative (|B₂₂|·21!/(22!·10²²) for ψ, smaller for the rest);
* **reflection** for x < 0, from Γ(x)Γ(1−x) = π / sin πx and ψ(1−x) − ψ(x) = π cot πx:
      ln|Γ(x)| = ln(π / |sin πx|) − ln Γ(1 − x)
      ψ⁽ⁿ⁾(x) = (−1)ⁿ ψ⁽ⁿ⁾(1 − x) − π^(n+1) Pₙ(cot πx),  P₀(c) = c,  Pₖ₊₁(c) = −(1 + c²) Pₖ'(c)
  (Pₙ(cot πx)·π^(n+1) is the n-th derivative of π cot πx, since d cot πx/dx = −π(1 + cot² πx)).

Measured against mpmath (30 digits; 2,000 points over (−15, 15), (0, 3) and 10⁻⁸…10⁸; the tests
check against PyTorch): ln Γ and ψ to 10⁻¹⁴ relative where |y| ≥ 0.1, and to 7·10⁻¹⁵ absolute
near their zeros (ln Γ at 1 and 2, ψ at 1.4616), where the recurrence's subtraction cancels;
ψ⁽ⁿ⁾ (n = 1, 2, 3, 6) to 1.3·10⁻¹⁵ relative (near the negative half-integers only because cot πx
is taken as tan π(½ − |r|) there: ``_cot_pi``). The other functions, on the same check:
I₀ and I₁ 2·10⁻¹⁵ (to |x| = 60; up to ~|x|·2⁻⁵³ above 700), gammainc/gammaincc 6·10⁻¹² (a up to 200,
where the prefactor's exponent −x + a ln x − ln Γ(a) sums terms of ~10³), zeta 4·10⁻¹⁶ relative (its
direct part has ~10 + s terms, so the cost grows with s); e^(−|x|)I₀, e^(−|x|)I₁ share I₀'s and I₁'s series.

The error-function family (erfc, erfcx, ndtr, log_ndtr, ndtri, erfinv, and erf) runs as vector C kernels
(csrc/special.c: a fitted erfcx polynomial times an exact e^(−x²), fitted starts and a Halley step for the
inverses; float32 in float lanes) when the C backend is active, and as the NumPy functions below otherwise
(on Python's math.erfc; Halley steps from Abramowitz & Stegun's start for the inverses). Maximum error of
the NumPy reference against mpmath (40 digits; ~4,000 float64 points per function over erfc (−6, 27),
erfcx (−26, 1.6·10⁵), ndtr (−38, 9), log_ndtr (−5·10⁸, 8), ndtri (10⁻³²¹, 1 − 10⁻¹⁶), erfinv (−1, 1)
including its tails): erfc 2 ulp, erfcx 3, ndtr 5, log_ndtr 4, ndtri 3, erfinv 3 ulp; float32 (computed in
double, rounded once) correctly rounded on every point checked. The C kernels, on dense grids with the
tails, subnormals, ±0, ±∞ and the float32 edges, at every ISA level (tests/test_kernels_special_vec.py):
float64 erf 1 ulp, erfc 3 (2 with FMA), erfcx 3, ndtr 4, log_ndtr 4, ndtri 3, erfinv 2; float32 erf 1
(faithful: below 0.93 ulp of the exact value on every float32 in (0, 10), as torch's), erfc 4, erfcx 5, ndtr 3,
log_ndtr 4, ndtri 3, erfinv 3 ulp.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.polynomial import polynomial

from .. import backend
from ..autograd.function import Function
from .fpstate import quietly

# B₂, B₄, …, B₂₀: the Bernoulli numbers of Stirling's series
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330)
_STIRLING_START = 10.0  # the asymptotic series is used from w ≥ 10 + n on
_SQRT_PI = math.sqrt(math.pi)


def _in_float64(fn):
    """Decorate an array function: compute in float64 without NumPy's warnings, return x's dtype."""

    def wrapper(x: np.ndarray, *args: Any) -> np.ndarray:
        x = np.asarray(x)
        y = quietly(fn, np.atleast_1d(x).astype(np.float64), *args)  # (1-d: item assignment works on 0-d input)
        return np.asarray(y, dtype=x.dtype if x.dtype.kind == "f" else np.float64).reshape(x.shape)

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _shift_up(x: np.ndarray, start: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(w, m, steps): w = x + m ≥ ``start`` with the integer m ≥ 0 per element, for the recurrence."""
    m = np.maximum(np.ceil(start - x), 0.0)
    m = np.where(np.isfinite(m), m, 0.0)
    return x + m, m, int(m.max(initial=0))


def _cot_pi(x: np.ndarray) -> np.ndarray:
    """cot πx, with x first reduced to r in [−½, ½] (cot has period 1), so it stays exact for large x;
    for |r| > ¼ as ±tan π(½ − |r|) (½ − |r| is exact), so cot stays relatively exact near its zeros at
    the half-integers (1/tan(π/2) would be 6·10⁻¹⁷ instead of 0, an error ψ⁽ⁿ⁾'s reflection multiplies
    by π^(n+1) Pₙ')."""
    r = x - np.round(x)
    return np.where(np.abs(r) > 0.25, np.copysign(np.tan(np.pi * (0.5 - np.abs(r))), r), 1.0 / np.tan(np.pi * r))


def _lgamma(x: np.ndarray) -> np.ndarray:
    """ln|Γ(x)| (the module docstring's method; +inf at 0, −1, −2, …)."""
    negative = x < 0
    z = np.where(negative, 1.0 - x, x)
    w, m, steps = _shift_up(z, _STIRLING_START)
    product = np.ones_like(z)  # z (z+1) ⋯ (z+m−1)
    for k in range(steps):
        np.multiply(product, z + k, out=product, where=k < m)
    series = _in_powers(1.0 / (w * w), [b / (2 * k * (2 * k - 1)) for k, b in enumerate(_BERNOULLI[:8], start=1)]) / w
    y = (w - 0.5) * np.log(w) - w + 0.5 * math.log(2 * math.pi) + series - np.log(product)
    sin_pi = np.abs(np.sin(np.pi * (x - np.round(x))))  # |sin πx|, exact at the integers
    y = np.where(negative, np.log(np.pi / sin_pi) - y, y)
    return np.where(np.isinf(x), np.inf, np.where((x == 1) | (x == 2), 0.0, y))  # Γ(1) = Γ(2) = 1 exactly


lgamma_array = _in_float64(_lgamma)


def _cot_derivative_polynomial(n: int) -> np.ndarray:
    """Coefficients (lowest first) of Pₙ with dⁿ/dxⁿ (π cot πx) = π^(n+1) Pₙ(cot πx):
    P₀ = c, Pₖ₊₁ = −(1 + c²) Pₖ'."""
    p = np.array([0.0, 1.0])
    for _ in range(n):
        p = -polynomial.polymul([1.0, 0.0, 1.0], polynomial.polyder(p))
    return p


def _polygamma_positive(n: int, z: np.ndarray) -> np.ndarray:
    """ψ⁽ⁿ⁾(z) for z ≥ 0 by recurrence and Stirling's series (module docstring)."""
    w, m, steps = _shift_up(z, _STIRLING_START + n)
    shifted = np.zeros_like(z)  # Σ_{k<m} 1/(z+k)^(n+1)
    for k in range(steps):
        np.add(shifted, 1.0 / (z + k if k else z) ** (n + 1), out=shifted, where=k < m)  # z, not z + 0: ψ(−0) = +inf
    inverse_square = 1.0 / (w * w)
    if n == 0:
        series = np.log(w) - 0.5 / w - inverse_square * _in_powers(inverse_square, [b / (2 * k) for k, b in
                                                                                     enumerate(_BERNOULLI, start=1)])
        return series - shifted
    terms = [b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) for k, b in enumerate(_BERNOULLI, start=1)]
    series = (math.factorial(n - 1) + math.factorial(n) / (2 * w) + inverse_square * _in_powers(inverse_square, terms))
    return (-1) ** (n + 1) * (series / w**n + math.factorial(n) * shifted)


def _in_powers(r: np.ndarray, coefficients: list[float]) -> np.ndarray:
    """c₀ + c₁ r + c₂ r² + ⋯ by Horner's rule (one multiply-add per term, no powers)."""
    total = np.full_like(r, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        total = total * r + c
    return total


def _polygamma(x: np.ndarray, n: int) -> np.ndarray:
    """ψ⁽ⁿ⁾(x), the n-th derivative of ψ = Γ'/Γ (n = 0: digamma), by the module docstring's method.
    Poles at 0, −1, −2, …: ψ(±0) = ∓inf, nan at the negative integers (as PyTorch); for n ≥ 1,
    (−1)^(n+1)·inf at ±0 and +inf (n odd, a pole of even order) or nan (n even) at the negative integers."""
    negative = x < 0
    y = _polygamma_positive(n, np.where(negative, 1.0 - x, x))
    if negative.any():
        cot = _cot_pi(x)
        reflected = (-1) ** n * y - np.pi ** (n + 1) * polynomial.polyval(cot, _cot_derivative_polynomial(n))
        y = np.where(negative, reflected, y)
        pole = negative & (x == np.round(x))
        y = np.where(pole, np.inf if n % 2 else np.nan, y)
    if n:  # ψ⁽ⁿ⁾(±0) = (−1)^(n+1) n! ζ(n+1, 0): the same infinity for both zeros (PyTorch), not the sign of 1/x^(n+1)
        y = np.where(x == 0, (-1) ** (n + 1) * np.inf, y)
    return y


polygamma_array = _in_float64(_polygamma)


def _ndtr(x: np.ndarray) -> np.ndarray:
    """Φ(x) = ½ erfc(−x/√2), the standard normal CDF, for x ≥ −1; below, ½ erfcx(−x/√2) · e^(−x²/2)
    (``_erfcx``, ``_exp_of_square``), where erfc(−x/√2) would carry the rounding of x/√2 magnified by
    x² (up to 2·10⁻¹³ relative at x = −37), which erfcx barely feels."""
    y = np.empty_like(x)
    left = x < -1.0  # each branch on its own elements only (math.erfc runs per element)
    y[left] = 0.5 * _erfcx(-x[left] / math.sqrt(2.0)) * _exp_of_square(x[left], -0.5)
    y[~left] = 0.5 * _erfc(-x[~left] / math.sqrt(2.0))
    return y


def _ndtri(p: np.ndarray) -> np.ndarray:
    """Φ⁻¹(p), the standard normal quantile, since Φ(z) = ½ erfc(−z/√2) = ½ (1 + erf(z/√2)):
    √2 erf⁻¹(2p − 1) near the centre, |p − ½| < ¼ (2p − 1 is exact there, and ``_erfinv_centre`` keeps
    the relative accuracy of a small result); elsewhere −√2 w with erfc(w) = 2q, q = min(p, 1 − p)
    (1 − p is exact for p ≥ ½), signed by p − ½. −inf at 0, +inf at 1, nan outside [0, 1]."""
    z = np.full_like(p, np.nan)
    centre = np.abs(p - 0.5) < 0.25  # each method on its own elements only
    z[centre] = math.sqrt(2.0) * _erfinv_centre(2.0 * p[centre] - 1.0)
    tail = ~centre & (p >= 0) & (p <= 1)
    q = np.minimum(p[tail], 1.0 - p[tail])
    z[tail] = np.copysign(math.sqrt(2.0) * _erfc_inverse(2.0 * q), p[tail] - 0.5)
    return z


def _erfinv(y: np.ndarray) -> np.ndarray:
    """erf⁻¹(y): ``_erfinv_centre`` for |y| < ½; else w with erfc(w) = 1 − |y| (exact for |y| ≥ ½;
    ``_erfc_inverse``), signed as y. ±inf at ±1, nan outside [−1, 1]."""
    a = np.abs(y)
    z = np.full_like(y, np.nan)
    centre = a < 0.5
    z[centre] = _erfinv_centre(y[centre])
    tail = (a >= 0.5) & (a <= 1)
    z[tail] = np.copysign(_erfc_inverse(1.0 - a[tail]), y[tail])
    return z


# erf⁻¹(y) ≈ y P(y²) for |y| < ½: a least-squares Chebyshev fit of degree 6 to erf⁻¹(y)/y in t = y² ∈ [0, ¼],
# made with mpmath for this module (relative error < 8·10⁻¹⁰), lowest power first; P(0) = √π/2
_ERFINV_CENTRE = (0.8862269261230462, 0.23201340845630156, 0.1275723066615253, 0.08617738942327736,
                  0.06904131716764376, 0.029601975219609892, 0.09781949310648161)


def _halley(z: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Halley step z − u/(1 + z u) on f(z) = 0, u = f/f', for f = erf − y or erfc − c: both have
    f''/f' = −2z, and Halley's z − u/(1 − u f''/(2f')) becomes this. Each step triples the number of
    correct digits: one reaches double precision from an error of 10⁻⁹, two from 10⁻⁴."""
    return z - u / (1.0 + z * u)


def _erfinv_centre(y: np.ndarray) -> np.ndarray:
    """erf⁻¹(y) for |y| < ½: y P(y²) (``_ERFINV_CENTRE``, error below 10⁻⁹), then one Halley step on
    erf(z) = y with u = (erf z − y)(√π/2) e^(z²); erf z − y keeps y's relative accuracy as z → 0."""
    z = y * _in_powers(y * y, list(_ERFINV_CENTRE))
    return _halley(z, (backend.erf(z) - y) * (_SQRT_PI / 2.0) * np.exp(z * z))


def _erfc_inverse(c: np.ndarray) -> np.ndarray:
    """w ≥ 0 with erfc(w) = c, for 0 ≤ c ≤ ½ (w = +inf at c = 0). Start from Abramowitz & Stegun
    26.2.23 for z = Φ⁻¹(1 − c/2) = w√2 (absolute error below 4.5·10⁻⁴),

        t = √(−2 ln(c/2)),   z ≈ t − (c₀ + c₁t + c₂t²) / (1 + d₁t + d₂t² + d₃t³),

    then two Halley steps on erfc(w) = c (``_halley``), with u = f/f' written without e^(−w²), which
    underflows in the tail: u = −(√π/2)(erfcx(w) − c e^(w²)), c e^(w²) = e^(ln c + p)(1 + e)
    (w² = p + e exactly as in ``_exp_of_square``; c is as small as 5·10⁻³²⁴)."""
    with np.errstate(divide="ignore"):  # c = 0: ln 0 = −inf, t = inf, w = inf
        log_c = np.log(c)
    t = np.sqrt(-2.0 * (log_c - math.log(2.0)))  # ln(c/2), without a second logarithm
    z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)))
    w = z / math.sqrt(2.0)
    finite = c > 0
    for _ in range(2):
        p, e = _square_exact(np.where(finite, w, 0.0))
        c_exp_w2 = np.exp(log_c + p) * (1.0 + e)
        w = np.where(finite, _halley(w, -_SQRT_PI / 2.0 * (_erfcx(w) - c_exp_w2)), np.inf)
    return w


_math_erfc = np.frompyfunc(math.erfc, 1, 1)


def _erfc(x: np.ndarray) -> np.ndarray:
    """erfc(x) = 1 − erf(x) without the cancellation: Python's math.erfc, per element (relative
    error below 1 ulp in the tail, where 1 − erf(x) would keep no digit)."""
    return _math_erfc(x).astype(np.float64)


def _erfcx(x: np.ndarray) -> np.ndarray:
    """erfcx(x) = e^(x²) erfc(x), the scaled complementary error function.

    * 0 ≤ x < 25: e^(x²) · erfc(x) (math.erfc, accurate in the tail; e^(x²) by ``_exp_of_square``);
    * x ≥ 25: the asymptotic series 1/(x√π) Σₖ (−1)ᵏ (2k−1)!! / (2x²)ᵏ (A&S 7.1.23), 9 terms (the
      next is below 10⁻²⁰ relative);
    * x < 0: erfcx(x) = 2e^(x²) − erfcx(−x) (+inf below x ≈ −26.6).
    """
    a = np.abs(x)
    near = a < 25.0  # each branch on its own elements (math.erfc runs per element); nan goes far, stays nan
    y = np.empty_like(a)
    y[near] = _exp_of_square(a[near], 1.0) * _erfc(a[near])
    far = a[~near]
    inv2x2, term, total = 1.0 / (2.0 * far * far), np.ones_like(far), np.ones_like(far)
    for k in range(1, 9):
        term = -term * (2 * k - 1) * inv2x2
        total = total + term
    y[~near] = total / (far * _SQRT_PI)
    return np.where(x < 0, 2.0 * _exp_of_square(a, 1.0) - y, y)


def _square_exact(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, e) with x² = p + e exactly (Dekker's product; |x| < 2⁹⁹⁶): p = fl(x²), and with x = h + l,
    h the upper 26 bits of x (Veltkamp's split: c = (2²⁷ + 1)x, h = c − (c − x)), h², 2hl and l² are
    exact, so e = ((h² − p) + 2hl) + l²."""
    c = (2.0**27 + 1.0) * x
    h = c - (c - x)
    l = x - h
    p = x * x
    return p, ((h * h - p) + 2.0 * h * l) + l * l


def _exp_of_square(x: np.ndarray, scale: float) -> np.ndarray:
    """e^(scale·x²) (scale = ±1 or −½) without the rounding of x², whose relative error 2⁻⁵³ becomes
    an error of x²·2⁻⁵³ in the result (7·10⁻¹⁴ at x = 25): with x² = p + e exactly (``_square_exact``),
    e^(scale·x²) = e^(scale·p) · e^(scale·e) = e^(scale·p) · (1 + scale·e), since |e| ≤ 2⁻⁵³ p makes
    (scale·e)²/2 negligible. |x| ≥ 4096 (±inf, nan, or a result that is 0 or inf anyway) takes e = 0."""
    small = np.abs(x) < 4096.0
    p, e = _square_exact(np.where(small, x, 0.0))
    return np.exp(scale * np.where(small, p, x * x)) * (1.0 + scale * e)


def _log_ndtr(x: np.ndarray) -> np.ndarray:
    """ln Φ(x): ln(1 − Φ(−x)) = log1p(−Φ(−x)) for x ≥ 0 (Φ(−x) exact in the tail), and for x < 0
    ln(erfcx(−x/√2)/2) − x²/2, since Φ(x) = ½ erfc(−x/√2) = ½ erfcx(−x/√2) e^(−x²/2): no
    underflow however negative x is."""
    y = np.empty_like(x)
    right = ~(x < 0)  # (nan goes right, and stays nan)
    y[right] = np.log1p(-_ndtr(-x[right]))
    t = x[~right]
    y[~right] = np.log(_erfcx(-t / math.sqrt(2.0)) / 2.0) - t * t / 2.0
    return y


def _bessel_i(x: np.ndarray, nu: int, scaled: bool = False) -> np.ndarray:
    """Modified Bessel function Iᵥ(x), ν = 0 or 1 (``scaled``: e^(−|x|) Iᵥ(x), finite for every x).

    * |x| ≤ 30: the power series Iᵥ(x) = Σₖ (x/2)^(2k+ν) / (k! (k+ν)!), all terms of one sign
      (relative error ~ the number of terms × 2⁻⁵³), summed until a term is below 10⁻¹⁷ of the sum;
    * |x| > 30: the asymptotic series Iᵥ(x) = e^|x| / √(2π|x|) Σₖ (−1)ᵏ aₖ(ν) / |x|ᵏ,
      aₖ(ν) = Π_{j=1..k} (4ν² − (2j−1)²) / (k! 8ᵏ); 30 terms (their size falls past 10⁻¹⁷);
      e^|x| / √(2π|x|) (exp exact to an ulp), and above |x| = 700, where e^|x| nears overflow,
      e^(|x| − ½ ln(2π|x|)) so Iᵥ stays finite up to |x| ≈ 713 (at a relative error ~|x|·2⁻⁵³);
    * I₁ is odd: I₁(−x) = −I₁(x); I₀ is even.
    Scaled, the series is multiplied by e^(−|x|) and the asymptotic series only divided by √(2π|x|).
    """
    a = np.abs(x)
    near = a <= 30.0  # each series on its own elements (nan goes to the asymptotic one and stays nan)
    y = np.empty_like(a)
    y[near] = _bessel_i_power_series(a[near], nu, scaled)
    y[~near] = _bessel_i_asymptotic(a[~near], nu, scaled)
    return np.copysign(y, x) if nu == 1 else y


def _bessel_i_power_series(a: np.ndarray, nu: int, scaled: bool) -> np.ndarray:
    """Σₖ (a/2)^(2k+ν) / (k! (k+ν)!) (``scaled``: times e^(−a)) for 0 ≤ a ≤ 30, until every term is
    below 10⁻¹⁷ of its sum (``_bessel_i``)."""
    q = (a / 2.0) ** 2
    term = (a / 2.0) ** nu / math.factorial(nu)
    total = term.copy()
    k = 0
    while np.any(term > 1e-17 * total):
        k += 1
        term = term * q / (k * (k + nu))
        total = total + term
    return total * np.exp(-a) if scaled else total


def _bessel_i_asymptotic(a: np.ndarray, nu: int, scaled: bool) -> np.ndarray:
    """e^a / √(2πa) Σₖ (−1)ᵏ aₖ(ν) / aᵏ, 30 terms, for a > 30 (``scaled``: without e^a; ``_bessel_i``)."""
    inv = 1.0 / a
    coefficient, term_sum, power = 1.0, np.ones_like(a), np.ones_like(a)
    for k in range(1, 31):
        coefficient = coefficient * (4 * nu * nu - (2 * k - 1) ** 2) / (k * 8)
        power = power * (-inv)
        term_sum = term_sum + coefficient * power
    if scaled:
        return np.where(np.isinf(a), 0.0, term_sum / np.sqrt(2 * np.pi * a))
    y = term_sum * np.where(a < 700.0, np.exp(np.minimum(a, 700.0)) / np.sqrt(2 * np.pi * a),
                            np.exp(a - 0.5 * np.log(2 * np.pi * a)))
    return np.where(np.isinf(a), np.inf, y)


def _bessel_k(x: np.ndarray, nu: int, scaled: bool = False) -> np.ndarray:
    """Modified Bessel function of the second kind Kᵥ(x), ν = 0 or 1 (``scaled``: eˣ Kᵥ(x)), from
        eˣ Kᵥ(x) = ∫₀^∞ e^(−x (cosh t − 1)) cosh(νt) dt
    by the trapezoidal rule, which for this smooth, doubly-exponentially decaying integrand converges
    geometrically: step h = min(0.2, 0.4/√x) (the peak at t = 0 is ~1/√x wide; 0.3 would lose digits),
    up to T with x (cosh T − 1) = 40, and cosh t − 1 as 2 sinh²(t/2) (no cancellation near t = 0): an
    error below 1.2·10⁻¹⁵ relative from x = 10⁻¹⁰ to 800 (1,500 points against mpmath). +inf at 0,
    nan below.
    """
    positive = x > 0
    xs = np.where(positive & np.isfinite(x), x, 1.0)
    h = np.minimum(0.2, 0.4 / np.sqrt(xs))
    steps = np.ceil(np.arccosh(1.0 + 40.0 / xs) / h)
    order = np.argsort(-steps, axis=None, kind="stable")  # most steps first: step k's elements are a prefix
    x_sorted, h_sorted, steps_sorted = xs.flat[order], h.flat[order], steps.flat[order]
    sums = np.full_like(x_sorted, 0.5)  # the t = 0 end of the trapezoid: e⁰ cosh 0 / 2
    for k in range(1, int(steps.max(initial=0)) + 1):
        n = np.searchsorted(-steps_sorted, -k, side="right")  # the elements with steps ≥ k
        t = k * h_sorted[:n]
        sums[:n] = sums[:n] + np.exp(-x_sorted[:n] * 2.0 * np.sinh(t / 2) ** 2) * np.cosh(nu * t)
    total = np.empty_like(sums)
    total[order] = sums
    total = total.reshape(xs.shape)
    y = h * total if scaled else h * total * np.exp(-xs)
    y = np.where(np.isposinf(x), 0.0, y)
    return np.where(positive, y, np.where(x == 0, np.inf, np.nan))


_EULER_GAMMA = 0.57721566490153286061
_MILLER_START = 120  # J_N for N = 120 > 25 + 6·√25 + 30: the recurrence's start is far below every term used
_RESCALE = 2.0**600  # a power of two: rescaling by it is exact


def _bessel_jy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(J₀, J₁, Y₀, Y₁) at x: Bessel functions of the first and second kind, orders 0 and 1.

    * 0 < |x| ≤ 25: Miller's backward recurrence J_{k−1} = (2k/x) J_k − J_{k+1} from J_N = 1, J_{N+1} = 0
      (stable downwards: the wanted solution grows, the other one dies), normalised by
      1 = J₀ + 2 Σₖ J₂ₖ; values are rescaled by 2⁻⁶⁰⁰ whenever they pass 2⁶⁰⁰ (small x). Y from Neumann's
      series (A&S 9.1.88, and its derivative with J₂ₖ' = (J₂ₖ₋₁ − J₂ₖ₊₁)/2 for Y₁ = −Y₀'):
          Y₀ = (2/π)(ln(x/2) + γ) J₀ − (4/π) Σₖ (−1)ᵏ J₂ₖ / k
          Y₁ = −(2/π)(J₀/x − (ln(x/2) + γ) J₁) + (4/π) Σₖ (−1)ᵏ (J₂ₖ₋₁ − J₂ₖ₊₁) / (2k);
    * |x| > 25: Hankel's asymptotic expansion (A&S 9.2.5–9.2.10), 20 terms of P and Q, χ = x − (ν/2 + ¼)π:
          Jᵥ = √(2/(πx)) (P cos χ − Q sin χ),   Yᵥ = √(2/(πx)) (P sin χ + Q cos χ),
          P = Σₖ (−1)ᵏ a₂ₖ(ν)/x^(2k),  Q = Σₖ (−1)ᵏ a₂ₖ₊₁(ν)/x^(2k+1),  aₖ(ν) = Πⱼ₌₁..ₖ (4ν² − (2j−1)²)/(k! 8ᵏ),
      with cos χ = cos x cos φ + sin x sin φ (φ = (ν/2 + ¼)π), so x − φ is never rounded;
    * J₀ is even, J₁ odd; Y₀, Y₁ are nan for x < 0 and −inf at 0; every one is nan at ±inf (as PyTorch).
    Against mpmath (1,800 points in (0, 10⁴)): absolute error below 5·10⁻¹⁶, relative below 5·10⁻¹⁵
    wherever |y| > 0.05 (near a zero only the absolute error stays small, as for any method). PyTorch's
    values (Cephes' rational approximations) are off by up to 9·10⁻⁷ near x = 5, where they switch.
    """
    a = np.abs(x)
    j0, j1, y0, y1 = (np.full_like(a, np.nan) for _ in range(4))
    near = (a > 0) & (a <= 25.0)
    j0[near], j1[near], y0[near], y1[near] = _bessel_jy_recurrence(a[near])
    far = (a > 25.0) & np.isfinite(a)
    j0[far], y0[far] = _bessel_hankel(a[far], 0)
    j1[far], y1[far] = _bessel_hankel(a[far], 1)
    zero = a == 0
    j0[zero], j1[zero], y0[zero], y1[zero] = 1.0, 0.0, -np.inf, -np.inf
    j1 = np.where(zero, x, np.where(x < 0, -j1, j1))  # odd; J₁(±0) = ±0
    negative = x < 0
    y0[negative], y1[negative] = np.nan, np.nan
    return j0, j1, y0, y1


def _bessel_jy_recurrence(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(J₀, J₁, Y₀, Y₁) for 0 < a ≤ 25 by Miller's recurrence and Neumann's series (``_bessel_jy``)."""
    upper, current = np.zeros_like(a), np.ones_like(a)  # J_{k+1}, J_k for k = N, unnormalised
    norm, y0_sum, y1_sum = np.zeros_like(a), np.zeros_like(a), np.zeros_like(a)
    for k in range(_MILLER_START, 0, -1):
        lower = (2.0 * k / a) * current - upper  # J_{k−1}
        m = k - 1
        if m % 2 == 0 and m > 0:  # J_m with m = 2i: into 1 = J₀ + 2ΣJ₂ᵢ and Y₀'s Σ(−1)ⁱ J₂ᵢ/i
            norm += 2.0 * lower
            y0_sum += (-1) ** (m // 2) * lower / (m // 2)
        elif m % 2 == 1:  # J_m with m = 2i + 1: its coefficient in Σₖ (−1)ᵏ (J₂ₖ₋₁ − J₂ₖ₊₁)/(2k)
            i = m // 2
            y1_sum += (-1) ** (i + 1) * (1.0 / (2 * i + 2) + (1.0 / (2 * i) if i else 0.0)) * lower
        big = np.abs(lower) > _RESCALE
        if big.any():
            for array in (lower, current, norm, y0_sum, y1_sum):
                array[big] /= _RESCALE
        upper, current = current, lower
    j0 = current
    j1 = upper
    norm = norm + j0
    j0, j1, y0_sum, y1_sum = j0 / norm, j1 / norm, y0_sum / norm, y1_sum / norm
    log_term = np.log(a / 2.0) + _EULER_GAMMA
    y0 = 2.0 / np.pi * log_term * j0 - 4.0 / np.pi * y0_sum
    y1 = -2.0 / np.pi * (j0 / a - log_term * j1) + 4.0 / np.pi * y1_sum
    return j0, j1, y0, y1


def _bessel_hankel(a: np.ndarray, nu: int) -> tuple[np.ndarray, np.ndarray]:
    """(Jᵥ, Yᵥ) for a > 25 by Hankel's expansion (``_bessel_jy``), ν = 0 or 1."""
    p, q = np.zeros_like(a), np.zeros_like(a)
    coefficient, power = 1.0, np.ones_like(a)  # aₖ(ν) and a⁻ᵏ
    for k in range(20):
        if k:
            coefficient *= (4 * nu * nu - (2 * k - 1) ** 2) / (k * 8.0)
            power = power / a
        sign = (-1) ** (k // 2)
        if k % 2 == 0:
            p += sign * coefficient * power
        else:
            q += sign * coefficient * power
    phase = (nu / 2.0 + 0.25) * np.pi
    cos_chi = np.cos(a) * math.cos(phase) + np.sin(a) * math.sin(phase)  # cos(a − φ)
    sin_chi = np.sin(a) * math.cos(phase) - np.cos(a) * math.sin(phase)  # sin(a − φ)
    scale = np.sqrt(2.0 / (np.pi * a))
    return scale * (p * cos_chi - q * sin_chi), scale * (p * sin_chi + q * cos_chi)


def _bessel_jy_array(x: np.ndarray, which: int) -> np.ndarray:
    """One of ``_bessel_jy``'s four results (0: J₀, 1: J₁, 2: Y₀, 3: Y₁)."""
    return _bessel_jy(x)[which]


def _entr(x: np.ndarray) -> np.ndarray:
    """−x ln x for x > 0, 0 at x = 0, −inf for x < 0 (nan stays nan)."""
    return np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, np.where(x < 0, -np.inf, x)))


def _sinc(x: np.ndarray) -> np.ndarray:
    """sin(πx)/(πx), 1 at x = 0 (np.sinc)."""
    return np.sinc(x)


def _with_kernel(name: str, reference: Any) -> Any:
    """The array function of op ``name``: the C kernel of csrc/special.c when the C backend runs
    (``backend.special``), else the NumPy reference (computed in float64, cast back to x's dtype)."""
    in_float64 = _in_float64(reference)

    def array_function(x: np.ndarray) -> np.ndarray:
        y = backend.special(name, x)
        return in_float64(x) if y is None else y

    array_function.__name__, array_function.__doc__ = f"{name}_array", reference.__doc__
    return array_function


erfinv_array, erfc_array, erfcx_array, ndtr_array, ndtri_array, log_ndtr_array = (
    _with_kernel(name, f) for name, f in (("erfinv", _erfinv), ("erfc", _erfc), ("erfcx", _erfcx), ("ndtr", _ndtr),
                                          ("ndtri", _ndtri), ("log_ndtr", _log_ndtr)))
i_array, entr_array, sinc_array = (_in_float64(f) for f in (_bessel_i, _entr, _sinc))
k_array = _in_float64(_bessel_k)
jy_array = _in_float64(_bessel_jy_array)


def _incomplete_gamma(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q): the regularized incomplete gamma functions P(a, x) = γ(a, x)/Γ(a) and Q = 1 − P, each
    computed where it is the smaller (Numerical Recipes §6.2), so neither loses digits to 1 − ·:

    * x < a + 1: the series P = e^(−x) x^a / Γ(a) · Σₙ xⁿ / (a (a+1) ⋯ (a+n)), until a term is
      below 10⁻¹⁷ of the sum;
    * x ≥ a + 1: Q = e^(−x) x^a / Γ(a) · 1/(x + 1 − a − 1·(1 − a)/(x + 3 − a − 2·(2 − a)/(x + 5 − a − ⋯)))
      by the modified Lentz method, until a step changes it by less than 10⁻¹⁶.

    P(0, x) = 1 for x > 0 (the limit), nan for a < 0 or x < 0 (as PyTorch); P(a, 0) = 0, P(a, inf) = 1.
    """
    a, x = np.broadcast_arrays(a, x)
    valid = (a >= 0) & (x >= 0) & np.isfinite(a)
    a_safe = np.where(valid & (a > 0), a, 1.0)
    x_safe = np.where(valid & np.isfinite(x), x, 1.0)
    prefactor = np.exp(-x_safe + a_safe * np.log(np.where(x_safe > 0, x_safe, 1.0)) - _lgamma(a_safe))
    use_series = x_safe < a_safe + 1.0
    smaller = np.empty_like(prefactor)  # P where use_series, else Q: each method on its own elements only
    smaller[use_series] = _incomplete_gamma_series(a_safe[use_series], x_safe[use_series])
    smaller[~use_series] = _incomplete_gamma_fraction(a_safe[~use_series], x_safe[~use_series])
    smaller = prefactor * smaller
    p = np.where(use_series, smaller, 1.0 - smaller)
    q = np.where(use_series, 1.0 - smaller, smaller)
    p = np.where(x == 0, 0.0, np.where(np.isposinf(x) | (a == 0), 1.0, p))
    q = np.where(x == 0, 1.0, np.where(np.isposinf(x) | (a == 0), 0.0, q))
    return np.where(valid, p, np.nan), np.where(valid, q, np.nan)


def _incomplete_gamma_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Σₙ xⁿ / (a (a+1) ⋯ (a+n)), summed until every term is below 10⁻¹⁷ of its sum (the terms
    fall monotonically once a + n > x, so a term that is small stays small)."""
    term = 1.0 / a
    total = term.copy()
    for n in range(1, 100_000):
        term = term * x / (a + n)
        total = total + term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total


def _incomplete_gamma_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """1/(x + 1 − a − 1·(1 − a)/(x + 3 − a − 2·(2 − a)/(x + 5 − a − ⋯))) by the modified Lentz method
    (a, x 1-d). Each element stops at the first step that leaves its value unchanged (a factor of
    exactly 1.0) and leaves the working arrays: later factors only wobble by an ulp around 1, so
    waiting for all elements to reach 1.0 in the same step could take forever."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(b, 1.0 / tiny)
    d = 1.0 / np.where(b == 0, tiny, b)
    h = d.copy()
    index = np.arange(h.size)  # the elements still converging; a, b, c, d hold only theirs
    for n in range(1, 100_000):
        if not index.size:
            break
        an = -n * (n - a)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        step = d * c
        h[index] *= step
        going = np.abs(step - 1.0) > 1e-16
        if not going.all():
            index, a, b, c, d = index[going], a[going], b[going], c[going], d[going]
    return h


def _hurwitz_zeta(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """ζ(s, q) = Σ_{k≥0} (q + k)^(−s) by Euler–Maclaurin summation: the first N terms directly
    (N per element, so that w = q + N ≥ 10 + s), then
        w^(1−s)/(s − 1) + w^(−s)/2 + Σ_{j=1..10} B₂ⱼ/(2j)! · s(s+1)⋯(s+2j−2) · w^(−s−2j+1),
    whose first omitted term is below 10⁻¹⁷ relative for w ≥ 10 + s. As PyTorch (Cephes): inf at s = 1
    and where q is a non-positive integer (−inf too), nan for s < 1, for q < 0 with a non-integer s,
    and for q = +inf or nan."""
    s, q = np.broadcast_arrays(s, q)
    valid = (s > 1) & ~((q < 0) & (s != np.floor(s))) & (q < np.inf)  # (q < inf: not +inf, not nan)
    s_safe, q_safe = np.where(valid, s, 2.0), np.where(valid & np.isfinite(q), q, 1.0)
    w, m, steps = _shift_up(q_safe, _STIRLING_START + s_safe)  # each element its own N: w ≥ 10 + its s
    total = np.zeros_like(w)
    for k in range(steps):
        total = total + np.where(k < m, (q_safe + k) ** -s_safe, 0.0)
    total = total + w ** (1.0 - s_safe) / (s_safe - 1.0) + 0.5 * w**-s_safe
    rising, power = s_safe.copy(), w ** (-s_safe - 1.0)  # s(s+1)⋯(s+2j−2) and w^(−s−2j+1), j = 1
    for j, b in enumerate(_BERNOULLI, start=1):
        total = total + b / math.factorial(2 * j) * rising * power
        rising = rising * (s_safe + 2 * j - 1) * (s_safe + 2 * j)
        power = power / (w * w)
    pole = (s == 1) | ((q <= 0) & (q == np.floor(q)))
    return np.where(pole, np.inf, np.where(valid, total, np.nan))


def _pair_in_float64(fn: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """fn(a, b) (broadcast) computed in float64 without NumPy's warnings, in the dtype of a and b: the
    two-argument counterpart of ``_in_float64``."""
    return np.asarray(quietly(fn, np.asarray(a, np.float64), np.asarray(b, np.float64)), dtype=np.result_type(a, b))


class Zeta(Function):
    """The Hurwitz zeta function (torch.special.zeta); ζ(s, 1) is Riemann's.

    Forward:   y = ζ(x, q) = Σ_{k≥0} (q + k)^(−x)          (Euler–Maclaurin: ``_hurwitz_zeta``)
    Backward:  ∂L/∂x: not implemented (as in PyTorch)
               ∂L/∂q = −g ⊙ x ζ(x + 1, q)
    """

    formula = ("not implemented", "-g * x * zeta(x + 1, q)")
    torch_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        return _pair_in_float64(_hurwitz_zeta, x.data, q.data)

    @staticmethod
    def backward(ctx, grad_output):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"{ctx.name()}: the derivative with respect to x (the first argument) is not "
                                      "implemented, as in PyTorch")
        x, q = ctx.saved_tensors
        return None, -grad_output * x * Zeta.apply(x + 1.0, q)


class Gammainc(Function):
    """The regularized lower incomplete gamma function (torch.special.gammainc).

    Forward:   y = P(a, x) = (1/Γ(a)) ∫₀ˣ t^(a−1) e^(−t) dt     (series or continued fraction: ``_incomplete_gamma``)
    Backward:  ∂L/∂a: not implemented (as in PyTorch)
               ∂L/∂x = g ⊙ x^(a−1) e^(−x) / Γ(a)
    """

    formula = ("not implemented", "g * exp((a-1)*log(x) - x - lgamma(a))")
    torch_name = "IgammaBackward0"

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        return _pair_in_float64(lambda a64, x64: _incomplete_gamma(a64, x64)[0], a.data, x.data)

    @staticmethod
    def backward(ctx, grad_output):
        return _incomplete_gamma_backward(ctx, grad_output, 1.0)


class Gammaincc(Function):
    """The regularized upper incomplete gamma function Q = 1 − P (torch.special.gammaincc).

    Forward:   y = Q(a, x) = (1/Γ(a)) ∫ₓ^∞ t^(a−1) e^(−t) dt
    Backward:  ∂L/∂a: not implemented (as in PyTorch)
               ∂L/∂x = −g ⊙ x^(a−1) e^(−x) / Γ(a)
    """

    formula = ("not implemented", "-g * exp((a-1)*log(x) - x - lgamma(a))")
    torch_name = "IgammacBackward0"

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        return _pair_in_float64(lambda a64, x64: _incomplete_gamma(a64, x64)[1], a.data, x.data)

    @staticmethod
    def backward(ctx, grad_output):
        return _incomplete_gamma_backward(ctx, grad_output, -1.0)


def _incomplete_gamma_backward(ctx: Function, grad_output, sign: float):
    """(None, ∂L/∂x) of Gammainc (sign +1) and Gammaincc (−1); raises for a gradient with respect to a."""
    if ctx.needs_input_grad[0]:
        raise NotImplementedError(f"{ctx.name()}: the derivative with respect to a (the first argument) is not "
                                  "implemented, as in PyTorch")
    a, x = ctx.saved_tensors
    density = ((a - 1.0) * x.log() - x - Lgamma.apply(a)).exp()  # x^(a−1) e^(−x) / Γ(a)
    return None, grad_output * density * sign


# ---- the gamma family: Lgamma Digamma Polygamma ----------------------------------------


class Lgamma(Function):
    """ln|Γ(x)|, the log of the gamma function's absolute value.

    Forward:   y = ln|Γ(x)|            (recurrence + Stirling's series + reflection, module docstring)
    Backward:  ∂L/∂x = g ⊙ ψ(x)        (ψ = Γ'/Γ, the digamma function)
    """

    formula = ("g * digamma(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return lgamma_array(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * Digamma.apply(x)


class Digamma(Function):
    """ψ(x) = d/dx ln Γ(x), the digamma function.

    Forward:   y = ψ(x)                (ψ(±0) = ∓inf, nan at the negative integers, as PyTorch)
    Backward:  ∂L/∂x = g ⊙ ψ'(x)       (ψ' = polygamma(1, ·), the trigamma function)
    """

    formula = ("g * polygamma(1, x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return polygamma_array(x.data, 0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * Polygamma.apply(x, n=1)


class Polygamma(Function):
    """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n ≥ 1; n = 0 is ``Digamma``).

    Forward:   y = ψ⁽ⁿ⁾(x) = (−1)^(n+1) n! Σ_{k≥0} 1/(x + k)^(n+1)
    Backward:  ∂L/∂x = g ⊙ ψ⁽ⁿ⁺¹⁾(x)
    """

    formula = ("g * polygamma(n + 1, x)",)

    @staticmethod
    def forward(ctx, x, *, n):
        ctx.n = n
        ctx.save_for_backward(x)
        return polygamma_array(x.data, n)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * Polygamma.apply(x, n=ctx.n + 1)


# ---- error-function relatives: Erfinv Erfcx Ndtr Ndtri LogNdtr ----------------------------


class Erfinv(Function):
    """The inverse error function: erf(y) = x.

    Forward:   y = erf⁻¹(x)             (Φ⁻¹ of the tail, Newton on erf near 0: ``_erfinv``)
    Backward:  ∂L/∂x = g ⊙ (√π/2) e^(y²)     (1 / erf'(y), erf'(y) = (2/√π) e^(−y²))
    """

    formula = ("g * sqrt(pi)/2 * exp(y**2)",)

    @staticmethod
    def forward(ctx, x):
        y = erfinv_array(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (_SQRT_PI / 2.0) * (y * y).exp()


class Erfc(Function):
    """The complementary error function, exact in the right tail.

    Forward:   y = erfc(x) = 1 − erf(x) = (2/√π) ∫ₓ^∞ e^(−t²) dt
    Backward:  ∂L/∂x = −g ⊙ (2/√π) e^(−x²)
    """

    formula = ("-g * 2/sqrt(pi) * exp(-x**2)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erfc_array(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (-2.0 / _SQRT_PI) * (-(x * x)).exp()


class Erfcx(Function):
    """The scaled complementary error function, finite where erfc underflows.

    Forward:   y = erfcx(x) = e^(x²) erfc(x)
    Backward:  ∂L/∂x = g ⊙ (2x·y − 2/√π)
    """

    formula = ("g * (2*x*y - 2/sqrt(pi))",)
    torch_name = "SpecialErfcxBackward0"

    @staticmethod
    def forward(ctx, x):
        y = erfcx_array(x.data)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return grad_output * (2.0 * x * y - 2.0 / _SQRT_PI)


class Ndtr(Function):
    """Φ(x), the standard normal cumulative distribution function.

    Forward:   y = Φ(x) = ½ erfc(−x/√2)
    Backward:  ∂L/∂x = g ⊙ φ(x),   φ(x) = e^(−x²/2) / √(2π)
    """

    formula = ("g * exp(-x**2/2) / sqrt(2*pi)",)
    torch_name = "MulBackward1"  # PyTorch's ndtr is a composite whose last step is a multiply

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ndtr_array(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x * x * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))


class Ndtri(Function):
    """Φ⁻¹(x), the standard normal quantile (inverse of ``Ndtr``).

    Forward:   y = Φ⁻¹(x)
    Backward:  ∂L/∂x = g ⊙ √(2π) e^(y²/2)     (1 / φ(y))
    """

    formula = ("g * sqrt(2*pi) * exp(y**2/2)",)
    torch_name = "SpecialNdtriBackward0"

    @staticmethod
    def forward(ctx, x):
        y = ndtri_array(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * math.sqrt(2.0 * math.pi) * (y * y * 0.5).exp()


class LogNdtr(Function):
    """ln Φ(x), accurate far into the left tail (where Φ itself underflows).

    Forward:   y = ln Φ(x)
    Backward:  ∂L/∂x = g ⊙ φ(x)/Φ(x) = g ⊙ √(2/π) / erfcx(−x/√2)
    """

    formula = ("g * sqrt(2/pi) / erfcx(-x/sqrt(2))",)
    torch_name = "SpecialLogNdtrBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return log_ndtr_array(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * math.sqrt(2.0 / math.pi) / Erfcx.apply(x * (-1.0 / math.sqrt(2.0)))


# ---- Bessel: I0 I1 ---------------------------------------------------------------------


class I0(Function):
    """I₀(x), the modified Bessel function of the first kind, order 0.

    Forward:   y = I₀(x) = Σₖ (x/2)^(2k) / (k!)²
    Backward:  ∂L/∂x = g ⊙ I₁(x)
    """

    formula = ("g * i1(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return i_array(x.data, 0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * I1.apply(x)


class I1(Function):
    """I₁(x), the modified Bessel function of the first kind, order 1.

    Forward:   y = I₁(x) = Σₖ (x/2)^(2k+1) / (k! (k+1)!)
    Backward:  ∂L/∂x = g ⊙ (I₀(x) − y/x),   g ⊙ (½ + 3x²/16) for |x| < 10⁻⁴ (the series; y/x would lose
               its digits there, all of them for subnormal x)
    """

    formula = ("g * (i0(x) - y/x)",)
    torch_name = "SpecialI1Backward0"

    @staticmethod
    def forward(ctx, x):
        y = i_array(x.data, 1)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return grad_output * _bessel_i1_slope(x, y, I0.apply(x), scaled=False)


class I0e(Function):
    """e^(−|x|) I₀(x), the exponentially scaled I₀ (finite where I₀ overflows).

    Forward:   y = e^(−|x|) I₀(x)
    Backward:  ∂L/∂x = g ⊙ (i1e(x) − sign(x) y)
    """

    formula = ("g * (i1e(x) - sign(x) * y)",)
    torch_name = "SpecialI0EBackward0"

    @staticmethod
    def forward(ctx, x):
        y = i_array(x.data, 0, True)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return grad_output * (I1e.apply(x) - y * np.sign(x.data))


class I1e(Function):
    """e^(−|x|) I₁(x), the exponentially scaled I₁.

    Forward:   y = e^(−|x|) I₁(x)
    Backward:  ∂L/∂x = g ⊙ (i0e(x) − y (sign(x) + 1/x)),   g ⊙ (½ − |x| + 15x²/16) for |x| < 10⁻⁴
               (the series, as ``I1``)
    """

    formula = ("g * (i0e(x) - y * (sign(x) + 1/x))",)
    torch_name = "SpecialI1EBackward0"

    @staticmethod
    def forward(ctx, x):
        y = i_array(x.data, 1, True)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return grad_output * _bessel_i1_slope(x, y, I0e.apply(x), scaled=True)


def _bessel_i1_slope(x, y, i0, scaled: bool):
    """d/dx of y = I₁(x) (``scaled``: e^(−|x|) I₁(x)) from i0 = I₀(x) (e^(−|x|) I₀(x)), in Tensor ops:
    I₀ − y/x (scaled: also − sign(x)·y), and for |x| < 10⁻⁴, where y/x loses its digits, the series
    ½ + 3x²/16 (scaled: ½ − |x| + 15x²/16)."""
    small = np.abs(x.data) < 1e-4
    slope = i0 - y / x.masked_fill(small, 1.0)
    series = x * x * 0.1875 + 0.5
    if scaled:
        slope = slope - y * np.sign(x.data)
        series = x * x * 0.9375 - x.abs() + 0.5
    return series.where(small, slope)


class ModifiedBesselK0(Function):
    """K₀(x), the modified Bessel function of the second kind, order 0 (x > 0).

    Forward:   y = K₀(x) = ∫₀^∞ e^(−x cosh t) dt          (trapezoidal rule: ``_bessel_k``)
    Backward:  ∂L/∂x = −g ⊙ K₁(x)                           (PyTorch has no gradient here)
    """

    formula = ("-g * k1(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return k_array(x.data, 0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * ModifiedBesselK1.apply(x)


class ModifiedBesselK1(Function):
    """K₁(x), the modified Bessel function of the second kind, order 1 (x > 0).

    Forward:   y = K₁(x) = ∫₀^∞ e^(−x cosh t) cosh t dt
    Backward:  ∂L/∂x = −g ⊙ (K₀(x) + y/x)
    """

    formula = ("-g * (k0(x) + y/x)",)

    @staticmethod
    def forward(ctx, x):
        y = k_array(x.data, 1)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return -grad_output * (ModifiedBesselK0.apply(x) + y / x)


class ScaledModifiedBesselK0(Function):
    """eˣ K₀(x), finite where K₀ underflows.

    Forward:   y = eˣ K₀(x)
    Backward:  ∂L/∂x = g ⊙ (y − eˣ K₁(x))
    """

    formula = ("g * (y - k1e(x))",)

    @staticmethod
    def forward(ctx, x):
        y = k_array(x.data, 0, True)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return grad_output * (y - ScaledModifiedBesselK1.apply(x))


class ScaledModifiedBesselK1(Function):
    """eˣ K₁(x), finite where K₁ underflows.

    Forward:   y = eˣ K₁(x)
    Backward:  ∂L/∂x = g ⊙ (y − eˣ K₀(x) − y/x)
    """

    formula = ("g * (y - k0e(x) - y/x)",)

    @staticmethod
    def forward(ctx, x):
        y = k_array(x.data, 1, True)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return grad_output * (y - ScaledModifiedBesselK0.apply(x) - y / x)


# ---- Bessel J and Y of orders 0 and 1: BesselJ0 BesselJ1 BesselY0 BesselY1 ------------------------


class BesselJ0(Function):
    """J₀(x), the Bessel function of the first kind, order 0 (``_bessel_jy``).

    Forward:   y = J₀(x) = Σₖ (−1)ᵏ (x/2)^(2k) / (k!)²
    Backward:  ∂L/∂x = −g ⊙ J₁(x)                           (PyTorch has no gradient here)
    """

    formula = ("-g * j1(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return jy_array(x.data, 0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * BesselJ1.apply(x)


class BesselJ1(Function):
    """J₁(x), the Bessel function of the first kind, order 1.

    Forward:   y = J₁(x) = Σₖ (−1)ᵏ (x/2)^(2k+1) / (k! (k+1)!)
    Backward:  ∂L/∂x = g ⊙ (J₀(x) − y/x),   g ⊙ (½ − 3x²/16) for |x| < 10⁻⁴ (the series)
    """

    formula = ("g * (j0(x) - y/x)",)

    @staticmethod
    def forward(ctx, x):
        y = jy_array(x.data, 1)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        small = np.abs(x.data) < 1e-4
        slope = BesselJ0.apply(x) - y / x.masked_fill(small, 1.0)
        return grad_output * (0.5 - x * x * 0.1875).where(small, slope)


class BesselY0(Function):
    """Y₀(x), the Bessel function of the second kind, order 0 (x > 0).

    Forward:   y = Y₀(x) = (2/π)(ln(x/2) + γ) J₀(x) − (4/π) Σₖ (−1)ᵏ J₂ₖ(x) / k
    Backward:  ∂L/∂x = −g ⊙ Y₁(x)
    """

    formula = ("-g * y1(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return jy_array(x.data, 2)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * BesselY1.apply(x)


class BesselY1(Function):
    """Y₁(x), the Bessel function of the second kind, order 1 (x > 0).

    Forward:   y = Y₁(x) = −Y₀'(x)
    Backward:  ∂L/∂x = g ⊙ (Y₀(x) − y/x)
    """

    formula = ("g * (y0(x) - y/x)",)

    @staticmethod
    def forward(ctx, x):
        y = jy_array(x.data, 3)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return grad_output * (BesselY0.apply(x) - y / x)


# ---- products with a log, and sinc: Xlogy Xlog1py Entr Sinc ---------------------------------


class Xlogy(Function):
    """x·ln y, taken as 0 where x = 0 (unless y is nan): the entropy/KL term without 0·(−inf).

    Forward:   y_out = x ⊙ ln y          (0 where x = 0 and y is not nan)
    Backward:  ∂L/∂x = g ⊙ ln y          (0 where x = 0 and y ≤ 0, as PyTorch)
               ∂L/∂y = g ⊙ x / y
    """

    formula = ("g * log(y)", "g * x / y")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return quietly(_x_times, x.data, np.log, y.data)

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad_output * y.log()).masked_fill((x.data == 0) & (y.data <= 0), 0.0)
        if ctx.needs_input_grad[1]:
            grad_y = grad_output * x / y
        return grad_x, grad_y


class Xlog1py(Function):
    """x·ln(1 + y), taken as 0 where x = 0 (unless y is nan).

    Forward:   y_out = x ⊙ ln(1 + y)     (0 where x = 0 and y is not nan)
    Backward:  ∂L/∂x = g ⊙ ln(1 + y)     (0 where x = 0 and y ≤ −1, as PyTorch)
               ∂L/∂y = g ⊙ x / (1 + y)
    """

    formula = ("g * log1p(y)", "g * x / (1 + y)")
    torch_name = "SpecialXlog1PyBackward0"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return quietly(_x_times, x.data, np.log1p, y.data)

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad_output * y.log1p()).masked_fill((x.data == 0) & (y.data <= -1), 0.0)
        if ctx.needs_input_grad[1]:
            grad_y = grad_output * x / (y + 1.0)
        return grad_x, grad_y


def _x_times(x: np.ndarray, log, y: np.ndarray) -> np.ndarray:
    """x ⊙ log(y), 0 where x = 0 and y is not nan (xlogy, xlog1py)."""
    return np.where((x == 0) & ~np.isnan(y), 0.0, x * log(y)).astype(np.result_type(x, y))


class Entr(Function):
    """The elementwise entropy term −x ln x.

    Forward:   y = −x ln x   (x > 0),   0 (x = 0),   −inf (x < 0)
    Backward:  ∂L/∂x = −g ⊙ (1 + ln x)      (+inf·g at 0, nan below, as PyTorch)
    """

    formula = ("-g * (1 + log(x))",)
    torch_name = "SpecialEntrBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return entr_array(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * (x.log() + 1.0)


class Sinc(Function):
    """The normalized sinc function.

    Forward:   y = sin(πx) / (πx),   1 at x = 0
    Backward:  ∂L/∂x = g ⊙ (cos(πx) − y) / x,   0 at x = 0
    """

    formula = ("g * (cos(pi*x) - y) / x",)

    @staticmethod
    def forward(ctx, x):
        y = sinc_array(x.data)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        zero = x.data == 0
        slope = ((x * math.pi).cos() - y) / x.masked_fill(zero, 1.0)
        return grad_output * slope.masked_fill(zero, 0.0)
