"""tinygrad_edu: reverse-mode automatic differentiation in NumPy, written to be read.

    import tinygrad_edu as tg
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()            # x.grad == 2x

Where to read what (see README.md for the full map):
    tensor.py        the Tensor class (one line per method, no math)
    ops/             every op's forward, backward and formula, side by side
    autograd/        Function, the engine (backward), gradcheck, grad mode
    backend/         the NumPy reference kernels and their C twins
"""

from . import (
    autograd,
    backend,
    compress,
    data,
    datasets,
    diagnostics,
    dtypes,
    metrics,
    nn,
    ops,
    optim,
    testing,
    train,
    viz,
)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .dtypes import bool, float16, float32, float64, int8, int32, int64, uint8
from .factories import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from .printing import set_printoptions
from .random import manual_seed
from .serialization import load, save
from .tensor import (
    AminmaxResult,
    MaxResult,
    MedianResult,
    ShapeError,
    SortResult,
    Tensor,
    TopKResult,
    cat,
    maximum,
    minimum,
    stack,
    where,
)

# torch-style functions that are the methods themselves: tg.flip(x, dims) is x.flip(dims)
flip, roll, cumsum, prod, tril, triu = Tensor.flip, Tensor.roll, Tensor.cumsum, Tensor.prod, Tensor.tril, Tensor.triu
index_select, sort, topk, scatter = Tensor.index_select, Tensor.sort, Tensor.topk, Tensor.scatter
scatter_add = Tensor.scatter_add
log1p, expm1, rsqrt, reciprocal, square = Tensor.log1p, Tensor.expm1, Tensor.rsqrt, Tensor.reciprocal, Tensor.square
sign, sgn, floor, ceil, round, trunc, fix = (Tensor.sign, Tensor.sgn, Tensor.floor, Tensor.ceil, Tensor.round,
                                             Tensor.trunc, Tensor.fix)
mm, bmm, mv, dot, inner, outer = Tensor.mm, Tensor.bmm, Tensor.mv, Tensor.dot, Tensor.inner, Tensor.outer
diag, masked_select, nonzero, index_add = Tensor.diag, Tensor.masked_select, Tensor.nonzero, Tensor.index_add
logaddexp, hypot, atan2, arctan2, lerp = Tensor.logaddexp, Tensor.hypot, Tensor.atan2, Tensor.arctan2, Tensor.lerp
nan_to_num, nansum, count_nonzero, aminmax, addmm = (Tensor.nan_to_num, Tensor.nansum, Tensor.count_nonzero,
                                                     Tensor.aminmax, Tensor.addmm)
allclose, equal, logical_not = Tensor.allclose, Tensor.equal, Tensor.logical_not
logical_and, logical_or, logical_xor = Tensor.logical_and, Tensor.logical_or, Tensor.logical_xor
median = Tensor.median

__version__ = "0.1.0"

__all__ = [
    "AminmaxResult", "MaxResult", "MedianResult", "ShapeError", "SortResult", "Tensor", "TopKResult", "addmm",
    "allclose", "aminmax", "arange", "arctan2", "atan2", "autograd", "backend", "bmm", "bool", "cat", "ceil",
    "compress", "count_nonzero", "cumsum", "data", "datasets", "diag", "diagnostics", "dot", "dtypes",
    "enable_grad", "equal", "expm1", "eye", "fix", "flip", "float16", "float32", "float64", "floor", "full",
    "full_like", "hypot", "index_add", "index_select", "inner", "int8", "int32", "int64", "is_grad_enabled", "lerp",
    "linspace", "load", "log1p", "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor",
    "manual_seed", "masked_select", "maximum", "median", "metrics", "minimum", "mm", "mv", "nan_to_num", "nansum",
    "nn", "no_grad", "nonzero", "ones", "ones_like", "ops", "optim", "outer", "prod", "rand", "randint", "randn",
    "reciprocal", "roll", "round", "rsqrt", "save", "scatter", "scatter_add", "set_grad_enabled",
    "set_printoptions", "sgn", "sign", "sort", "square", "stack", "tensor", "testing", "topk", "train", "tril",
    "triu", "trunc", "uint8", "viz", "where", "zeros", "zeros_like",
]
