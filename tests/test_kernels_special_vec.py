"""The vector error-function kernels (csrc/special.c, special_typed.inc) against mpmath, on every ISA.

Each function is evaluated on a dense grid that includes its tails, subnormal inputs and results, ±0,
±∞, NaN and (float32) the overflow/underflow edges; the exact values come from mpmath (40 digits) at the
very same inputs, rounded to the dtype, and the error is counted in ulps of the exact value
(np.spacing; a result that underflows counts in subnormal ulps). The bounds, ``ULP_BOUNDS``, are the ones
ops/special.py's module docstring states. Every ISA level the machine has is forced in turn with
``c.set_isa`` (TINYGRAD_EDU_ISA does the same at start-up). The functions have no threads.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg

mpmath = pytest.importorskip("mpmath")
pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (pip install -e .)")
if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

mp = mpmath.mp
FUNCTIONS = ("erf", "erfc", "erfcx", "ndtr", "log_ndtr", "ndtri", "erfinv")
# the maximum error in ulps, float64 and float32 (ops/special.py's module docstring)
ULP_BOUNDS = {
    "erf": (1, 1), "erfc": (3, 4), "erfcx": (3, 5), "ndtr": (4, 3), "log_ndtr": (4, 4),
    "ndtri": (3, 3), "erfinv": (2, 3),
}


def _available_isas() -> list[str]:
    if "c" not in tg.backend.available():
        return []
    best = c.set_isa("avx512")  # the best this CPU has (set_isa caps the request)
    levels = ["portable", "avx2", "avx512"]
    return levels[: levels.index(best) + 1]


ISAS = _available_isas()


@pytest.fixture(params=ISAS)
def isa(request):
    before = c.isa()
    c.set_isa(request.param)
    yield request.param
    c.set_isa(before)


def _ndtri(p: mpmath.mpf) -> mpmath.mpf:
    """Φ⁻¹(p) at mp's precision: mpmath's erfinv in the centre, else Newton on ln erfc(w) = ln 2q, q = min(p, 1 − p)
    (concave in w, so Newton converges from the start √(−ln q)), Φ⁻¹(p) = ∓√2 w."""
    if not 0 <= p <= 1:
        return mpmath.nan
    if p in (0, 1):
        return mpmath.inf if p == 1 else -mpmath.inf
    if abs(p - 0.5) < 0.25:
        return mpmath.sqrt(2) * mpmath.erfinv(2 * p - 1)
    q = min(p, 1 - p)
    w, target = mpmath.sqrt(-mpmath.log(q)), mpmath.log(2 * q)
    for _ in range(8):
        erfc_w = mpmath.erfc(w)
        w -= (mpmath.log(erfc_w) - target) * mpmath.sqrt(mpmath.pi) * erfc_w / (-2 * mpmath.exp(-w * w))
    return -mpmath.sqrt(2) * w if p < 0.5 else mpmath.sqrt(2) * w


def _erfinv(y: mpmath.mpf) -> mpmath.mpf:
    if abs(y) > 1:
        return mpmath.nan
    if abs(y) == 1:
        return mpmath.inf * mpmath.sign(y)
    return mpmath.sqrt(0.5) * _ndtri((y + 1) / 2) if abs(y) > 0.5 else mpmath.erfinv(y)


def _erfcx(x: mpmath.mpf) -> mpmath.mpf:
    if x > 1e6:  # mpmath's erfc overflows far out: the asymptotic series, 1/(x√π) Σₖ (−1)ᵏ (2k−1)!!/(2x²)ᵏ
        series = sum((-1) ** k * mpmath.fac2(2 * k - 1) / (2 * x * x) ** k for k in range(4))
        return series / (x * mpmath.sqrt(mpmath.pi))
    return mpmath.exp(x * x) * mpmath.erfc(x)


def _erfc(x: mpmath.mpf) -> mpmath.mpf:
    """mpmath's erfc, which overflows internally far out: there erfcx(|x|) e^(−x²) (and 2 − that for x < 0)."""
    if abs(x) < 1e6:
        return mpmath.erfc(x)
    tail = _erfcx(abs(x)) * mpmath.exp(-x * x)
    return tail if x > 0 else 2 - tail


def _log_ndtr(x: mpmath.mpf) -> mpmath.mpf:
    z = -x / mpmath.sqrt(2)
    return mpmath.log(_erfcx(z) / 2) - z * z if x < 0 else mpmath.log1p(-_erfc(-z) / 2)


EXACT = {
    "erf": lambda x: 1 - _erfc(x) if abs(x) > 1 else mpmath.erf(x),
    "erfc": _erfc,
    "erfcx": _erfcx,
    "ndtr": lambda x: _erfc(-x / mpmath.sqrt(2)) / 2,
    "log_ndtr": _log_ndtr,
    "ndtri": _ndtri,
    "erfinv": _erfinv,
}


def _grid(name: str, dtype: type) -> np.ndarray:
    """Inputs: the body, both tails and the edges (subnormals, ±0, ±∞, NaN) of ``name`` in ``dtype``."""
    info = np.finfo(dtype)
    tiny = np.array([info.smallest_subnormal, 3 * info.smallest_subnormal, info.tiny / 3, info.tiny], dtype)
    huge = np.array([np.sqrt(info.max) * 1.01, np.sqrt(info.max) * 1e3, info.max / 3, info.max], dtype)  # x² overflows
    edges = np.concatenate([tiny, -tiny, np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype)]
                           + ([huge, -huge] if name not in ("ndtri", "erfinv") else []))
    big = 9.0 if dtype == np.float32 else 27.5  # erfc(big) underflows to 0
    if name in ("ndtri", "erfinv"):
        low = 0.0 if name == "ndtri" else -1.0
        body = np.linspace(low, 1.0, 401)
        near_edge = np.logspace(np.log10(info.smallest_subnormal) + 0.1, -1, 150)  # p → 0 and 1 − p → 0
        one_side = np.concatenate([near_edge, 1 - np.logspace(np.log10(info.eps), -1, 60)])
        points = np.concatenate([body, one_side] if name == "ndtri" else [body, -one_side, one_side])
    elif name == "erfcx":
        points = np.concatenate([np.linspace(-10.0, 12.0, 1201), -np.linspace(10.0, 27.0, 200),
                                 np.logspace(1, np.log10(info.max) - 0.1, 400), np.logspace(-10, 0, 100)])
    elif name == "log_ndtr":
        points = np.concatenate([np.linspace(-12.0, 10.0, 1201), -np.logspace(1, np.log10(info.max) / 2 + 0.1, 400),
                                 np.logspace(-10, 0, 100), 1 + np.logspace(-1, 1.2, 200)])
    else:
        scale = np.sqrt(2) if name == "ndtr" else 1.0
        points = np.concatenate([np.linspace(-6.0, 6.0, 1201) * scale, np.linspace(6.0, big + 0.5, 400) * scale,
                                 -np.linspace(6.0, big, 100) * scale, np.logspace(-12, 0, 200),
                                 -np.logspace(-12, 0, 200)])
    with np.errstate(over="ignore"):
        return np.concatenate([points.astype(dtype), edges])


@functools.cache
def _case(name: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """(x, exact f(x) rounded to dtype): mpmath at 40 digits on the grid, computed once per test session."""
    x = _grid(name, dtype)
    with mp.workdps(40):
        exact = [EXACT[name](mpmath.mpf(float(v))) if np.isfinite(v) or name in ("erf", "erfc", "erfcx", "ndtr")
                 else mpmath.nan for v in x.tolist()]
    with np.errstate(over="ignore", under="ignore"):
        values = np.array([float(v) if not mpmath.isnan(v) else np.nan for v in exact], np.float64).astype(dtype)
    return x, values


def _special_values(name: str, x: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Fill in the values mpmath does not give at ±∞ and outside the domain (NaN there)."""
    limits = {"erf": (-1.0, 1.0), "erfc": (2.0, 0.0), "erfcx": (np.inf, 0.0), "ndtr": (0.0, 1.0),
              "log_ndtr": (-np.inf, 0.0)}
    exact = exact.copy()
    if name in limits:
        exact[x == -np.inf], exact[x == np.inf] = limits[name]
    return exact


def ulp_errors(name: str, dtype: type) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, kernel result, error in ulps of the exact value; 0 where both are the same non-finite value)."""
    x, exact = _case(name, dtype)
    exact = _special_values(name, x, exact)
    actual = c.special(name, x)
    assert actual.dtype == dtype and actual.shape == x.shape
    finite = np.isfinite(exact)
    same_special = (~finite) & ((actual == exact) | (np.isnan(actual) & np.isnan(exact)))
    errors = np.full(x.shape, np.inf)
    errors[same_special] = 0
    with np.errstate(invalid="ignore", over="ignore"):
        spacing = np.spacing(np.abs(exact[finite])).astype(np.float64)
        errors[finite] = np.abs(actual[finite].astype(np.float64) - exact[finite].astype(np.float64)) / spacing
    return x, actual, errors


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_special_kernel_within_its_ulp_bound_of_mpmath(name, dtype, isa):
    x, actual, errors = ulp_errors(name, dtype)
    bound = ULP_BOUNDS[name][dtype == np.float32]
    worst = int(np.nanargmax(errors))
    assert errors[worst] <= bound, f"{name} {np.dtype(dtype)} {isa}: {errors[worst]:.2f} ulp at x={x[worst]!r} " \
                                   f"(got {actual[worst]!r})"


def test_float32_erf_is_faithful_on_a_dense_grid(isa):
    """float32 erf within one ulp of the exact value (faithful: one of the two floats around it) on every 61st
    float32 of [2⁻²⁰, 4), the Taylor series' range, the series at 1 and 1 − erfc with both joins; the reference is
    the float64 kernel (within an ulp of double precision, which cannot move a float32 error by 10⁻⁸ ulp)."""
    bits = np.arange(np.float32(2.0**-20).view(np.int32), np.float32(4.0).view(np.int32), 61, dtype=np.int32)
    x = bits.view(np.float32)
    exact = c.special("erf", x.astype(np.float64))
    errors = np.abs(c.special("erf", x) - exact) / np.spacing(exact.astype(np.float32)).astype(np.float64)
    worst = int(np.argmax(errors))
    assert errors[worst] < 1, f"{isa}: {errors[worst]:.3f} ulp at x={x[worst]!r}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_special_kernel_signs_of_zero_and_odd_symmetry(name, dtype, isa):
    zeros = c.special(name, np.array([0.0, -0.0], dtype))
    if name in ("erf", "erfinv"):  # odd: f(±0) = ±0, f(−x) = −f(x) bit for bit
        assert np.array_equal(np.signbit(zeros), [False, True]) and np.all(zeros == 0)
        x = np.linspace(0, 0.999, 1001, dtype=dtype)
        np.testing.assert_array_equal(c.special(name, -x), -c.special(name, x))
    if name == "log_ndtr":  # ln Φ(x) < 0 everywhere: where it rounds to zero, it is −0 (torch's, the reference's)
        y = c.special(name, np.array([40.0, 1e10, np.finfo(dtype).max, np.inf], dtype))
        assert np.all(y == 0) and np.all(np.signbit(y))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_special_kernel_same_result_on_every_length(name, dtype, isa):
    """Whole vectors and the padded tail give the same values (lengths 0 … 2 vectors + 1 of every ISA)."""
    x, _ = _case(name, dtype)
    x = x[np.isfinite(x)][::37][:33]
    full = c.special(name, x)
    for n in range(len(x) + 1):
        np.testing.assert_array_equal(c.special(name, x[:n]), full[:n])


def test_special_kernel_every_isa_agrees_within_the_bound():
    """The three ISA levels run the same arithmetic up to FMA contraction (the portable level has none)."""
    before = c.isa()
    try:
        for name in FUNCTIONS:
            x, exact = _case(name, np.float64)
            results = []
            for level in ISAS:
                c.set_isa(level)
                results.append(c.special(name, x))
            finite = np.isfinite(exact)
            for other in results[1:]:
                spacing = np.spacing(np.abs(exact[finite]))
                assert np.all(np.abs(other[finite] - results[0][finite]) <= 2 * ULP_BOUNDS[name][0] * spacing)
    finally:
        c.set_isa(before)


def test_special_kernel_status_becomes_an_error():
    """n < 0 gives status 1 (nothing written); TINYGRAD_EDU_ISA with an unknown name gives status 3, which c.special
    turns into the ValueError that names the variable (checked in a fresh process: the name is read at start-up)."""
    x = np.zeros(3)
    for name in FUNCTIONS:
        kernel = getattr(c.lib, f"tg_{name}_f64")
        output = c.ffi.from_buffer("double[]", x, require_writable=True)
        assert kernel(c.ffi.from_buffer("double[]", x), output, -1) == 1
    script = "import numpy as np\nfrom tinygrad_edu.backend import c\nc.special('erfc', np.zeros(4))\n"
    env = {**os.environ, "TINYGRAD_EDU_ISA": "avx1024"}
    failed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "TINYGRAD_EDU_ISA must be one of" in failed.stderr
