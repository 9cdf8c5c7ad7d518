"""``tg.linalg``: PyTorch's ``torch.linalg`` on (batches of) matrices.

    import tinygrad_edu as tg
    A = tg.randn(4, 4, dtype=tg.float64) + 4 * tg.eye(4, dtype=tg.float64)
    x = tg.linalg.solve(A, tg.ones(4, dtype=tg.float64))
    sign, logabsdet = tg.linalg.slogdet(A)

Each function checks its input as PyTorch does (floating dtype, at least 2 dims, square where
needed; a ShapeError or TypeError naming the function and the shape) and then calls one op of
``ops/matrix.py`` (det, slogdet, inv, solve, cholesky, qr, eigh, eigvalsh, svd, svdvals, pinv,
matrix_exp, lu_factor), where the forward and backward formulas are, or composes such ops (lu,
lu_solve, norms, cond, lstsq, matrix_power, multi_dot, solve_triangular, tensorinv, tensorsolve, the *_ex forms, vecdot,
vander). ldl_factor, ldl_factor_ex and ldl_solve are plain NumPy (Bunch–Kaufman pivoting, LAPACK sytrf/sytrs
conventions) without a gradient, as in PyTorch. Matrices are the last two dims; the dims before are a batch.
A singular matrix (inv, solve) or one that is not positive-definite (cholesky) raises
``tg.linalg.LinAlgError``, a RuntimeError, as ``torch.linalg.LinAlgError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes, ops, return_types
from . import tensor as _tensor
from .ops.matrix import LinAlgError, permutation_from_pivots, singular_cutoff, unpack_lu

Tensor = Any  # the Tensor class: tensor.py imports this module, so it is read at call time (_tensor.Tensor)

# torch.return_types.linalg_*: the named tuples of the functions that return several tensors (return_types.py)
SlogdetResult = return_types.linalg_slogdet
QRResult = return_types.linalg_qr
EighResult = return_types.linalg_eigh
SVDResult = return_types.linalg_svd
LstsqResult = return_types.linalg_lstsq
InvExResult = return_types.linalg_inv_ex
LUFactorResult = return_types.linalg_lu_factor
LUResult = return_types.linalg_lu
LUFactorExResult = return_types.linalg_lu_factor_ex
CholeskyExResult = return_types.linalg_cholesky_ex
SolveExResult = return_types.linalg_solve_ex
LDLFactorResult = return_types.linalg_ldl_factor
LDLFactorExResult = return_types.linalg_ldl_factor_ex


def _matrix(a: Tensor, op: str, square: bool = False) -> Tensor:
    """``a`` after PyTorch's checks: a floating Tensor with at least 2 dims, square if asked."""
    if not isinstance(a, _tensor.Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if not dtypes.is_floating(a.dtype):
        raise TypeError(f"{op}: expected a floating point tensor as input, got {a.dtype}")
    if a.ndim < 2:
        raise _tensor.ShapeError(f"{op}: the input must have at least 2 dimensions, got shape {a.shape}")
    if square and a.shape[-1] != a.shape[-2]:
        raise _tensor.ShapeError(f"{op}: A must be batches of square matrices, but they are {a.shape[-2]} by "
                                 f"{a.shape[-1]} matrices (shape {a.shape})")
    return a


def _constant(array: np.ndarray) -> Tensor:
    return _tensor.Tensor._make(array)


def _identities(shape: tuple[int, ...], dtype: Any) -> Tensor:
    """A constant batch of identity matrices of ``shape`` (…, n, n)."""
    return _constant(np.broadcast_to(np.eye(shape[-1], dtype=dtype), shape).copy())


# ---- determinants ------------------------------------------------------------------------------


def det(A: Tensor) -> Tensor:
    """det A of square matrices (…, n, n) → (…); op ``Det``."""
    return ops.Det.apply(_matrix(A, "linalg.det", square=True))


def slogdet(A: Tensor) -> SlogdetResult:
    """``(sign, logabsdet)``: det A = sign · e^logabsdet, without overflow; op ``Slogdet``.
    A singular A gives (0, −inf)."""
    return SlogdetResult(*ops.Slogdet.apply(_matrix(A, "linalg.slogdet", square=True)))


def logdet(A: Tensor) -> Tensor:
    """ln det A (torch.logdet): logabsdet where the sign is +1, nan where it is −1, −inf at 0."""
    sign, logabsdet = slogdet(_matrix(A, "logdet", square=True))
    return _tensor.where(sign.data < 0, _constant(np.array(np.nan, dtype=A.dtype)), logabsdet)


# ---- inverse and solve ---------------------------------------------------------------------------


def inv(A: Tensor) -> Tensor:
    """A⁻¹ of square matrices; LinAlgError for a singular A; op ``Inv``."""
    return ops.Inv.apply(_matrix(A, "linalg.inv", square=True))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B). B is (…, n, k), or a vector (n,) / (…, n) when it has
    one dim fewer than A; batch dims broadcast. LinAlgError for a singular A; op ``Solve``."""
    A = _matrix(A, "linalg.solve", square=True)
    if not left:  # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ
        return solve(A.mT, _matrix(B, "linalg.solve").mT).mT
    if not isinstance(B, _tensor.Tensor) or B.dtype != A.dtype:
        raise TypeError(f"linalg.solve: expected B to be a tensor of A's dtype {A.dtype}, got "
                        f"{getattr(B, 'dtype', type(B).__name__)}")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.ndim < 2 or rhs.shape[-2] != A.shape[-1]:
        raise _tensor.ShapeError(f"linalg.solve: incompatible shapes of A {A.shape} and B {B.shape}: B must be "
                                 f"(..., {A.shape[-1]}, k) or a vector of size {A.shape[-1]}")
    try:
        batch = np.broadcast_shapes(A.shape[:-2], rhs.shape[:-2])
    except ValueError:
        raise _tensor.ShapeError(f"linalg.solve: the batch dims of A {A.shape} and B {B.shape} do not "
                                 "broadcast") from None
    X = ops.Solve.apply(A.expand(*batch, *A.shape[-2:]), rhs.expand(*batch, *rhs.shape[-2:]))
    return X.squeeze(-1) if vector else X


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """X with A X = B (``left=False``: X A = B) for triangular A (…, n, n) and B (…, n, k) (left) or
    (…, k, n) (right), batch dims broadcast; op ``SolveTriangular``: forward/back substitution. Only A's
    ``upper`` or lower triangle is read (its diagonal is taken as 1 with ``unitriangular``), and the
    gradient reaches only that triangle, as PyTorch's. A zero on the diagonal gives inf/nan, no error."""
    A = _matrix(A, "linalg.solve_triangular", square=True)
    B = _matrix(B, "linalg.solve_triangular")
    if B.dtype != A.dtype:
        raise TypeError(f"linalg.solve_triangular: expected B to have the dtype of A ({A.dtype}), got {B.dtype}")
    n, rows = A.shape[-1], (B.shape[-2] if left else B.shape[-1])
    if rows != n:
        raise _tensor.ShapeError(f"linalg.solve_triangular: incompatible shapes of A {A.shape} and B {B.shape}: "
                                 + (f"B must be (..., {n}, k)" if left else f"B must be (..., k, {n}) for left=False"))
    try:
        batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except ValueError:
        raise _tensor.ShapeError(f"linalg.solve_triangular: the batch dims of A {A.shape} and B {B.shape} do not "
                                 "broadcast") from None
    return ops.SolveTriangular.apply(A.expand(*batch, n, n), B.expand(*batch, *B.shape[-2:]), upper=upper,
                                     left=left, unitriangular=unitriangular)


# ---- factorizations ---------------------------------------------------------------------------


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L lower triangular with A = L Lᵀ (``upper``: U = Lᵀ with A = Uᵀ U) for symmetric positive-
    definite A (only its lower triangle is read; ``upper``: its upper triangle, as PyTorch's);
    LinAlgError otherwise; op ``Cholesky``."""
    A = _matrix(A, "linalg.cholesky", square=True)
    return ops.Cholesky.apply(A.mT).mT if upper else ops.Cholesky.apply(A)  # Aᵀ's lower triangle is A's upper


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """X with (L Lᵀ) X = B (``upper``: (Uᵀ U) X = B) from a Cholesky factor (torch.cholesky_solve; only
    L's triangle is read): two triangular solves, X = L⁻ᵀ (L⁻¹ B)."""
    L = _matrix(L, "cholesky_solve", square=True)
    lower = L.mT if upper else L
    return solve_triangular(lower.mT, solve_triangular(lower, B, upper=False), upper=True)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """(L Lᵀ)⁻¹ from a Cholesky factor (torch.cholesky_inverse): ``cholesky_solve`` of the identity."""
    L = _matrix(L, "cholesky_inverse", square=True)
    return cholesky_solve(_identities(L.shape, L.dtype), L, upper)


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """``(Q, R)`` with A = Q R (op ``Qr``). ``mode``: "reduced" (Q (…, m, k), R (…, k, n), k = min(m, n)),
    "complete" (Q (…, m, m), R (…, m, n); differentiable only for m ≤ n, as PyTorch) or "r" (R only,
    Q empty, no gradient)."""
    A = _matrix(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: qr received unrecognized mode {mode!r}; expected 'reduced', 'complete' or 'r'")
    return QRResult(*ops.Qr.apply(A, mode=mode))


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """``(LU, pivots)``: A = P L U with partial pivoting, packed as LAPACK's getrf (op ``LuFactor``;
    differentiable for square, wide and tall A, as PyTorch's). ``pivots`` (int32, 1-based) say which
    row was swapped in at each step."""
    if not pivot:
        raise NotImplementedError("linalg.lu_factor: pivot=False is not implemented (PyTorch has it on CUDA only)")
    return LUFactorResult(*ops.LuFactor.apply(_matrix(A, "linalg.lu_factor")))


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """``(LU, pivots, info)``: ``lu_factor`` and, per matrix, info = the 1-based index of the first exact zero
    on U's diagonal, 0 if there is none (LAPACK getrf's info, as PyTorch). A singular matrix is still
    factored; ``check_errors`` raises LinAlgError for it instead."""
    LU, pivots = lu_factor(_matrix(A, "linalg.lu_factor_ex"), pivot=pivot)
    diagonal = np.diagonal(LU.data, axis1=-2, axis2=-1)
    zero = diagonal == 0
    info = np.where(zero.any(axis=-1), zero.argmax(axis=-1) + 1, 0).astype(np.int32)
    if check_errors and info.any():
        first = int(info[info > 0].flat[0]) - 1
        raise LinAlgError(f"linalg.lu_factor_ex: the factorization could not be completed because the input is "
                          f"not full rank: U[{first}, {first}] is exactly zero (shape {A.shape})")
    return LUFactorExResult(LU, pivots, _constant(info))


def _permutation_matrix(pivots: np.ndarray, m: int, dtype: Any) -> Tensor:
    """P with A = P L U (a constant) from getrf's 1-based pivots."""
    permutation = permutation_from_pivots(pivots, m)
    return _constant((permutation[..., None, :] == np.arange(m)[:, None]).astype(dtype))  # P[r, i]: permutation[i] = r


def lu(A: Tensor, *, pivot: bool = True) -> LUResult:
    """``(P, L, U)`` with A = P L U: ``lu_factor`` unpacked (L unit lower triangular (…, m, k),
    U upper (…, k, n), P a constant permutation matrix)."""
    LU, pivots = lu_factor(A, pivot=pivot)
    return LUResult(_permutation_matrix(pivots.data, A.shape[-2], A.dtype), *unpack_lu(LU))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """X with A X = B (``adjoint``: Aᵀ X = B; ``left=False``: X A = B) from ``lu_factor``'s output:
    X = U⁻¹ L⁻¹ Pᵀ B through ``solve`` of the triangles (differentiable in LU and B)."""
    LU = _matrix(LU, "linalg.lu_solve", square=True)
    B = _matrix(B, "linalg.lu_solve")
    if not left:  # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    L, U = unpack_lu(LU)
    P = _permutation_matrix(np.asarray(pivots.data), LU.shape[-1], LU.dtype)
    if adjoint:  # Aᵀ = Uᵀ Lᵀ Pᵀ:  X = P L⁻ᵀ U⁻ᵀ B
        return P @ solve(L.mT, solve(U.mT, B))
    return solve(U, solve(L, P.mT @ B))


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """``(eigenvalues, eigenvectors)`` of symmetric A (its ``UPLO`` triangle is read): ascending λ and
    orthonormal V with A = V diag(λ) Vᵀ (op ``Eigh``; gradient finite for distinct λ)."""
    return EighResult(*ops.Eigh.apply(_matrix(A, "linalg.eigh", square=True), uplo=_uplo(UPLO, "linalg.eigh")))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The ascending eigenvalues of symmetric A (op ``Eigvalsh``; gradient finite for repeated λ too)."""
    return ops.Eigvalsh.apply(_matrix(A, "linalg.eigvalsh", square=True), uplo=_uplo(UPLO, "linalg.eigvalsh"))


def _uplo(uplo: str, op: str) -> str:
    if uplo not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {uplo!r}")
    return uplo


def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """``(U, S, Vh)`` with A = U diag(S) Vh, S descending (op ``Svd``): the reduced form U (…, m, k),
    Vh (…, k, n), k = min(m, n), or with ``full_matrices`` (PyTorch's default) U (…, m, m) and
    Vh (…, n, n), completed with an orthonormal basis of the rest of the space, whose gradient is
    dropped, as in PyTorch."""
    return SVDResult(*ops.Svd.apply(_matrix(A, "linalg.svd"), full_matrices=full_matrices))


def svdvals(A: Tensor) -> Tensor:
    """The singular values, descending (op ``SvdVals``; gradient finite for repeated ones too)."""
    return ops.SvdVals.apply(_matrix(A, "linalg.svdvals"))


# ---- norms ---------------------------------------------------------------------------------------


def vector_norm(x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """(Σ |x|^ord)^(1/ord) over ``dim`` (all dims if None); ord = inf: max |x|, −inf: min |x|, 0: the
    number of nonzeros. ord ≥ 1 and ±inf go through ``Tensor.norm`` (op ``Norm``); other ord compose."""
    x = x if dtype is None else x.to(dtype)
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"linalg.vector_norm: expected a floating point tensor as input, got {x.dtype}")
    if ord >= 1 or ord == -math.inf:
        return x.norm(ord, dim, keepdim)
    if ord == 0:  # a count: piecewise constant, no gradient
        return (x != 0).to(x.dtype).sum(dim, keepdim)
    return (x.abs() ** ord).sum(dim, keepdim) ** (1.0 / ord)


def matrix_norm(A: Tensor, ord: float | str = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """Matrix norm over the two dims ``dim``: "fro" √(Σ a²), "nuc" Σ σᵢ, 2 / −2 the largest / smallest
    singular value, 1 / −1 the largest / smallest column sum of |a|, inf / −inf the same for rows."""
    A = _matrix(A if dtype is None else A.to(dtype), "linalg.matrix_norm")
    if len(dim) != 2:
        raise ValueError(f"linalg.matrix_norm: dim must be a 2-tuple, got {dim!r}")
    rows, cols = (_tensor._dim(d, A.ndim, "linalg.matrix_norm") for d in dim)
    if rows == cols:
        raise ValueError(f"linalg.matrix_norm: dims must be different, got {dim!r}")
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord not in ("nuc", 2, -2, 1, -1, math.inf, -math.inf):
        raise ValueError(f"linalg.matrix_norm: order {ord!r} not supported ('fro', 'nuc', ±1, ±2, ±inf)")
    M = A.movedim((rows, cols), (-2, -1))
    if ord == "nuc":
        y = svdvals(M).sum(-1)
    elif ord in (2, -2):
        y = svdvals(M).amax(-1) if ord == 2 else svdvals(M).amin(-1)
    else:  # 1: columns (sum over rows), inf: rows (sum over columns)
        sums = M.abs().sum(-2 if abs(ord) == 1 else -1)
        y = sums.amax(-1) if ord > 0 else sums.amin(-1)
    if keepdim:
        for d in sorted((rows, cols)):
            y = y.unsqueeze(d)
    return y


def norm(A: Tensor, ord: float | str | None = None, dim: int | Sequence[int] | None = None, keepdim: bool = False,
         *, dtype: Any = None) -> Tensor:
    """``vector_norm`` or ``matrix_norm`` as torch.linalg.norm picks: with ``dim`` an int (or None and
    1-D input, or ord None) the vector 2-norm / ord-norm, with two dims (or None and 2-D input) the
    matrix norm ("fro" when ord is None)."""
    if dim is not None and not isinstance(dim, int) and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, tuple(dim), keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.ndim != 1:
            raise _tensor.ShapeError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, "
                                     f"got shape {A.shape}")
    if isinstance(ord, str):
        raise ValueError(f"linalg.norm: order {ord!r} needs a matrix (two dims)")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


# ---- compositions --------------------------------------------------------------------------------


def pinv(A: Tensor, *, atol: float | None = None, rtol: float | None = None, hermitian: bool = False) -> Tensor:
    """The Moore–Penrose pseudoinverse A⁺ = V diag(1/σ) Uᵀ, singular values at or below
    max(atol, rtol·σ_max) taken as 0 (op ``Pinv``; ``hermitian`` is accepted and the general SVD used)."""
    del hermitian  # the SVD covers the symmetric case too
    return ops.Pinv.apply(_matrix(A, "linalg.pinv"), atol=atol, rtol=rtol)


def matrix_rank(A: Tensor, *, atol: float | None = None, rtol: float | None = None,
                hermitian: bool = False) -> Tensor:
    """The number of singular values above max(atol, rtol·σ_max) (int64, no gradient)."""
    del hermitian
    A = _matrix(A, "linalg.matrix_rank")
    S = np.linalg.svd(A.data, compute_uv=False)
    return _constant(np.sum(S > singular_cutoff(S, A.shape, atol, rtol), axis=-1).astype(np.int64))


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> LstsqResult:
    """The least-squares solution X = A⁺ B of min ‖A X − B‖ (``pinv`` with rtol = rcond). As with
    PyTorch's default CPU driver ("gelsy"), ``residuals`` and ``singular_values`` are empty and
    ``rank`` is the rank of A; ``driver`` is accepted and ignored."""
    del driver
    A = _matrix(A, "linalg.lstsq")
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.ndim < 2 or rhs.shape[-2] != A.shape[-2]:
        raise _tensor.ShapeError(f"linalg.lstsq: A {A.shape} and B {B.shape} must have the same number of rows")
    X = pinv(A, rtol=rcond) @ rhs
    empty = _constant(np.empty((0,), dtype=A.dtype))
    return LstsqResult(X.squeeze(-1) if vector else X, empty, matrix_rank(A, rtol=rcond), empty)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """Aⁿ for an integer n by repeated squaring (n = 0: the identity; n < 0: (A⁻¹)^|n|)."""
    A = _matrix(A, "linalg.matrix_power", square=True)
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg.matrix_power: n must be an integer, got {type(n).__name__}")
    if n == 0:
        return _identities(A.shape, A.dtype)
    base, n = (inv(A), -n) if n < 0 else (A, n)
    result = None
    while n:  # Aⁿ = Π A^(2^k) over the bits k of n
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """A₁ A₂ ⋯ A_N in the order of fewest multiplications (the classic matrix-chain dynamic
    program); the first may be a 1-D row vector and the last a 1-D column vector."""
    if len(tensors) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors, got {len(tensors)}")
    first_vector, last_vector = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = [tensors[0].unsqueeze(0) if first_vector else tensors[0], *tensors[1:-1],
            tensors[-1].unsqueeze(-1) if last_vector else tensors[-1]]
    for k, m in enumerate(mats):
        if m.ndim != 2:
            raise _tensor.ShapeError(f"linalg.multi_dot: tensor {k} must be 2-D (the first and last may be 1-D), "
                                     f"got shape {tensors[k].shape}")
        if k and mats[k - 1].shape[1] != m.shape[0]:
            raise _tensor.ShapeError(f"linalg.multi_dot: tensors {k - 1} and {k} cannot be multiplied (shapes "
                                     f"{tensors[k - 1].shape} and {tensors[k].shape})")
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    n = len(mats)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):  # cost[i][j]: fewest multiplications for mats[i..j]
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min((cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                                          for k in range(i, j))

    def product(i: int, j: int) -> Tensor:
        return mats[i] if i == j else product(i, split[i][j]) @ product(split[i][j] + 1, j)

    y = product(0, n - 1)
    y = y.squeeze(0) if first_vector else y
    return y.squeeze(-1) if last_vector else y


def matrix_exp(A: Tensor) -> Tensor:
    """e^A = Σₖ Aᵏ/k! of square matrices (op ``MatrixExp``: scaling and squaring, twice differentiable)."""
    return ops.MatrixExp.apply(_matrix(A, "linalg.matrix_exp", square=True))


def cond(A: Tensor, p: float | str | None = None) -> Tensor:
    """The condition number ‖A‖_p ‖A⁻¹‖_p: for p None, 2 or −2 the ratio of the largest and smallest
    singular values (inf for a singular A), else ``matrix_norm`` of A times that of ``inv(A)``."""
    A = _matrix(A, "linalg.cond", square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        S = svdvals(A)
        ratio = S[..., 0] / S[..., -1]
        return ratio if p != -2 else 1.0 / ratio
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of A for ``tensordot(·, ·, ind)``: A (the first ``ind`` dims as rows, the rest as
    columns) reshaped to a square matrix, inverted, and reshaped to A.shape[ind:] + A.shape[:ind]."""
    rows, cols = A.shape[:ind], A.shape[ind:]
    if ind <= 0 or math.prod(rows) != math.prod(cols):
        raise _tensor.ShapeError(f"linalg.tensorinv: the product of the first ind={ind} dims of shape {A.shape} must "
                                 "equal that of the rest")
    return inv(A.reshape(math.prod(rows), math.prod(cols))).reshape(*cols, *rows)


def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B: A with ``dims`` moved last, reshaped to a square matrix
    (B's elements as rows), solved; X has A's remaining trailing shape."""
    if dims is not None:
        A = A.movedim(tuple(dims), tuple(range(A.ndim - len(dims), A.ndim)))
    x_shape = A.shape[B.ndim:]
    if A.shape[:B.ndim] != B.shape or math.prod(x_shape) != B.numel():
        raise _tensor.ShapeError(f"linalg.tensorsolve: A of shape {A.shape} does not fit B of shape {B.shape}")
    return solve(A.reshape(B.numel(), B.numel()), B.reshape(-1)).reshape(*x_shape)


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """``(inverse, info)``: info 0 per matrix where A is invertible, else > 0 (here 1; PyTorch gives
    the position of the zero pivot); the inverse of a singular matrix is nan here, LAPACK's partial
    result in PyTorch. ``check_errors`` raises LinAlgError instead."""
    A = _matrix(A, "linalg.inv_ex", square=True)
    return InvExResult(*_with_info(inv, np.linalg.inv, A, check_errors))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> SolveExResult:
    """``(result, info)`` of ``solve``: info 0 per matrix where A is invertible, else > 0 (here 1) with
    a nan result; ``check_errors`` raises LinAlgError instead."""
    A = _matrix(A, "linalg.solve_ex", square=True)
    return SolveExResult(*_with_info(lambda M: solve(M, B, left=left), np.linalg.inv, A, check_errors))


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """``(L, info)``: info 0 per matrix where A is positive-definite, else the order k of its first
    leading minor that is not (as PyTorch); L is then nan here, the partial factor in PyTorch.
    ``check_errors`` raises LinAlgError instead."""
    A = _matrix(A, "linalg.cholesky_ex", square=True)
    lower, info = _with_info(cholesky, np.linalg.cholesky, A.mT if upper else A, check_errors)  # as cholesky
    return CholeskyExResult(lower.mT if upper else lower, info)


def _with_info(op, routine, A: Tensor, check_errors: bool) -> tuple[Tensor, Tensor]:
    """``(op(A), info)`` of the *_ex functions: info 0 where ``routine`` (np.linalg.inv, cholesky: the
    LAPACK call inside ``op``) succeeds; where it fails, info > 0 and a nan result, or LinAlgError if
    ``check_errors``."""
    try:
        return op(A), _constant(np.zeros(A.shape[:-2], dtype=np.int32))
    except LinAlgError:
        if check_errors:
            raise
    return _where_lapack_fails(routine, A, op)


def _where_lapack_fails(routine, A: Tensor, op) -> tuple[Tensor, Tensor]:
    """``(result, info)`` of a batch in which ``routine`` (np.linalg.inv, cholesky) fails for some
    matrices: those get info > 0 and a nan result, the others ``op`` of themselves (an identity
    stands in for each failed one, so ``op`` runs once on the whole batch)."""
    def info(matrix: np.ndarray) -> int:
        """0, or the order of the first leading minor for which ``routine`` fails (for inv, any
        failure is reported as 1)."""
        if not _raises(routine, matrix):
            return 0
        if routine is np.linalg.inv:
            return 1
        return next(k for k in range(1, len(matrix) + 1) if _raises(routine, matrix[:k, :k]))

    codes = np.array([info(m) for m in A.data.reshape(-1, *A.shape[-2:])], dtype=np.int32).reshape(A.shape[:-2])
    mask = (codes > 0)[..., None, None]
    safe = _tensor.where(mask, _constant(np.eye(A.shape[-1], dtype=A.dtype)), A)
    result = _tensor.where(mask, _constant(np.array(np.nan, dtype=A.dtype)), op(safe))
    return result, _constant(codes)


def _raises(routine, matrix: np.ndarray) -> bool:
    try:
        routine(matrix)
    except np.linalg.LinAlgError:
        return True
    return False


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of the matrices in dims ``dim1``, ``dim2`` (``Tensor.diagonal`` with the last two dims)."""
    return A.diagonal(offset, dim1, dim2)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """The Vandermonde matrix with increasing powers x⁰, x¹, …, x^(N−1) (N = x.shape[-1] by default)."""
    n = x.shape[-1] if N is None else N
    if n < 1:
        raise ValueError(f"linalg.vander: N must be at least 1, got {n}")
    return x.unsqueeze(-1) ** _constant(np.arange(n, dtype=x.dtype))


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of Q = H₁ H₂ ⋯ H_k, Hᵢ = I − τᵢ vᵢ vᵢᵀ, vᵢ = column i of A below the
    diagonal with a 1 on it (LAPACK's orgqr: Q from geqrf's reflectors). A composition of matmuls."""
    A = _matrix(A, "linalg.householder_product")
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if not k <= n <= m or tau.shape[:-1] != A.shape[:-2]:
        raise _tensor.ShapeError(f"linalg.householder_product: A {A.shape} and tau {tau.shape} must be (…, m, n) "
                                 "and (…, k) with k ≤ n ≤ m and one batch")
    reflectors = A.tril(-1) + np.eye(m, n, dtype=A.dtype)
    Q = _identities((*A.shape[:-2], m, m), A.dtype)
    for i in range(k):  # Q ← Q Hᵢ = Q − τᵢ (Q vᵢ) vᵢᵀ
        v = reflectors[..., :, i:i + 1]
        Q = Q - tau[..., i:i + 1].unsqueeze(-1) * ((Q @ v) @ v.mT)
    return Q[..., :, :n]


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (default the last), inputs broadcast (op ``Cross``)."""
    return input.cross(other, dim=dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Σ x ⊙ y along ``dim`` (broadcast): the batched dot product."""
    return (x * y).sum(dim)



# ---- LDLᵀ (Bunch–Kaufman) -----------------------------------------------------------------------

_BUNCH_KAUFMAN_ALPHA = (1 + math.sqrt(17)) / 8  # the pivot threshold that minimises the element growth bound


def _bunch_kaufman(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(LD, pivots, info) of one symmetric matrix from its lower triangle: LAPACK sytf2 with uplo = "L".

    At column k, with a_kk, the largest |a_ik| below it (colmax, in row r) and the largest off-diagonal |a_rj| of
    row/column r (rowmax), Bunch and Kaufman (1977) choose
      1×1 pivot a_kk           if |a_kk| ≥ α colmax, or |a_kk| colmax ≥ α colmax² / rowmax,
      1×1 pivot a_rr           (rows/columns k and r swapped) if |a_rr| ≥ α rowmax,
      2×2 pivot [a_kk a_rk; a_rk a_rr]  (k + 1 and r swapped) otherwise,
    with α = (1 + √17)/8, and eliminate: A₂₂ ← A₂₂ − C D⁻¹ Cᵀ, L's columns = C D⁻¹. pivots (1-based, int32): r + 1
    for a 1×1 block at k; −(r + 1) twice for a 2×2 block at k, k + 1. info = the first column (1-based) whose pivot
    block is exactly zero, 0 if none (the factorization goes on past it, as LAPACK's)."""
    a = np.tril(A).astype(A.dtype, copy=True)
    n, info, k = a.shape[0], 0, 0
    pivots = np.zeros(n, dtype=np.int32)
    while k < n:
        step, absakk = 1, abs(a[k, k])
        r = k + 1 + int(np.argmax(np.abs(a[k + 1:, k]))) if k + 1 < n else k
        colmax = abs(a[r, k]) if k + 1 < n else 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info, r = info or k + 1, k
        elif absakk >= _BUNCH_KAUFMAN_ALPHA * colmax:
            r = k
        else:
            rowmax = max(np.abs(a[r, k:r]).max(), np.abs(a[r + 1:, r]).max(initial=0.0))
            if absakk >= _BUNCH_KAUFMAN_ALPHA * colmax * (colmax / rowmax):
                r = k
            elif abs(a[r, r]) < _BUNCH_KAUFMAN_ALPHA * rowmax:
                step = 2
        kk = k + step - 1
        if r != kk:  # swap rows and columns kk and r of the trailing lower triangle
            a[r + 1:, [kk, r]] = a[r + 1:, [r, kk]]
            between = slice(kk + 1, r)
            a[between, kk], a[r, between] = a[r, between].copy(), a[between, kk].copy()
            a[kk, kk], a[r, r] = a[r, r], a[kk, kk]
            if step == 2:
                a[k + 1, k], a[r, k] = a[r, k], a[k + 1, k]
        rest = slice(k + step, n)
        if step == 1:
            pivots[k] = r + 1
            if a[k, k] != 0:
                column = a[rest, k] / a[k, k]  # L's column = C / d
                a[rest, rest] -= np.tril(np.outer(column, a[rest, k]))
                a[rest, k] = column
        else:
            pivots[k] = pivots[k + 1] = -(r + 1)
            d = a[k:k + 2, k:k + 2]
            block = np.array([[d[0, 0], d[1, 0]], [d[1, 0], d[1, 1]]])
            if np.linalg.det(block) == 0:
                info = info or k + 1
            else:
                columns = np.linalg.solve(block, a[rest, k:k + 2].T).T  # C D⁻¹ (D symmetric)
                a[rest, rest] -= np.tril(columns @ a[rest, k:k + 2].T)
                a[rest, k:k + 2] = columns
        k += step
    return a, pivots, info


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> LDLFactorExResult:
    """``(LD, pivots, info)``: the Bunch–Kaufman factorization A = P L D Lᵀ Pᵀ of (batches of) symmetric A, from
    A's lower triangle (``_bunch_kaufman``; LAPACK sytrf's output, as torch). LD holds L's strictly lower part
    (unit diagonal implied) and D's 1×1 and 2×2 blocks; ``pivots`` (int32) say which rows were swapped; ``info``
    > 0 marks an exactly singular D (``check_errors`` then raises LinAlgError). ``hermitian`` is the same for real
    input. No gradient (torch has none either: its backward raises)."""
    A = _matrix(A, "linalg.ldl_factor_ex", square=True)  # real: hermitian=True means the same
    batch, n = A.shape[:-2], A.shape[-1]
    matrices = A.data.reshape(math.prod(batch), n, n)  # (not -1: n may be 0)
    results = [_bunch_kaufman(matrix) for matrix in matrices]
    LD = np.array([ld for ld, _, _ in results], dtype=A.data.dtype).reshape(A.shape)
    pivots = np.array([p for _, p, _ in results], dtype=np.int32).reshape(*batch, n)
    info = np.array([i for _, _, i in results], dtype=np.int32).reshape(batch)
    if check_errors and info.any():
        raise LinAlgError(f"linalg.ldl_factor_ex: the factorization could not be completed because the input is "
                          f"singular: D's block at column {int(info[info > 0].flat[0])} is exactly zero "
                          f"(shape {A.shape})")
    return LDLFactorExResult(_constant(LD), _constant(pivots), _constant(info))


def ldl_factor(A: Tensor, *, hermitian: bool = False) -> LDLFactorResult:
    """``(LD, pivots)`` of ``ldl_factor_ex``; an exactly singular D raises LinAlgError (torch raises a RuntimeError
    there too)."""
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    if info.data.any():
        raise LinAlgError(f"linalg.ldl_factor: the input is singular: D's block at column "
                          f"{int(info.data[info.data > 0].flat[0])} is exactly zero (shape {A.shape})")
    return LDLFactorResult(LD, pivots)


def _ldl_solve_one(a: np.ndarray, pivots: np.ndarray, b: np.ndarray) -> np.ndarray:
    """X with A X = B from one sytrf factorization (LAPACK sytrs, uplo = "L"): forward through P and L D,
    then back through Lᵀ and Pᵀ, block by block."""
    x, n, k = b.astype(a.dtype, copy=True), a.shape[0], 0
    while k < n:  # L D y = Pᵀ b
        step = 1 if pivots[k] > 0 else 2
        r = abs(int(pivots[k])) - 1
        x[[k + step - 1, r]] = x[[r, k + step - 1]]
        block = slice(k, k + step)
        x[k + step:] -= a[k + step:, block] @ x[block]
        d = a[block, block]
        x[block] = np.linalg.solve(np.array([[d[0, 0], d[1, 0]], [d[1, 0], d[1, 1]]]), x[block]) if step == 2 \
            else x[block] / d[0, 0]
        k += step
    k = n - 1
    while k >= 0:  # Lᵀ (Pᵀ x) = y, x = P(…)
        step = 1 if pivots[k] > 0 else 2
        block = slice(k - step + 1, k + 1)
        x[block] -= a[k + 1:, block].T @ x[k + 1:]
        r = abs(int(pivots[k])) - 1
        x[[k, r]] = x[[r, k]]
        k -= step
    return x


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """X with A X = B from ``ldl_factor``'s ``(LD, pivots)`` (A = P L D Lᵀ Pᵀ): one pass forward through P, L and
    D's blocks, one back through Lᵀ and Pᵀ (LAPACK sytrs). Batches broadcast as torch's. No gradient."""
    LD = _matrix(LD, "linalg.ldl_solve", square=True)  # real: hermitian=True means the same
    B = _matrix(B, "linalg.ldl_solve")
    if B.dtype != LD.dtype:  # torch raises too (no silent cast)
        raise TypeError(f"linalg.ldl_solve: expected B to have the dtype of LD ({LD.dtype}), got {B.dtype}")
    if B.shape[-2] != LD.shape[-1]:
        raise _tensor.ShapeError(f"linalg.ldl_solve: B must have {LD.shape[-1]} rows for LD of shape {LD.shape}, "
                                 f"got shape {B.shape}")
    pivot_array = np.asarray(pivots.data)
    if pivot_array.shape != LD.shape[:-1] or pivot_array.dtype != np.int32:
        raise TypeError(f"linalg.ldl_solve: pivots must be int32 of shape {LD.shape[:-1]}, got "
                        f"{pivot_array.dtype} {pivot_array.shape}")
    batch = np.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    count = math.prod(batch)  # (not -1 in the reshapes: n or k may be 0)
    ld = np.broadcast_to(LD.data, (*batch, *LD.shape[-2:])).reshape(count, *LD.shape[-2:])
    p = np.broadcast_to(pivot_array, (*batch, LD.shape[-1])).reshape(count, LD.shape[-1])
    b = np.broadcast_to(B.data, (*batch, *B.shape[-2:])).reshape(count, *B.shape[-2:])
    X = np.array([_ldl_solve_one(*args) for args in zip(ld, p, b)], dtype=LD.data.dtype)
    return _constant(X.reshape(*batch, *B.shape[-2:]))


__all__ = [
    "CholeskyExResult", "EighResult", "InvExResult", "LDLFactorExResult", "LDLFactorResult", "LUFactorExResult",
    "LUFactorResult", "LUResult", "LinAlgError", "LstsqResult", "QRResult", "SVDResult", "SlogdetResult",
    "SolveExResult", "cholesky", "cholesky_ex", "cholesky_inverse", "cholesky_solve", "cond", "cross", "det",
    "diagonal", "eigh", "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex",
    "ldl_solve", "logdet", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matrix_exp", "matrix_norm",
    "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
    "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm",
]
