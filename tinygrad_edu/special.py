"""``tg.special``: PyTorch's ``torch.special`` functions.

    import tinygrad_edu as tg
    x = tg.tensor([0.5, 1.0, 4.0], dtype=tg.float64, requires_grad=True)
    tg.special.gammaln(x).sum().backward()        # x.grad = ψ(x), the digamma function

The functions of their own (the gamma family, zeta, gammainc/gammaincc, erfinv, erfc, erfcx, ndtr,
ndtri, log_ndtr, i0, i1, i0e, i1e, bessel_j0/j1/y0/y1, xlogy, xlog1py, entr, sinc) are ops of ``ops/special.py``, where
the methods and their error bounds are written down; the rest are compositions (multigammaln,
spherical_bessel_j0, the orthogonal polynomials and their shifted forms) or the Tensor methods PyTorch lists here too
(``expit`` is ``sigmoid``, ``psi`` is ``digamma``, ``gammaln`` is ``lgamma``). Integer input becomes
float32, as in PyTorch; float32 stays float32 (computed in float64, rounded once).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import ops
from . import tensor as _tensor

_SQRT_PI = math.sqrt(math.pi)
Tensor = Any  # the Tensor class: tensor.py imports this module, so it is read at call time (_tensor.Tensor)


def _unary(op: type, x: Tensor, **options: Any) -> Tensor:
    return op.apply(_tensor._floating(x), **options)


def lgamma(input: Tensor) -> Tensor:
    """ln|Γ(x)| (op ``Lgamma``)."""
    return _unary(ops.Lgamma, input)


def digamma(input: Tensor) -> Tensor:
    """ψ(x) = Γ'(x)/Γ(x) (op ``Digamma``)."""
    return _unary(ops.Digamma, input)


def polygamma(n: int, input: Tensor) -> Tensor:
    """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n = 0: ``digamma``; op ``Polygamma``)."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    if n == 0:  # the Digamma op, its node named as PyTorch names polygamma's
        return _tensor._named(digamma(input), "PolygammaBackward0")
    return _unary(ops.Polygamma, input, n=int(n))


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function, ln Γ_p(a) = p(p−1)/4 · ln π + Σ_{j=0}^{p−1} ln Γ(a − j/2)
    (a composition of ``lgamma``), defined for a > (p − 1)/2. Below that, as PyTorch 2.x, the same sum
    is returned (+inf where an a − j/2 hits a pole) rather than an error."""
    a = _tensor._floating(input)
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"multigammaln: p must be a positive integer, got {p!r}")
    shifts = np.arange(p, dtype=a.dtype) / 2.0  # a, a − ½, …, a − (p−1)/2 along a new last dim
    return lgamma(a.unsqueeze(-1) - shifts).sum(-1) + p * (p - 1) / 4.0 * math.log(math.pi)


def erfinv(input: Tensor) -> Tensor:
    """erf⁻¹(x) on [−1, 1] (op ``Erfinv``)."""
    return _unary(ops.Erfinv, input)


def erfc(input: Tensor) -> Tensor:
    """1 − erf(x), exact in the right tail (op ``Erfc``)."""
    return _unary(ops.Erfc, input)


def erfcx(input: Tensor) -> Tensor:
    """e^(x²) erfc(x), the scaled complementary error function (op ``Erfcx``)."""
    return _unary(ops.Erfcx, input)


def ndtr(input: Tensor) -> Tensor:
    """Φ(x), the standard normal CDF (op ``Ndtr``)."""
    return _unary(ops.Ndtr, input)


def ndtri(input: Tensor) -> Tensor:
    """Φ⁻¹(p), the standard normal quantile (op ``Ndtri``)."""
    return _unary(ops.Ndtri, input)


def log_ndtr(input: Tensor) -> Tensor:
    """ln Φ(x), accurate in the far left tail (op ``LogNdtr``)."""
    return _unary(ops.LogNdtr, input)


def i0(input: Tensor) -> Tensor:
    """I₀(x), the modified Bessel function of order 0 (op ``I0``)."""
    return _unary(ops.I0, input)


def i1(input: Tensor) -> Tensor:
    """I₁(x), the modified Bessel function of order 1 (op ``I1``)."""
    return _unary(ops.I1, input)


def zeta(input: Any, other: Any) -> Tensor:
    """ζ(x, q) = Σ_{k≥0} (q + k)^(−x), the Hurwitz zeta function, x = input, q = other (op ``Zeta``;
    the gradient with respect to q only, as PyTorch)."""
    return _tensor._binary(ops.Zeta, input, other, true_division=True)


def gammainc(input: Any, other: Any) -> Tensor:
    """P(a, x), the regularized lower incomplete gamma function, a = input, x = other (op ``Gammainc``;
    the gradient with respect to x only, as PyTorch)."""
    return _tensor._binary(ops.Gammainc, input, other, true_division=True)


def gammaincc(input: Any, other: Any) -> Tensor:
    """Q(a, x) = 1 − P(a, x), the regularized upper incomplete gamma function (op ``Gammaincc``)."""
    return _tensor._binary(ops.Gammaincc, input, other, true_division=True)


def i0e(input: Tensor) -> Tensor:
    """e^(−|x|) I₀(x), finite for every x (op ``I0e``)."""
    return _unary(ops.I0e, input)


def i1e(input: Tensor) -> Tensor:
    """e^(−|x|) I₁(x), finite for every x (op ``I1e``)."""
    return _unary(ops.I1e, input)


def xlogy(input: Any, other: Any) -> Tensor:
    """x · ln y, 0 where x = 0 (op ``Xlogy``; broadcast, either may be a number)."""
    return _tensor._binary(ops.Xlogy, input, other, true_division=True)


def xlog1py(input: Any, other: Any) -> Tensor:
    """x · ln(1 + y), 0 where x = 0 (op ``Xlog1py``; broadcast, either may be a number)."""
    return _tensor._binary(ops.Xlog1py, input, other, true_division=True)


def entr(input: Tensor) -> Tensor:
    """−x ln x elementwise (0 at 0, −inf below; op ``Entr``)."""
    return _unary(ops.Entr, input)


def sinc(input: Tensor) -> Tensor:
    """sin(πx)/(πx), 1 at 0 (op ``Sinc``)."""
    return _unary(ops.Sinc, input)


def modified_bessel_k0(input: Tensor) -> Tensor:
    """K₀(x), x > 0 (op ``ModifiedBesselK0``; differentiable, where PyTorch's is not)."""
    return _unary(ops.ModifiedBesselK0, input)


def modified_bessel_k1(input: Tensor) -> Tensor:
    """K₁(x), x > 0 (op ``ModifiedBesselK1``)."""
    return _unary(ops.ModifiedBesselK1, input)


def scaled_modified_bessel_k0(input: Tensor) -> Tensor:
    """eˣ K₀(x) (op ``ScaledModifiedBesselK0``)."""
    return _unary(ops.ScaledModifiedBesselK0, input)


def scaled_modified_bessel_k1(input: Tensor) -> Tensor:
    """eˣ K₁(x) (op ``ScaledModifiedBesselK1``)."""
    return _unary(ops.ScaledModifiedBesselK1, input)


def bessel_j0(input: Tensor) -> Tensor:
    """J₀(x), the Bessel function of the first kind of order 0 (op ``BesselJ0``; differentiable, where
    PyTorch's is not)."""
    return _unary(ops.BesselJ0, input)


def bessel_j1(input: Tensor) -> Tensor:
    """J₁(x), the Bessel function of the first kind of order 1 (op ``BesselJ1``)."""
    return _unary(ops.BesselJ1, input)


def bessel_y0(input: Tensor) -> Tensor:
    """Y₀(x), the Bessel function of the second kind of order 0, x > 0 (op ``BesselY0``)."""
    return _unary(ops.BesselY0, input)


def bessel_y1(input: Tensor) -> Tensor:
    """Y₁(x), the Bessel function of the second kind of order 1, x > 0 (op ``BesselY1``)."""
    return _unary(ops.BesselY1, input)


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """j₀(x) = sin(x)/x (1 at 0): ``sinc`` of x/π."""
    return sinc(_tensor._floating(input) * (1.0 / math.pi))


# ---- orthogonal polynomials: compositions of their three-term recurrences ----------------------------


def _three_term(x: Tensor, n: Any, first: Any, step: Any) -> Tensor:
    """P_n(x) elementwise from P₀ = 1, P₁ = first(x) and P_{k+1} = step(k, x, P_k, P_{k−1}); n a number
    or tensor, truncated to an integer (0 for n < 0, as PyTorch). Differentiable in x (PyTorch's are
    not); n − 1 steps, so the cost grows with the largest n."""
    x = _tensor._floating(x)
    order = np.trunc(np.asarray(n.data if isinstance(n, _tensor.Tensor) else n, dtype=np.float64))
    shape = np.broadcast_shapes(x.shape, order.shape)
    x, order = x.expand(shape) if x.shape != shape else x, np.broadcast_to(order, shape)
    previous, current = _tensor.Tensor._make(np.ones(shape, dtype=x.dtype)), first(x)
    result = _tensor.where(order == 1, current, _tensor.where(order == 0, previous, previous * 0.0))
    for k in range(1, int(order.max(initial=0))):
        previous, current = current, step(k, x, current, previous)
        result = _tensor.where(order == k + 1, current, result)
    return result


def _chebyshev_step(k: int, x: Tensor, p: Tensor, p_previous: Tensor) -> Tensor:
    return 2.0 * x * p - p_previous  # every kind: P_{k+1} = 2x P_k − P_{k−1}


def chebyshev_polynomial_t(input: Tensor, n: Any) -> Tensor:
    """Tₙ(x), Chebyshev of the first kind: T₁ = x, T_{k+1} = 2x T_k − T_{k−1}."""
    return _three_term(input, n, lambda x: x, _chebyshev_step)


def chebyshev_polynomial_u(input: Tensor, n: Any) -> Tensor:
    """Uₙ(x), Chebyshev of the second kind: U₁ = 2x, U_{k+1} = 2x U_k − U_{k−1}."""
    return _three_term(input, n, lambda x: 2.0 * x, _chebyshev_step)


def chebyshev_polynomial_v(input: Tensor, n: Any) -> Tensor:
    """Vₙ(x), Chebyshev of the third kind: V₁ = 2x − 1, V_{k+1} = 2x V_k − V_{k−1}."""
    return _three_term(input, n, lambda x: 2.0 * x - 1.0, _chebyshev_step)


def chebyshev_polynomial_w(input: Tensor, n: Any) -> Tensor:
    """Wₙ(x), Chebyshev of the fourth kind: W₁ = 2x + 1, W_{k+1} = 2x W_k − W_{k−1}."""
    return _three_term(input, n, lambda x: 2.0 * x + 1.0, _chebyshev_step)


def _shifted(polynomial: Any, input: Tensor, n: Any) -> Tensor:
    """P*ₙ(x) = Pₙ(2x − 1): the polynomial moved from [−1, 1] to [0, 1]."""
    return polynomial(_tensor._floating(input) * 2.0 - 1.0, n)


def shifted_chebyshev_polynomial_t(input: Tensor, n: Any) -> Tensor:
    """T*ₙ(x) = Tₙ(2x − 1), Chebyshev of the first kind on [0, 1]."""
    return _shifted(chebyshev_polynomial_t, input, n)


def shifted_chebyshev_polynomial_u(input: Tensor, n: Any) -> Tensor:
    """U*ₙ(x) = Uₙ(2x − 1), Chebyshev of the second kind on [0, 1]."""
    return _shifted(chebyshev_polynomial_u, input, n)


def shifted_chebyshev_polynomial_v(input: Tensor, n: Any) -> Tensor:
    """V*ₙ(x) = Vₙ(2x − 1), Chebyshev of the third kind on [0, 1]."""
    return _shifted(chebyshev_polynomial_v, input, n)


def shifted_chebyshev_polynomial_w(input: Tensor, n: Any) -> Tensor:
    """W*ₙ(x) = Wₙ(2x − 1), Chebyshev of the fourth kind on [0, 1]."""
    return _shifted(chebyshev_polynomial_w, input, n)


def hermite_polynomial_h(input: Tensor, n: Any) -> Tensor:
    """Hₙ(x), physicists' Hermite: H₁ = 2x, H_{k+1} = 2x H_k − 2k H_{k−1}."""
    return _three_term(input, n, lambda x: 2.0 * x, lambda k, x, p, q: 2.0 * x * p - 2.0 * k * q)


def hermite_polynomial_he(input: Tensor, n: Any) -> Tensor:
    """Heₙ(x), probabilists' Hermite: He₁ = x, He_{k+1} = x He_k − k He_{k−1}."""
    return _three_term(input, n, lambda x: x, lambda k, x, p, q: x * p - k * q)


def laguerre_polynomial_l(input: Tensor, n: Any) -> Tensor:
    """Lₙ(x), Laguerre: L₁ = 1 − x, L_{k+1} = ((2k + 1 − x) L_k − k L_{k−1}) / (k + 1)."""
    return _three_term(input, n, lambda x: 1.0 - x, lambda k, x, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1))


def legendre_polynomial_p(input: Tensor, n: Any) -> Tensor:
    """Pₙ(x), Legendre: P₁ = x, P_{k+1} = ((2k + 1) x P_k − k P_{k−1}) / (k + 1)."""
    return _three_term(input, n, lambda x: x, lambda k, x, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1))


# ---- Airy function Ai ----

_AIRY_STEP = 0.5  # the tabulated nodes x_j = −10, −9.5, …, 10
# Ai(x_j) and Ai'(x_j) at those nodes, from mpmath (30 digits)
_AIRY_AI = (0.04024123848644319, 0.3191032477191282, -0.022133721547341403, -0.33029023763020887,
            -0.0527050503563862, 0.3217757163806479, 0.18428083525050565, -0.2380203019971158, -0.3291451736298231,
            0.017781541276574976, 0.35076100902411433, 0.2921527810559595, -0.07026553294928951, -0.37553382314043193,
            -0.37881429367765806, -0.11232506769296609, 0.22740742820168558, 0.4642565777488694, 0.5355608832923521,
            0.4757280916105396, 0.3550280538878172, 0.23169360648083348, 0.13529241631288141, 0.07174949700810541,
            0.03492413042327438, 0.01572592338047049, 0.006591139357460719, 0.002584098786989635,
            0.0009515638512048018, 0.00033025032351430896, 0.00010834442813607442, 3.368531190859981e-05,
            9.947694360252889e-06, 2.7958823432049136e-06, 7.492128863997167e-07, 1.9172560675134309e-07,
            4.6922076160992316e-08, 1.0997009755195506e-08, 2.47116843087249e-09, 5.330263704617492e-10,
            1.1047532552898686e-10)
_AIRY_AI_SLOPE = (0.99626504413279, -0.10809531881187123, -0.9756639809263316, -0.03231334828463914,
                  0.9355609381983065, 0.3188095066985546, -0.7710081684101265, -0.6749524925132022,
                  0.3459354872813429, 0.8641972177713984, 0.32719281855444315, -0.5233625323157477,
                  -0.7906285753685813, -0.34344343345404815, 0.3145837692165988, 0.6788527342647943,
                  0.618259020741691, 0.3091869672024104, -0.01016056711664521, -0.20408167033954738,
                  -0.2588194037928068, -0.2249105326646839, -0.1591474412967932, -0.09738201284230132,
                  -0.05309038443365363, -0.026250881035903232, -0.011912976705951319, -0.005004413967952583,
                  -0.001958640950204179, -0.0007178665675575089, -0.0002474138908684625, -8.046339130556515e-05,
                  -2.4765200397034955e-05, -7.231931466601793e-06, -2.008150894738792e-06, -5.312713959720545e-07,
                  -1.3414392979067865e-07, -3.237725440447602e-08, -7.480641389658946e-09, -1.6566394593740667e-09,
                  -3.5206336767389237e-10)
_AIRY_TAYLOR_TERMS = 24  # |h| ≤ ¼, |x_j| ≤ 10: the n-th term is below (¼·√10)ⁿ/n!, 10⁻¹⁹ at n = 24
_AIRY_SERIES_TERMS = 12  # the asymptotic series' terms beyond 10, where ζ ≥ 21: the smallest term ~ e^(−2ζ)


def _airy_asymptotic_terms(zeta: np.ndarray) -> list[np.ndarray]:
    """uₖ/ζᵏ, k = 0 … n: u₀ = 1, uₖ = uₖ₋₁ (6k−5)(6k−3)(6k−1) / ((2k−1) 216 k) (DLMF 9.7.2)."""
    terms, u = [np.ones_like(zeta)], 1.0
    for k in range(1, _AIRY_SERIES_TERMS + 1):
        u *= (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k)
        terms.append(u / zeta**k)
    return terms


def _airy_ai_array(x: np.ndarray) -> np.ndarray:
    """Ai(x) in float64 (x's dtype on return). Three regions:

    * |x| ≤ 10: a Taylor series about the nearest tabulated node x₀ (h = x − x₀, |h| ≤ ¼), its derivatives from
      the Airy equation y'' = x y differentiated n times:  y⁽ⁿ⁺²⁾(x₀) = x₀ y⁽ⁿ⁾(x₀) + n y⁽ⁿ⁻¹⁾(x₀);
    * x > 10:  Ai(x) = e^(−ζ) / (2√π x^¼) Σₖ (−1)ᵏ uₖ/ζᵏ,  ζ = ⅔ x^(3/2)  (DLMF 9.7.5);
    * x < −10: Ai(x) = (sin(ζ + π/4) P − cos(ζ + π/4) Q) / (√π |x|^¼), ζ = ⅔ |x|^(3/2),
      P = Σₖ (−1)ᵏ u₂ₖ/ζ²ᵏ, Q = Σₖ (−1)ᵏ u₂ₖ₊₁/ζ²ᵏ⁺¹  (DLMF 9.7.9).
    ±∞ and NaN give NaN, as torch.special.airy_ai (Cephes) does."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):  # ±∞ run through an asymptotic formula, NaN through none: replaced here
        return np.where(np.isfinite(x), _airy_ai_finite(x), np.nan)


def _airy_ai_finite(x: np.ndarray) -> np.ndarray:
    """Ai of each element by its region's formula (``_airy_ai_array``), each formula on its own elements only."""
    y = np.empty_like(x)
    a = np.abs(x)
    near, right, left = a <= 10, x > 10, x < -10
    y[near] = _airy_ai_taylor(x[near])
    zeta_right, zeta_left = (2.0 / 3.0 * a[side] * np.sqrt(a[side]) for side in (right, left))
    terms = _airy_asymptotic_terms(zeta_right)
    y[right] = (sum((-1) ** k * t for k, t in enumerate(terms)) * np.exp(-zeta_right)
                / (2 * _SQRT_PI * a[right] ** 0.25))
    terms = _airy_asymptotic_terms(zeta_left)
    p = sum((-1) ** k * t for k, t in enumerate(terms[0::2]))
    q = sum((-1) ** k * t for k, t in enumerate(terms[1::2]))
    phase = zeta_left + np.pi / 4
    y[left] = (np.sin(phase) * p - np.cos(phase) * q) / (_SQRT_PI * a[left] ** 0.25)
    return y


def _airy_ai_taylor(x: np.ndarray) -> np.ndarray:
    """Ai(x) for |x| ≤ 10: the Taylor series about the nearest node x₀ (``_airy_ai_array``)."""
    nodes = np.rint(x / _AIRY_STEP)
    x0 = nodes * _AIRY_STEP
    h = x - x0
    index = nodes.astype(np.int64) + 20
    derivatives = [np.take(_AIRY_AI, index), np.take(_AIRY_AI_SLOPE, index)]  # y(x₀), y'(x₀), …
    y, power = derivatives[0] + derivatives[1] * h, h.copy()
    for n in range(2, _AIRY_TAYLOR_TERMS):
        derivatives.append(x0 * derivatives[n - 2] + (n - 2) * (derivatives[n - 3] if n >= 3 else 0.0))
        power = power * h / n
        y = y + derivatives[n] * power
    return y


def airy_ai(input: Tensor) -> Tensor:
    """The Airy function Ai(x), the solution of y'' = x y that decays as x → ∞ (``_airy_ai_array``: Taylor steps
    from tabulated nodes, asymptotic series beyond |x| = 10). Like torch.special.airy_ai it has no gradient: the
    result never requires grad. Integer input gives float32; float32 is computed in float64, rounded once."""
    x = _tensor._floating(input)
    return _tensor.Tensor(_airy_ai_array(x.data).astype(x.data.dtype))


def expit(input: Tensor) -> Tensor:
    """1 / (1 + e^(−x)): the logistic sigmoid."""
    return input.sigmoid()


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """ln(p / (1 − p)), p clamped into [eps, 1 − eps] first if ``eps`` is given."""
    return input.logit(eps)


def erf(input: Tensor) -> Tensor:
    """The error function (op ``Erf``)."""
    return input.erf()


def exp2(input: Tensor) -> Tensor:
    """2ˣ."""
    return input.exp2()


def expm1(input: Tensor) -> Tensor:
    """eˣ − 1, exact for tiny x."""
    return input.expm1()


def log1p(input: Tensor) -> Tensor:
    """ln(1 + x), exact for tiny x."""
    return input.log1p()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # torch.special.round shadows the builtin here, as in torch
    """Round half to even, to ``decimals`` places."""
    return input.round(decimals=decimals)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log Σ exp over ``dim``, computed stably."""
    return input.logsumexp(dim, keepdim)


def softmax(input: Tensor, dim: int) -> Tensor:
    """e^x / Σ e^x along ``dim``."""
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """x − logsumexp(x) along ``dim``."""
    return input.log_softmax(dim)


gammaln = lgamma  # SciPy's name, as torch.special.gammaln
psi = digamma  # torch.special.psi
modified_bessel_i0, modified_bessel_i1 = i0, i1  # torch.special's other names (there without a gradient)

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1",
    "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
    "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
    "gammaln", "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
    "legendre_polynomial_p", "lgamma", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
    "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr",
    "ndtri", "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
    "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "sinc",
    "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
]
