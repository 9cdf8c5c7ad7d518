"""tg.linalg against torch.linalg: values and gradients (float64 to 1e-10, float32), batched
shapes drawn by hypothesis (1×1, odd sizes, batch dims), gradcheck and gradgradcheck of every
op, torch's node names, and the errors (singular, not positive-definite, not square, wrong rank,
wrong dtype). Inputs are well-conditioned: A + n·I, A Aᵀ + I, A + Aᵀ; eigenvectors and singular
vectors enter only through functions that do not depend on their signs (V ⊙ V, U Vh)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import assert_matches_torch, gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

TOLERANCES = {np.float64: (1e-10, 1e-12), np.float32: (5e-4, 5e-5)}


def _lib(a):
    return torch if isinstance(a, torch.Tensor) else tg


def _shifted(a):
    """a + n·I: invertible, condition number small."""
    return a + a.shape[-1] * _lib(a).eye(a.shape[-1], dtype=a.dtype)


def _spd(a):
    """a aᵀ + I: symmetric positive-definite."""
    return a @ a.mT + _lib(a).eye(a.shape[-1], dtype=a.dtype)


def _sym(a):
    return a + a.mT


def _svd_invariants(usv):
    return usv[1], usv[0] @ usv[2], usv[0] * usv[0]


# name: (function of the library's linalg module and one input, square input?)
CASES = {
    "det": (lambda la, a: la.det(_shifted(a)), True),
    "slogdet": (lambda la, a: tuple(la.slogdet(_shifted(a) * -1.0)), True),
    "inv": (lambda la, a: la.inv(_shifted(a)), True),
    "cholesky": (lambda la, a: la.cholesky(_spd(a)), True),
    "cholesky_upper": (lambda la, a: la.cholesky(_spd(a), upper=True), True),
    "eigh": (lambda la, a: (lambda r: (r[0], r[1] * r[1]))(la.eigh(_sym(a))), True),
    "eigh_upper": (lambda la, a: la.eigh(a @ a.mT, UPLO="U")[0], True),
    "eigvalsh": (lambda la, a: la.eigvalsh(_sym(a)), True),
    "qr": (lambda la, a: tuple(la.qr(a)), False),
    "svd": (lambda la, a: _svd_invariants(la.svd(a, full_matrices=False)), False),
    "svdvals": (lambda la, a: la.svdvals(a), False),
    "pinv": (lambda la, a: la.pinv(a), False),
    "matrix_power_3": (lambda la, a: la.matrix_power(a, 3), True),
    "matrix_power_-2": (lambda la, a: la.matrix_power(_shifted(a), -2), True),
    "matrix_power_0": (lambda la, a: la.matrix_power(a, 0), True),
    "matrix_exp": (lambda la, a: la.matrix_exp(a), True),
    "lu_factor": (lambda la, a: la.lu_factor(_shifted(a))[0], True),
    "lu": (lambda la, a: tuple(la.lu(_shifted(a))), True),
    "cond": (lambda la, a: la.cond(_shifted(a)), True),
    "solve_triangular_upper": (lambda la, a: la.solve_triangular(_shifted(a), a.mT, upper=True), True),
    "solve_triangular_lower_right_unit": (
        lambda la, a: la.solve_triangular(_shifted(a), a, upper=False, left=False, unitriangular=True), True),
    **{f"matrix_norm_{ord}": (lambda la, a, ord=ord: la.matrix_norm(a, ord), False)
       for ord in ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)},
    "matrix_norm_dims_keepdim": (lambda la, a: la.matrix_norm(a.unsqueeze(-1), 1, dim=(-1, -3), keepdim=True), False),
    **{f"vector_norm_{ord}": (lambda la, a, ord=ord: la.vector_norm(a, ord, dim=-1), False)
       for ord in (2, 1, 3, 0.5, 0, math.inf, -math.inf)},
    "norm_default": (lambda la, a: la.norm(a), False),
    "norm_dim_int": (lambda la, a: la.norm(a, 3, dim=-2, keepdim=True), False),
}


# drawn with well-separated singular values (eigenvalues for the symmetric ones): the gradients of the
# vectors divide by their gaps, and float32 would otherwise meet near-ties in a few draws of a hundred
SPREAD = {"qr", "svd", "svdvals", "pinv", "matrix_norm_nuc", "matrix_norm_2", "matrix_norm_-2", "cond", "eigh_upper"}
SYMMETRIC = {"eigh", "eigvalsh"}


def _spread_spectrum(rng: np.random.Generator, shape: tuple[int, ...], symmetric: bool) -> np.ndarray:
    """Q₁ diag(σ) Q₂ᵀ (Q₂ = Q₁ if symmetric) with random orthogonal Q and σᵢ = 1 + 0.7i + U(0, 0.3)
    (symmetric: random signs), so neighbouring values are at least 0.4 apart."""
    m, n = shape[-2:]
    k = min(m, n)
    q1 = np.linalg.qr(rng.standard_normal((*shape[:-2], m, m)))[0]
    q2 = q1 if symmetric else np.linalg.qr(rng.standard_normal((*shape[:-2], n, n)))[0]
    sigma = 1.0 + 0.7 * np.arange(k) + rng.uniform(0.0, 0.3, (*shape[:-2], k))
    if symmetric:
        sigma = sigma * rng.choice([-1.0, 1.0], sigma.shape)
    return (q1[..., :, :k] * sigma[..., None, :]) @ np.swapaxes(q2[..., :, :k], -1, -2)


@st.composite
def matrices(draw, square: bool):
    """(shape, seed): batch dims 0–2 of size 1–3, matrices 1×1 to 5×5 (rectangular unless square)."""
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    m = draw(st.integers(1, 5))
    n = m if square else draw(st.integers(1, 5))
    return (*batch, m, n), draw(st.integers(0, 2**16))


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_linalg_matches_torch_on_drawn_shapes(name, data):
    fn, square = CASES[name]
    shape, seed = data.draw(matrices(square), label="shape, seed")
    rng = np.random.default_rng(seed)
    if name in SPREAD or name in SYMMETRIC:
        a = _spread_spectrum(rng, shape, name in SYMMETRIC)
    else:
        a = rng.standard_normal(shape)
    for dtype, (rtol, atol) in TOLERANCES.items():
        assert_matches_torch(lambda x: fn(tg.linalg, x), lambda x: fn(torch.linalg, x), a.astype(dtype),
                             rtol=rtol, atol=atol, seed=seed)


def _seeded(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("b_shape", [(3, 2), (3,), (2, 3), (4, 2, 3, 1), (1, 3, 2)], ids=str)
def test_solve_matches_torch_with_matrix_vector_and_broadcast_right_hand_sides(b_shape):
    a, b = _seeded(2, 3, 3), _seeded(*b_shape, seed=1)  # (2, 3): A's batch of vectors, as torch reads it
    for dtype, (rtol, atol) in TOLERANCES.items():
        assert_matches_torch(lambda x, y: tg.linalg.solve(_shifted(x), y),
                             lambda x, y: torch.linalg.solve(_shifted(x), y),
                             a.astype(dtype), b.astype(dtype), rtol=rtol, atol=atol)


def test_solve_left_false_matches_torch():
    assert_matches_torch(lambda x, y: tg.linalg.solve(_shifted(x), y, left=False),
                         lambda x, y: torch.linalg.solve(_shifted(x), y, left=False), (3, 3), (2, 3), rtol=1e-10)


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 2), (3, 3)], ids=str)
def test_lstsq_solution_and_rank_match_torch(shape):
    a, b = _seeded(*shape), _seeded(*shape[:-1], 2, seed=1)
    assert_matches_torch(lambda x, y: tg.linalg.lstsq(x, y).solution,
                         lambda x, y: torch.linalg.lstsq(x, y).solution, a, b, rtol=1e-9, atol=1e-11)
    ours, theirs = tg.linalg.lstsq(tg.tensor(a), tg.tensor(b)), torch.linalg.lstsq(torch.tensor(a), torch.tensor(b))
    np.testing.assert_array_equal(ours.rank.numpy(), theirs.rank.numpy())
    assert ours.residuals.shape == tuple(theirs.residuals.shape)


def test_matrix_rank_and_pinv_of_a_rank_deficient_matrix_match_torch():
    a = _seeded(5, 2) @ _seeded(2, 4, seed=1)  # rank 2
    batch = np.stack([a, np.eye(5, 4), np.zeros((5, 4))])
    for tol in ({}, {"atol": 1e-3}, {"rtol": 0.5}):
        np.testing.assert_array_equal(tg.linalg.matrix_rank(tg.tensor(batch), **tol).numpy(),
                                      torch.linalg.matrix_rank(torch.tensor(batch), **tol).numpy())
    assert tg.linalg.matrix_rank(tg.tensor(batch)).dtype == np.int64
    np.testing.assert_allclose(tg.linalg.pinv(tg.tensor(batch)).numpy(),
                               torch.linalg.pinv(torch.tensor(batch)).numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shapes", [[(3, 4), (4, 2), (2, 5)], [(4,), (4, 3), (3, 6), (6,)],
                                    [(1, 2), (2, 1)], [(5,), (5, 2), (2, 3), (3, 3), (3, 1)]], ids=str)
def test_multi_dot_matches_torch(shapes):
    arrays = [_seeded(*s, seed=k) for k, s in enumerate(shapes)]
    assert_matches_torch(lambda *xs: tg.linalg.multi_dot(list(xs)), lambda *xs: torch.linalg.multi_dot(list(xs)),
                         *arrays, rtol=1e-10)


def test_cross_and_vecdot_match_torch():
    assert_matches_torch(lambda x, y: tg.linalg.cross(x, y), lambda x, y: torch.linalg.cross(x, y), (2, 4, 3),
                         (1, 4, 3), rtol=1e-10)
    assert_matches_torch(lambda x, y: tg.linalg.vecdot(x, y, dim=0), lambda x, y: torch.linalg.vecdot(x, y, dim=0),
                         (3, 4), (3, 1), rtol=1e-10)


def test_tensorinv_tensorsolve_diagonal_vander_match_torch():
    assert_matches_torch(lambda x: tg.linalg.tensorinv(_shifted(x.reshape(6, 6)).reshape(2, 3, 6), ind=2),
                         lambda x: torch.linalg.tensorinv(_shifted(x.reshape(6, 6)).reshape(2, 3, 6), ind=2),
                         (36,), rtol=1e-10)
    assert_matches_torch(lambda x, y: tg.linalg.tensorsolve(_shifted(x.reshape(6, 6)).reshape(6, 2, 3), y),
                         lambda x, y: torch.linalg.tensorsolve(_shifted(x.reshape(6, 6)).reshape(6, 2, 3), y),
                         (36,), (6,), rtol=1e-10)
    def moved(x):
        return _shifted(x.reshape(6, 6)).reshape(2, 6, 3)

    assert_matches_torch(lambda x, y: tg.linalg.tensorsolve(moved(x), y, dims=(0,)),
                         lambda x, y: torch.linalg.tensorsolve(moved(x), y, dims=(0,)), (36,), (6,), rtol=1e-10)
    assert_matches_torch(lambda x: tg.linalg.diagonal(x, offset=1), lambda x: torch.linalg.diagonal(x, offset=1),
                         (2, 3, 4), rtol=1e-12)
    assert_matches_torch(lambda x: tg.linalg.vander(x, N=4), lambda x: torch.linalg.vander(x, N=4), (2, 3), rtol=1e-12)


@pytest.mark.parametrize("p", ["fro", "nuc", math.inf, 1, -2])
def test_cond_matches_torch(p):
    """Values vs torch.linalg.cond; gradients vs ‖A‖ ‖A⁻¹‖ in torch (whose cond backward fails for 'fro')."""
    a = _shifted(torch.tensor(_seeded(2, 3, 3))).numpy()
    np.testing.assert_allclose(tg.linalg.cond(tg.tensor(a), p).numpy(), torch.linalg.cond(torch.tensor(a), p).numpy(),
                               rtol=1e-10)

    def composite(x):
        return (torch.linalg.matrix_norm(x, p) * torch.linalg.matrix_norm(torch.linalg.inv(x), p) if p != -2
                else torch.linalg.cond(x, p))

    assert_matches_torch(lambda x: tg.linalg.cond(x, p), composite, a, rtol=1e-9)


def test_inv_ex_solve_ex_and_cholesky_ex_report_failures_per_matrix_as_torch():
    a = np.stack([np.eye(2) * 2.0, np.zeros((2, 2)), [[1.0, 2.0], [2.0, 1.0]]])
    inverse, info = tg.linalg.inv_ex(tg.tensor(a))
    theirs = torch.linalg.inv_ex(torch.tensor(a))
    np.testing.assert_array_equal(info.numpy(), theirs.info.numpy())
    np.testing.assert_allclose(inverse.numpy()[[0, 2]], theirs.inverse.numpy()[[0, 2]], rtol=1e-12)
    assert np.isnan(inverse.numpy()[1]).all()
    lower, info = tg.linalg.cholesky_ex(tg.tensor(a))
    theirs = torch.linalg.cholesky_ex(torch.tensor(a))
    np.testing.assert_array_equal(info.numpy(), theirs.info.numpy())  # [0, 1, 2]: the failing minor's order
    np.testing.assert_allclose(lower.numpy()[0], theirs.L.numpy()[0], rtol=1e-12)
    with pytest.raises(tg.linalg.LinAlgError):
        tg.linalg.inv_ex(tg.tensor(a), check_errors=True)
    solved, info = tg.linalg.solve_ex(tg.tensor(a), tg.tensor(np.ones((3, 2, 1))))
    theirs = torch.linalg.solve_ex(torch.tensor(a), torch.tensor(np.ones((3, 2, 1))))
    np.testing.assert_array_equal(info.numpy(), theirs.info.numpy())
    np.testing.assert_allclose(solved.numpy()[[0, 2]], theirs.result.numpy()[[0, 2]], rtol=1e-12)
    ok = tg.linalg.cholesky_ex(tg.tensor(np.eye(3)), upper=True)
    assert ok.info.numpy() == 0 and np.array_equal(ok.L.numpy(), np.eye(3))


def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix():
    """LU finds no zero pivot in a product B C of rank n − 1 (det ~1e-17): the inverse path, as torch.
    An exact zero pivot (diag(1, 2, 0)) takes the SVD: the cofactor matrix, diag(0, 0, 2) here (torch
    returns zeros there)."""
    b, c = _seeded(3, 2), _seeded(2, 3, seed=1)
    assert_matches_torch(lambda x, y: tg.linalg.det(x @ y), lambda x, y: torch.linalg.det(x @ y), b, c,
                         rtol=1e-6, atol=1e-12)
    a = tg.tensor(np.diag([1.0, 2.0, 0.0]), requires_grad=True)
    tg.linalg.det(a).backward()
    np.testing.assert_allclose(a.grad.numpy(), np.diag([0.0, 0.0, 2.0]), atol=1e-12)
    rank_one_less = tg.tensor(np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 3.0]]), requires_grad=True)
    tg.linalg.det(rank_one_less).backward()
    cofactor = np.array([[12.0, -6.0, 0.0], [-6.0, 3.0, 0.0], [0.0, 0.0, 0.0]])  # by hand: C_ij = (−1)^(i+j) M_ij
    np.testing.assert_allclose(rank_one_less.grad.numpy(), cofactor, atol=1e-12)


def test_logdet_of_negative_and_zero_determinants_matches_torch():
    a = np.stack([np.diag([2.0, -1.0, 3.0]), np.diag([1.0, 2.0, 0.0]), np.diag([1.0, 2.0, 3.0])])
    np.testing.assert_array_equal(tg.logdet(tg.tensor(a)).numpy(), torch.logdet(torch.tensor(a)).numpy())
    sign, logabsdet = tg.linalg.slogdet(tg.tensor(a))
    np.testing.assert_array_equal(sign.numpy(), [-1.0, 0.0, 1.0])
    assert logabsdet.numpy()[1] == -np.inf


# ---- gradcheck and gradgradcheck (float64, central differences) ---------------------------------

GRADCHECKED = {
    "det": (lambda a: tg.linalg.det(_shifted(a)), (2, 3, 3)),
    "slogdet": (lambda a: tg.linalg.slogdet(_shifted(a))[1], (2, 3, 3)),
    "inv": (lambda a: tg.linalg.inv(_shifted(a)), (2, 3, 3)),
    "solve": (lambda a: tg.linalg.solve(_shifted(a), a[..., :2] * 2.0), (2, 3, 3)),
    "cholesky": (lambda a: tg.linalg.cholesky(_spd(a)), (2, 3, 3)),
    "qr_tall": (lambda a: tuple(tg.linalg.qr(a)), (4, 3)),
    "qr_wide": (lambda a: tuple(tg.linalg.qr(a)), (2, 4)),
    "eigh": (lambda a: (lambda r: (r[0], r[1] * r[1]))(tg.linalg.eigh(_sym(a))), (3, 3)),
    "eigvalsh": (lambda a: tg.linalg.eigvalsh(_sym(a)), (3, 3)),
    "svd_tall": (lambda a: _svd_invariants(tg.linalg.svd(a, full_matrices=False)), (4, 3)),
    "svd_wide": (lambda a: _svd_invariants(tg.linalg.svd(a, full_matrices=False)), (2, 3)),
    "svdvals": (lambda a: tg.linalg.svdvals(a), (3, 2)),
    "pinv": (lambda a: tg.linalg.pinv(a), (3, 2)),
    "matrix_exp": (lambda a: tg.linalg.matrix_exp(a), (2, 3, 3)),
    "lu_factor": (lambda a: tg.linalg.lu_factor(a)[0], (2, 3, 3)),
    "lu_solve": (lambda a: tg.linalg.lu_solve(*tg.linalg.lu_factor(_shifted(a)), a[..., :2]), (2, 3, 3)),
}


@pytest.mark.parametrize("name", list(GRADCHECKED))
def test_linalg_gradcheck_and_gradgradcheck(name):
    fn, shape = GRADCHECKED[name]
    a = tg.tensor(_seeded(*shape, seed=3), requires_grad=True)
    assert gradcheck(fn, [a])
    assert gradgradcheck(fn, [a])


def test_cholesky_and_eigh_read_only_the_lower_triangle_as_torch():
    a = _spd(torch.tensor(_seeded(3, 3))).numpy() + np.triu(_seeded(3, 3, seed=1), 1)  # junk above the diagonal
    assert_matches_torch(tg.linalg.cholesky, torch.linalg.cholesky, a, rtol=1e-10)
    assert_matches_torch(lambda x: tg.linalg.eigh(x)[0], lambda x: torch.linalg.eigh(x)[0], a, rtol=1e-10)


def test_svdvals_and_eigvalsh_gradients_are_finite_for_repeated_values():
    a = tg.tensor(np.eye(3) * 2.0, requires_grad=True)
    tg.linalg.svdvals(a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.eye(3))
    b = tg.tensor(np.eye(3), requires_grad=True)
    tg.linalg.eigvalsh(b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.eye(3))


# ---- names, dtypes, methods ----------------------------------------------------------------------

NAMED = {
    "det": lambda la, a: la.det(a), "slogdet": lambda la, a: la.slogdet(a)[1], "inv": lambda la, a: la.inv(a),
    "solve": lambda la, a: la.solve(a, a), "cholesky": lambda la, a: la.cholesky(a), "qr": lambda la, a: la.qr(a)[0],
    "eigh": lambda la, a: la.eigh(a)[1], "eigvalsh": lambda la, a: la.eigvalsh(a),
    "svd": lambda la, a: la.svd(a)[0], "svdvals": lambda la, a: la.svdvals(a), "cross": lambda la, a: la.cross(a, a),
    "matrix_exp": lambda la, a: la.matrix_exp(a), "lu_factor": lambda la, a: la.lu_factor(a)[0],
}


@pytest.mark.parametrize("name", list(NAMED))
def test_linalg_node_names_and_float32_match_torch(name):
    a = _spd(torch.tensor(_seeded(3, 3), dtype=torch.float32)).numpy()
    ours = NAMED[name](tg.linalg, tg.tensor(a, requires_grad=True))
    theirs = NAMED[name](torch.linalg, torch.tensor(a, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert ours.dtype == np.float32


def test_tensor_methods_and_top_level_functions_agree_with_linalg():
    a = _shifted(tg.tensor(_seeded(2, 3, 3)))
    np.testing.assert_array_equal(a.det().numpy(), tg.linalg.det(a).numpy())
    np.testing.assert_array_equal(tg.inverse(a).numpy(), tg.linalg.inv(a).numpy())
    np.testing.assert_array_equal(a.matrix_power(2).numpy(), (a @ a).numpy())
    np.testing.assert_array_equal(tg.slogdet(a).logabsdet.numpy(), a.slogdet()[1].numpy())
    t = torch.tensor(a.numpy())
    np.testing.assert_allclose(a.logdet().numpy(), t.logdet().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.pinverse().numpy(), t.pinverse().numpy(), rtol=1e-10)
    np.testing.assert_allclose(tg.matrix_power(a, -1).numpy(), torch.matrix_power(t, -1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tg.matrix_exp(a * 0.1).numpy(), torch.matrix_exp(t * 0.1).numpy(), rtol=1e-12)


# ---- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["inv", "solve"])
def test_singular_matrix_raises_linalg_error_naming_the_op_and_shape_as_torch(op):
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]])
    call = {"inv": lambda la, x: la.inv(x), "solve": lambda la, x: la.solve(x, x[..., 0])}[op]
    with pytest.raises(torch.linalg.LinAlgError):
        call(torch.linalg, torch.tensor(a))
    with pytest.raises(tg.linalg.LinAlgError, match=rf"linalg\.{op}: .*\(2, 2, 2\).*singular") as info:
        call(tg.linalg, tg.tensor(a))
    assert isinstance(info.value, RuntimeError)


def test_cholesky_of_an_indefinite_matrix_raises_linalg_error():
    a = np.diag([1.0, -1.0, 2.0])
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.cholesky(torch.tensor(a))
    with pytest.raises(tg.linalg.LinAlgError, match=r"linalg\.cholesky: .*\(3, 3\).*not positive-definite"):
        tg.linalg.cholesky(tg.tensor(a))


SQUARE_ONLY = ["det", "slogdet", "inv", "cholesky", "eigh", "eigvalsh", "matrix_power"]


@pytest.mark.parametrize("op", SQUARE_ONLY)
def test_non_square_and_one_dimensional_inputs_raise_as_torch(op):
    call = (lambda la, x: getattr(la, op)(x, 2)) if op == "matrix_power" else (lambda la, x: getattr(la, op)(x))
    for shape in [(2, 3), (4,)]:
        with pytest.raises(RuntimeError):
            call(torch.linalg, torch.zeros(shape, dtype=torch.float64))
        with pytest.raises(tg.ShapeError, match=rf"linalg\.{op}: .*{shape[-1]}"):
            call(tg.linalg, tg.zeros(shape, dtype=tg.float64))


def test_bad_arguments_raise_clear_errors():
    a = tg.tensor(_seeded(3, 3))
    with pytest.raises(TypeError, match=r"linalg\.det: expected a floating point"):
        tg.linalg.det(tg.tensor([[1, 2], [3, 4]]))
    with pytest.raises(tg.ShapeError, match=r"linalg\.solve: incompatible shapes"):
        tg.linalg.solve(a, tg.tensor(_seeded(4)))
    with pytest.raises(tg.ShapeError, match=r"linalg\.solve: the batch dims"):
        tg.linalg.solve(tg.tensor(_seeded(2, 3, 3)), tg.tensor(_seeded(4, 3, 1)))
    with pytest.raises(ValueError, match=r"linalg\.qr: .*mode 'full'"):
        tg.linalg.qr(a, mode="full")
    with pytest.raises(ValueError, match=r"linalg\.matrix_norm: order 3"):
        tg.linalg.matrix_norm(a, 3)
    with pytest.raises(tg.ShapeError, match=r"linalg\.multi_dot: tensors 0 and 1 cannot be multiplied"):
        tg.linalg.multi_dot([a, tg.tensor(_seeded(2, 2))])
    with pytest.raises(TypeError, match=r"linalg\.matrix_power: n must be an integer"):
        tg.linalg.matrix_power(a, 1.5)
    with pytest.raises(tg.ShapeError, match=r"linalg\.norm: .*1-D or 2-D"):
        tg.linalg.norm(tg.tensor(_seeded(2, 2, 2)), 2)


@pytest.mark.parametrize("shape", [(4, 2), (2, 3, 5), (3, 3)], ids=str)
def test_svd_full_matrices_completes_an_orthogonal_basis(shape):
    a = _seeded(*shape)
    U, S, Vh = tg.linalg.svd(tg.tensor(a))
    tU, tS, tVh = torch.linalg.svd(torch.tensor(a))
    assert U.shape == tuple(tU.shape) and Vh.shape == tuple(tVh.shape)
    np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-12)
    m, n = shape[-2:]
    eye_m, eye_n = np.eye(m), np.eye(n)
    np.testing.assert_allclose(U.numpy() @ np.swapaxes(U.numpy(), -1, -2), np.broadcast_to(eye_m, U.shape), atol=1e-12)
    np.testing.assert_allclose(Vh.numpy() @ np.swapaxes(Vh.numpy(), -1, -2), np.broadcast_to(eye_n, Vh.shape),
                               atol=1e-12)
    k = min(m, n)
    reconstructed = (U.numpy()[..., :k] * S.numpy()[..., None, :]) @ Vh.numpy()[..., :k, :]
    np.testing.assert_allclose(reconstructed, a, atol=1e-12)


@pytest.mark.parametrize(("left", "adjoint"), [(True, False), (True, True), (False, False), (False, True)])
def test_lu_solve_matches_torch(left, adjoint):
    a, b = _seeded(2, 3, 3), _seeded(2, 3, 2, seed=1)
    b = b if left else np.swapaxes(b, -1, -2)
    assert_matches_torch(lambda x, y: tg.linalg.lu_solve(*tg.linalg.lu_factor(x), y, left=left, adjoint=adjoint),
                         lambda x, y: torch.linalg.lu_solve(*torch.linalg.lu_factor(x), y, left=left, adjoint=adjoint),
                         a, b, rtol=1e-9)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (2, 4, 2)], ids=str)
def test_lu_of_rectangular_matrices_matches_torch(shape):
    a = _seeded(*shape)
    assert_matches_torch(lambda x: tuple(tg.linalg.lu(x)), lambda x: tuple(torch.linalg.lu(x)), a, rtol=1e-10,
                         check_grad=False)
    ours, theirs = tg.linalg.lu_factor(tg.tensor(a)), torch.linalg.lu_factor(torch.tensor(a))
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    assert ours.pivots.dtype == np.int32


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse_match_torch(upper):
    def factor(lib, x):
        return lib.linalg.cholesky(_spd(x), upper=upper)

    assert_matches_torch(lambda x, b: tg.cholesky_solve(b, factor(tg, x), upper),
                         lambda x, b: torch.cholesky_solve(b, factor(torch, x), upper), (2, 3, 3), (3, 2), rtol=1e-9)
    assert_matches_torch(lambda x: factor(tg, x).cholesky_inverse(upper),
                         lambda x: factor(torch, x).cholesky_inverse(upper), (3, 3), rtol=1e-9)


@pytest.mark.parametrize(("a_shape", "tau_shape"), [((4, 3), (3,)), ((2, 5, 3), (2, 2)), ((3, 3), (3,))], ids=str)
def test_householder_product_matches_torch(a_shape, tau_shape):
    a, tau = _seeded(*a_shape), np.random.default_rng(1).uniform(0.0, 2.0, tau_shape)
    assert_matches_torch(tg.linalg.householder_product, torch.linalg.householder_product, a, tau, rtol=1e-10)


def test_qr_mode_r_and_complete_match_torch():
    a = _seeded(4, 3)
    q, r = tg.linalg.qr(tg.tensor(a), mode="r")
    tq, tr = torch.linalg.qr(torch.tensor(a), mode="r")
    assert q.shape == tuple(tq.shape) and np.allclose(r.numpy(), tr.numpy(), rtol=1e-12)
    assert_matches_torch(lambda x: tuple(tg.linalg.qr(x, mode="complete")),
                         lambda x: tuple(torch.linalg.qr(x, mode="complete")), (2, 5), rtol=1e-10)
    x = tg.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        tg.linalg.qr(x, mode="complete")[0].sum().backward()


def test_qr_mode_r_backward_raises_as_torch():
    a = _seeded(4, 3)
    x, t = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    r, tr = tg.linalg.qr(x, mode="r")[1], torch.linalg.qr(t, mode="r")[1]
    assert r.requires_grad and tr.requires_grad
    with pytest.raises(RuntimeError) as torch_error:
        tr.sum().backward()
    with pytest.raises(RuntimeError) as tg_error:
        r.sum().backward()
    assert str(tg_error.value) == str(torch_error.value)
    np.testing.assert_allclose(np.abs(r.detach().numpy()), np.abs(tr.detach().numpy()), rtol=1e-12)


def test_slogdet_result_types_are_torchs():
    """x.slogdet() and tg.slogdet return torch.return_types.slogdet, tg.linalg.slogdet linalg_slogdet."""
    a = _seeded(2, 3, 3)
    for ours, theirs in [(tg.tensor(a).slogdet(), torch.tensor(a).slogdet()),
                         (tg.slogdet(tg.tensor(a)), torch.slogdet(torch.tensor(a))),
                         (tg.linalg.slogdet(tg.tensor(a)), torch.linalg.slogdet(torch.tensor(a)))]:
        assert type(ours).__name__ == type(theirs).__name__
        np.testing.assert_allclose(ours.logabsdet.numpy(), theirs.logabsdet.numpy(), rtol=1e-12)
        np.testing.assert_array_equal(ours.sign.numpy(), theirs.sign.numpy())


def test_cholesky_upper_reads_only_the_upper_triangle_as_torch():
    """upper=True factors the matrix A's upper triangle describes (LAPACK potrf 'U'), values and gradients."""
    lower, upper = (_spd(torch.tensor(_seeded(3, 3, seed=s))).numpy() for s in (0, 1))
    a = np.tril(lower) + np.triu(upper, 1)
    assert_matches_torch(lambda x: tg.linalg.cholesky(x, upper=True), lambda x: torch.linalg.cholesky(x, upper=True),
                         a, rtol=1e-10)
    junk = np.stack([a, np.eye(3) + np.triu(np.full((3, 3), 5.0), 1)])  # the lower triangle alone is I: info 0
    ours, theirs = tg.linalg.cholesky_ex(tg.tensor(junk), upper=True), torch.linalg.cholesky_ex(torch.tensor(junk),
                                                                                              upper=True)
    np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
    np.testing.assert_allclose(ours.L.numpy()[0], theirs.L.numpy()[0], rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 0, 3), (2, 3, 0), (0, 3, 3)], ids=str)
def test_lu_of_empty_matrices_matches_torch(shape):
    ours, theirs = tg.linalg.lu(tg.tensor(np.zeros(shape))), torch.linalg.lu(torch.tensor(np.zeros(shape)))
    assert [x.shape for x in ours] == [tuple(x.shape) for x in theirs]
    assert tg.linalg.lu_factor(tg.tensor(np.zeros(shape))).pivots.shape == tuple(
        torch.linalg.lu_factor(torch.tensor(np.zeros(shape))).pivots.shape)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (2, 4, 2), (2, 2, 4)], ids=str)
def test_lu_gradients_of_wide_and_tall_matrices_match_torch(shape):
    a = _seeded(*shape)
    assert_matches_torch(lambda x: tg.linalg.lu_factor(x)[0], lambda x: torch.linalg.lu_factor(x)[0], a, rtol=1e-10)
    assert_matches_torch(lambda x: tuple(tg.linalg.lu(x))[1:], lambda x: tuple(torch.linalg.lu(x))[1:], a, rtol=1e-10)
    x = tg.tensor(a, requires_grad=True)
    assert gradcheck(lambda t: tg.linalg.lu_factor(t)[0], [x])
    assert gradgradcheck(lambda t: tg.linalg.lu_factor(t)[0], [x])


def test_lu_factor_ex_matches_torch_with_info_for_singular_matrices():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4, 4))
    a[2] = np.array([[1.0, 2, 3, 4], [2, 4, 6, 8], [0, 0, 1, 1], [1, 1, 1, 1]])  # rank 3 with an exact zero pivot
    lu, pivots, info = tg.linalg.lu_factor_ex(tg.tensor(a))
    t_lu, t_pivots, t_info = torch.linalg.lu_factor_ex(torch.tensor(a))
    np.testing.assert_allclose(lu.numpy(), t_lu.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(pivots.numpy(), t_pivots.numpy())
    np.testing.assert_array_equal(info.numpy(), t_info.numpy())  # 0, 0, 4
    assert info.dtype == np.int32 and info.numpy()[2] == 4
    assert type(tg.linalg.lu_factor_ex(tg.tensor(a[0]))).__name__ == "linalg_lu_factor_ex"
    with pytest.raises(tg.linalg.LinAlgError, match=r"lu_factor_ex: .*not full rank"):
        tg.linalg.lu_factor_ex(tg.tensor(a[2]), check_errors=True)
    assert_matches_torch(lambda x: tg.linalg.lu_factor_ex(x)[0], lambda x: torch.linalg.lu_factor_ex(x)[0], (3, 3),
                         rtol=1e-10)
