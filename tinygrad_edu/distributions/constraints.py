"""Constraints: the sets a distribution's parameters and values must lie in (torch.distributions.constraints).

A constraint answers one question, ``constraint.check(value)``: a boolean Tensor that is True where
an event of ``value`` lies in the set. ``event_dim`` says how many rightmost dimensions form one
event (0 for a scalar set such as ``positive``, 1 for ``simplex``, 2 for ``positive_definite``);
check() reduces them away. Distributions use constraints twice: ``arg_constraints`` (checked on
construction when ``validate_args``) and ``support`` (checked on the value given to ``log_prob``).

The checks only read values (they are not differentiable), so they are written in NumPy on
``value.data``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


def _array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _bool_tensor(mask: Any) -> Tensor:
    return Tensor(np.asarray(mask, dtype=bool))


class Constraint:
    """A region of values. ``is_discrete``: whether the region is countable; ``event_dim``: event rank."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Any) -> Tensor:
        """Boolean Tensor of shape ``value.shape[:ndim - event_dim]``: True where the event is inside."""
        return _bool_tensor(self._check(_array(value)))

    def _check(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__[1:] + "()"


class _Dependent(Constraint):
    """Placeholder for a set that depends on other parameters (e.g. Uniform's support); never checked."""

    def __init__(self, *, is_discrete: bool = False, event_dim: int = 0) -> None:
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def __call__(self, *, is_discrete: bool = False, event_dim: int = 0) -> _Dependent:
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def _check(self, value: np.ndarray) -> np.ndarray:
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint: Any) -> bool:
    """True for ``dependent`` and ``dependent_property`` constraints (which cannot be checked)."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property whose value is a constraint computed from the instance (``@constraints.dependent_property``)."""

    def __init__(self, fn: Any = None, *, is_discrete: bool = False, event_dim: int = 0) -> None:
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn: Any) -> _DependentProperty:  # used as @dependent_property(is_discrete=..., event_dim=...)
        return _DependentProperty(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


def dependent_property(fn: Any = None, *, is_discrete: bool = False, event_dim: int = 0) -> _DependentProperty:
    """Decorator: a ``support`` property computed from the instance, e.g. Uniform's [low, high)."""
    return _DependentProperty(fn, is_discrete=is_discrete, event_dim=event_dim)


class _OnBase(Constraint):
    """A constraint built on another one, ``base_constraint``, and as discrete as it."""

    def __init__(self, base_constraint: Constraint) -> None:
        if not isinstance(base_constraint, Constraint):
            raise TypeError(f"{type(self).__name__}: base_constraint must be a Constraint, "
                            f"got {type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete


class _IndependentConstraint(_OnBase):
    """``base_constraint`` on every entry, with ``reinterpreted_batch_ndims`` more dims forming one event."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        super().__init__(base_constraint)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def _check(self, value: np.ndarray) -> np.ndarray:
        result = self.base_constraint._check(value)
        if result.ndim < self.reinterpreted_batch_ndims:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.ndim}")
        result = result.reshape((*result.shape[:result.ndim - self.reinterpreted_batch_ndims], -1))
        return result.all(-1)

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Boolean(Constraint):
    """{0, 1}."""

    is_discrete = True

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    """One-hot vectors: entries in {0, 1} summing to 1 along the last dim."""

    is_discrete = True
    event_dim = 1

    def _check(self, value: np.ndarray) -> np.ndarray:
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


class _IntegerInterval(Constraint):
    """Integers in [lower_bound, upper_bound]."""

    is_discrete = True

    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (value % 1 == 0) & (_array(self.lower_bound) <= value) & (value <= _array(self.upper_bound))

    def __repr__(self) -> str:
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    """Integers ≥ lower_bound."""

    is_discrete = True

    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (value % 1 == 0) & (value >= self.lower_bound)

    def __repr__(self) -> str:
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Real(Constraint):
    """The extended real line without NaN."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        return value == value  # False exactly for NaN


class _GreaterThan(Constraint):
    """(lower_bound, ∞)."""

    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def _check(self, value: np.ndarray) -> np.ndarray:
        return _array(self.lower_bound) < value

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    """[lower_bound, ∞)."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        return _array(self.lower_bound) <= value

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    """[−∞, upper_bound)."""

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def _check(self, value: np.ndarray) -> np.ndarray:
        return value < _array(self.upper_bound)

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    """[lower_bound, upper_bound]."""

    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (_array(self.lower_bound) <= value) & (value <= _array(self.upper_bound))

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    """[lower_bound, upper_bound)."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (_array(self.lower_bound) <= value) & (value < _array(self.upper_bound))


class _Simplex(Constraint):
    """Probability vectors: x ≥ 0 and |Σ x − 1| < 1e-6 along the last dim."""

    event_dim = 1

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (value >= 0).all(-1) & (np.abs(value.sum(-1) - 1) < 1e-6)


class _LowerTriangular(Constraint):
    """Lower-triangular square matrices (every entry above the diagonal is 0)."""

    event_dim = 2

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (np.tril(value) == value).all((-2, -1))


class _LowerCholesky(_LowerTriangular):
    """Lower-triangular square matrices with a positive diagonal."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        return super()._check(value) & (np.diagonal(value, axis1=-2, axis2=-1) > 0).all(-1)


class _CorrCholesky(_LowerCholesky):
    """Cholesky factors of correlation matrices: lower triangular, positive diagonal, rows of unit length
    (to 10 · n · eps, as PyTorch)."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        tolerance = np.finfo(value.dtype).eps * value.shape[-1] * 10
        unit_rows = (np.abs(np.linalg.norm(value, axis=-1) - 1.0) <= tolerance).all(-1)
        return super()._check(value) & unit_rows


class _Multinomial(Constraint):
    """Count vectors of a multinomial with ``upper_bound`` trials: entries ≥ 0 summing to at most upper_bound
    (as torch, integrality is not checked)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (value >= 0).all(-1) & (value.sum(-1) <= _array(self.upper_bound))

    def __repr__(self) -> str:
        return f"Multinomial(upper_bound={self.upper_bound})"


class _Square(Constraint):
    """Square matrices: the answer is the same for every matrix of a batch (it depends on the shape only)."""

    event_dim = 2

    def _check(self, value: np.ndarray) -> np.ndarray:
        return np.full(value.shape[:-2], value.shape[-2] == value.shape[-1])


class _Symmetric(_Square):
    """Symmetric square matrices: A = Aᵀ to atol 1e-6 (rtol 1e-5, as torch.isclose)."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        square = super()._check(value)
        if not square.all():
            return square
        return np.isclose(value, np.swapaxes(value, -1, -2), rtol=1e-5, atol=1e-6).all((-2, -1))


class _PositiveSemidefinite(_Symmetric):
    """Symmetric matrices whose eigenvalues are all ≥ 0."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        symmetric = super()._check(value)
        if not symmetric.all():
            return symmetric
        return (np.linalg.eigvalsh(value) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    """Symmetric matrices whose Cholesky factorisation exists (all eigenvalues > 0)."""

    def _check(self, value: np.ndarray) -> np.ndarray:
        symmetric = super()._check(value)
        if not symmetric.all():
            return symmetric
        return _has_cholesky(value)


def _has_cholesky(matrices: np.ndarray) -> np.ndarray:
    """Per matrix of the batch: does its Cholesky factorisation exist? One batched factorisation when they all
    do (the common, valid case); NumPy raises for the whole batch otherwise, so then one matrix at a time."""
    try:
        np.linalg.cholesky(matrices)
        return np.ones(matrices.shape[:-2], dtype=bool)
    except np.linalg.LinAlgError:
        if matrices.ndim == 2:
            return np.array(False)
        return np.array([_has_cholesky(m) for m in matrices])


class _OnSequence(Constraint):
    """A constraint made of the constraints ``cseq`` on parts of a value: discrete if any part is."""

    def __init__(self, cseq: list[Constraint], dim: int = 0) -> None:
        if not all(isinstance(c, Constraint) for c in cseq):
            raise TypeError(f"constraints.{type(self).__name__[1:].lower()}: every element of cseq must be a "
                            f"Constraint, got {cseq!r}")
        self.cseq = list(cseq)
        self.dim = dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)


class _Cat(_OnSequence):
    """``cseq[i]`` on the i-th block of ``lengths[i]`` entries along ``dim``: the constraint of torch.cat's result.

    check(): each block's answer reduced over the event dims it lacks (event_dim = the largest of the blocks');
    concatenated along ``dim`` when ``dim`` is a batch dim (one answer per entry, as torch), combined with
    "and" when ``dim`` lies inside the event (torch concatenates the answers there too: for blocks of different
    event ranks it fails, for blocks of one rank > 0 it returns len(cseq) times too many answers, e.g. shape (8,)
    for two simplex blocks of a (4, 6) value).
    """

    def __init__(self, cseq: list[Constraint], dim: int = 0, lengths: list[int] | None = None) -> None:
        super().__init__(cseq, dim)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise ValueError(f"constraints.cat: {len(self.lengths)} lengths for {len(self.cseq)} constraints")

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(c.event_dim for c in self.cseq)

    def _check(self, value: np.ndarray) -> np.ndarray:
        _check_blocks(value.shape, self.dim, sum(self.lengths), "constraints.cat", "sum(lengths)")
        starts = np.cumsum([0, *self.lengths[:-1]])
        checks = [c._check(np.take(value, range(start, start + length), axis=self.dim))
                  for c, start, length in zip(self.cseq, starts, self.lengths)]
        event_dim = self.event_dim
        checks = [check.reshape((*check.shape[:check.ndim - (event_dim - c.event_dim)], -1)).all(-1)
                  if c.event_dim < event_dim else check for c, check in zip(self.cseq, checks)]
        dim = (self.dim - value.ndim if self.dim >= 0 else self.dim) + event_dim
        return np.concatenate(checks, dim) if dim < 0 else np.logical_and.reduce(checks)

    def __repr__(self) -> str:
        return f"Cat({self.cseq!r}, dim={self.dim}, lengths={self.lengths})"


class _Stack(_OnSequence):
    """``cseq[i]`` on the i-th slice along ``dim``: the constraint of torch.stack's result."""

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        event_dim = max(c.event_dim for c in self.cseq)
        return event_dim + 1 if self.dim + event_dim < 0 else event_dim   # a negative dim inside the event

    def _check(self, value: np.ndarray) -> np.ndarray:
        _check_blocks(value.shape, self.dim, len(self.cseq), "constraints.stack", "len(cseq)")
        return np.stack([c._check(np.take(value, i, axis=self.dim)) for i, c in enumerate(self.cseq)], self.dim)

    def __repr__(self) -> str:
        return f"Stack({self.cseq!r}, dim={self.dim})"


class MixtureSameFamilyConstraint(_OnBase):
    """The support of MixtureSameFamily: a value is valid when it lies in the support of every component.

    The components' support has the component dim K at the right of its batch dims, so check() inserts a
    size-1 dim there (value → value.unsqueeze(−1 − event_dim)), checks, and reduces K away.
    """

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim

    def _check(self, value: np.ndarray) -> np.ndarray:
        if value.ndim < self.event_dim:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.ndim}")
        result = self.base_constraint._check(np.expand_dims(value, -1 - self.event_dim))
        kept = value.ndim - self.event_dim
        return result.reshape((*result.shape[:kept], -1)).all(-1)

    def __repr__(self) -> str:
        return f"MixtureSameFamilyConstraint({self.base_constraint!r})"


def _check_blocks(shape: tuple[int, ...], dim: int, expected: int, what: str, expected_name: str) -> None:
    """The value of a cat/stack constraint or transform has ``expected`` entries along ``dim``."""
    if not -len(shape) <= dim < len(shape):
        raise ValueError(f"{what}: dim {dim} out of range for a value of shape {shape}")
    if shape[dim] != expected:
        raise ValueError(f"{what}: a value of shape {shape} has {shape[dim]} entries along dim {dim}, "
                         f"but {expected_name} = {expected}")


ArgConstraints = dict[str, Constraint]  # a distribution's ``arg_constraints``: parameter name → constraint

dependent = _Dependent()
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
lower_triangular = _LowerTriangular()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
multinomial = _Multinomial
cat = _Cat
stack = _Stack

__all__ = [
    "Constraint",
    "MixtureSameFamilyConstraint",
    "boolean",
    "cat",
    "corr_cholesky",
    "dependent",
    "dependent_property",
    "greater_than",
    "greater_than_eq",
    "half_open_interval",
    "independent",
    "integer_interval",
    "interval",
    "is_dependent",
    "less_than",
    "lower_cholesky",
    "lower_triangular",
    "multinomial",
    "nonnegative",
    "nonnegative_integer",
    "one_hot",
    "positive",
    "positive_definite",
    "positive_integer",
    "positive_semidefinite",
    "real",
    "real_vector",
    "simplex",
    "square",
    "stack",
    "symmetric",
    "unit_interval",
]
