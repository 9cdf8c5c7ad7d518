"""Embedding and EmbeddingBag options: max_norm/norm_type (rows renormalised in place when looked
up), scale_grad_by_freq (each row's gradient divided by its index's frequency), sparse refused;
against torch in float64 and float32, and against the formula where torch 2.13's EmbeddingBag CPU
kernel divides by the wrong count (pytorch/pytorch#190063)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F  # noqa: N812 - as torch's F
from tinygrad_edu import nn

torch = pytest.importorskip("torch")

TOLERANCES = {np.float64: {"rtol": 1e-12, "atol": 1e-14}, np.float32: {"rtol": 1e-5, "atol": 1e-6}}
DTYPES = [np.float64, np.float32]


def weights(dtype, rows: int = 7, dim: int = 4) -> np.ndarray:
    return (np.random.default_rng(1).standard_normal((rows, dim)) * 1.5).astype(dtype)


def close(ours, theirs, dtype) -> None:
    ours = ours.detach().numpy() if isinstance(ours, tg.Tensor) else ours
    np.testing.assert_allclose(ours, theirs.detach().numpy(), **TOLERANCES[dtype])


def run_both(tg_fn, torch_fn, w0: np.ndarray):
    """Forward (squared-sum loss) and backward in both libraries; (our weight, torch's, outputs)."""
    w, wt = tg.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    y, yt = tg_fn(w), torch_fn(wt)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    return w, wt, y, yt


EMBEDDING_OPTIONS = [
    {"max_norm": 1.0},
    {"max_norm": 2.0, "norm_type": 1.0},
    {"max_norm": 0.7, "norm_type": float("inf")},
    {"max_norm": 1.2, "norm_type": 3.0},
    {"scale_grad_by_freq": True},
    {"scale_grad_by_freq": True, "max_norm": 1.0, "padding_idx": 3},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", EMBEDDING_OPTIONS, ids=str)
def test_embedding_options_match_torch(options, dtype):
    idx = np.array([[1, 1, 2, 6], [1, 3, 3, 0]])
    w, wt, y, yt = run_both(lambda w: F.embedding(tg.tensor(idx), w, **options),
                            lambda w: torch.nn.functional.embedding(torch.tensor(idx), w, **options), weights(dtype))
    close(y, yt, dtype)
    close(w, wt, dtype)  # the in-place renormalisation of the parameter
    close(w.grad, wt.grad, dtype)


def test_max_norm_writes_the_parameter_in_place_and_counts_the_write():
    w = tg.tensor(weights(np.float64), requires_grad=True)
    before, version = w.detach().numpy().copy(), w._version
    F.embedding(tg.tensor([2, 5]), w, max_norm=0.5)
    norms = np.linalg.norm(before, axis=1)
    touched = np.isin(np.arange(7), [2, 5]) & (norms > 0.5)
    after = w.detach().numpy()
    np.testing.assert_array_equal(after[~touched], before[~touched])  # rows not looked up stay
    np.testing.assert_allclose(np.linalg.norm(after[touched], axis=1), 0.5 * norms[touched] / (norms[touched] + 1e-7))
    assert w._version == version + 1


def bag_pairs(mode: str, **options):
    return (lambda idx, offsets=None: lambda w: F.embedding_bag(
                tg.tensor(idx), w, None if offsets is None else tg.tensor(offsets), mode=mode, **options),
            lambda idx, offsets=None: lambda w: torch.nn.functional.embedding_bag(
                torch.tensor(idx), w, None if offsets is None else torch.tensor(offsets), mode=mode, **options))


# inputs where every index occurs equally often: there torch's count slip picks a right count
EQUAL_COUNTS = [(np.array([[1, 1, 2, 2], [3, 3, 4, 4]]), None), (np.array([0, 2, 2, 0, 5, 5]), np.array([0, 3, 3])),
                (np.array([[4, 1, 6], [6, 4, 1]]), None)]


BAG_OPTIONS = [{"max_norm": 1.0}, {"max_norm": 1.5, "norm_type": 1.0}, {"max_norm": 1.0, "padding_idx": 2},
               {"scale_grad_by_freq": True}, {"scale_grad_by_freq": True, "max_norm": 0.9, "padding_idx": 4}]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("mode", "options"), [(m, o) for m in ("sum", "mean", "max") for o in BAG_OPTIONS
                                               if m != "max" or "scale_grad_by_freq" not in o], ids=str)
def test_embedding_bag_options_match_torch(options, mode, dtype):
    """(mode max with scale_grad_by_freq is refused, as torch does: test_errors)"""
    ours, theirs = bag_pairs(mode, **options)
    for idx, offsets in EQUAL_COUNTS:
        w, wt, y, yt = run_both(ours(idx, offsets), theirs(idx, offsets), weights(dtype))
        close(y, yt, dtype)
        close(w, wt, dtype)
        close(w.grad, wt.grad, dtype)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_each_row_by_its_own_count(mode):
    """Mixed counts, where torch 2.13's CPU kernel divides row 3 by the count of index 1
    (pytorch/pytorch#190063): the documented gradient, written out: Σ_{positions p of i} g_p / count(i),
    with g_p = (1 or 1/bag size) · ∂L/∂y[bag of p]."""
    idx, offsets = np.array([1, 1, 3, 1, 5, 5, 5, 2]), np.array([0, 3, 5])
    w0 = weights(np.float64)
    w = tg.tensor(w0.copy(), requires_grad=True)
    y = F.embedding_bag(tg.tensor(idx), w, tg.tensor(offsets), mode=mode, scale_grad_by_freq=True)
    upstream = np.random.default_rng(2).standard_normal(y.shape)
    y.backward(tg.tensor(upstream))
    bags = np.repeat(np.arange(3), np.diff(np.append(offsets, idx.size)))
    sizes = np.bincount(bags)
    expected = np.zeros_like(w0)
    for p, i in enumerate(idx):
        share = 1.0 if mode == "sum" else 1.0 / sizes[bags[p]]
        expected[i] += share * upstream[bags[p]] / np.count_nonzero(idx == i)
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-14)
    # torch 2.13's embedding_bag: the row of the k-th smallest distinct index is divided by the count
    # of the index at position k of the sorted input (here rows 1, 2, 3, 5 by the counts of 1, 1, 1, 2:
    # 3, 3, 3, 1 instead of 3, 1, 1, 3); a torch with the fix (#190264) gives the documented gradient
    wt = torch.tensor(w0.copy(), requires_grad=True)
    yt = torch.nn.functional.embedding_bag(torch.tensor(idx), wt, torch.tensor(offsets), mode=mode,
                                           scale_grad_by_freq=True)
    yt.backward(torch.tensor(upstream))
    distinct, count = np.unique(idx, return_counts=True)
    slipped = np.ones(w0.shape[0])
    slipped[distinct] = count / np.bincount(idx)[np.sort(idx)[:distinct.size]]
    assert not np.all(slipped == 1.0)
    torch_divides_right = np.allclose(wt.grad.numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose(wt.grad.numpy(), expected * (1.0 if torch_divides_right else slipped[:, None]),
                               rtol=1e-14)
    # and torch's F.embedding, whose kernel counts right, agrees with the same rule on the same indices
    wt.grad = None
    torch.nn.functional.embedding(torch.tensor(idx), wt, scale_grad_by_freq=True).sum().backward()
    e = tg.tensor(w0.copy(), requires_grad=True)
    F.embedding(tg.tensor(idx), e, scale_grad_by_freq=True).sum().backward()
    close(e.grad, wt.grad, np.float64)


def test_scale_grad_by_freq_is_differentiable_again():
    """The scaling is a Tensor op on the gradient, so grad-of-grad goes through it. Here through
    per_sample_weights (s), whose gradient reads the rows: G(s) = ‖∂L/∂weight‖², L = ‖y‖²; ∂G/∂s
    against central differences of G written in NumPy. (torch cannot differentiate embedding_bag's
    backward, and its embedding double backward leaves the 1/count out.) The first derivative,
    made with create_graph, equals torch's embedding-times-weights sum."""
    idx, w0 = np.array([[1, 1, 2], [2, 4, 5]]), weights(np.float64)
    s0 = np.random.default_rng(3).standard_normal(idx.shape)
    count = np.bincount(idx.ravel(), minlength=w0.shape[0])

    def g_numpy(s: np.ndarray) -> float:
        y = (w0[idx] * s[..., None]).sum(1)  # (B, D)
        grad_w = np.zeros_like(w0)
        np.add.at(grad_w, idx, 2 * y[:, None, :] * s[..., None] / count[idx][..., None])
        return float((grad_w ** 2).sum())

    w, s = tg.tensor(w0.copy(), requires_grad=True), tg.tensor(s0.copy(), requires_grad=True)
    y = F.embedding_bag(tg.tensor(idx), w, mode="sum", per_sample_weights=s, scale_grad_by_freq=True)
    (grad_w,) = tg.autograd.grad((y ** 2).sum(), [w], create_graph=True)
    (grad_s,) = tg.autograd.grad((grad_w ** 2).sum(), [s])
    h, numeric = 1e-6, np.zeros_like(s0)
    for k in np.ndindex(s0.shape):
        step = np.zeros_like(s0)
        step[k] = h
        numeric[k] = (g_numpy(s0 + step) - g_numpy(s0 - step)) / (2 * h)
    np.testing.assert_allclose(grad_s.numpy(), numeric, rtol=1e-6, atol=1e-8)
    wt, st = torch.tensor(w0.copy(), requires_grad=True), torch.tensor(s0.copy())
    rows = torch.nn.functional.embedding(torch.tensor(idx), wt, scale_grad_by_freq=True)  # (mixed counts: #190063)
    yt = (rows * st[..., None]).sum(1)
    (yt ** 2).sum().backward()
    close(grad_w, wt.grad, np.float64)


def test_layers_take_the_options_print_them_and_match_torch():
    tg.manual_seed(0)
    for ours, theirs in [
        (nn.Embedding(7, 4, padding_idx=2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True),
         torch.nn.Embedding(7, 4, padding_idx=2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)),
        (nn.EmbeddingBag(7, 4, max_norm=1.3, norm_type=3.0, scale_grad_by_freq=True, mode="sum", padding_idx=1),
         torch.nn.EmbeddingBag(7, 4, max_norm=1.3, norm_type=3.0, scale_grad_by_freq=True, mode="sum",
                               padding_idx=1)),
    ]:
        assert repr(ours) == repr(theirs)
        theirs.load_state_dict({"weight": torch.tensor(ours.weight.detach().numpy().copy())})
        idx = np.array([[1, 1, 2, 2], [5, 5, 6, 6]])  # equal counts: see test_scale_grad_by_freq_divides_...
        y, yt = ours(tg.tensor(idx)), theirs(torch.tensor(idx))
        close(y, yt, np.float32)
        y.sum().backward()
        yt.sum().backward()
        close(ours.weight.grad, theirs.weight.grad, np.float32)
        close(ours.weight, theirs.weight, np.float32)
    pretrained = weights(np.float64)
    layer = nn.Embedding.from_pretrained(tg.tensor(pretrained), freeze=False, max_norm=0.5)
    reference = torch.nn.Embedding.from_pretrained(torch.tensor(pretrained), freeze=False, max_norm=0.5)
    close(layer(tg.tensor([0, 3])), reference(torch.tensor([0, 3])), np.float64)
    assert layer.weight.requires_grad and not nn.Embedding.from_pretrained(tg.tensor(pretrained)).weight.requires_grad


def test_errors():
    w = tg.randn(5, 3, requires_grad=True)
    for call, layer in [(lambda: nn.Embedding(5, 3, sparse=True), "Embedding"),
                        (lambda: nn.EmbeddingBag(5, 3, sparse=True), "EmbeddingBag"),
                        (lambda: nn.EmbeddingBag.from_pretrained(w.detach(), sparse=True), "EmbeddingBag"),
                        (lambda: F.embedding(tg.tensor([1]), w, sparse=True), "embedding"),
                        (lambda: F.embedding_bag(tg.tensor([[1]]), w, sparse=True), "embedding_bag")]:
        with pytest.raises(NotImplementedError, match=f"^{layer}: sparse=True .* no sparse tensors"):
            call()
    with pytest.raises(ValueError, match="max mode does not support scaling the gradient by the frequency"):
        torch.nn.functional.embedding_bag(torch.tensor([[1]]), torch.randn(5, 3), mode="max", scale_grad_by_freq=True)
    with pytest.raises(ValueError, match=r"^EmbeddingBag: max mode does not support scaling the gradient"):
        nn.EmbeddingBag(5, 3, mode="max", scale_grad_by_freq=True)
    with pytest.raises(ValueError, match=r"^embedding_bag: max mode does not support scaling the gradient"):
        F.embedding_bag(tg.tensor([[1]]), w, mode="max", scale_grad_by_freq=True)
    with pytest.raises(IndexError, match=r"^Embedding: embedding: index out of range"):
        nn.Embedding(5, 3, max_norm=1.0)(tg.tensor([5]))
