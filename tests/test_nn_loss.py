"""Losses against PyTorch for every reduction and option (values and input gradients, f64
and f32), the FORMULAS.md losses written out in NumPy, the fused ops against their
composite twins, and stability at extreme logits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, ops

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float64: dict(rtol=1e-7, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-6)}


def _to_torch(a: Any, grad: bool) -> Any:
    return torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a


def check_loss(ours: Any, theirs: Any, x: np.ndarray, target: np.ndarray, dtype: Any = np.float64,
               target_grad: bool = False) -> None:
    """Compare loss values and the gradient wrt the input (and the target if asked)."""
    x = x.astype(dtype)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
    tx, tt = _to_torch(x, True), _to_torch(target, target_grad)
    gx = tg.tensor(x, requires_grad=True)
    gt = tg.tensor(target, requires_grad=target_grad and target.dtype.kind == "f")
    t_loss, g_loss = theirs(tx, tt), ours(gx, gt)
    assert g_loss.shape == tuple(t_loss.shape)
    assert g_loss.dtype == dtype
    np.testing.assert_allclose(g_loss.data, t_loss.detach().numpy(), **TOL[dtype])
    w = np.random.default_rng(0).standard_normal(g_loss.shape).astype(dtype)
    (t_loss * torch.from_numpy(w)).sum().backward()
    (g_loss * w).sum().backward()
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), **TOL[dtype])
    if target_grad:
        np.testing.assert_allclose(gt.grad.data, tt.grad.numpy(), **TOL[dtype])


RNG = np.random.default_rng(42)
LOGITS = RNG.standard_normal((6, 4)) * 2
LOGITS_ND = RNG.standard_normal((3, 4, 2, 2))
CLASSES = np.array([0, 3, 1, 1, 2, 3])
CLASSES_IGNORED = np.array([0, -100, 1, 1, 2, -100])
CLASSES_ND = RNG.integers(0, 4, (3, 2, 2))
PROBS = RNG.dirichlet(np.ones(4), 6)
PRED = RNG.uniform(0.05, 0.95, (5, 3))
BINARY = (RNG.uniform(size=(5, 3)) > 0.5).astype(np.float64)
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(dtype, reduction):
    y = RNG.standard_normal((5, 3))
    check_loss(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), PRED, y, dtype, True)
    check_loss(nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), PRED, y, dtype, True)


CE_CASES = [
    ("indices", LOGITS, CLASSES, dict()),
    ("ignore_index", LOGITS, CLASSES_IGNORED, dict()),
    ("weight", LOGITS, CLASSES, dict(weight=CLASS_WEIGHT)),
    ("weight_ignore", LOGITS, CLASSES_IGNORED, dict(weight=CLASS_WEIGHT)),
    ("smoothing", LOGITS, CLASSES, dict(label_smoothing=0.2)),
    ("smoothing_weight_ignore", LOGITS, CLASSES_IGNORED, dict(label_smoothing=0.1, weight=CLASS_WEIGHT)),
    ("custom_ignore", LOGITS, CLASSES, dict(ignore_index=3)),
    ("nd", LOGITS_ND, CLASSES_ND, dict()),
    ("probabilities", LOGITS, PROBS, dict()),
    ("probabilities_weight_smoothing", LOGITS, PROBS, dict(weight=CLASS_WEIGHT, label_smoothing=0.3)),
    ("unbatched", LOGITS[0], CLASSES[0], dict()),
]


def _opts(options: dict, dtype: Any, lib: str) -> dict:
    out = dict(options)
    if "weight" in out:
        w = out["weight"].astype(dtype)
        out["weight"] = torch.from_numpy(w) if lib == "torch" else tg.tensor(w)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,x,target,options", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy_matches_torch(name, x, target, options, reduction, dtype):
    target = np.asarray(target)
    check_loss(nn.CrossEntropyLoss(reduction=reduction, **_opts(options, dtype, "tg")),
               torch.nn.CrossEntropyLoss(reduction=reduction, **_opts(options, dtype, "torch")), x, target, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [dict(), dict(weight=CLASS_WEIGHT), dict(ignore_index=1)], ids=str)
def test_nll_loss_matches_torch(options, reduction):
    logp = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    check_loss(nn.NLLLoss(reduction=reduction, **_opts(options, np.float64, "tg")),
               torch.nn.NLLLoss(reduction=reduction, **_opts(options, np.float64, "torch")), logp, CLASSES)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(dtype, reduction):
    check_loss(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), PRED, BINARY, dtype)
    weight = RNG.uniform(0.5, 2, (5, 3)).astype(dtype)
    check_loss(nn.BCELoss(tg.tensor(weight), reduction),
               torch.nn.BCELoss(torch.from_numpy(weight), reduction=reduction), PRED, RNG.uniform(size=(5, 3)), dtype)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 1.0])
    ours = nn.BCELoss(reduction="none")(tg.tensor(x), tg.tensor(y))
    np.testing.assert_allclose(ours.data, TF.binary_cross_entropy(torch.tensor(x), torch.tensor(y),
                                                                    reduction="none").numpy())
    assert ours.data[0] == 100.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_at_saturated_probabilities_matches_torch(dtype, reduction):
    # a float32 sigmoid is exactly 0 or 1 beyond |x| ≈ 17 (or 88): PyTorch's slope
    # (x − y)/max(x(1 − x), 1e-12) stays finite there; the chain rule through the clamped
    # logs gave nan and the model's weights went nan
    x = np.array([[0.0, 1.0, 0.0, 1.0, 1e-30, 0.3], [1.0 - 1e-7, 0.5, 1.0, 0.0, 0.999, 1e-8]])
    y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0, 0.25], [1.0, 0.5, 0.9, 0.1, 0.0, 1.0]])
    check_loss(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), x, y, dtype, target_grad=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [None, np.array([0.5, 1.0, 3.0])])
def test_bce_with_logits_matches_torch(dtype, reduction, pos_weight):
    x = RNG.standard_normal((5, 3)) * 3
    y = RNG.uniform(size=(5, 3))
    ours_pw = None if pos_weight is None else tg.tensor(pos_weight.astype(dtype))
    theirs_pw = None if pos_weight is None else torch.from_numpy(pos_weight.astype(dtype))
    check_loss(nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=ours_pw),
               torch.nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=theirs_pw), x, y, dtype, target_grad=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits_finite_at_plus_minus_100(dtype):
    x = np.array([-100.0, 100.0, -1000.0, 1000.0], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    check_loss(nn.BCEWithLogitsLoss(reduction="none"), torch.nn.BCEWithLogitsLoss(reduction="none"), x, y, dtype)
    loss = nn.BCEWithLogitsLoss()(tg.tensor(x, requires_grad=True), tg.tensor(y))
    assert np.isfinite(loss.item())


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("reduction", [*REDUCTIONS, "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    logq = np.log(RNG.dirichlet(np.ones(4), 6))
    p = RNG.dirichlet(np.ones(4), 6)
    p[0, 1] = 0.0  # a zero target probability contributes 0
    target = np.log(p + 1e-3) if log_target else p
    check_loss(nn.KLDivLoss(reduction=reduction, log_target=log_target),
               torch.nn.KLDivLoss(reduction=reduction, log_target=log_target), logq, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [dict(), dict(p=2), dict(margin=0.5), dict(weight=CLASS_WEIGHT)], ids=str)
def test_multi_margin_loss_matches_torch(options, reduction):
    check_loss(nn.MultiMarginLoss(reduction=reduction, **_opts(options, np.float64, "tg")),
               torch.nn.MultiMarginLoss(reduction=reduction, **_opts(options, np.float64, "torch")),
               LOGITS * 0.3, CLASSES)


# ---- FORMULAS.md, written out in NumPy ---------------------------------------------------------


def test_mse_formula_literally():
    y, y_hat = RNG.standard_normal(7), RNG.standard_normal(7)
    expected = (1 / 7) * np.sum((y - y_hat) ** 2)  # (1/n) Σ (y_i − ŷ_i)²
    np.testing.assert_allclose(nn.MSELoss()(tg.tensor(y_hat), tg.tensor(y)).item(), expected, rtol=1e-12)


def test_binary_cross_entropy_formula_literally():
    y, y_hat = BINARY.ravel(), PRED.ravel()
    n = y.size
    expected = -(1 / n) * np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    np.testing.assert_allclose(nn.BCELoss()(tg.tensor(y_hat), tg.tensor(y)).item(), expected, rtol=1e-12)


def test_sparse_categorical_cross_entropy_formula_literally():
    softmax = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    expected = -np.mean(np.log(softmax[np.arange(6), CLASSES]))
    np.testing.assert_allclose(nn.CrossEntropyLoss()(tg.tensor(LOGITS), tg.tensor(CLASSES)).item(), expected,
                               rtol=1e-12)


def test_hinge_multi_margin_formula_literally():
    x = LOGITS * 0.3
    C = x.shape[1]
    per = [sum(max(0.0, 1 - x[i, t] + x[i, j]) for j in range(C) if j != t) / C for i, t in enumerate(CLASSES)]
    np.testing.assert_allclose(nn.MultiMarginLoss()(tg.tensor(x), tg.tensor(CLASSES)).item(), np.mean(per),
                               rtol=1e-12)


# ---- fused ops against their composite twins ------------------------------------------------------


def test_fused_cross_entropy_equals_composite_twin():
    x = tg.tensor(LOGITS, requires_grad=True)
    fused = ops.CrossEntropy.apply(x, target=CLASSES)
    composite = -x.log_softmax(1).gather(1, CLASSES[:, None]).squeeze(1)
    np.testing.assert_allclose(fused.data, composite.data, rtol=1e-12)
    g_fused = tg.autograd.grad([fused.sum()], [x], create_graph=True)[0]
    g_comp = tg.autograd.grad([composite.sum()], [x], create_graph=True)[0]
    np.testing.assert_allclose(g_fused.data, g_comp.data, rtol=1e-10, atol=1e-14)
    assert tg.autograd.gradgradcheck(lambda x: ops.CrossEntropy.apply(x, target=CLASSES), (x,))


def test_fused_bce_with_logits_equals_composite_twin():
    x = tg.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    y = tg.tensor(RNG.uniform(size=(4, 3)))
    p = tg.tensor(np.full((4, 3), 2.0))
    fused = ops.BCEWithLogits.apply(x, y, p)
    s = x.sigmoid()
    composite = -(p * y * s.log() + (1 - y) * (1 - s).log())
    np.testing.assert_allclose(fused.data, composite.data, rtol=1e-10)
    assert tg.autograd.gradcheck(lambda x: ops.BCEWithLogits.apply(x, y, p), (x,))
    assert tg.autograd.gradgradcheck(lambda x: ops.BCEWithLogits.apply(x, y, p), (x,))


def test_loss_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(2, 3\) and target of shape \(3, 2\) differ"):
        nn.MSELoss()(tg.randn(2, 3), tg.randn(3, 2))
    with pytest.raises(IndexError, match=r"cross_entropy: target class out of range \[0, 4\)"):
        nn.CrossEntropyLoss()(tg.randn(2, 4), tg.tensor([0, 4]))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(TypeError, match="nll_loss: expected integer class indices"):
        nn.NLLLoss()(tg.randn(2, 3), tg.tensor([0.0, 1.0]))
    probs = PROBS.astype(np.float32)  # a float ndarray target means class probabilities, as a float tensor would
    np.testing.assert_allclose(nn.CrossEntropyLoss()(tg.tensor(LOGITS), probs).item(),
                               nn.CrossEntropyLoss()(tg.tensor(LOGITS), tg.tensor(PROBS)).item(), rtol=1e-6)
    with pytest.raises(ValueError, match="probabilities"):
        nn.BCELoss()(tg.tensor([1.5]), tg.tensor([1.0]))
