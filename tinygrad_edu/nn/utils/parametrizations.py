r"""``nn.utils.parametrizations``: weight norm, spectral norm and orthogonal weights, each a
parametrization (``nn.utils.parametrize``) of a module's tensor, with PyTorch's names.

Weight normalisation (Salimans & Kingma, 2016):
    w = g · v / ‖v‖        the norm over every dim but ``dim`` (all of them if dim is None)
    original0 = g (shape 1…, n_dim, …1), original1 = v (the weight's shape)

Spectral normalisation (Miyato et al., 2018):
    W_SN = W / σ(W),   σ(W) ≈ uᵀ W v   (W reshaped to a matrix, ``dim`` its rows)
    power iteration, in training mode only:  u ← Wv / ‖Wv‖,  v ← Wᵀu / ‖Wᵀu‖
    (u, v are buffers: no gradient flows through them; ‖x‖ is max(‖x‖, eps))

Orthogonal (Lezcano-Casado & Martínez-Rubio, 2019), for a tall n × k matrix (a wide one is transposed):
    matrix_exp:   Q = exp(A)[:, :k],  A = L − Lᵀ, L the lower triangle of X padded to n × n
    cayley:       Q = (I − A/2)⁻¹ (I + A/2) [:, :k]
    householder:  Q = H₁ ⋯ H_k [:, :k] · diag(sign-ish of X's diagonal),  Hᵢ = I − τᵢ vᵢ vᵢᵀ
    and with ``use_trivialization`` (default) Q ← B Q, B a fixed orthogonal ``base`` buffer:
    the original starts at −I (so Q starts at B = the orthogonalised weight).
    The default map, as PyTorch: matrix_exp for a square matrix, householder otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import random
from ...autograd import grad_mode
from ...linalg import householder_product, matrix_exp, solve
from ...tensor import Tensor, cat
from ..conv import _ConvTransposeNd
from ..module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ---- weight norm ---------------------------------------------------------------------------------

def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """‖v‖₂ over every dim but ``dim``, kept as size-1 dims; ``dim=-1`` means over all dims (a
    scalar), as PyTorch's ``norm_except_dim``. Other negative dims count from the end."""
    if dim == -1:
        return v.norm()
    others = tuple(d for d in range(v.ndim) if d != dim % v.ndim)
    return v.norm(dim=others, keepdim=True) if others else v.abs()  # (norm over dim=() would take all dims)


def weight_norm_value(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """w = v · (g / ‖v‖), the norm from ``norm_except_dim(v, dim)``."""
    return v * (g / norm_except_dim(v, dim))


class _WeightNorm(Module):
    """w = g · v / ‖v‖ from the originals (g, v)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        """w = g · v / ‖v‖."""
        return weight_norm_value(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        """(g, v) = (‖w‖, w): the w it gives back is w itself."""
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as g · v / ‖v‖: ``parametrizations.<name>.original0`` is g
    (the norms, size 1 in every dim but ``dim``), ``original1`` is v. ``dim=None`` takes one norm
    over the whole tensor. A state dict saved with the hook-based ``nn.utils.weight_norm``
    (``<name>_g``, ``<name>_v``) loads into it. Returns ``module``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_old_names(module: Module, state_dict: dict, prefix: str, *_: Any) -> None:
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module.register_load_state_dict_pre_hook(load_old_names)
    return module


# ---- spectral norm ---------------------------------------------------------------------------------

def weight_to_matrix(weight: Tensor, dim: int) -> Tensor:
    """The weight as a matrix whose rows run along ``dim`` (moved first, the rest flattened)."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


def _normalized(x: np.ndarray, eps: float) -> np.ndarray:
    """x / max(‖x‖₂, eps) (F.normalize of a vector)."""
    return x / max(float(np.linalg.norm(x)), eps)


def random_unit_vector(n: int, dtype: np.dtype, eps: float) -> Tensor:
    """A random direction: a standard normal vector of length n, normalised."""
    return Tensor._make(_normalized(random.generator().standard_normal(n).astype(dtype), eps))


def power_iteration(weight_mat: np.ndarray, u: Tensor, v: Tensor, steps: int, eps: float,
                    u_first: bool = True) -> None:
    """``steps`` rounds of u ← Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖, written into the buffers u and v in place.

    ``u_first=False`` updates v first (the order of the older, hook-based ``spectral_norm``).
    """
    for _ in range(steps):
        if u_first:
            u.data[...] = _normalized(weight_mat @ v.data, eps)
        v.data[...] = _normalized(weight_mat.T @ u.data, eps)
        if not u_first:
            u.data[...] = _normalized(weight_mat @ v.data, eps)
    u._count_write()
    v._count_write()


def spectral_normalized(weight: Tensor, weight_mat: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """W / σ with σ = uᵀ W v; u and v are constants (copies of the buffers), W is differentiated."""
    sigma = (u.detach().clone() * weight_mat.mv(v.detach().clone())).sum()
    return weight / sigma


class _SpectralNorm(Module):
    """W / σ(W), σ by power iteration on the buffers ``_u`` (rows) and ``_v`` (columns)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] "
                             f"but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = weight_to_matrix(weight, self.dim).data
            h, w = weight_mat.shape
            self.register_buffer("_u", random_unit_vector(h, weight.dtype, eps))
            self.register_buffer("_v", random_unit_vector(w, weight.dtype, eps))
            power_iteration(weight_mat, self._u, self._v, 15, eps)  # a good σ from the start

    def forward(self, weight: Tensor) -> Tensor:
        """W / σ(W) (a 1-D weight: W / ‖W‖); training mode first refines u and v."""
        if weight.ndim == 1:
            return weight / weight.norm().clamp(min=self.eps)
        weight_mat = weight_to_matrix(weight, self.dim)
        if self.training:
            power_iteration(weight_mat.data, self._u, self._v, self.n_power_iterations, self.eps)
        return spectral_normalized(weight, weight_mat, self._u, self._v)

    def right_inverse(self, value: Tensor) -> Tensor:
        """The value itself (any W is a valid original: W/σ(W) is not invertible otherwise)."""
        return value


def default_spectral_dim(module: Module) -> int:
    """The output dim: 1 for a transposed convolution (weight (in, out, …)), else 0."""
    return 1 if isinstance(module, _ConvTransposeNd) else 0


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Reparametrize ``module.<name>`` as W / σ(W) (see the module docstring); the buffers are
    ``parametrizations.<name>.0._u`` and ``._v``. Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    dim = default_spectral_dim(module) if dim is None else dim
    return parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))


# ---- orthogonal ----------------------------------------------------------------------------------

ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _eye_like(shape: tuple[int, ...], dtype: np.dtype, value: float = 1.0) -> np.ndarray:
    """Batches of (possibly rectangular) matrices with ``value`` on the diagonal."""
    return np.broadcast_to(value * np.eye(shape[-2], shape[-1], dtype=dtype), shape).copy()


def _make_orthogonal(A: np.ndarray) -> np.ndarray:
    """The Q of A = QR with diag(R) ≥ 0 (unique for a full-rank tall A)."""
    Q, R = np.linalg.qr(A)
    return Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(Q: np.ndarray) -> bool:
    """QᵀQ = I to 10·n·eps (PyTorch's test before keeping a square weight as the base)."""
    n, k = Q.shape[-2:]
    eps = 10.0 * n * np.finfo(Q.dtype).eps
    return bool(np.allclose(np.swapaxes(Q, -1, -2) @ Q, np.eye(k, dtype=Q.dtype), atol=eps))


def _householder_reflectors(Q: np.ndarray) -> np.ndarray:
    """LAPACK geqrf's packed reflectors of each tall matrix, with the diagonal replaced by the signs
    that make householder(X) = Q (PyTorch's right_inverse without trivialization)."""
    out = np.empty_like(Q)
    for index in np.ndindex(*Q.shape[:-2]):
        h, tau = np.linalg.qr(Q[index], mode="raw")  # h is the transposed geqrf output
        packed = h.T.copy()
        diagonal = np.sign(np.diagonal(packed)).copy()
        diagonal[tau == 0.0] *= -1
        np.fill_diagonal(packed, diagonal)
        out[index] = packed
    return out


class _Orthogonal(Module):
    """An orthogonal matrix (or batch) from an unconstrained X (see the module docstring)."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        """Q(X): orthonormal columns (rows, for a wide X)."""
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X, (n, k) = X.mT, (k, n)
        if self.orthogonal_map == "householder":
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            # The diagonal of X holds ±1 (truncated towards 0): a constant, not differentiated.
            signs = np.trunc(np.diagonal(X.data, axis1=-2, axis2=-1))[..., None, :].astype(X.dtype)
            Q = householder_product(A, tau) * Tensor._make(signs)
        else:
            X = X.tril()
            if n != k:  # pad the tall X with zero columns to n × n
                X = cat([X, Tensor._make(np.zeros((*X.shape[:-2], n, n - k), dtype=X.dtype))], -1)
            A = X - X.mT  # skew-symmetric, so exp(A) and the Cayley transform are orthogonal
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                identity = Tensor._make(np.eye(n, dtype=A.dtype))
                Q = solve(identity - 0.5 * A, identity + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """An X with forward(X) = Q: with trivialization, base ← Q made orthogonal and X = −I."""
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        with grad_mode.no_grad():
            array = Q.data
            n, k = array.shape[-2:]
            transposed = n < k
            if transposed:
                array, (n, k) = np.swapaxes(array, -1, -2), (k, n)
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                              "parametrizations when use_trivialization=False.")
                X = _householder_reflectors(array)
                return Tensor._make(np.ascontiguousarray(np.swapaxes(X, -1, -2) if transposed else X))
            if n == k:
                base = array.copy() if _is_orthogonal(array) else _make_orthogonal(array)
            else:  # complete the k columns to an n × n orthogonal matrix with random ones
                extra = random.generator().standard_normal((*array.shape[:-2], n, n - k)).astype(array.dtype)
                base = _make_orthogonal(np.concatenate([array, extra], axis=-1))
            self.base = Tensor._make(base)
            return Tensor._make(_eye_like(Q.shape, Q.dtype, -1.0))


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` (a matrix, or a batch) to be orthogonal: QᵀQ = I for a tall or
    square matrix, QQᵀ = I for a wide one. ``orthogonal_map``: "matrix_exp", "cayley" or
    "householder" (default: matrix_exp if square, else householder). Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in ORTHOGONAL_MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    return parametrize.register_parametrization(module, name, orth, unsafe=True)
