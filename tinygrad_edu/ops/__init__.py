"""The math of tinygrad_edu: one ``Function`` class per op, grouped by family.

Open the file of a family to read an op's forward, backward and formula side by side:

    elementwise.py   Add Sub Mul Div Neg Pow Exp Log Sqrt Abs Sin Cos Erf
                     Log1p Expm1 Rsqrt Reciprocal Floor Ceil Round Trunc Sign
                     Maximum Minimum Clamp ClampTensor Where Cast Frac
                     Tan Atan Asin Acos Sinh Cosh Asinh Acosh Atanh
    activation.py    Sigmoid Tanh ReLU LeakyReLU GELU
    reduce.py        Sum Mean Var Std Norm LogSumExp Amax Amin Max Min Median Prod Cumsum Cumprod
    loss.py          Softmax LogSoftmax CrossEntropy BinaryCrossEntropy BCEWithLogits
    ctc.py           CTCLoss (the forward-backward recursion of connectionist temporal classification)
    conv.py          Conv2d Conv2dGradInput Conv2dGradWeight MaxPool2d MaxPool2dGrad Unfold Fold
                     AvgPool2d AvgPool2dGrad, and the 3-D ones: Conv3d Conv3dGradInput Conv3dGradWeight
                     MaxPool3d MaxPool3dGrad AvgPool3d AvgPool3dGrad
    movement.py      Expand SumTo Reshape Permute GetItem IndexAccumulate Gather ScatterAdd Scatter
                     Cat Stack Unbind Pad Flip Roll Repeat Tril Triu
    linalg.py        MatMul Linear Einsum
    recurrent.py     LSTMCell LSTMLayer GRUCell GRULayer RNNLayer
    matrix.py        Det Slogdet Inv Solve SolveTriangular Cholesky Qr Eigh Eigvalsh Svd SvdVals Pinv LuFactor MatrixExp
    special.py       Lgamma Digamma Polygamma Zeta Gammainc Gammaincc Erfinv Erfc Erfcx Ndtr Ndtri LogNdtr
                     I0 I1 I0e I1e ModifiedBesselK0 ModifiedBesselK1 ScaledModifiedBesselK0 ScaledModifiedBesselK1
                     Xlogy Xlog1py Entr Sinc
    scan.py          LogCumSumExp NanMedian
    indexing.py      IndexPut ScatterReduce
    vector.py        Cross Cdist

and one helper: fpstate.py, ``quietly`` (1/0 = inf, 0·inf = nan without NumPy's warnings).
"""

from .activation import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .conv import (
    AvgPool2d,
    AvgPool2dGrad,
    AvgPool3d,
    AvgPool3dGrad,
    Conv2d,
    Conv2dGradInput,
    Conv2dGradWeight,
    Conv3d,
    Conv3dGradInput,
    Conv3dGradWeight,
    Fold,
    MaxPool2d,
    MaxPool2dGrad,
    MaxPool3d,
    MaxPool3dGrad,
    Unfold,
)
from .ctc import CTCLoss
from .elementwise import (
    Abs,
    Acos,
    Acosh,
    Add,
    Asin,
    Asinh,
    Atan,
    Atan2,
    Atanh,
    Cast,
    Ceil,
    Clamp,
    ClampTensor,
    Cos,
    Cosh,
    Div,
    Erf,
    Exp,
    Expm1,
    Floor,
    Frac,
    Hypot,
    Log,
    Log1p,
    LogAddExp,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Reciprocal,
    Round,
    Rsqrt,
    Sign,
    Sin,
    Sinh,
    Sqrt,
    Sub,
    Tan,
    Trunc,
    Where,
)
from .indexing import IndexPut, ScatterReduce
from .linalg import Einsum, Linear, MatMul
from .loss import BCEWithLogits, BinaryCrossEntropy, CrossEntropy, LogSoftmax, Softmax
from .matrix import (
    Cholesky,
    Det,
    Eigh,
    Eigvalsh,
    Inv,
    LuFactor,
    MatrixExp,
    Pinv,
    Qr,
    Slogdet,
    Solve,
    SolveTriangular,
    Svd,
    SvdVals,
)
from .movement import (
    Cat,
    Clone,
    Expand,
    Flip,
    Gather,
    GetItem,
    IndexAccumulate,
    Pad,
    Permute,
    Repeat,
    Reshape,
    Roll,
    Scatter,
    ScatterAdd,
    Stack,
    SumTo,
    Tril,
    Triu,
    Unbind,
)
from .recurrent import GRUCell, GRULayer, LSTMCell, LSTMLayer, RNNLayer
from .reduce import (
    Amax,
    Amin,
    Cumprod,
    Cumsum,
    LogSumExp,
    Max,
    Mean,
    Median,
    Min,
    Nansum,
    Norm,
    Prod,
    Std,
    Sum,
    Var,
)
from .scan import LogCumSumExp, NanMedian
from .special import (
    I0,
    I1,
    BesselJ0,
    BesselJ1,
    BesselY0,
    BesselY1,
    Digamma,
    Entr,
    Erfc,
    Erfcx,
    Erfinv,
    Gammainc,
    Gammaincc,
    I0e,
    I1e,
    Lgamma,
    LogNdtr,
    ModifiedBesselK0,
    ModifiedBesselK1,
    Ndtr,
    Ndtri,
    Polygamma,
    ScaledModifiedBesselK0,
    ScaledModifiedBesselK1,
    Sinc,
    Xlog1py,
    Xlogy,
    Zeta,
)
from .vector import Cdist, Cross

ALL_OPS = (
    Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Abs, Sin, Cos, Erf,
    Maximum, Minimum, Clamp, Where, Cast,
    Sigmoid, Tanh, ReLU, LeakyReLU, GELU,
    Sum, Nansum, Mean, Var, Std, Norm, LogSumExp, Amax, Amin,
    Softmax, LogSoftmax, CrossEntropy, BinaryCrossEntropy, BCEWithLogits, CTCLoss,
    Expand, SumTo, Reshape, Permute, GetItem, IndexAccumulate, Gather, ScatterAdd, Cat, Stack, Unbind, Pad,
    MatMul, Linear, Einsum,
    Conv2d, Conv2dGradInput, Conv2dGradWeight, MaxPool2d, MaxPool2dGrad, AvgPool2d, AvgPool2dGrad,
    Unfold, Fold,
    Conv3d, Conv3dGradInput, Conv3dGradWeight, MaxPool3d, MaxPool3dGrad, AvgPool3d, AvgPool3dGrad,
    LSTMCell, LSTMLayer, GRUCell, GRULayer, RNNLayer,
    Prod, Cumsum, Flip, Roll, Repeat, Tril, Triu, Scatter,
    Log1p, Expm1, Rsqrt, Reciprocal, Floor, Ceil, Round, Trunc, Sign,
    LogAddExp, Hypot, Atan2, Clone,
    Frac, ClampTensor, Max, Min, Median,
    Tan, Atan, Asin, Acos, Sinh, Cosh, Asinh, Acosh, Atanh, Cumprod,
    LogCumSumExp, NanMedian, IndexPut, ScatterReduce, Cross, Cdist,
    Det, Slogdet, Inv, Solve, SolveTriangular, Cholesky, Qr, Eigh, Eigvalsh, Svd, SvdVals, Pinv, LuFactor, MatrixExp,
    Lgamma, Digamma, Polygamma, Erfinv, Erfc, Erfcx, Ndtr, Ndtri, LogNdtr, I0, I1, I0e, I1e, Xlogy, Xlog1py, Entr, Sinc,
    Gammainc, Gammaincc, Zeta, ModifiedBesselK0, ModifiedBesselK1, ScaledModifiedBesselK0, ScaledModifiedBesselK1,
    BesselJ0, BesselJ1, BesselY0, BesselY1,
)  # fmt: skip

__all__ = [op.__name__ for op in ALL_OPS] + ["ALL_OPS"]
