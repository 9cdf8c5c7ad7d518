"""Dense linear algebra on (batches of) matrices: determinants, inverses, solves, factorizations,
the pseudoinverse and the matrix exponential.

Notation as in ``ops/elementwise.py``; A is a matrix input (…, n, n) or (…, m, n), batch dims
first as in PyTorch. Aᵀ, A⁻¹ and A⁻ᵀ act on the last two dims. Forward calls ``np.linalg``
(LAPACK, batched); every backward is written with Tensor ops — mostly these same ops — so that
gradients of gradients work (the gradient of ``Inv`` is made of ``Inv``'s output and MatMul).

Backward formulas follow PyTorch's ``derivatives.yaml`` / ``FunctionsManual.cpp`` and the papers
they cite: Giles (2008) for det/inv/solve, Murray (2016) for Cholesky, Walter & Lehmann (2018)
for QR, Golub & Pereyra (1973) for pinv, the block-matrix Fréchet derivative (Mathias 1996) for
matrix_exp, and the 1/(λⱼ − λᵢ) rule (Magnus 1985; Townsend 2016 for the SVD) for eigh and svd:
their gradients are finite only for distinct eigenvalues / singular values. A gauge (the sign of
each eigenvector or singular vector) is arbitrary, so only a loss that does not depend on it has a
meaningful gradient with respect to the vectors, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import function
from ..autograd.function import Function

if TYPE_CHECKING:
    from ..tensor import Tensor


class LinAlgError(RuntimeError):
    """A matrix that the operation cannot handle: singular (inv, solve), not positive-definite
    (cholesky). A RuntimeError, as PyTorch's ``torch.linalg.LinAlgError``."""


def _lapack(op: str, fn: Any, *args: np.ndarray, problem: str, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` (an ``np.linalg`` routine), with NumPy's LinAlgError raised again as
    ours, naming the op, the input shape and the ``problem``."""
    try:
        return fn(*args, **kwargs)
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: the input of shape {args[0].shape} {problem}") from None


def _eye_like(a) -> np.ndarray:
    """The identity of a's last dim, as a constant array of a's dtype."""
    return np.eye(a.shape[-1], dtype=a.dtype)


def _diag_embed(v):
    """The diagonal matrices (…, n, n) with v (…, n) on the diagonal, in Tensor ops."""
    return v.unsqueeze(-1) * _eye_like(v)


def _right_solve_transposed(x, r):
    """x R⁻ᵀ (that is, (R⁻¹ xᵀ)ᵀ) with the differentiable Solve."""
    return Solve.apply(r, x.mT).mT


# ---- determinants: Det Slogdet ------------------------------------------------------------------


class Det(Function):
    r"""Determinant of square matrices.

    Forward:   y = det A                                 (LU factorization, np.linalg.det)
    Backward:  ∂L/∂A = g · y · A⁻ᵀ                        (Jacobi's formula: ∂ det A / ∂A = det A · A⁻ᵀ)
               where A cannot be inverted (a zero pivot), the same cofactor matrix det A · A⁻ᵀ from
               the SVD A = U diag(S) Vh: sign(det U det Vh) · U diag(Π_{j≠i} S_j) Vh
    """

    formula = ("g * y * inv(A).T",)
    torch_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, a):
        y = np.asarray(np.linalg.det(a.data))
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        a, y = ctx.saved_tensors
        try:
            cofactor = y.unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT
        except LinAlgError:  # singular: det A · A⁻ᵀ is still the cofactor matrix, finite
            cofactor = _cofactor_by_svd(a)
        return grad_output.unsqueeze(-1).unsqueeze(-1) * cofactor


def _cofactor_by_svd(a):
    """The cofactor matrix of A (= det A · A⁻ᵀ where A is invertible) from A = U diag(S) Vh:
    det(U) det(Vh) · U diag(Π_{j≠i} S_j) Vh, in Tensor ops through ``Svd``."""
    u, s, vh = Svd.apply(a)
    eye = _eye_like(a)
    products_of_others = (s.unsqueeze(-2) * (1.0 - eye) + eye).prod(-1)  # row i: Π_{j≠i} S_j
    sign = np.linalg.det(u.data) * np.linalg.det(vh.data)  # ±1 per matrix, piecewise constant
    return (u * products_of_others.unsqueeze(-2)) @ vh * sign[..., None, None]


class Slogdet(Function):
    r"""Sign and log of the absolute value of the determinant (no overflow for large n).

    Forward:   (sign, y) = (sign det A, ln |det A|)
    Backward:  ∂L/∂A = g_y · A⁻ᵀ                         (the sign is piecewise constant: no gradient)
    """

    formula = ("g_logabsdet * inv(A).T",)
    torch_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        sign, logabsdet = np.linalg.slogdet(a.data)
        return np.asarray(sign), np.asarray(logabsdet)

    @staticmethod
    def backward(ctx, grad_sign, grad_logabsdet):
        (a,) = ctx.saved_tensors
        return grad_logabsdet.unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT


# ---- inverse and solve: Inv Solve ---------------------------------------------------------------


class Inv(Function):
    r"""Inverse of square matrices.

    Forward:   y = A⁻¹                                   (raises LinAlgError for a singular A)
    Backward:  ∂L/∂A = −yᵀ g yᵀ                          (from d(A⁻¹) = −A⁻¹ dA A⁻¹)
    """

    formula = ("-y.T @ g @ y.T",)
    torch_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, a):
        y = _lapack("linalg.inv", np.linalg.inv, a.data, problem="is singular, so it has no inverse")
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return -(y.mT @ grad_output @ y.mT)


class Solve(Function):
    r"""Solution X of A X = B for square A and B (…, n, k) with A's batch dims.

    Forward:   X = A⁻¹ B                                 (LU with pivoting, np.linalg.solve)
    Backward:  ∂L/∂B = A⁻ᵀ g                              (a solve with Aᵀ)
               ∂L/∂A = −(∂L/∂B) Xᵀ
    """

    formula = ("-solve(A.T, g) @ X.T", "solve(A.T, g)")
    torch_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b):
        x = _lapack("linalg.solve", np.linalg.solve, a.data, b.data, problem="is singular, so the system has no "
                   "unique solution")
        ctx.save_for_backward(a, x if ctx.needs_input_grad[0] else None)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        a, x = ctx.saved_tensors
        grad_b = Solve.apply(a.mT, grad_output)
        grad_a = -(grad_b @ x.mT) if ctx.needs_input_grad[0] else None
        return grad_a, (grad_b if ctx.needs_input_grad[1] else None)


_SUBSTITUTION_BLOCK = 8  # rows per block: larger systems invert their diagonal blocks, then step by blocks


def _substitute_rows(lower: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x ← L⁻¹ x in place for unit lower-triangular L (…, m, m), row by row: xᵢ ← xᵢ − Σ_{j<i} L_ij x_j."""
    for i in range(1, lower.shape[-1]):
        x[..., i:i + 1, :] -= lower[..., i:i + 1, :i] @ x[..., :i, :]
    return x


def _pad_rows(a: np.ndarray, pad: int, *, identity: bool) -> np.ndarray:
    """``a`` with ``pad`` zero rows appended (and, with ``identity``, zero columns and a unit diagonal for them)."""
    rows, columns = a.shape[-2] + pad, a.shape[-1] + (pad if identity else 0)
    padded = np.zeros((*a.shape[:-2], rows, columns), dtype=a.dtype)
    padded[..., :a.shape[-2], :a.shape[-1]] = a
    if identity:
        padded[..., range(rows - pad, rows), range(columns - pad, columns)] = 1.0
    return padded


def triangular_substitution(a: np.ndarray, b: np.ndarray, *, upper: bool, unitriangular: bool) -> np.ndarray:
    """X with A X = B for triangular A (…, n, n) and B (…, n, k), batch dims broadcast: forward substitution
    (back substitution for ``upper``), all right-hand sides and matrices of the batch at once.

    Lower A, row i:   xᵢ = (bᵢ − Σ_{j<i} A_ij x_j) / A_ii      (A_ii read as 1 when ``unitriangular``)
    Each row is first divided by A_ii, which makes A unit lower triangular. Up to ``_SUBSTITUTION_BLOCK``
    rows are then solved one by one (``_substitute_rows``). A larger system goes by blocks of rows, so that
    Python steps n/block times instead of n times (the scheme of blocked TRSM kernels): the inverses Dₖ⁻¹ of
    the diagonal blocks come first (substitution on the identity, all blocks at once), then block row k is
        Xₖ = Dₖ⁻¹ (Bₖ − A_{k,<k} X_{<k})                          (two matmuls)
    Only A's triangle (without the diagonal when ``unitriangular``) is read. A zero on the diagonal gives
    inf/nan from its row on, as LAPACK's trtrs inside torch (no error); such systems, and a non-finite B, are
    solved row by row, so that the rows above stay finite.
    """
    if upper:  # reversing the order of the unknowns and of the equations turns U into a lower triangle
        flipped = triangular_substitution(a[..., ::-1, ::-1], b[..., ::-1, :], upper=False,
                                          unitriangular=unitriangular)
        return flipped[..., ::-1, :]
    n, m = a.shape[-1], _SUBSTITUTION_BLOCK
    x = np.array(np.broadcast_to(b, np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]))
    with np.errstate(divide="ignore", invalid="ignore"):
        if not unitriangular:
            diagonal = np.diagonal(a, axis1=-2, axis2=-1)[..., :, None]
            a, x = a / diagonal, x / diagonal
        if n <= m or not np.isfinite(x).all():  # a zero pivot or a non-finite B: row by row, so the rows above the
            return _substitute_rows(a, x)      # first bad one stay finite (a block product spreads 0·inf = nan)
        pad = -n % m
        if pad:  # identity rows and columns at the end make every diagonal block m × m; X's rows are unchanged
            a, x = _pad_rows(a, pad, identity=True), _pad_rows(x, pad, identity=False)
        blocks = (n + pad) // m
        diagonal_blocks = np.moveaxis(np.diagonal(a.reshape(*a.shape[:-2], blocks, m, blocks, m), axis1=-4,
                                                  axis2=-2), -1, -3)                  # (…, blocks, m, m)
        inverses = _substitute_rows(diagonal_blocks, np.broadcast_to(np.eye(m, dtype=a.dtype),
                                                                     diagonal_blocks.shape).copy())
        for k, start in enumerate(range(0, n + pad, m)):
            rows = slice(start, start + m)
            rhs = x[..., rows, :] - a[..., rows, :start] @ x[..., :start, :] if start else x[..., rows, :]
            x[..., rows, :] = inverses[..., k, :, :] @ rhs
    return x[..., :n, :]


class SolveTriangular(Function):
    r"""Solution X of A X = B (``left=False``: X A = B) for triangular A (…, n, n); only A's ``upper`` or
    lower triangle is read, and with ``unitriangular`` its diagonal is taken as 1.

    Forward:   X = A⁻¹ B by forward/back substitution (``triangular_substitution``);  X A = B as Aᵀ Xᵀ = Bᵀ
    Backward:  ∂L/∂B = A⁻ᵀ g   (left)   or  g A⁻ᵀ  (right): a triangular solve with Aᵀ, the other triangle
               ∂L/∂A = −(∂L/∂B) Xᵀ (left)  or  −Xᵀ (∂L/∂B) (right), kept on A's triangle (strictly, if
               ``unitriangular``): torch's linalg_solve_triangular_backward
    """

    formula = ("-tri(solve_tri(A.T, g) @ X.T)", "solve_tri(A.T, g)")
    torch_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, a, b, *, upper, left=True, unitriangular=False):
        ctx.upper, ctx.left, ctx.unitriangular = upper, left, unitriangular
        if left:
            x = triangular_substitution(a.data, b.data, upper=upper, unitriangular=unitriangular)
        else:
            x = np.swapaxes(triangular_substitution(np.swapaxes(a.data, -1, -2), np.swapaxes(b.data, -1, -2),
                                                    upper=not upper, unitriangular=unitriangular), -1, -2)
        x = np.ascontiguousarray(x)  # saved as this very array: backward reads it as the differentiable output
        ctx.save_for_backward(a, x if ctx.needs_input_grad[0] else None)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        a, x = ctx.saved_tensors
        upper, left, unitriangular = ctx.upper, ctx.left, ctx.unitriangular
        grad_b = SolveTriangular.apply(a.mT, grad_output, upper=not upper, left=left, unitriangular=unitriangular)
        grad_a = None
        if ctx.needs_input_grad[0]:
            grad_a = -(grad_b @ x.mT) if left else -(x.mT @ grad_b)
            grad_a = grad_a.triu(int(unitriangular)) if upper else grad_a.tril(-int(unitriangular))
        return grad_a, (grad_b if ctx.needs_input_grad[1] else None)


# ---- factorizations: Cholesky Qr Eigh Eigvalsh Svd SvdVals --------------------------------------


class Cholesky(Function):
    r"""Cholesky factor of symmetric positive-definite matrices (only the lower triangle of A is read).

    Forward:   L lower triangular with A = L Lᵀ
    Backward:  Φ = tril(Lᵀ g) with its diagonal halved,  S = L⁻ᵀ Φ L⁻¹,
               ∂L/∂A = (S + Sᵀ) / 2                     (Murray 2016, symmetrized as PyTorch)
    """

    formula = ("sym(inv(L).T @ tril_half(L.T @ g) @ inv(L))",)
    torch_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, a):
        lower = _lapack("linalg.cholesky", np.linalg.cholesky, a.data, problem="is not positive-definite, so the "
                       "factorization could not be completed")
        ctx.save_for_backward(lower)
        return lower

    @staticmethod
    def backward(ctx, grad_output):
        (lower,) = ctx.saved_tensors
        half_diagonal = 1.0 - 0.5 * _eye_like(lower)
        phi = (lower.mT @ grad_output).tril() * half_diagonal
        lower_inv = Inv.apply(lower)
        s = lower_inv.mT @ phi @ lower_inv
        return (s + s.mT) * 0.5


class Qr(Function):
    r"""QR factorization A = Q R, Q with orthonormal columns, R upper triangular (LAPACK's signs).

    Forward:   Q (…, m, k), R (…, k, n), k = min(m, n)   (mode "reduced"; "complete" is the same for m ≤ n;
               mode "r": Q empty, and backward raises, as in PyTorch: the gradient needs Q)
    Backward:  m ≥ n (Walter & Lehmann 2018, as in PyTorch and TensorFlow):
                 M = tril(Qᵀ g_Q − g_Qᵀ Q + R g_Rᵀ − g_R Rᵀ)
                 ∂L/∂A = Q (g_R + M R⁻ᵀ) + (g_Q − Q Qᵀ g_Q) R⁻ᵀ
               m < n: with A = [X | Y], R = [U | V] (X, U square), the above for X with
                 g_Q ← g_Q + Y g_Vᵀ (Y = Q V: A itself is not kept), g_R ← g_U, and ∂L/∂Y = Q g_V
    """

    formula = ("Q (gR + tril(..) R^-T) + (gQ - Q Q^T gQ) R^-T",)
    torch_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, a, *, mode="reduced"):
        ctx.mode, ctx.shape = mode, a.shape
        if mode == "r":
            return np.empty((0,), dtype=a.dtype), np.linalg.qr(a.data, mode="r")
        q, r = np.linalg.qr(a.data, mode=mode)
        ctx.save_for_backward(q, r)  # not A: its columns past m are Q R[:, m:] (torch saves Q, R too)
        return q, r

    @staticmethod
    def backward(ctx, grad_q, grad_r):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        q, r = ctx.saved_tensors
        m, n = ctx.shape[-2:]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(f"linalg.qr: the QR decomposition of shape {ctx.shape} is not differentiable "
                               "when mode='complete' and nrows > ncols (as PyTorch); use mode='reduced'")
        if m >= n:
            return _qr_backward_tall(q, r, grad_q, grad_r)
        from ..tensor import cat  # imported here: tensor.py imports the ops

        grad_v = grad_r[..., :, m:]
        grad_x = _qr_backward_tall(q, r[..., :, :m], grad_q + q @ (r[..., :, m:] @ grad_v.mT), grad_r[..., :, :m])
        return cat([grad_x, q @ grad_v], -1)


def _qr_backward_tall(q, r, grad_q, grad_r):
    """Qr's backward for m ≥ n (the class docstring's formula)."""
    qtg = q.mT @ grad_q
    rgt = r @ grad_r.mT
    m = (qtg - qtg.mT + rgt - rgt.mT).tril()
    return q @ (grad_r + _right_solve_transposed(m, r)) + _right_solve_transposed(grad_q - q @ qtg, r)


class Eigh(Function):
    r"""Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices (the triangle
    ``uplo`` of A is read).

    Forward:   A = V diag(λ) Vᵀ
    Backward:  ∂L/∂A = V (diag(g_λ) + F ⊙ ½(Vᵀ g_V − g_Vᵀ V)) Vᵀ,   F_ij = 1/(λ_j − λ_i), F_ii = 0
               (symmetric; infinite where two eigenvalues coincide, unless g_V = 0)
    """

    formula = ("V (diag(g_L) + F * skew(V^T g_V)) V^T",)
    torch_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a, *, uplo="L"):
        eigenvalues, eigenvectors = np.linalg.eigh(a.data, UPLO=uplo)
        ctx.save_for_backward(eigenvalues, eigenvectors)
        return eigenvalues, eigenvectors

    @staticmethod
    def backward(ctx, grad_eigenvalues, grad_eigenvectors):
        eigenvalues, v = ctx.saved_tensors
        gap = eigenvalues.unsqueeze(-2) - eigenvalues.unsqueeze(-1) + _eye_like(v)  # λ_j − λ_i, 1 on the diagonal
        vtg = v.mT @ grad_eigenvectors
        inner = (vtg - vtg.mT) * 0.5 / gap + _diag_embed(grad_eigenvalues)
        return v @ inner @ v.mT


class Eigvalsh(Function):
    r"""Eigenvalues (ascending) of symmetric matrices, without the eigenvectors.

    Forward:   λ with A = V diag(λ) Vᵀ
    Backward:  ∂L/∂A = V diag(g) Vᵀ                      (V recomputed by ``Eigh``; finite for repeated λ)
    """

    formula = ("V diag(g) V^T",)
    torch_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a, *, uplo="L"):
        ctx.uplo = uplo
        ctx.save_for_backward(a)
        return np.linalg.eigvalsh(a.data, UPLO=uplo)

    @staticmethod
    def backward(ctx, grad_output):
        (a,) = ctx.saved_tensors
        _, v = Eigh.apply(a, uplo=ctx.uplo)
        return v @ (grad_output.unsqueeze(-1) * v.mT)


class Svd(Function):
    r"""Singular value decomposition A = U diag(S) Vh, S descending.

    Forward:   U (…, m, k), S (…, k), Vh (…, k, n), k = min(m, n); V = Vhᵀ, g_V = g_Vhᵀ
               (``full_matrices``: U (…, m, m), Vh (…, n, n), completed by LAPACK with an orthonormal
               basis of the rest of ℝᵐ, ℝⁿ; the gradient of those extra columns/rows is dropped, as PyTorch)
    Backward:  (Townsend 2016, as PyTorch) with F_ij = 1/(S_j² − S_i²), F_ii = 0:
               J = F ⊙ (Uᵀ g_U − g_Uᵀ U),   K = F ⊙ (Vᵀ g_V − g_Vᵀ V)
               ∂L/∂A = U (J diag(S) + diag(S) K + diag(g_S)) Vh
                       + (I − U Uᵀ) g_U diag(S)⁻¹ Vh + U diag(S)⁻¹ g_Vᵀ (I − V Vᵀ)
               (finite for distinct, nonzero singular values)
    """

    formula = ("U (J S + S K + diag(g_S)) Vh + (I - UU^T) g_U S^-1 Vh + U S^-1 g_V^T (I - VV^T)",)
    torch_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a, *, full_matrices=False):
        u, s, vh = _lapack("linalg.svd", np.linalg.svd, a.data, problem="did not converge",
                           full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vh)  # the outputs themselves (sliced in backward), for grad-of-grad
        return u, s, vh

    @staticmethod
    def backward(ctx, grad_u, grad_s, grad_vh):
        u, s, vh = ctx.saved_tensors
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        if u.shape[-1] > k or vh.shape[-2] > k:  # full_matrices: the completion has no gradient
            u, vh, grad_u, grad_vh = u[..., :, :k], vh[..., :k, :], grad_u[..., :, :k], grad_vh[..., :k, :]
        v, grad_v = vh.mT, grad_vh.mT
        s_row, s_col = s.unsqueeze(-2), s.unsqueeze(-1)  # (…, 1, k) scales columns, (…, k, 1) rows
        gap = s_row * s_row - s_col * s_col + np.eye(k, dtype=s.dtype)  # S_j² − S_i², 1 on the diagonal
        utg, vtg = u.mT @ grad_u, v.mT @ grad_v
        j, kk = (utg - utg.mT) / gap, (vtg - vtg.mT) / gap
        grad_a = u @ (j * s_row + s_col * kk + _diag_embed(grad_s)) @ vh
        if m > k:  # U's columns do not span ℝᵐ: the part of g_U outside them
            grad_a = grad_a + ((grad_u - u @ utg) / s_row) @ vh
        if n > k:
            grad_a = grad_a + u @ ((grad_v - v @ vtg) / s_row).mT
        return grad_a


class SvdVals(Function):
    r"""Singular values (descending), without the singular vectors.

    Forward:   S with A = U diag(S) Vh
    Backward:  ∂L/∂A = U diag(g) Vh                      (U, Vh recomputed by ``Svd``; finite for repeated S)
    """

    formula = ("U diag(g) Vh",)
    torch_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _lapack("linalg.svdvals", np.linalg.svd, a.data, problem="did not converge", compute_uv=False)

    @staticmethod
    def backward(ctx, grad_output):
        (a,) = ctx.saved_tensors
        u, _, vh = Svd.apply(a)
        return u @ (grad_output.unsqueeze(-1) * vh)


class Pinv(Function):
    r"""Moore–Penrose pseudoinverse y = A⁺ (…, n, m) of A (…, m, n).

    Forward:   y = V diag(1/S) Uᵀ over the singular values S above max(atol, rtol·S_max) (the others count
               as 0; ``singular_cutoff``)
    Backward:  (Golub & Pereyra 1973, as PyTorch's pinv_backward) for m ≤ n, with K = gᵀ y:
                 ∂L/∂A = −(y K)ᵀ + K yᵀ − A y K yᵀ + yᵀ y (gᵀ − K A)
               for m > n, with K = y gᵀ:
                 ∂L/∂A = −(K y)ᵀ + yᵀ K − yᵀ K y A + (gᵀ − A K) y yᵀ
               (exact where the rank is constant around A, e.g. full rank; no division by gaps)
    """

    formula = ("-(y K)^T + K y^T - A y K y^T + y^T y (g^T - K A)",)
    torch_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, a, *, atol, rtol):
        u, s, vh = _lapack("linalg.pinv", np.linalg.svd, a.data, problem="did not converge", full_matrices=False)
        with np.errstate(divide="ignore"):
            s_inv = np.where(s > singular_cutoff(s, a.shape, atol, rtol), 1.0 / s, 0.0).astype(a.dtype)
        y = np.swapaxes(vh, -1, -2) @ (s_inv[..., :, None] * np.swapaxes(u, -1, -2))
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        a, y = ctx.saved_tensors
        g_t = grad_output.mT
        if a.shape[-2] <= a.shape[-1]:
            k = g_t @ y
            k_yt = k @ y.mT
            return -(y @ k).mT + k_yt - a @ y @ k_yt + y.mT @ y @ (g_t - k @ a)
        k = y @ g_t
        yt_k = y.mT @ k
        return -(k @ y).mT + yt_k - yt_k @ (y @ a) + (g_t - a @ k) @ y @ y.mT


def singular_cutoff(s: np.ndarray, shape: tuple[int, ...], atol: float | None, rtol: float | None) -> np.ndarray:
    """max(atol, rtol · σ_max) per matrix (…, 1) from its singular values s (…, k), with PyTorch's
    defaults: rtol = eps · max(m, n) when neither is given or atol ≤ 0, else 0."""
    if rtol is None:
        rtol = np.finfo(s.dtype).eps * max(shape[-2:]) if atol is None or atol <= 0 else 0.0
    largest = s.max(axis=-1, keepdims=True, initial=0.0)
    return np.maximum(0.0 if atol is None else atol, rtol * largest)


class LuFactor(Function):
    r"""LU factorization with partial pivoting, A = P L U, packed as LAPACK's getrf packs it.

    Forward:   LU (…, m, n) holds L's strictly lower part (L has a unit diagonal) and U's upper part;
               pivots (…, k) int32, 1-based: row j was swapped with row pivots[j] at step j
    Backward:  (as PyTorch's linalg_lu_backward) with g_L = tril(g, −1), g_U = triu(g); for square A
                 ∂L/∂A = P L⁻ᵀ [tril(Lᵀ g_L, −1) + triu(g_U Uᵀ)] U⁻ᵀ
               wide (m < n; U = [U₁ | U₂], U₂ = L⁻¹ Pᵀ A₂): the square formula for A₁ with
                 g_L ← g_L − L⁻ᵀ g_U₂ U₂ᵀ, and ∂L/∂A₂ = P L⁻ᵀ g_U₂
               tall (m > n; L = [L₁; L₂], L₂ = (Pᵀ A)₂ U⁻¹): the square formula for the top rows with
                 g_U ← g_U − L₂ᵀ g_L₂ U⁻ᵀ, and the bottom rows P-permuted g_L₂ U⁻ᵀ
    """

    formula = ("P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T",)
    torch_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, a):
        packed, pivots, permutation = lu_array(a.data)
        ctx.permutation = permutation
        ctx.save_for_backward(packed)
        return packed, pivots

    @staticmethod
    def backward(ctx, grad_packed, grad_pivots):
        from ..tensor import cat  # imported here: tensor.py imports the ops

        (packed,) = ctx.saved_tensors
        m, n = packed.shape[-2:]
        k = min(m, n)
        lower, upper = unpack_lu(packed)  # (…, m, k), (…, k, n)
        lower_square, upper_square = lower[..., :k, :], upper[..., :, :k]  # L₁, U₁ (k, k)
        grad_lower, grad_upper = grad_packed[..., :k].tril(-1), grad_packed[..., :k, :k].triu()
        if n > k:  # wide: U₂ = L⁻¹ Pᵀ A₂
            grad_rest = Solve.apply(lower_square.mT, grad_packed[..., :, k:])  # L⁻ᵀ g_U₂
            grad_lower = grad_lower - grad_rest @ upper[..., :, k:].mT
        if m > k:  # tall: L₂ = (Pᵀ A)₂ U⁻¹
            grad_rest = _right_solve_transposed(grad_lower[..., k:, :], upper_square)  # g_L₂ U⁻ᵀ
            grad_upper = grad_upper - lower[..., k:, :].mT @ grad_rest
        grad_lower = grad_lower[..., :k, :]
        inner = (lower_square.mT @ grad_lower).tril(-1) + (grad_upper @ upper_square.mT).triu()
        grad_a = Solve.apply(lower_square.mT, _right_solve_transposed(inner, upper_square))
        if m != n:
            grad_a = cat([grad_a, grad_rest], -1 if n > m else -2)
        return _permute_rows(grad_a, ctx.permutation)


def unpack_lu(packed: Tensor) -> tuple[Tensor, Tensor]:
    """(L, U) from the packed factors (…, m, n) in Tensor ops: L unit lower triangular (…, m, k),
    U upper triangular (…, k, n), k = min(m, n)."""
    m, n = packed.shape[-2:]
    k = min(m, n)
    return packed[..., :, :k].tril(-1) + np.eye(m, k, dtype=packed.dtype), packed[..., :k, :].triu()


def _permute_rows(x, permutation: np.ndarray):
    """P x for the permutation matrix P with A = P L U: row permutation[i] of the result is row i of x."""
    inverse = np.argsort(permutation, axis=-1)  # the row of x that lands in each row
    index = np.broadcast_to(inverse[..., :, None], x.shape)
    return x.gather(-2, index)


def lu_array(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(packed LU, 1-based int32 pivots, permutation) of A (…, m, n) by Gaussian elimination with
    partial pivoting (the largest |entry| of the column, the first of equals, as LAPACK's getrf):
    A = P L U with P[permutation[i], i] = 1. A zero pivot leaves its column below as it is."""
    *batch, m, n = a.shape
    k = min(m, n)
    work = a.reshape(math.prod(batch), m, n).copy()
    count = work.shape[0]
    rows = np.arange(count)
    pivots = np.zeros((count, k), dtype=np.int32)
    for j in range(k):
        p = j + np.argmax(np.abs(work[:, j:, j]), axis=1)
        pivots[:, j] = p + 1
        work[rows, j], work[rows, p] = work[rows, p], work[rows, j].copy()
        pivot = work[:, j, j][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            work[:, j + 1:, j] = np.where(pivot != 0, work[:, j + 1:, j] / pivot, work[:, j + 1:, j])
        work[:, j + 1:, j + 1:] -= work[:, j + 1:, j:j + 1] * work[:, j:j + 1, j + 1:]
    pivots = pivots.reshape(*batch, k)
    return work.reshape(a.shape), pivots, permutation_from_pivots(pivots, m)


def permutation_from_pivots(pivots: np.ndarray, m: int) -> np.ndarray:
    """The permutation (…, m) with A = P L U, P[permutation[i], i] = 1, from getrf's 1-based row swaps
    (…, k): row j was swapped with row pivots[j] at step j, so replay the swaps on 0, 1, …, m − 1."""
    flat = pivots.reshape(math.prod(pivots.shape[:-1]), pivots.shape[-1]) - 1
    rows = np.arange(flat.shape[0])
    permutation = np.broadcast_to(np.arange(m), (flat.shape[0], m)).copy()
    for j in range(flat.shape[1]):
        p = flat[:, j]
        permutation[rows, j], permutation[rows, p] = permutation[rows, p], permutation[rows, j].copy()
    return permutation.reshape(*pivots.shape[:-1], m)


# ---- the matrix exponential: MatrixExp -----------------------------------------------------------


class MatrixExp(Function):
    r"""The matrix exponential e^A = Σₖ Aᵏ/k! of square matrices.

    Forward:   scaling and squaring: A/2ˢ with ‖A/2ˢ‖₁ ≤ ½ (s per matrix), its Taylor series to
               degree 18 (remainder below ½¹⁹/19! ≈ 10⁻²³ relative), then squared s times
    Backward:  ∂L/∂A = the upper-right block of exp([[Aᵀ, g], [0, Aᵀ]])   (the Fréchet derivative of
               exp at Aᵀ in the direction g; Mathias 1996), itself a MatrixExp, so twice differentiable
    """

    formula = ("exp([[A.T, g], [0, A.T]])[:n, n:]",)
    torch_name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _expm(a.data)

    @staticmethod
    def backward(ctx, grad_output):
        from ..tensor import cat  # imported here: tensor.py imports the ops

        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        top = cat([a.mT, grad_output], -1)
        bottom = cat([function.Tensor._make(np.zeros(a.shape, dtype=a.dtype)), a.mT], -1)
        return MatrixExp.apply(cat([top, bottom], -2))[..., :n, n:]


def _expm(a: np.ndarray) -> np.ndarray:
    """e^A by scaling and squaring with a degree-18 Taylor polynomial (MatrixExp's docstring)."""
    norm = np.abs(a).sum(axis=-2).max(axis=-1, initial=0.0) if a.size else np.zeros(a.shape[:-2])
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / 0.5))).astype(np.int64)
    s = np.where(np.isfinite(norm), s, 0)
    scaled = a / (2.0 ** s)[..., None, None].astype(a.dtype)
    result = term = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
    for k in range(1, 19):  # Σ_{k≤18} (A/2ˢ)ᵏ / k!
        term = term @ scaled / k
        result = result + term
    for step in range(int(s.max(initial=0))):  # (e^(A/2ˢ))^(2ˢ): square each matrix its own s times
        result = np.where((step < s)[..., None, None], result @ result, result)
    return result
