"""``nn.init``: fill weights in place with the standard initialisation schemes.

Every function draws from tinygrad_edu's global generator (``tinygrad_edu.random``), so
``tg.manual_seed(s)`` makes initialisation reproducible. The formulas are PyTorch's:

    fan_in  = size(1) · (receptive field)      fan_out = size(0) · (receptive field)
    xavier (Glorot):  std = gain · √(2 / (fan_in + fan_out))
    kaiming (He):     std = gain / √fan,  gain = calculate_gain(nonlinearity, a)
    a uniform draw with standard deviation std has bound √3 · std.
"""

from __future__ import annotations

import math

import numpy as np

from .. import random
from ..ops.special import ndtri_array
from ..tensor import Tensor

_GAINS = {"linear": 1.0, "identity": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
          "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
          "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity`` (leaky_relu: √(2 / (1 + slope²)), slope 0.01 by default)."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")
    return _GAINS[nonlinearity]


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dims, got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor.data[...] = values.astype(tensor.dtype, copy=False)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from U(a, b)."""
    return _fill(tensor, random.generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from N(mean, std²)."""
    return _fill(tensor, random.generator().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    tensor.data[...] = val
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(−a, a) with a = gain · √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """U(−bound, bound) with bound = √3 · gain / √fan (He et al. 2015)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std²) with std = gain / √fan (He et al. 2015)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill with draws from N(mean, std²) restricted to [a, b], by inverting the CDF Φ:

        α = (a − mean)/std,  β = (b − mean)/std,  p ~ U(Φ(α), Φ(β)),  x = mean + std·Φ⁻¹(p)

    since x ≤ t exactly when p ≤ Φ((t − mean)/std). One draw per element however little of the
    normal lies in [a, b] (redrawing the values outside would never end for a far tail). An
    interval above the mean is drawn as the mirror image of the one below, where Φ's small
    values keep their digits (1 − 10⁻¹⁸ would round to 1). Clipped to [a, b] against rounding.
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: a = {a} must be smaller than b = {b}")
    alpha, beta = (a - mean) / std, (b - mean) / std
    mirrored = alpha > 0
    if mirrored:
        alpha, beta = -beta, -alpha
    p = random.generator().uniform(math.erfc(-alpha / math.sqrt(2.0)) / 2.0, math.erfc(-beta / math.sqrt(2.0)) / 2.0,
                                   tensor.shape)
    z = -_normal_quantile(p) if mirrored else _normal_quantile(p)
    return _fill(tensor, np.clip(mean + std * z, a, b))


def _normal_quantile(p: np.ndarray) -> np.ndarray:
    """Φ⁻¹(p) for p in [0, 1]: ops/special.py's ndtri (Abramowitz & Stegun 26.2.23, then Halley steps
    on erfc; a C kernel when built). −inf at 0, which the caller's clip turns into the bound."""
    return ndtri_array(p)


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain``: the Q of the QR decomposition of a
    Gaussian matrix, signs fixed by diag(R) so Q is uniformly distributed (Saxe et al. 2013).
    Dims after the first are flattened: rows are orthonormal if rows ≤ columns, else columns."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with at least 2 dims, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows if rows else 0
    flat = random.generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal of a rectangular one)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: needs a 2-D tensor, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a conv weight (out, in, *kernel) with the Dirac delta: the convolution then passes the
    first min(out/groups, in) channels of each group through unchanged (1 at the kernel centre)."""
    if tensor.ndim not in (3, 4, 5) or tensor.shape[0] % groups:
        raise ValueError(f"dirac_: needs a 3-, 4- or 5-D tensor whose dim 0 divides into {groups} groups, "
                         f"got shape {tensor.shape}")
    out_per_group = tensor.shape[0] // groups
    values = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            values[(g * out_per_group + d, d, *centre)] = 1.0
    return _fill(tensor, values)
