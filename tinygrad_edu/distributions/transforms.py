"""Bijective transforms y = f(x) with log|det ∂y/∂x|: what TransformedDistribution needs.

Change of variables: if X has density p_X and Y = f(X) with f invertible and differentiable,
    log p_Y(y) = log p_X(f⁻¹(y)) − log |det ∂f/∂x (f⁻¹(y))|.
Each transform supplies f (``__call__``), f⁻¹ (``inv``) and log|det J| (``log_abs_det_jacobian(x, y)``),
all in Tensor ops so densities of transformed distributions are differentiable.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor, cat
from . import constraints
from .utils import clamp_probs, log1p_exp, probs_to_logits, sum_rightmost


class Transform:
    """Base class: an invertible map with ``domain``/``codomain`` constraints and ``sign`` (+1 or −1 if monotone)."""

    bijective = True
    domain: constraints.Constraint = constraints.real
    codomain: constraints.Constraint = constraints.real
    sign: Any = 1

    def __call__(self, x: Tensor) -> Tensor:
        return self._call(x)

    @property
    def inv(self) -> Transform:
        """The inverse transform f⁻¹ (its log|det J| is minus this one's at the swapped point)."""
        return _InverseTransform(self)

    @property
    def event_dim(self) -> int:
        """Number of rightmost dims that form one input of the transform."""
        return self.domain.event_dim

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        """log |det ∂y/∂x| at x (with y = f(x)), one value per event."""
        raise NotImplementedError

    def forward_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of f(x) for x of ``shape`` (these transforms keep shapes)."""
        return shape

    def inverse_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of f⁻¹(y) for y of ``shape``."""
        return shape

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)  # parameter-free transforms are equal by type

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """f⁻¹ of a transform f: calls f's inverse; log|det J_{f⁻¹}(y)| = −log|det J_f(x)|."""

    def __init__(self, transform: Transform) -> None:
        self._inv = transform

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return self._inv.codomain

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return self._inv.domain

    @property
    def sign(self) -> Any:  # type: ignore[override]
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def _call(self, y: Tensor) -> Tensor:
        return self._inv._inverse(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return self._inv.forward_shape(shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__


class ExpTransform(Transform):
    """y = eˣ;  x = log y;  log|dy/dx| = x."""

    codomain = constraints.positive

    def _call(self, x: Tensor) -> Tensor:
        return x.exp()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class SigmoidTransform(Transform):
    """y = σ(x) = 1/(1 + e⁻ˣ);  x = log y − log(1 − y);  log|dy/dx| = log σ(x) + log σ(−x)."""

    codomain = constraints.unit_interval

    def _call(self, x: Tensor) -> Tensor:
        return clamp_probs(x.sigmoid())

    def _inverse(self, y: Tensor) -> Tensor:
        return probs_to_logits(y, is_binary=True)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -log1p_exp(-x) - log1p_exp(x)


class TanhTransform(Transform):
    """y = tanh x;  x = atanh y;  log|dy/dx| = log(1 − tanh²x) = 2 (log 2 − x − log(1 + e^(−2x)))."""

    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x: Tensor) -> Tensor:
        return x.tanh()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.atanh()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - log1p_exp(-2.0 * x))


class AffineTransform(Transform):
    """y = loc + scale · x;  x = (y − loc)/scale;  log|dy/dx| = log|scale| (summed over ``event_dim`` dims)."""

    def __init__(self, loc: Any, scale: Any, event_dim: int = 0) -> None:
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.independent(constraints.real, self._event_dim) if self._event_dim else constraints.real

    codomain = domain  # type: ignore[assignment]

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @property
    def sign(self) -> Any:  # type: ignore[override]
        return self.scale.sign() if isinstance(self.scale, Tensor) else (1 if self.scale > 0 else -1)

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if isinstance(self.scale, Tensor):
            log_scale = self.scale.abs().log()
        else:
            log_scale = Tensor(np.asarray(math.log(abs(self.scale)), dtype=x.dtype))
        shape = tuple(np.broadcast_shapes(tuple(log_scale.shape), tuple(x.shape)))
        return sum_rightmost(log_scale.expand(shape), self._event_dim)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AffineTransform):
            return False
        same = [bool(np.all(np.asarray(getattr(a, "data", a)) == np.asarray(getattr(b, "data", b))))
                for a, b in ((self.loc, other.loc), (self.scale, other.scale))]
        return all(same) and self._event_dim == other._event_dim

    __hash__ = object.__hash__


class ComposeTransform(Transform):
    """f = f_n ∘ … ∘ f₁ for ``parts`` [f₁, …, f_n];  log|det J_f(x)| = Σᵢ log|det J_{fᵢ}(xᵢ₋₁)| (chain rule)."""

    def __init__(self, parts: list[Transform]) -> None:
        self.parts = list(parts)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        if not self.parts:
            return constraints.real
        domain, event_dim = self.parts[0].domain, self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim = max(event_dim + part.domain.event_dim - part.codomain.event_dim, part.domain.event_dim)
        return constraints.independent(domain, event_dim - domain.event_dim) if event_dim > domain.event_dim \
            else domain

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        if not self.parts:
            return constraints.real
        codomain, event_dim = self.parts[-1].codomain, self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim = max(event_dim + part.codomain.event_dim - part.domain.event_dim, part.codomain.event_dim)
        return constraints.independent(codomain, event_dim - codomain.event_dim) if event_dim > codomain.event_dim \
            else codomain

    @property
    def sign(self) -> Any:  # type: ignore[override]
        sign = 1
        for part in self.parts:
            sign = sign * part.sign
        return sign

    @property
    def inv(self) -> Transform:
        return ComposeTransform([part.inv for part in reversed(self.parts)])

    def _call(self, x: Tensor) -> Tensor:
        for part in self.parts:
            x = part(x)
        return x

    def forward_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if not self.parts:
            return 0.0 * x
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total, event_dim = None, self.domain.event_dim
        for part, x_in, y_out in zip(self.parts, xs[:-1], xs[1:]):
            term = sum_rightmost(part.log_abs_det_jacobian(x_in, y_out), event_dim - part.domain.event_dim)
            total = term if total is None else total + term
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "ComposeTransform(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


class StickBreakingTransform(Transform):
    r"""ℝᴷ⁻¹ → the probability simplex in ℝᴷ by breaking a stick: piece i takes the fraction zᵢ of what is left.

    Forward:     zᵢ = σ(xᵢ − log(K − i)),  yᵢ = zᵢ Π_{j<i} (1 − z_j)  (i = 1..K−1),  y_K = Π_j (1 − z_j)
                 (the shift log(K − i) maps x = 0 to the uniform point y = (1/K, …, 1/K))
    Inverse:     xᵢ = log yᵢ − log(1 − Σ_{j≤i} y_j) + log(K − i)
    log|det J| = Σᵢ (log σ(x̃ᵢ) − x̃ᵢ + log yᵢ),  x̃ᵢ = xᵢ − log(K − i)
    """

    domain = constraints.real_vector
    codomain = constraints.simplex

    @staticmethod
    def _log_offset(k: int, like: Tensor) -> Tensor:
        """log(K − i) for i = 1..K−1, with K − 1 = k."""
        return Tensor(np.log(np.arange(k, 0, -1, dtype=like.dtype)))

    def _call(self, x: Tensor) -> Tensor:
        e = float(np.finfo(x.dtype).eps)
        z = (x - self._log_offset(x.shape[-1], x)).sigmoid().clamp(min=float(np.finfo(x.dtype).tiny), max=1 - e)
        remaining = (1 - z).cumprod(-1)                                   # Π_{j≤i} (1 − z_j)
        ones = Tensor(np.ones((*x.shape[:-1], 1), dtype=x.dtype))
        return cat([z, ones], -1) * cat([ones, remaining], -1)

    def _inverse(self, y: Tensor) -> Tensor:
        y_crop = y[..., :-1]
        left = (1 - y_crop.cumsum(-1)).clamp(min=float(np.finfo(y.dtype).tiny))
        return y_crop.log() - left.log() + self._log_offset(y_crop.shape[-1], y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        shifted = x - self._log_offset(x.shape[-1], x)
        return (-shifted - log1p_exp(-shifted) + y[..., :-1].log()).sum(-1)   # log σ(t) = −log(1 + e^(−t))

    def forward_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*shape[:-1], shape[-1] + 1)

    def inverse_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*shape[:-1], shape[-1] - 1)


identity_transform = ComposeTransform([])

__all__ = ["AffineTransform", "ComposeTransform", "ExpTransform", "SigmoidTransform", "StickBreakingTransform",
           "TanhTransform", "Transform", "identity_transform"]
