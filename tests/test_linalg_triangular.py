"""tg.linalg.solve_triangular (op SolveTriangular: forward/back substitution) against torch.linalg.solve_triangular:
values and gradients for upper/lower, left/right, unitriangular, broadcast batches, float32/float64, sizes across
the substitution block, only the triangle read, and the errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.ops.matrix import _SUBSTITUTION_BLOCK, triangular_substitution

torch = pytest.importorskip("torch")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _problem(rng: np.random.Generator, a_shape: tuple[int, ...], b_shape: tuple[int, ...], dtype) -> tuple:
    """A full square matrix whose both triangles are well conditioned (n on the diagonal), and B."""
    n = a_shape[-1]
    a = rng.standard_normal(a_shape) + n * np.eye(n)
    return a.astype(dtype), rng.standard_normal(b_shape).astype(dtype)


def _both(a: np.ndarray, b: np.ndarray, **kwargs) -> tuple:
    """(ours, torch's) X and the gradients of Σ X ⊙ W with respect to A and B (W fixed random)."""
    weights = np.random.default_rng(1).standard_normal(
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]).astype(a.dtype)
    results = []
    for lib in (tg, torch):
        at, bt = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        x = lib.linalg.solve_triangular(at, bt, **kwargs)
        (x * lib.tensor(weights)).sum().backward()
        to_numpy = (lambda t: t.data) if lib is tg else (lambda t: t.detach().numpy())
        results.append((to_numpy(x), to_numpy(at.grad), to_numpy(bt.grad)))
    return results


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("upper,left,unitriangular", list(itertools.product([False, True], repeat=3)))
def test_solve_triangular_matches_torch(upper, left, unitriangular, dtype):
    rng = np.random.default_rng(0)
    a, b = _problem(rng, (2, 1, 5, 5), (3, 5, 4) if left else (3, 4, 5), dtype)
    ours, theirs = _both(a, b, upper=upper, left=left, unitriangular=unitriangular)
    for name, mine, ref in zip(("X", "dA", "dB"), ours, theirs):
        assert mine.dtype == dtype and mine.shape == ref.shape, name
        np.testing.assert_allclose(mine, ref, err_msg=name, **TOL[dtype])


@pytest.mark.parametrize("n", [1, _SUBSTITUTION_BLOCK, _SUBSTITUTION_BLOCK + 1, 3 * _SUBSTITUTION_BLOCK,
                               9 * _SUBSTITUTION_BLOCK + 5])
@pytest.mark.parametrize("upper", [False, True])
def test_solve_triangular_across_blocks(n, upper):
    """Sizes at, above and well past one substitution block (inverted diagonal blocks, padding of the last one,
    the block update Xₖ = Dₖ⁻¹ (Bₖ − A_{k,<k} X_{<k}))."""
    rng = np.random.default_rng(n)
    a, b = _problem(rng, (n, n), (n, 3), np.float64)
    ours, theirs = _both(a, b, upper=upper)
    for name, mine, ref in zip(("X", "dA", "dB"), ours, theirs):
        np.testing.assert_allclose(mine, ref, err_msg=name, **TOL[np.float64])


@pytest.mark.parametrize("n", [6, 3 * _SUBSTITUTION_BLOCK - 3])
def test_substitution_reads_only_the_triangle(n):
    """Garbage (nan) outside the triangle, and on the diagonal when unitriangular, is never read (row by row and
    by blocks)."""
    rng = np.random.default_rng(2)
    a, b = _problem(rng, (n, n), (n, 2), np.float64)
    for upper, unitriangular in itertools.product([False, True], repeat=2):
        k = int(unitriangular)
        poisoned = np.where(np.triu(np.ones((n, n)), k) if upper else np.tril(np.ones((n, n)), -k), a, np.nan)
        expected = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper,
                                                 unitriangular=unitriangular).numpy()
        got = triangular_substitution(poisoned, b, upper=upper, unitriangular=unitriangular)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("n", [7, 2 * _SUBSTITUTION_BLOCK + 5])
def test_substitution_is_the_textbook_recurrence(n):
    """xᵢ = (bᵢ − Σ_{j<i} L_ij x_j) / L_ii, written out as a Python loop (row by row and by blocks)."""
    rng = np.random.default_rng(3)
    lower, b = np.tril(rng.standard_normal((n, n))) + 3 * np.eye(n), rng.standard_normal(n)
    x = np.zeros(n)
    for i in range(n):
        x[i] = (b[i] - lower[i, :i] @ x[:i]) / lower[i, i]
    np.testing.assert_allclose(triangular_substitution(lower, b[:, None], upper=False, unitriangular=False)[:, 0], x,
                               rtol=1e-12)


def test_zero_on_the_diagonal_gives_non_finite_values_like_torch():
    """No error; x is non-finite from the zero pivot's row on (inf or nan: rows are scaled first, LAPACK
    divides last), finite before it."""
    a, b = np.eye(3), np.ones((3, 1))
    a[1, 1] = 0.0
    ours = tg.linalg.solve_triangular(tg.tensor(a), tg.tensor(b), upper=False).data
    theirs = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=False).numpy()
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(theirs))
    assert np.isfinite(ours).tolist() == [[True], [False], [False]]


@pytest.mark.parametrize(("row", "bad"), [(3, "pivot"), (12, "pivot"), (10, "rhs")])
def test_rows_before_a_non_finite_one_stay_finite_in_blocks(row, bad):
    """Past one block of rows: a zero pivot or a nan in B at ``row`` leaves every row above it finite and equal to
    torch's (a block's product with its inverted diagonal block would spread 0·inf = nan over them)."""
    n = 2 * _SUBSTITUTION_BLOCK + 5
    a, b = _problem(np.random.default_rng(9), (n, n), (n, 2), np.float64)
    if bad == "pivot":
        a[row, row] = 0.0
    else:
        b[row, 0] = np.nan
    for upper in (False, True):
        flip = slice(None, None, -1) if upper else slice(None)  # upper: the same system with rows/unknowns reversed
        a_in, b_in = np.ascontiguousarray(a[flip, flip]), np.ascontiguousarray(b[flip])
        ours = tg.linalg.solve_triangular(tg.tensor(a_in), tg.tensor(b_in), upper=upper).data[flip]
        theirs = torch.linalg.solve_triangular(torch.tensor(a_in), torch.tensor(b_in), upper=upper).numpy()[flip]
        np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(theirs))
        assert np.isfinite(ours[:row]).all()
        np.testing.assert_allclose(ours[:row], theirs[:row], **TOL[np.float64])


def test_solve_triangular_gradgrad_matches_torch():
    rng = np.random.default_rng(4)
    a, b = _problem(rng, (4, 4), (4, 2), np.float64)
    grads = []
    for lib in (tg, torch):
        at, bt = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        x = lib.linalg.solve_triangular(at, bt, upper=True)
        (ga,) = (tg.autograd.grad if lib is tg else torch.autograd.grad)((x ** 2).sum(), [at], create_graph=True)
        (gga,) = (tg.autograd.grad if lib is tg else torch.autograd.grad)((ga ** 2).sum(), [bt])
        grads.append(gga.data if lib is tg else gga.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), k=st.integers(1, 4), a_batch=st.sampled_from([(), (1,), (3,), (2, 1)]),
       b_batch=st.sampled_from([(), (1,), (3,), (2, 3)]), upper=st.booleans(), left=st.booleans())
def test_solve_triangular_shapes_hypothesis(n, k, a_batch, b_batch, upper, left):
    rng = np.random.default_rng(n * 10 + k)
    a, b = _problem(rng, (*a_batch, n, n), (*b_batch, n, k) if left else (*b_batch, k, n), np.float64)
    ours = tg.linalg.solve_triangular(tg.tensor(a), tg.tensor(b), upper=upper, left=left).data
    theirs = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper, left=left).numpy()
    np.testing.assert_allclose(ours, theirs, **TOL[np.float64])


def test_solve_triangular_errors():
    a = tg.tensor(np.eye(3))
    with pytest.raises(tg.ShapeError, match=r"solve_triangular.*\(\.\.\., 3, k\)"):
        tg.linalg.solve_triangular(a, tg.tensor(np.ones((4, 2))), upper=False)
    with pytest.raises(tg.ShapeError, match=r"left=False"):
        tg.linalg.solve_triangular(a, tg.tensor(np.ones((3, 2))), upper=False, left=False)
    with pytest.raises(tg.ShapeError, match="square"):
        tg.linalg.solve_triangular(tg.tensor(np.ones((3, 2))), tg.tensor(np.ones((3, 2))), upper=False)
    with pytest.raises(TypeError, match="dtype"):
        tg.linalg.solve_triangular(a, tg.tensor(np.ones((3, 2), np.float32)), upper=False)
    with pytest.raises(tg.ShapeError, match="broadcast"):
        tg.linalg.solve_triangular(tg.tensor(np.ones((2, 3, 3))), tg.tensor(np.ones((4, 3, 1))), upper=False)
