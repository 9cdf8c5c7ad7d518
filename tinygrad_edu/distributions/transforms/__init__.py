"""Transforms y = f(x) with log|det ∂y/∂x|: what TransformedDistribution and biject_to/transform_to need.

Change of variables: if X has density p_X and Y = f(X) with f invertible and differentiable,
    log p_Y(y) = log p_X(f⁻¹(y)) − log |det ∂f/∂x (f⁻¹(y))|.
Each transform supplies f (``__call__``), f⁻¹ (``inv``) and log|det J| (``log_abs_det_jacobian(x, y)``),
all in Tensor ops so densities of transformed distributions are differentiable. ``domain``/``codomain`` are the
constraints x and y satisfy; their ``event_dim`` says how many rightmost dims form one input/output (log|det J|
has one value per event). ``bijective`` transforms satisfy t.inv(t(x)) = x; the others (Abs, Softmax,
LowerCholesky, PositiveDefinite) only the pseudo-inverse properties t(t.inv(t(x))) = t(x).

``cache_size=1`` remembers the last (x, y) pair: t.inv(t(x)) then returns x itself, which is how
TanhTransform(cache_size=1) keeps atanh from the boundary ±1 (the usual squashed-Gaussian policy).

Where to read what:
    base.py          Transform, its inverse, ComposeTransform, IndependentTransform, ReshapeTransform (the plumbing)
    elementwise.py   Exp, Power, Sigmoid, Softplus, Tanh, Abs, Affine
    structured.py    CorrCholesky, Softmax, StickBreaking, LowerCholesky, PositiveDefinite (vectors and matrices);
                     Cat, Stack, CumulativeDistribution (functors)
"""

from .base import ComposeTransform, IndependentTransform, ReshapeTransform, Transform, identity_transform
from .elementwise import (
    AbsTransform,
    AffineTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    TanhTransform,
)
from .structured import (
    CatTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    SoftmaxTransform,
    StackTransform,
    StickBreakingTransform,
)

__all__ = [
    "AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
    "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform", "LowerCholeskyTransform",
    "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
    "SoftplusTransform", "StackTransform", "StickBreakingTransform", "TanhTransform", "Transform",
    "identity_transform",
]
