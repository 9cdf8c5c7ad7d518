"""Elementwise transforms: Exp, Power, Sigmoid, Softplus, Tanh, Abs, Affine (log|det J| one term per entry)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...nn import functional as F  # noqa: N812 - PyTorch's conventional name
from ...tensor import Tensor, broadcast_shapes
from .. import constraints
from ..utils import broadcast_all, sum_rightmost
from .base import Shape, Transform, _ParameterFree, _widened


# ---- elementwise maps ------------------------------------------------------------------------------------------
class ExpTransform(_ParameterFree):
    """y = eˣ;  x = log y;  log|dy/dx| = x."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return x.exp()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class PowerTransform(Transform):
    """y = xᵖ on x > 0 (p = ``exponent``, a number or Tensor);  x = y^(1/p);  log|dy/dx| = log|p y / x|.

    dtypes as x.pow(p): a 0-d float32 p (the default for a number) is cast to float64 x before the op, so the
    gradient p·x^(p − 1) is all float64 (torch takes p − 1 in float32: 5e-8 off); a float64 p with dims on
    float32 x gives float64, as in torch.
    """

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent: Any, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return PowerTransform(self.exponent, cache_size=cache_size)

    @property
    def sign(self) -> Any:
        return self.exponent.sign()

    def _call(self, x: Tensor) -> Tensor:
        return x.pow(self.exponent)

    def _inverse(self, y: Tensor) -> Tensor:
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape: Shape) -> Shape:
        return broadcast_shapes(shape, tuple(self.exponent.shape))

    inverse_shape = forward_shape

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PowerTransform) and bool((self.exponent == other.exponent).all().item())

    __hash__ = object.__hash__


def _clipped_sigmoid(x: Tensor) -> Tensor:
    """σ(x) clamped into [tiny, 1 − eps], so that log y and log(1 − y) stay finite."""
    finfo = np.finfo(x.dtype)
    return x.sigmoid().clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))


class SigmoidTransform(_ParameterFree):
    """y = σ(x) = 1/(1 + e⁻ˣ);  x = log y − log(1 − y);  log|dy/dx| = log σ(x) + log σ(−x) = −sp(−x) − sp(x)
    (sp = softplus)."""

    codomain = constraints.unit_interval
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return _clipped_sigmoid(x)

    def _inverse(self, y: Tensor) -> Tensor:
        finfo = np.finfo(y.dtype)
        y = y.clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x) - F.softplus(x)


class SoftplusTransform(_ParameterFree):
    """y = softplus(x) = log(1 + eˣ) (= x above 20, as torch);  x = y + log(1 − e⁻ʸ);  log|dy/dx| = log σ(x)
    = −softplus(−x)."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return F.softplus(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return (-(-y).expm1()).log() + y

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x)


class TanhTransform(_ParameterFree):
    """y = tanh x;  x = atanh y (not clamped: use cache_size=1 near ±1);
    log|dy/dx| = log(1 − tanh²x) = 2 (log 2 − x − softplus(−2x))."""

    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return x.tanh()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.atanh()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(_ParameterFree):
    """y = |x|; the pseudo-inverse x = y (not bijective: no log|det J|)."""

    codomain = constraints.positive

    def _call(self, x: Tensor) -> Tensor:
        return x.abs()

    def _inverse(self, y: Tensor) -> Tensor:
        return y


class AffineTransform(Transform):
    """y = loc + scale · x;  x = (y − loc)/scale;  log|dy/dx| = log|scale| (summed over ``event_dim`` dims)."""

    bijective = True

    def __init__(self, loc: Any, scale: Any, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return _widened(constraints.real, self._event_dim)

    codomain = domain  # type: ignore[assignment]

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @property
    def sign(self) -> Any:
        if isinstance(self.scale, Tensor):
            return self.scale.sign()
        return int(np.sign(float(self.scale)))

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if isinstance(self.scale, Tensor):
            log_scale = self.scale.abs().log()
        else:
            log_scale = Tensor(np.asarray(math.log(abs(self.scale)), dtype=x.dtype))
        shape = broadcast_shapes(tuple(log_scale.shape), tuple(x.shape))
        return sum_rightmost(log_scale.expand(shape), self._event_dim)

    def forward_shape(self, shape: Shape) -> Shape:
        return broadcast_shapes(shape, tuple(getattr(self.loc, "shape", ())), tuple(getattr(self.scale, "shape", ())))

    inverse_shape = forward_shape

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AffineTransform):
            return False
        same = [bool(np.all(np.asarray(getattr(a, "data", a)) == np.asarray(getattr(b, "data", b))))
                for a, b in ((self.loc, other.loc), (self.scale, other.scale))]
        return all(same)

    __hash__ = object.__hash__
