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
    distributions,
    dtypes,
    linalg,
    metrics,
    nn,
    ops,
    optim,
    return_types,
    special,
    testing,
    train,
    utils,
    viz,
)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .composites import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    bucketize,
    cartesian_prod,
    cdist,
    cumulative_trapezoid,
    searchsorted,
    trapezoid,
    tril_indices,
    triu_indices,
    vander,
)
from .dtypes import bool, float16, float32, float64, int8, int32, int64, uint8
from .factories import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .backend import get_float32_matmul_precision, set_float32_matmul_precision
from .printing import set_printoptions
from .random import get_rng_state, manual_seed, set_rng_state
from .serialization import load, save
from .tensor import (
    AminmaxResult,
    MaxResult,
    MedianResult,
    ModeResult,
    ShapeError,
    SortResult,
    Tensor,
    TopKResult,
    broadcast_shapes,
    broadcast_tensors,
    cat,
    einsum,
    maximum,
    meshgrid,
    minimum,
    stack,
    std_mean,
    tensor_function,
    var_mean,
    where,
)

# torch-style functions that are the methods themselves: tg.flip(x, dims) is x.flip(dims)
flip, roll, cumsum, prod, tril, triu = Tensor.flip, Tensor.roll, Tensor.cumsum, Tensor.prod, Tensor.tril, Tensor.triu
cumprod, remainder, fmod, take, trace, rot90 = (Tensor.cumprod, Tensor.remainder, Tensor.fmod, Tensor.take,
                                               Tensor.trace, Tensor.rot90)
argwhere, tensor_split, unique, bincount = Tensor.argwhere, Tensor.tensor_split, Tensor.unique, Tensor.bincount
bernoulli, multinomial, positive = Tensor.bernoulli, Tensor.multinomial, Tensor.positive
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
cummax, cummin, logcumsumexp, quantile, nanquantile, nanmedian = (Tensor.cummax, Tensor.cummin, Tensor.logcumsumexp,
                                                               Tensor.quantile, Tensor.nanquantile, Tensor.nanmedian)
index_fill, index_copy, index_put, scatter_reduce = (Tensor.index_fill, Tensor.index_copy, Tensor.index_put,
                                                     Tensor.scatter_reduce)
kron, cross, histc, renorm, logaddexp2 = Tensor.kron, Tensor.cross, Tensor.histc, Tensor.renorm, Tensor.logaddexp2
det, logdet, slogdet, inverse, pinverse, matrix_power = (Tensor.det, Tensor.logdet, Tensor.slogdet, Tensor.inverse,
                                                      Tensor.pinverse, Tensor.matrix_power)
lgamma, digamma, erfinv, i0, sinc, xlogy, mvlgamma = (Tensor.lgamma, Tensor.digamma, Tensor.erfinv, Tensor.i0,
                                                     Tensor.sinc, Tensor.xlogy, Tensor.mvlgamma)
polygamma = special.polygamma  # torch.polygamma(n, input): n first, unlike the method
erfc, matrix_exp = Tensor.erfc, Tensor.matrix_exp
cholesky_solve, cholesky_inverse = Tensor.cholesky_solve, Tensor.cholesky_inverse
igamma, igammac = Tensor.igamma, Tensor.igammac
trapz = trapezoid  # PyTorch's older name
mode, kthvalue, frac, baddbmm, nanmean, diff, diagonal = (Tensor.mode, Tensor.kthvalue, Tensor.frac, Tensor.baddbmm,
                                                       Tensor.nanmean, Tensor.diff, Tensor.diagonal)
abs, absolute, neg, negative, exp, log, sqrt, sin, cos, erf = (Tensor.abs, Tensor.absolute, Tensor.neg, Tensor.negative,
                                                             Tensor.exp, Tensor.log, Tensor.sqrt, Tensor.sin,
                                                             Tensor.cos, Tensor.erf)
log2, log10, exp2, logit, tanh, sigmoid, relu = (Tensor.log2, Tensor.log10, Tensor.exp2, Tensor.logit, Tensor.tanh,
                                                 Tensor.sigmoid, Tensor.relu)
add, sub, subtract, mul, multiply, div, divide, true_divide, pow = (Tensor.add, Tensor.sub, Tensor.subtract, Tensor.mul,
                                                                    Tensor.multiply, Tensor.div, Tensor.divide,
                                                                    Tensor.true_divide, Tensor.pow)
addcmul, addcdiv, clamp, clip, clamp_min, clamp_max = (Tensor.addcmul, Tensor.addcdiv, Tensor.clamp, Tensor.clip,
                                                       Tensor.clamp_min, Tensor.clamp_max)
sum, mean, var, std, norm, logsumexp, amax, amin = (Tensor.sum, Tensor.mean, Tensor.var, Tensor.std, Tensor.norm,
                                                    Tensor.logsumexp, Tensor.amax, Tensor.amin)
max, min, argmax, argmin, argsort, all, any, numel = (Tensor.max, Tensor.min, Tensor.argmax, Tensor.argmin,
                                                      Tensor.argsort, Tensor.all, Tensor.any, Tensor.numel)
softmax, log_softmax, matmul, t, transpose, swapaxes, swapdims = (Tensor.softmax, Tensor.log_softmax, Tensor.matmul,
                                                                  Tensor.t, Tensor.transpose, Tensor.swapaxes,
                                                                  Tensor.swapdims)
permute, reshape, flatten, unflatten, squeeze, unsqueeze, ravel = (Tensor.permute, Tensor.reshape, Tensor.flatten,
                                                                   Tensor.unflatten, Tensor.squeeze, Tensor.unsqueeze,
                                                                   Tensor.ravel)
chunk, split, unbind, narrow, gather, movedim, moveaxis = (Tensor.chunk, Tensor.split, Tensor.unbind, Tensor.narrow,
                                                           Tensor.gather, Tensor.movedim, Tensor.moveaxis)
tile, repeat_interleave, masked_fill, take_along_dim, broadcast_to = (Tensor.tile, Tensor.repeat_interleave,
                                                                      Tensor.masked_fill, Tensor.take_along_dim,
                                                                      Tensor.broadcast_to)
clone, detach, fliplr, flipud, isnan, isinf, isfinite, isclose = (Tensor.clone, Tensor.detach, Tensor.fliplr,
                                                                  Tensor.flipud, Tensor.isnan, Tensor.isinf,
                                                                  Tensor.isfinite, Tensor.isclose)
signbit, isposinf, isneginf = Tensor.signbit, Tensor.isposinf, Tensor.isneginf
tan, atan, asin, acos, sinh, cosh, asinh, acosh, atanh = (Tensor.tan, Tensor.atan, Tensor.asin, Tensor.acos,
                                                       Tensor.sinh, Tensor.cosh, Tensor.asinh, Tensor.acosh,
                                                       Tensor.atanh)
arctan, arcsin, arccos, arcsinh, arccosh, arctanh = (Tensor.arctan, Tensor.arcsin, Tensor.arccos, Tensor.arcsinh,
                                                     Tensor.arccosh, Tensor.arctanh)
eq, ne, lt, le, gt, ge = Tensor.eq, Tensor.ne, Tensor.lt, Tensor.le, Tensor.gt, Tensor.ge
greater, greater_equal, less, less_equal, not_equal = (Tensor.greater, Tensor.greater_equal, Tensor.less,
                                                       Tensor.less_equal, Tensor.not_equal)

__version__ = "0.1.0"

__all__ = [
    "AminmaxResult", "MaxResult", "MedianResult", "ModeResult", "ShapeError", "SortResult", "Tensor", "TopKResult",
    "abs", "absolute", "acos", "acosh", "add", "addcdiv", "addcmul", "addmm", "all", "allclose", "amax", "amin",
    "aminmax", "any", "arange", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax",
    "argmin", "argsort", "argwhere", "as_tensor", "asin", "asinh", "atan", "atan2", "atanh", "autograd", "backend",
    "baddbmm", "bernoulli", "bincount", "bmm", "bool", "broadcast_shapes", "broadcast_tensors", "broadcast_to", "cat",
    "ceil", "chunk", "clamp", "clamp_max", "clamp_min", "clip", "clone", "compress", "cos", "cosh", "count_nonzero",
    "cumprod", "cumsum", "data", "datasets", "detach", "diag", "diagnostics", "diagonal", "diff", "div", "divide",
    "dot", "dtypes", "einsum", "empty", "empty_like", "enable_grad", "eq", "equal", "erf", "exp", "exp2", "expm1",
    "eye", "fix", "flatten", "flip", "fliplr", "flipud", "float16", "float32", "float64", "floor", "fmod", "frac",
    "from_numpy", "distributions",
    "full", "get_float32_matmul_precision", "set_float32_matmul_precision", "full_like", "gather", "ge", "get_rng_state", "greater", "greater_equal", "gt", "hypot", "index_add",
    "index_select",
    "inner", "int8", "int32", "int64", "is_grad_enabled", "is_tensor", "isclose", "isfinite", "isinf", "isnan",
    "isneginf", "isposinf", "kthvalue", "le", "lerp", "less", "less_equal", "linspace", "load", "log", "log1p",
    "log2", "log10", "log_softmax", "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor", "logit",
    "logsumexp", "lt", "manual_seed", "masked_fill", "masked_select", "matmul", "max", "maximum", "mean", "median",
    "meshgrid", "metrics", "min", "minimum", "mm", "mode", "moveaxis", "movedim", "mul", "multinomial", "multiply",
    "mv", "nan_to_num", "nanmean", "nansum", "narrow", "ne", "neg", "negative", "nn", "no_grad", "nonzero", "norm",
    "not_equal", "numel", "ones", "ones_like", "ops", "optim", "outer", "permute", "positive", "pow", "prod", "rand",
    "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm", "ravel", "reciprocal", "relu",
    "remainder", "repeat_interleave", "reshape", "return_types", "roll", "rot90", "round", "rsqrt", "save", "scatter",
    "scatter_add",
    "set_grad_enabled", "set_printoptions", "set_rng_state", "sgn", "sigmoid", "sign", "signbit", "sin", "sinh",
    "softmax", "sort",
    "split", "sqrt", "square", "squeeze", "stack", "std", "std_mean", "sub", "subtract", "sum", "swapaxes",
    "swapdims", "t", "take", "take_along_dim", "tan", "tanh", "tensor", "tensor_split", "testing", "tile", "topk",
    "trace", "train", "transpose", "tril", "triu", "true_divide", "trunc", "uint8", "unbind", "unflatten", "unique",
    "unsqueeze", "utils", "var", "var_mean", "viz", "where", "zeros", "zeros_like",
]
__all__ += [  # scans, order statistics, index writes, products, grids (composites.py)
    "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "bucketize", "cartesian_prod", "cdist", "cross", "cummax",
    "cummin", "cumulative_trapezoid", "histc", "index_copy", "index_fill", "index_put", "kron", "logaddexp2",
    "logcumsumexp", "nanmedian", "nanquantile", "quantile", "renorm", "scatter_reduce", "searchsorted", "trapezoid",
    "trapz", "tril_indices", "triu_indices", "vander",
]
__all__ += [  # linear algebra and special functions (linalg.py, special.py)
    "cholesky_inverse", "cholesky_solve", "det", "digamma", "erfc", "erfinv", "i0", "igamma", "igammac", "inverse",
    "lgamma", "linalg",
    "logdet", "matrix_exp", "matrix_power", "mvlgamma", "pinverse", "polygamma", "sinc", "slogdet", "special", "xlogy",
]

# As functions, PyTorch's refuse an input that is not a Tensor: each tg.<name> above that is a Tensor method
# (tg.exp is Tensor.exp), or a function of one tensor first, becomes tensor.tensor_function(name, it), which checks.
for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__qualname__", "").startswith("Tensor.") or _value in (maximum, minimum, std_mean, var_mean):
        globals()[_name] = tensor_function(_name, _value)
del _name, _value, tensor_function
