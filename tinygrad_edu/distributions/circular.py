"""VonMises: the "normal distribution of the circle", for angles.

Its normaliser is a modified Bessel function, 2π I₀(κ); the code uses the scaled form
i0e(κ) = e^(−κ) I₀(κ), so that log(2π I₀(κ)) = log 2π + log i0e(κ) + κ never overflows.
Samples come from Best & Fisher's (1979) rejection sampler (as PyTorch's), so there is no rsample.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import random, special
from ..tensor import Tensor
from . import constraints
from .continuous import CenteredAtLoc
from .distribution import Distribution
from .utils import broadcast_all, constant


def _log_i0(kappa: Tensor) -> Tensor:
    """log I₀(κ) for κ ≥ 0: log i0e(κ) + κ."""
    return special.i0e(kappa).log() + kappa


def _best_fisher(kappa: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """Angles θ ∈ (−π, π) from VonMises(0, κ) (float64, κ of the output's shape), Best & Fisher (1979):

        τ = 1 + √(1 + 4κ²),  ρ = (τ − √(2τ)) / (2κ),  r = (1 + ρ²) / (2ρ)   (r ≈ 1/κ + κ for κ < 1e-5)
        repeat: z = cos(π u₁),  f = (1 + r z)/(r + z),  c = κ (r − f)
                accept if c (2 − c) − u₂ > 0  or  log(c/u₂) + 1 − c ≥ 0
        θ = sign(u₃ − ½) · acos f
    Every not-yet-accepted entry draws again until all are accepted (acceptance ≥ 65 % for every κ).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = 1 + np.sqrt(1 + 4 * kappa ** 2)
        rho = (tau - np.sqrt(2 * tau)) / (2 * kappa)
        r = np.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))
    theta = np.zeros(kappa.shape)
    pending = np.ones(kappa.shape, dtype=bool)
    while pending.any():
        u1, u2, u3 = generator.uniform(size=(3, int(pending.sum())))
        k, rr = kappa[pending], r[pending]
        z = np.cos(math.pi * u1)
        f = (1 + rr * z) / (rr + z)
        c = k * (rr - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            accept = (c * (2 - c) - u2 > 0) | (np.log(c / u2) + 1 - c >= 0)
        rows = np.flatnonzero(pending)[accept]
        theta.flat[rows] = np.sign(u3[accept] - 0.5) * np.arccos(np.clip(f[accept], -1, 1))
        pending.flat[rows] = False
    return theta


class VonMises(CenteredAtLoc, Distribution):
    r"""Von Mises distribution of an angle, with ``loc`` μ and ``concentration`` κ > 0.

    density   p(x) = e^(κ cos(x − μ)) / (2π I₀(κ))   (periodic: PyTorch's support is all reals)
    mean = mode = μ (circular),  variance = 1 − I₁(κ)/I₀(κ) (the circular variance)
    sample    Best–Fisher rejection (``_best_fisher``), shifted by μ and wrapped into [−π, π)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"loc": constraints.real,
                                                             "concentration": constraints.positive}
    support = constraints.real

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def variance(self) -> Tensor:
        return 1 - special.i1e(self.concentration) / special.i0e(self.concentration)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        kappa = np.broadcast_to(self.concentration.data.astype(np.float64), shape)
        theta = _best_fisher(kappa, random.generator()) + self.loc.data.astype(np.float64)
        return constant((theta + math.pi) % (2 * math.pi) - math.pi, self.loc)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self.concentration * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(self.concentration)


__all__ = ["VonMises"]
