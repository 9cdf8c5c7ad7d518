"""The Distribution base class: shapes, sampling protocol, argument and value validation.

Shapes (as in PyTorch). A distribution object holds a *batch* of independent distributions,
each over *events* of a fixed shape:

    batch_shape   shape of the batch of parameters, e.g. Normal(loc of shape (3,)) → (3,)
    event_shape   shape of one draw of one distribution: () for scalars, (k,) for a k-vector
    sample(sample_shape) → a Tensor of shape  sample_shape + batch_shape + event_shape
    log_prob(value)      → a Tensor of shape  (broadcast of value without event dims) = sample + batch

``rsample`` draws *reparameterised* samples: x = g(θ, ε) with noise ε independent of the
parameters θ, so ∂x/∂θ exists and gradients of E[f(x)] flow back through x (the pathwise
or "reparameterisation trick" estimator of VAEs). ``sample`` draws the same kind of value
without recording gradients; discrete distributions only have ``sample``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from . import constraints
from .utils import Shape, as_shape, lazy_property


class Distribution:
    """Abstract base class of probability distributions (torch.distributions.Distribution).

    Subclasses set ``arg_constraints`` (parameter name → Constraint), ``support`` and
    implement what they can of: ``log_prob, cdf, icdf, entropy, mean, mode, variance,
    rsample/sample``. ``validate_args`` (default True, as in PyTorch) checks the parameters
    on construction and the value given to ``log_prob``/``cdf`` against ``support``.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True  # torch's default is __debug__, i.e. True
    _not_batched: tuple[str, ...] = ()  # Tensor attributes that expand() must not reshape

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn default argument validation on or off for every distribution created afterwards."""
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape: Any = (), event_shape: Any = (), validate_args: bool | None = None) -> None:
        self._batch_shape = as_shape(batch_shape)
        self._event_shape = as_shape(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self) -> None:
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
            warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set `arg_constraints = {{}}` "
                          "or initialize the distribution with `validate_args=False` to turn off validation.",
                          stacklevel=3)
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue  # a constraint that depends on other parameters cannot be checked alone
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                continue  # the other parametrisation (probs for logits) is checked through the given one
            value = getattr(self, param)
            if not bool(np.all(constraint.check(value).data)):
                raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                                 f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                                 f"but found invalid values:\n{value}")

    # -- shapes ------------------------------------------------------------------------------
    @property
    def batch_shape(self) -> Shape:
        """Shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Shape:
        """Shape of a single sample (without batching)."""
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> Shape:
        """sample_shape + batch_shape + event_shape: the shape of ``sample(sample_shape)``."""
        return as_shape(sample_shape) + self._batch_shape + self._event_shape

    def expand(self, batch_shape: Any, _instance: Distribution | None = None) -> Distribution:
        """A new distribution whose parameters are expanded (broadcast, no copy) to ``batch_shape``.

        Every Tensor attribute holds ``batch_shape + parameter_event_shape``, so it is expanded to the
        new batch shape followed by its own trailing dims; a sub-distribution (Independent's base,
        a mixture's components) is expanded the same way. Tensors named in ``_not_batched`` (a
        relaxed distribution's scalar temperature, MultivariateNormal's unbroadcast Cholesky factor,
        which broadcast where they are used) are kept as they are. Arguments are not checked again.
        """
        batch_shape = as_shape(batch_shape)
        new = type(self).__new__(type(self)) if _instance is None else _instance
        old_ndim = len(self._batch_shape)
        for name, value in self.__dict__.items():
            if isinstance(value, Tensor) and name not in self._not_batched:
                value = value.expand(batch_shape + tuple(value.shape[old_ndim:]))
            elif isinstance(value, Distribution):
                value = value.expand(batch_shape + value.batch_shape[old_ndim:])
            new.__dict__[name] = value
        new._batch_shape = batch_shape
        return new

    # -- constraints -------------------------------------------------------------------------
    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        """Parameter name → the Constraint its values must satisfy."""
        raise NotImplementedError

    @property
    def support(self) -> constraints.Constraint:
        """The Constraint that every value of the distribution satisfies."""
        raise NotImplementedError

    # -- moments -----------------------------------------------------------------------------
    @property
    def mean(self) -> Tensor:
        """E[X]."""
        raise NotImplementedError

    @property
    def mode(self) -> Tensor:
        """argmax of the density/pmf."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        """Var[X] = E[(X − E[X])²]."""
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        """√Var[X]."""
        return self.variance.sqrt()

    # -- sampling ----------------------------------------------------------------------------
    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Draw ``sample_shape + batch_shape + event_shape`` values, without gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """Draw reparameterised samples: differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sampler (has_rsample is False)")

    def sample_n(self, n: int) -> Tensor:
        """``sample((n,))`` (PyTorch's deprecated spelling)."""
        return self.sample((n,))

    # -- densities ---------------------------------------------------------------------------
    def log_prob(self, value: Tensor) -> Tensor:
        """log p(value): the log density (continuous) or log probability mass (discrete)."""
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        """F(value) = P(X ≤ value)."""
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        """F⁻¹(value): the quantile function."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """H = −E[log p(X)], of shape batch_shape."""
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        """exp(H)."""
        return self.entropy().exp()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """All values of a discrete distribution, along a new dim 0: (cardinality,) + batch + event."""
        raise NotImplementedError

    # -- validation --------------------------------------------------------------------------
    def _checked(self, value: Tensor) -> Tensor:
        """``value`` itself, after ``_validate_sample`` when this distribution validates its arguments."""
        if self._validate_args:
            self._validate_sample(value)
        return value

    def _validate_sample(self, value: Any) -> None:
        """Check a value given to log_prob/cdf: a Tensor, broadcastable, and inside ``support``."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        actual = tuple(value.shape)
        event_start = len(actual) - len(self._event_shape)
        if actual[event_start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {actual} vs {self._event_shape}.")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {actual} vs {expected}.")
        support = self.support
        if not bool(np.all(support.check(value).data)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {actual}) to be within the "
                             f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n{value}")

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        shown = [f"{k}: {self.__dict__[k] if self.__dict__[k].numel() == 1 else tuple(self.__dict__[k].shape)}"
                 for k in names]
        return f"{type(self).__name__}({', '.join(shown)})"
