"""tg.linalg.ldl_factor / ldl_factor_ex / ldl_solve against PyTorch (LAPACK sytrf/sytrs), LU solves and the
factorization's own definition: A = P L D Lᵀ Pᵀ rebuilt from (LD, pivots) by LAPACK's convention."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")


def symmetric(n: int, seed: int, dtype=np.float64, zero_diagonal: bool = False, batch: tuple = ()) -> np.ndarray:
    """Random symmetric matrices; a zero diagonal forces 2×2 pivots and row swaps."""
    a = np.random.default_rng(seed).standard_normal((*batch, n, n))
    a = a + np.swapaxes(a, -1, -2)
    if zero_diagonal:
        a[..., np.arange(n), np.arange(n)] = 0.0
    return a.astype(dtype)


def rebuild(LD: np.ndarray, pivots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, L, D) with A = P L D Lᵀ Pᵀ, from sytrf's lower output. LAPACK's form is A = U D Uᵀ with
    U = P₁ L₁ P₂ L₂ ⋯ (Pₖ swaps k (or k + 1 for a 2×2 block) with |pivots[k]| − 1, Lₖ is the identity with the
    block's columns of L below the block); then P = P₁ P₂ ⋯ and L = Pᵀ U must be unit lower triangular."""
    n = LD.shape[0]
    U, P, D, k = np.eye(n), np.eye(n), np.zeros((n, n)), 0
    while k < n:
        step = 1 if pivots[k] > 0 else 2
        swap = np.eye(n)
        swap[[k + step - 1, abs(pivots[k]) - 1]] = swap[[abs(pivots[k]) - 1, k + step - 1]]
        block = np.eye(n)
        block[k + step:, k:k + step] = LD[k + step:, k:k + step]
        D[k:k + step, k:k + step] = LD[k:k + step, k:k + step]
        if step == 2:
            D[k, k + 1] = LD[k + 1, k]  # D is symmetric; LD holds its lower half
        U, P, k = U @ swap @ block, P @ swap, k + step
    return P, P.T @ U, D


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 17, 40])
@pytest.mark.parametrize("zero_diagonal", [False, True])
def test_ldl_factor_matches_torch_and_rebuilds_A(n, zero_diagonal):
    for seed in range(6):
        A = symmetric(n, seed, zero_diagonal=zero_diagonal and n > 1)
        LD, pivots = tg.linalg.ldl_factor(tg.tensor(A))
        expected_LD, expected_pivots = torch.linalg.ldl_factor(torch.from_numpy(A))
        assert pivots.dtype == tg.int32 and LD.dtype == tg.float64 and LD.shape == (n, n)
        np.testing.assert_array_equal(pivots.numpy(), expected_pivots.numpy())
        np.testing.assert_allclose(LD.numpy(), expected_LD.numpy(), rtol=1e-9, atol=1e-11)
        P, L, D = rebuild(LD.numpy(), pivots.numpy())
        np.testing.assert_allclose(np.triu(L), np.eye(n), atol=0)  # unit lower triangular
        np.testing.assert_allclose(P @ L @ D @ L.T @ P.T, A, rtol=1e-10, atol=1e-11)


def test_ldl_factor_uses_two_by_two_blocks_and_swaps():
    A = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])  # no usable 1×1 pivot on the diagonal
    LD, pivots = tg.linalg.ldl_factor(tg.tensor(A))
    expected = torch.linalg.ldl_factor(torch.from_numpy(A))
    np.testing.assert_array_equal(pivots.numpy(), expected.pivots.numpy())
    np.testing.assert_allclose(LD.numpy(), expected.LD.numpy(), rtol=1e-12)
    assert pivots.numpy()[0] < 0 and pivots.numpy()[0] == pivots.numpy()[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ldl_solve_matches_torch_and_lu(dtype):
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    for seed, zero_diagonal in [(0, False), (1, True), (2, False)]:
        A = symmetric(9, seed, dtype, zero_diagonal, batch=(3,))
        B = np.random.default_rng(seed + 10).standard_normal((3, 9, 4)).astype(dtype)
        LD, pivots = tg.linalg.ldl_factor(tg.tensor(A))
        X = tg.linalg.ldl_solve(LD, pivots, tg.tensor(B))
        assert X.dtype == LD.dtype == tg.tensor(A).dtype and X.shape == B.shape
        t_LD, t_pivots = torch.linalg.ldl_factor(torch.from_numpy(A))
        np.testing.assert_allclose(X.numpy(), torch.linalg.ldl_solve(t_LD, t_pivots, torch.from_numpy(B)).numpy(),
                                   rtol=rtol, atol=rtol)
        LU, lu_pivots = tg.linalg.lu_factor(tg.tensor(A))
        np.testing.assert_allclose(X.numpy(), tg.linalg.lu_solve(LU, lu_pivots, tg.tensor(B)).numpy(),
                                   rtol=rtol, atol=rtol)


def test_ldl_solve_broadcasts_batches():
    """LD (2, 1, 5, 5) with B (3, 5, 2) gives X (2, 3, 5, 2). torch 2.13's ldl_solve crashes (segfault) on such
    batches, so it is given them expanded and contiguous."""
    A, B = symmetric(5, 3, batch=(2, 1)), np.random.default_rng(4).standard_normal((3, 5, 2))
    LD, pivots = tg.linalg.ldl_factor(tg.tensor(A))
    t_LD, t_pivots = torch.linalg.ldl_factor(torch.from_numpy(A))
    expected = torch.linalg.ldl_solve(t_LD.expand(2, 3, 5, 5).contiguous(), t_pivots.expand(2, 3, 5).contiguous(),
                                      torch.from_numpy(B).expand(2, 3, 5, 2).contiguous()).numpy()
    np.testing.assert_allclose(tg.linalg.ldl_solve(LD, pivots, tg.tensor(B)).numpy(), expected, rtol=1e-9, atol=1e-10)


def test_ldl_factor_ex_reports_singular_and_ldl_factor_raises():
    singular = np.zeros((3, 3))
    _, pivots, info = tg.linalg.ldl_factor_ex(tg.tensor(singular))
    expected = torch.linalg.ldl_factor_ex(torch.from_numpy(singular))
    assert int(info.item()) == int(expected.info) == 1 and info.dtype == tg.int32
    np.testing.assert_array_equal(pivots.numpy(), expected.pivots.numpy())
    with pytest.raises(RuntimeError):  # torch raises a RuntimeError here too
        torch.linalg.ldl_factor(torch.from_numpy(singular))
    with pytest.raises(tg.linalg.LinAlgError, match=r"ldl_factor.*singular"):
        tg.linalg.ldl_factor(tg.tensor(singular))
    with pytest.raises(tg.linalg.LinAlgError, match=r"ldl_factor_ex.*singular"):
        tg.linalg.ldl_factor_ex(tg.tensor(singular), check_errors=True)


def test_ldl_reads_the_lower_triangle_only_and_checks_shapes():
    A = symmetric(4, 7)
    garbage_upper = np.tril(A) + np.triu(np.full((4, 4), 99.0), 1)
    np.testing.assert_array_equal(tg.linalg.ldl_factor(tg.tensor(garbage_upper)).LD.numpy(),
                                  tg.linalg.ldl_factor(tg.tensor(A)).LD.numpy())
    with pytest.raises(tg.ShapeError, match="ldl_factor"):
        tg.linalg.ldl_factor(tg.ones(3, 4, dtype=tg.float64))
    LD, pivots = tg.linalg.ldl_factor(tg.tensor(A))
    with pytest.raises(tg.ShapeError, match="ldl_solve"):
        tg.linalg.ldl_solve(LD, pivots, tg.ones(5, 1, dtype=tg.float64))
    assert not tg.linalg.ldl_factor(tg.tensor(A, requires_grad=True)).LD.requires_grad


@pytest.mark.parametrize("shape, b_shape", [((0, 0), (0, 3)), ((2, 0, 0), (2, 0, 1)), ((0, 3, 3), (0, 3, 2)),
                                            ((3, 3), (3, 0))])
def test_empty_matrices_and_batches_as_torch(shape, b_shape):
    """n = 0 (a 0×0 matrix, a batch of them) and empty batches: empty results of torch's shapes and dtypes
    (a 0×0 matrix raised NumPy's reshape error)."""
    A = np.eye(shape[-1]) + np.zeros(shape)
    B = np.ones(b_shape)
    LD, pivots, info = tg.linalg.ldl_factor_ex(tg.tensor(A))
    LD_t, pivots_t, info_t = torch.linalg.ldl_factor_ex(torch.from_numpy(A))
    for ours, theirs in [(LD, LD_t), (pivots, pivots_t), (info, info_t)]:
        assert ours.shape == tuple(theirs.shape) and ours.data.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    X = tg.linalg.ldl_solve(LD, pivots, tg.tensor(B))
    X_t = torch.linalg.ldl_solve(LD_t, pivots_t, torch.from_numpy(B))
    assert X.shape == tuple(X_t.shape)
    np.testing.assert_array_equal(X.data, X_t.numpy())


def test_ldl_solve_refuses_a_b_of_another_dtype_as_torch():
    """B float32 against a float64 LD: torch raises ("Expected b and A to have the same dtype"); it was cast."""
    A = symmetric(5, 11)
    B = np.ones((5, 2), np.float32)
    LD_t, pivots_t = torch.linalg.ldl_factor(torch.from_numpy(A))
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.linalg.ldl_solve(LD_t, pivots_t, torch.from_numpy(B))
    LD, pivots = tg.linalg.ldl_factor(tg.tensor(A))
    with pytest.raises(TypeError, match=r"linalg.ldl_solve: .*float64.*float32"):
        tg.linalg.ldl_solve(LD, pivots, tg.tensor(B))
