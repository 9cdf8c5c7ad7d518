"""PyTorch parity of the activations, losses, distances and adaptive pools added as compositions
(F.softplus ... F.adaptive_avg_pool2d) and their modules: values and input gradients vs PyTorch
in float64 (tight) and float32 on drawn shapes, at the kinks and in the tails (where a naive
formula overflows), second derivatives, module reprs, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradgradcheck
from tinygrad_edu.testing import assert_matches_torch
from tinygrad_edu.testing import strategies as tst

torch = pytest.importorskip("torch")

DTYPES = (np.float64, np.float32)
SETTINGS = settings(max_examples=10, deadline=None)

# name: (call on F and x; the same on both libraries)
ACTIVATIONS = {
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, beta=2.5, threshold=5.0),
    "silu": lambda F, x: F.silu(x),
    "mish": lambda F, x: F.mish(x),
    "elu": lambda F, x: F.elu(x, alpha=0.7),
    "celu": lambda F, x: F.celu(x, alpha=1.5),
    "selu": lambda F, x: F.selu(x),
    "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 1.0),
    "relu6": lambda F, x: F.relu6(x * 4),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x * 4),
    "hardswish": lambda F, x: F.hardswish(x * 4),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softsign": lambda F, x: F.softsign(x),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
    "hardshrink": lambda F, x: F.hardshrink(x, 0.3),
    "softshrink": lambda F, x: F.softshrink(x, 0.3),
    "threshold": lambda F, x: F.threshold(x, 0.2, -3.0),
    "softmin": lambda F, x: F.softmin(x, -1),
    "glu": lambda F, x: F.glu(x.reshape(*x.shape[:-1], -1, 2), -1) if x.ndim else F.glu(x.reshape(2, 1) * 1, 0),
}


def _functional(lib):
    return lib.nn.functional


@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_match_torch_on_drawn_shapes(name, data):
    shape = list(data.draw(tst.shapes(0, 3, 1, 4), label="shape"))
    if name == "glu" and shape:
        shape[-1] *= 2
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    call = ACTIVATIONS[name]
    if name == "glu" and not shape:
        shape = [2]
    assert_matches_torch(lambda x: call(_functional(tg), x), lambda x: call(_functional(torch), x), tuple(shape),
                         dtype=dtype, seed=data.draw(st.integers(0, 2**16), label="seed"))


# the kinks (0, ±λ, ±3, 6, the thresholds) and the tails (softplus of ±800 overflows e^x naively)
SPECIAL = np.array([-800.0, -30.0, -20.0, -3.0, -1.0, -0.5, -0.3, 0.0, 0.2, 0.3, 0.5, 1.0, 3.0, 5.0 / 2.5, 6.0,
                    20.0, 20.5, 30.0, 800.0])


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n not in ("glu", "softmin")])
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_at_kinks_and_in_the_tails_match_torch(name, dtype):
    values = SPECIAL / 4 if name in ("relu6", "hardsigmoid", "hardswish") else SPECIAL  # they multiply by 4
    call = ACTIVATIONS[name]
    assert_matches_torch(lambda x: call(_functional(tg), x), lambda x: call(_functional(torch), x),
                         values.astype(dtype))


@pytest.mark.parametrize("name", ["softplus", "mish", "elu", "selu", "logsigmoid", "softsign", "silu", "hardswish"])
def test_activations_second_derivative(name):
    x = tg.tensor(np.array([-2.3, -0.7, 0.4, 1.9, 4.1]), requires_grad=True)
    assert gradgradcheck(lambda t: ACTIVATIONS[name](tg.nn.functional, t), [x])


def test_logsigmoid_and_soft_margin_loss_keep_the_far_tail_as_torch():
    """log σ(x) for x < −20 and log(1 + e^(−y·x)) for −y·x > 20, where softplus would stop at its
    threshold (off by about e^(−20) relative)."""
    x = np.array([-40.0, -30.0, -25.0, -21.0])
    ours = tg.nn.functional.logsigmoid(tg.tensor(x)).numpy()
    np.testing.assert_allclose(ours, torch.nn.functional.logsigmoid(torch.tensor(x)).numpy(), rtol=1e-15, atol=0)
    ours = tg.nn.functional.soft_margin_loss(tg.tensor(x), tg.tensor(np.ones(4)), reduction="none").numpy()
    theirs = torch.nn.functional.soft_margin_loss(torch.tensor(x), torch.ones(4, dtype=torch.float64), reduction="none")
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-15, atol=0)


LOSSES = {
    "smooth_l1": lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r),
    "smooth_l1_beta": lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.4),
    "smooth_l1_beta_0": lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.0),
    "huber": lambda F, x, y, r: F.huber_loss(x, y, reduction=r),
    "huber_delta": lambda F, x, y, r: F.huber_loss(x, y, reduction=r, delta=0.3),
}
DISTANCES = {
    "cosine_similarity": lambda F, x, y: F.cosine_similarity(x, y),
    "cosine_similarity_broadcast_dim0": lambda F, x, y: F.cosine_similarity(x, y[:1], dim=0),
    "pairwise_distance": lambda F, x, y: F.pairwise_distance(x, y),
    "pairwise_distance_p1_keepdim": lambda F, x, y: F.pairwise_distance(x, y, p=1.0, keepdim=True),
}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_match_torch(name, reduction, dtype):
    call = LOSSES[name]
    assert_matches_torch(lambda x, y: call(_functional(tg), x, y, reduction),
                         lambda x, y: call(_functional(torch), x, y, reduction), (4, 5), (4, 5), dtype=dtype)


@pytest.mark.parametrize("name", list(DISTANCES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_distances_match_torch(name, dtype):
    call = DISTANCES[name]
    assert_matches_torch(lambda x, y: call(_functional(tg), x, y), lambda x, y: call(_functional(torch), x, y),
                         (4, 5), (4, 5), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_similarity_of_a_zero_vector_matches_torch(dtype):
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], dtype=dtype)
    y = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    assert_matches_torch(lambda a, b: tg.nn.functional.cosine_similarity(a, b),
                         lambda a, b: torch.nn.functional.cosine_similarity(a, b), x, y)


POOLS = [((2, 3, 7, 5), (3, 2)), ((2, 3, 8, 6), (4, 3)), ((3, 5, 5), 1), ((1, 2, 4, 9), (None, 4)),
         ((1, 1, 3, 3), (5, 4))]


@pytest.mark.parametrize("shape, output_size", POOLS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_avg_pool2d_matches_torch(shape, output_size, dtype):
    assert_matches_torch(lambda x: tg.nn.AdaptiveAvgPool2d(output_size)(x),
                         lambda x: torch.nn.AdaptiveAvgPool2d(output_size)(x), shape, dtype=dtype)


@pytest.mark.parametrize("shape, output_size", [((2, 3, 7), 3), ((3, 8), 4), ((1, 2, 3), 5), ((2, 2, 6), (1,))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_avg_pool1d_matches_torch(shape, output_size, dtype):
    assert_matches_torch(lambda x: tg.nn.AdaptiveAvgPool1d(output_size)(x),
                         lambda x: torch.nn.AdaptiveAvgPool1d(output_size)(x), shape, dtype=dtype)


MODULES = {
    "SiLU": (), "Mish": (), "SELU": (), "Hardsigmoid": (), "Hardswish": (), "ReLU6": (), "LogSigmoid": (),
    "Softsign": (), "Tanhshrink": (), "ELU": (0.5,), "CELU": (2.0,), "Hardtanh": (-2.0, 2.0), "Softplus": (2, 10),
    "Threshold": (0.1, 20.0), "Hardshrink": (0.25,), "Softshrink": (0.75,), "Softmin": (1,), "GLU": (1,),
    "SmoothL1Loss": (), "HuberLoss": (), "CosineSimilarity": (), "PairwiseDistance": (),
    "AdaptiveAvgPool2d": ((5, 7),), "AdaptiveAvgPool1d": (3,), "Unflatten": (1, (2, 2)),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_module_repr_matches_torch(name):
    assert repr(getattr(tg.nn, name)(*MODULES[name])) == repr(getattr(torch.nn, name)(*MODULES[name]))


@pytest.mark.parametrize("name", ["ReLU6", "SiLU", "ELU", "Hardtanh", "Threshold"])
def test_inplace_flag_shows_in_repr_as_torch(name):
    args = MODULES[name]
    assert repr(getattr(tg.nn, name)(*args, inplace=True)) == repr(getattr(torch.nn, name)(*args, inplace=True))


@pytest.mark.parametrize("name", ["SiLU", "Mish", "ELU", "CELU", "Softplus", "Hardtanh", "Softmin", "GLU"])
def test_activation_modules_match_torch(name):
    args = MODULES[name]
    assert_matches_torch(lambda x: getattr(tg.nn, name)(*args)(x), lambda x: getattr(torch.nn, name)(*args)(x),
                         (3, 4))


@pytest.mark.parametrize("name, options", [
    ("SmoothL1Loss", {"reduction": "sum", "beta": 0.5}), ("HuberLoss", {"reduction": "none", "delta": 0.5}),
    ("CosineSimilarity", {"dim": 0}), ("PairwiseDistance", {"p": 3.0, "keepdim": True})])
def test_loss_and_distance_modules_match_torch(name, options):
    assert_matches_torch(lambda x, y: getattr(tg.nn, name)(**options)(x, y),
                         lambda x, y: getattr(torch.nn, name)(**options)(x, y), (3, 4), (3, 4))


@pytest.mark.parametrize("call, error, words", [
    (lambda F: F.glu(tg.zeros(2, 3)), tg.ShapeError, ["glu", "(2, 3)"]),
    (lambda F: F.smooth_l1_loss(tg.zeros(2, 3), tg.zeros(3)), tg.ShapeError, ["smooth_l1_loss", "(2, 3)"]),
    (lambda F: F.huber_loss(tg.zeros(2, 3), tg.zeros(2, 3), reduction="avg"), ValueError, ["huber_loss", "avg"]),
    (lambda F: F.cosine_similarity(tg.zeros(2, 3), tg.zeros(4, 3)), tg.ShapeError, ["cosine_similarity", "(4, 3)"]),
    (lambda F: F.adaptive_avg_pool2d(tg.zeros(2, 3), 1), tg.ShapeError, ["adaptive_avg_pool2d", "(2, 3)"]),
    (lambda F: F.adaptive_avg_pool2d(tg.zeros(1, 2, 3), (0, 1)), ValueError, ["adaptive_avg_pool2d", "(0, 1)"]),
    (lambda F: F.adaptive_avg_pool1d(tg.zeros(1, 2, 3, dtype=tg.int64), 2), TypeError, ["adaptive_avg_pool1d"]),
])
def test_bad_input_raises_naming_the_function(call, error, words):
    with pytest.raises(error) as info:
        call(tg.nn.functional)
    assert all(w in str(info.value) for w in words), str(info.value)


# ---- nn.init, nn.utils and the containers ------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_init_gives_orthonormal_rows_or_columns(shape, gain):
    w = tg.nn.init.orthogonal_(tg.zeros(*shape, dtype=tg.float64), gain=gain).numpy().reshape(shape[0], -1)
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-12)


def test_trunc_normal_init_stays_in_bounds_is_seeded_and_has_the_shape_of_torchs():
    tg.manual_seed(0)
    w = tg.nn.init.trunc_normal_(tg.zeros(300, 100), mean=0.5, std=1.0, a=-1.0, b=1.5).numpy()
    tg.manual_seed(0)
    np.testing.assert_array_equal(w, tg.nn.init.trunc_normal_(tg.zeros(300, 100), 0.5, 1.0, -1.0, 1.5).numpy())
    torch.manual_seed(0)
    ref = torch.nn.init.trunc_normal_(torch.zeros(300, 100), mean=0.5, std=1.0, a=-1.0, b=1.5).numpy()
    assert w.min() >= -1.0 and w.max() <= 1.5 and w.dtype == np.float32
    assert abs(w.mean() - ref.mean()) < 0.02 and abs(w.std() - ref.std()) < 0.02  # same distribution
    with pytest.raises(ValueError, match="trunc_normal_"):
        tg.nn.init.trunc_normal_(tg.zeros(2), a=1.0, b=0.0)


def _truncated_normal_cdf(x, a, b):
    """F(x) = (Φ(x) − Φ(a)) / (Φ(b) − Φ(a)) of the standard normal truncated to [a, b], by math.erfc;
    above the mean as (Q(a) − Q(x)) / (Q(a) − Q(b)) with Q(z) = 1 − Φ(z), whose small values keep their digits."""
    if a > 0:
        tail = np.frompyfunc(lambda z: math.erfc(z / math.sqrt(2.0)) / 2.0, 1, 1)
        return ((tail(a) - tail(x)) / (tail(a) - tail(b))).astype(np.float64)
    phi = np.frompyfunc(lambda z: math.erfc(-z / math.sqrt(2.0)) / 2.0, 1, 1)
    return ((phi(x) - phi(a)) / (phi(b) - phi(a))).astype(np.float64)


@pytest.mark.parametrize("a, b", [(-1.0, 1.5), (8.0, 9.0), (-9.0, -8.0), (5.0, math.inf), (-3.0, 20.0)])
def test_trunc_normal_follows_the_truncated_distribution_even_in_a_far_tail(a, b):
    """Kolmogorov-Smirnov distance to the exact CDF below the 1 % critical value: a tail interval
    such as [8, 9], where a draw falls inside once in 10¹⁵, ends (redrawing never would)."""
    tg.manual_seed(1)
    w = np.sort(tg.nn.init.trunc_normal_(tg.zeros(20000, dtype=tg.float64), a=a, b=b).numpy())
    assert w[0] >= a and w[-1] <= b
    ecdf = np.arange(1, w.size + 1) / w.size
    assert np.max(np.abs(ecdf - _truncated_normal_cdf(w, a, b))) < 1.63 / math.sqrt(w.size)


def test_the_normal_quantile_behind_trunc_normal_matches_torchs_ndtri():
    from tinygrad_edu.nn.init import _normal_quantile
    p = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 2001), np.logspace(-300, -1, 300), 1 - np.logspace(-16, -1, 50)])
    np.testing.assert_allclose(_normal_quantile(p), torch.special.ndtri(torch.tensor(p)).numpy(), rtol=1e-14,
                               atol=1e-14)


@pytest.mark.parametrize("shape, groups", [((3, 5), None), ((5, 3), None), ((4, 4, 3), 1), ((6, 2, 3, 3), 3),
                                           ((2, 4, 3, 3, 3), 1), ((4, 2, 2, 4), 2)])
def test_eye_and_dirac_init_equal_torch(shape, groups):
    if groups is None:
        ours, theirs = tg.nn.init.eye_(tg.zeros(*shape)), torch.nn.init.eye_(torch.zeros(*shape))
    else:
        ours, theirs = tg.nn.init.dirac_(tg.zeros(*shape), groups), torch.nn.init.dirac_(torch.zeros(*shape), groups)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = tg.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    vec_ours = tg.nn.utils.parameters_to_vector(ours.parameters())
    vec_theirs = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vec_ours.detach().numpy(), vec_theirs.detach().numpy())
    (vec_ours * tg.arange(8.0)).sum().backward()
    (vec_theirs * torch.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
    new = np.arange(8.0, dtype=np.float32) / 7
    tg.nn.utils.vector_to_parameters(tg.tensor(new), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs.parameters())
    np.testing.assert_array_equal(ours.bias.detach().numpy(), theirs.bias.detach().numpy())
    with pytest.raises(ValueError, match="vector_to_parameters"):
        tg.nn.utils.vector_to_parameters(tg.zeros(7), ours.parameters())


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_get_total_norm_and_clip_grads_with_norm_match_torch(norm_type):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(shape).astype(np.float32) for shape in [(3, 4), (5,)]]
    ours, theirs = [tg.tensor(g) for g in grads], [torch.tensor(g) for g in grads]
    total_ours = tg.nn.utils.get_total_norm(ours, norm_type)
    total_theirs = torch.nn.utils.get_total_norm(theirs, norm_type)
    np.testing.assert_allclose(total_ours.numpy(), total_theirs.numpy(), rtol=1e-6)
    params_ours = [tg.zeros(*g.shape, requires_grad=True) for g in grads]
    params_theirs = [torch.zeros(*g.shape, requires_grad=True) for g in grads]
    for p, g in zip(params_ours, ours):
        p.grad = g
    for p, g in zip(params_theirs, theirs):
        p.grad = g.clone()
    tg.nn.utils.clip_grads_with_norm_(params_ours, 1.5, total_ours)
    torch.nn.utils.clip_grads_with_norm_(params_theirs, 1.5, total_theirs)
    for p, q in zip(params_ours, params_theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)


def _containers(lib):
    nn = lib.nn
    model = nn.Module()
    model.blocks = nn.ModuleDict({"enc": nn.Linear(3, 4), "act": nn.ReLU()})
    model.blocks["dec"] = nn.Linear(4, 2)
    model.scales = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3)])
    model.extra = nn.ParameterDict({"shift": lib.zeros(2)})
    return model


def test_module_and_parameter_containers_register_as_torch():
    ours, theirs = _containers(tg), _containers(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours.blocks) == repr(theirs.blocks)
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    ours_out = ours.blocks["dec"](ours.blocks["act"](ours.blocks["enc"](tg.tensor(x)))) * ours.scales[0]
    theirs_out = theirs.blocks["dec"](theirs.blocks["act"](theirs.blocks["enc"](torch.tensor(x)))) * theirs.scales[0]
    np.testing.assert_allclose(ours_out.detach().numpy(), theirs_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert list(ours.blocks) == list(theirs.blocks) and ("enc" in ours.blocks) and len(ours.scales) == 2
    assert ours.blocks.pop("act").__class__.__name__ == "ReLU" and list(ours.blocks.keys()) == ["enc", "dec"]
    assert isinstance(ours.scales[1], tg.nn.Parameter) and ours.extra["shift"].requires_grad
    with pytest.raises(TypeError, match="ParameterList"):
        tg.nn.ParameterList([[1.0]])


# ---- RNNCell / LSTMCell / GRUCell --------------------------------------------------------------


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}), ("LSTMCell", {}),
         ("LSTMCell", {"bias": False}), ("GRUCell", {}), ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("name, options", CELLS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cells_match_torch(name, options, batched, with_state, dtype):
    """Two steps (so the state is used), values and the gradients of input, state and parameters."""
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = getattr(torch.nn, name)(3, 4, **options).to(torch_dtype)
    ours = getattr(tg.nn, name)(3, 4, **options, dtype=dtype)
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(0)
    batch = (2,) if batched else ()
    x = rng.standard_normal((2, *batch, 3)).astype(dtype)
    states = [rng.standard_normal((*batch, 4)).astype(dtype) for _ in range(2 if name == "LSTMCell" else 1)]

    def run(lib, cell):
        xs = lib.tensor(x, requires_grad=True)
        hx = [lib.tensor(s, requires_grad=True) for s in states] if with_state else None
        state = None if hx is None else (tuple(hx) if name == "LSTMCell" else hx[0])
        for t in range(2):
            state = cell(xs[t], state)
        h = state[0] if name == "LSTMCell" else state
        loss = (h * lib.tensor(np.arange(4.0, dtype=dtype))).sum() + (state[1].sum() if name == "LSTMCell" else 0)
        loss.backward()
        return [h.detach().numpy(), xs.grad.numpy(), *(s.grad.numpy() for s in hx or ()),
                *(p.grad.numpy() for p in cell.parameters())]

    rtol = 1e-10 if dtype == np.float64 else 1e-5
    for a, b in zip(run(tg, ours), run(torch, theirs)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_refuse_an_input_of_another_dtype_than_their_weights(name):
    with pytest.raises(TypeError, match=f"{name}: expected input and weight_ih of one dtype"):
        getattr(tg.nn, name)(3, 4)(tg.tensor(np.ones((2, 3))))


def test_cells_refuse_bad_shapes_naming_the_cell():
    with pytest.raises(ValueError, match=r"LSTMCell.*input_size"):
        tg.nn.LSTMCell(3, 4)(tg.zeros(2, 5))
    with pytest.raises(ValueError, match=r"GRUCell.*\(2, 4\)"):
        tg.nn.GRUCell(3, 4)(tg.zeros(2, 3), tg.zeros(3, 4))
    with pytest.raises(ValueError, match=r"RNNCell.*nonlinearity"):
        tg.nn.RNNCell(3, 4, nonlinearity="sigmoid")


# ---- GroupNorm, InstanceNorm1d/2d, RMSNorm -----------------------------------------------------

NORMS = [
    ("GroupNorm", (2, 4), {}, (3, 4, 5)), ("GroupNorm", (4, 4), {"affine": False}, (2, 4, 3, 3)),
    ("GroupNorm", (1, 4), {"eps": 1e-3, "bias": False}, (2, 4)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)), ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 4)),
    ("InstanceNorm2d", (3,), {"momentum": 0.3, "track_running_stats": True}, (3, 4, 5)),
    ("RMSNorm", (5,), {}, (3, 5)), ("RMSNorm", ((4, 5),), {"eps": 1e-4}, (2, 4, 5)),
    ("RMSNorm", (5,), {"elementwise_affine": False}, (5,)),
]


@pytest.mark.parametrize("name, args, options, shape", NORMS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_normalization_layers_match_torch(name, args, options, shape, dtype):
    """Values, input and parameter gradients in training mode, the running statistics after two
    steps, and eval mode; repr and state-dict keys."""
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = getattr(torch.nn, name)(*args, **options).to(torch_dtype)
    ours = getattr(tg.nn, name)(*args, **options, dtype=dtype)
    rng = np.random.default_rng(1)
    state = {k: v.detach().numpy() + (rng.standard_normal(v.shape).astype(v.numpy().dtype) if v.is_floating_point()
                                      else 0) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    ours.load_state_dict({k: tg.tensor(v) for k, v in state.items()})
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    params_ours, params_theirs = list(ours.parameters()), list(theirs.parameters())
    rtol = 1e-9 if dtype == np.float64 else 2e-5
    for _ in range(2):  # two training steps: the running statistics are updated twice
        x = rng.standard_normal(shape).astype(dtype) * 3 + 1
        ours_in, theirs_in = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        seed = rng.standard_normal(shape).astype(dtype)
        y_ours, y_theirs = ours(ours_in), theirs(theirs_in)
        (y_ours * tg.tensor(seed)).sum().backward()
        (y_theirs * torch.tensor(seed)).sum().backward()
        np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=rtol, atol=rtol)
        for p, q in zip(params_ours, params_theirs):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=rtol)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.numpy(), rtol=rtol, atol=rtol)
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape).astype(dtype)
    np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=rtol, atol=rtol)


def test_normalization_layers_refuse_bad_input_naming_the_layer():
    with pytest.raises(ValueError, match="GroupNorm"):
        tg.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"GroupNorm.*C = 4"):
        tg.nn.GroupNorm(2, 4)(tg.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"InstanceNorm2d.*C = 3"):
        tg.nn.InstanceNorm2d(3)(tg.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"RMSNorm.*\(5,\)"):
        tg.nn.RMSNorm(5)(tg.zeros(2, 4))
    with pytest.raises(tg.ShapeError, match="group_norm"):
        tg.nn.functional.group_norm(tg.zeros(2, 5, 3), 2)


# ---- F.interpolate and nn.Upsample ---------------------------------------------------------------

RESIZES = [
    ((2, 3, 5), {"scale_factor": 2}), ((2, 3, 5), {"size": 7}), ((2, 3, 7), {"size": 3}),
    ((1, 2, 4, 5), {"scale_factor": 2}), ((1, 2, 4, 5), {"size": (7, 3)}), ((1, 2, 5, 5), {"scale_factor": 1.7}),
    ((1, 2, 6, 4), {"scale_factor": (0.5, 2.5)}), ((1, 1, 1, 3), {"size": (2, 1)}),
]


@pytest.mark.parametrize("shape, where", RESIZES)
@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("nearest-exact", None), ("linear", False),
                                                 ("linear", True)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_interpolate_matches_torch(shape, where, mode, align_corners, dtype):
    if mode == "linear" and len(shape) == 4:
        mode = "bilinear"
    assert_matches_torch(lambda x: tg.nn.functional.interpolate(x, mode=mode, align_corners=align_corners, **where),
                         lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align_corners, **where),
                         shape, dtype=dtype)


@pytest.mark.parametrize("make", [lambda nn: nn.Upsample(scale_factor=2), lambda nn: nn.Upsample(size=(5, 3)),
                                  lambda nn: nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
                                  lambda nn: nn.UpsamplingNearest2d(scale_factor=3),
                                  lambda nn: nn.UpsamplingBilinear2d(size=(4, 6))])
def test_upsample_modules_match_torch(make):
    ours, theirs = make(tg.nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert_matches_torch(ours, theirs, (2, 3, 4, 4))


@pytest.mark.parametrize("call, error, words", [
    (lambda F: F.interpolate(tg.zeros(1, 2, 3), scale_factor=2, mode="bilinear"), ValueError,
     ["bilinear", "(1, 2, 3)"]),
    (lambda F: F.interpolate(tg.zeros(1, 2, 3), scale_factor=2, align_corners=True), ValueError, ["align_corners"]),
    (lambda F: F.interpolate(tg.zeros(1, 2, 3)), ValueError, ["size and scale_factor"]),
    (lambda F: F.interpolate(tg.zeros(1, 2, 3), size=(2, 2)), ValueError, ["(2, 2)"]),
    (lambda F: F.interpolate(tg.zeros(1, 2, 3, dtype=tg.int64), size=2), TypeError, ["interpolate", "int64"]),
])
def test_interpolate_refuses_bad_arguments(call, error, words):
    with pytest.raises(error) as info:
        call(tg.nn.functional)
    assert all(w in str(info.value) for w in words), str(info.value)


# ---- ConvTranspose1d/2d -------------------------------------------------------------------------

TRANSPOSED = [
    ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 5, 5)),
    ("ConvTranspose2d", (3, 4, (3, 2)), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 4, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": (2, 1), "groups": 2, "bias": False, "dilation": 2}, (1, 4, 3, 3)),
    ("ConvTranspose2d", (2, 3, 2), {"stride": 3, "output_padding": (2, 1)}, (2, 3, 3)),
    ("ConvTranspose1d", (3, 2, 4), {"stride": 2, "padding": 1}, (2, 3, 6)),
    ("ConvTranspose1d", (4, 4, 3), {"groups": 4, "output_padding": 1, "stride": 2}, (4, 5)),
]


@pytest.mark.parametrize("name, args, options, shape", TRANSPOSED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose_layers_match_torch(name, args, options, shape, dtype):
    """Values and the gradients of input, weight and bias, with torch's weights loaded; repr and shapes."""
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = getattr(torch.nn, name)(*args, **options).to(torch_dtype)
    ours = getattr(tg.nn, name)(*args, **options, dtype=dtype)
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in
                                                                   theirs.state_dict().items()}
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    ours_in, theirs_in = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y_ours, y_theirs = ours(ours_in), theirs(theirs_in)
    seed = rng.standard_normal(tuple(y_theirs.shape)).astype(dtype)
    (y_ours * tg.tensor(seed)).sum().backward()
    (y_theirs * torch.tensor(seed)).sum().backward()
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    for a, b in [(y_ours.detach().numpy(), y_theirs.detach().numpy()), (ours_in.grad.numpy(), theirs_in.grad.numpy()),
                 *((p.grad.numpy(), q.grad.numpy()) for p, q in zip(ours.parameters(), theirs.parameters()))]:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def test_conv_transpose_second_derivative():
    x = tg.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 3)), requires_grad=True)
    w = tg.tensor(np.random.default_rng(1).standard_normal((2, 2, 2, 2)), requires_grad=True)
    assert gradgradcheck(lambda a, b: tg.nn.functional.conv_transpose2d(a, b, stride=2, padding=1), [x, w])


def test_conv_transpose_refuses_bad_arguments():
    with pytest.raises(ValueError, match="output_padding"):
        tg.nn.functional.conv_transpose2d(tg.zeros(1, 2, 3, 3), tg.zeros(2, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(tg.ShapeError, match=r"conv_transpose2d.*\(3, 2, 3, 3\)"):
        tg.nn.functional.conv_transpose2d(tg.zeros(1, 2, 3, 3), tg.zeros(3, 2, 3, 3))
    with pytest.raises(ValueError, match=r"ConvTranspose2d.*C = 3"):
        tg.nn.ConvTranspose2d(3, 2, 3)(tg.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="padding_mode"):
        tg.nn.ConvTranspose2d(3, 2, 3, padding_mode="reflect")


# ---- more losses -------------------------------------------------------------------------------

_SIGNS = np.array([1.0, -1.0, -1.0, 1.0, 1.0])  # y = ±1 targets for five samples


def _more_losses(lib, reduction):
    """name: (the loss on lib's F, the input shapes); targets are fixed arrays made here."""
    F = lib.nn.functional
    signs = lib.tensor(_SIGNS)
    labels = lib.tensor((np.arange(15).reshape(5, 3) % 2).astype(np.float64))
    counts = lib.tensor(np.array([[0.0, 1.0, 3.0], [2.0, 5.0, 0.0], [1.0, 1.0, 7.0], [4.0, 0.0, 2.0], [9.0, 1.0, 0.0]]))
    return {
        "margin_ranking": (lambda a, b: F.margin_ranking_loss(a, b, signs.to(a.dtype), 0.3, reduction=reduction),
                           [(5,), (5,)]),
        "soft_margin": (lambda a: F.soft_margin_loss(a, signs.to(a.dtype), reduction=reduction), [(5,)]),
        "multilabel_soft_margin": (lambda a, w: F.multilabel_soft_margin_loss(a, labels.to(a.dtype), w.exp(),
                                                                            reduction=reduction), [(5, 3), (3,)]),
        "hinge_embedding": (lambda a: F.hinge_embedding_loss(a, signs.to(a.dtype), 0.5, reduction=reduction), [(5,)]),
        "cosine_embedding": (lambda a, b: F.cosine_embedding_loss(a, b, signs.to(a.dtype), 0.2, reduction=reduction),
                             [(5, 4), (5, 4)]),
        "triplet_margin": (lambda a, b, c: F.triplet_margin_loss(a, b, c, margin=2.0, reduction=reduction),
                           [(5, 4)] * 3),
        "triplet_margin_swap_p1": (lambda a, b, c: F.triplet_margin_loss(a, b, c, p=1.0, swap=True,
                                                                       reduction=reduction), [(5, 4)] * 3),
        "poisson_nll": (lambda a: F.poisson_nll_loss(a, counts.to(a.dtype), reduction=reduction), [(5, 3)]),
        "poisson_nll_full_rate": (lambda a: F.poisson_nll_loss(a.exp(), counts.to(a.dtype), log_input=False,
                                                               full=True, reduction=reduction), [(5, 3)]),
        "gaussian_nll": (lambda a, b, v: F.gaussian_nll_loss(a, b, v.exp(), reduction=reduction),
                         [(5, 3), (5, 3), (5, 3)]),
        "gaussian_nll_var_per_row_full": (lambda a, b, v: F.gaussian_nll_loss(a, b, v * v, full=True, eps=0.05,
                                                                             reduction=reduction),
                                          [(5, 3), (5, 3), (5,)]),
    }


@pytest.mark.parametrize("name", list(_more_losses(tg, "mean")))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_more_losses_match_torch(name, reduction, dtype):
    ours, shapes = _more_losses(tg, reduction)[name]
    theirs, _ = _more_losses(torch, reduction)[name]
    assert_matches_torch(ours, theirs, *shapes, dtype=dtype)


@pytest.mark.parametrize("name, options, call", [
    ("MarginRankingLoss", {"margin": 0.5}, lambda m, lib, x: m(x[0], x[1], lib.tensor(_SIGNS[:3]))),
    ("SoftMarginLoss", {"reduction": "sum"}, lambda m, lib, x: m(x[0], lib.tensor(_SIGNS[:3]))),
    ("MultiLabelSoftMarginLoss", {}, lambda m, lib, x: m(x, (x > 0).double())),
    ("HingeEmbeddingLoss", {"margin": 2.0}, lambda m, lib, x: m(x[0], lib.tensor(_SIGNS[:3]))),
    ("CosineEmbeddingLoss", {"margin": 0.1}, lambda m, lib, x: m(x, x.flip(0), lib.tensor(_SIGNS[:2]))),
    ("TripletMarginLoss", {"margin": 0.5, "swap": True}, lambda m, lib, x: m(x, x * 2, x.flip(1))),
    ("PoissonNLLLoss", {"full": True}, lambda m, lib, x: m(x, lib.tensor(np.full((2, 3), 3.0)))),
    ("GaussianNLLLoss", {"full": True}, lambda m, lib, x: m(x, x.flip(0), x.exp())),
])
def test_more_loss_modules_match_torch(name, options, call):
    ours, theirs = getattr(tg.nn, name)(**options), getattr(torch.nn, name)(**options)
    assert repr(ours) == repr(theirs)
    assert_matches_torch(lambda x: call(ours, tg, x), lambda x: call(theirs, torch, x), (2, 3))


def test_more_losses_refuse_bad_input():
    F = tg.nn.functional
    with pytest.raises(tg.ShapeError, match="cosine_embedding_loss"):
        F.cosine_embedding_loss(tg.zeros(2, 3), tg.zeros(3, 2), tg.ones(2))
    with pytest.raises(tg.ShapeError, match="triplet_margin_loss"):
        F.triplet_margin_loss(tg.zeros(2, 3), tg.zeros(2, 3), tg.zeros(2, 4))
    with pytest.raises(tg.ShapeError, match="gaussian_nll_loss"):
        F.gaussian_nll_loss(tg.zeros(2, 3), tg.zeros(2, 3), tg.ones(3, 2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(tg.zeros(2, 3), tg.zeros(2, 3), -tg.ones(2, 3))


# ---- scaled dot-product attention ----------------------------------------------------------------

_CAUSAL_SAFE_MASK = np.array([[True, False, True, True], [True, True, False, False], [False, True, True, True]])


@pytest.mark.parametrize("shapes, options", [
    (((3, 5), (4, 5), (4, 2)), {}),
    (((2, 3, 5), (2, 4, 5), (2, 4, 6)), {"scale": 0.3}),
    (((2, 2, 3, 4), (2, 2, 4, 4), (2, 2, 4, 4)), {"is_causal": True}),
    (((2, 3, 5), (2, 4, 5), (2, 4, 3)), {"attn_mask": "bool"}),
    (((2, 3, 5), (2, 4, 5), (2, 4, 3)), {"attn_mask": "float"}),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_scaled_dot_product_attention_matches_torch(shapes, options, dtype):
    def call(lib):
        opts = dict(options)
        if opts.get("attn_mask") == "bool":
            opts["attn_mask"] = lib.tensor(_CAUSAL_SAFE_MASK)
        elif opts.get("attn_mask") == "float":
            opts["attn_mask"] = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4).astype(dtype))
        return lambda q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, **opts)
    assert_matches_torch(call(tg), call(torch), *shapes, dtype=dtype)


def test_scaled_dot_product_attention_refuses_mismatched_shapes():
    with pytest.raises(tg.ShapeError, match="scaled_dot_product_attention"):
        tg.nn.functional.scaled_dot_product_attention(tg.zeros(3, 5), tg.zeros(4, 6), tg.zeros(4, 2))


@pytest.mark.parametrize("shape, output_size", POOLS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_max_pool2d_matches_torch(shape, output_size, dtype):
    assert_matches_torch(lambda x: tg.nn.AdaptiveMaxPool2d(output_size, return_indices=True)(x),
                         lambda x: torch.nn.AdaptiveMaxPool2d(output_size, return_indices=True)(x), shape, dtype=dtype)
    ties = np.random.default_rng(0).integers(0, 3, shape).astype(dtype)  # the gradient goes to the first maximum
    assert_matches_torch(lambda x: tg.nn.functional.adaptive_max_pool2d(x, output_size),
                         lambda x: torch.nn.functional.adaptive_max_pool2d(x, output_size), ties)


@pytest.mark.parametrize("shape, output_size", [((2, 3, 7), 3), ((3, 8), 4), ((1, 2, 3), 5)])
def test_adaptive_max_pool1d_matches_torch_with_nan(shape, output_size):
    x = np.random.default_rng(1).standard_normal(shape)
    x[..., 1] = np.nan
    assert_matches_torch(lambda t: tg.nn.AdaptiveMaxPool1d(output_size, return_indices=True)(t),
                         lambda t: torch.nn.AdaptiveMaxPool1d(output_size, return_indices=True)(t), x)
    assert repr(tg.nn.AdaptiveMaxPool1d(output_size)) == repr(torch.nn.AdaptiveMaxPool1d(output_size))


# ---- PReLU, Softmax2d, PixelShuffle / PixelUnshuffle ---------------------------------------------


@pytest.mark.parametrize("num_parameters, shape", [(1, (2, 3, 4)), (3, (2, 3, 4)), (3, (2, 3)), (1, (5,)), (1, ())])
@pytest.mark.parametrize("dtype", DTYPES)
def test_prelu_matches_torch(num_parameters, shape, dtype):
    """Values and the gradients of input and slopes (at 0 too: the negative side, as torch)."""
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x.reshape(-1)[:1] = 0.0
    slopes = np.linspace(0.1, 0.4, num_parameters).astype(dtype)
    assert_matches_torch(lambda t, a: tg.nn.functional.prelu(t, a), lambda t, a: torch.nn.functional.prelu(t, a),
                         x, slopes)
    assert repr(tg.nn.PReLU(num_parameters)) == repr(torch.nn.PReLU(num_parameters))
    np.testing.assert_array_equal(tg.nn.PReLU(num_parameters, 0.1).weight.detach().numpy(),
                                  torch.nn.PReLU(num_parameters, 0.1).weight.detach().numpy())


@pytest.mark.parametrize("shape, factor", [((1, 8, 2, 3), 2), ((2, 9, 2, 2), 3), ((4, 1, 1), 2)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pixel_shuffle_and_unshuffle_match_torch(shape, factor, dtype):
    assert_matches_torch(tg.nn.PixelShuffle(factor), torch.nn.PixelShuffle(factor), shape, dtype=dtype)
    big = (*shape[:-3], shape[-3] // factor**2, shape[-2] * factor, shape[-1] * factor)
    assert_matches_torch(tg.nn.PixelUnshuffle(factor), torch.nn.PixelUnshuffle(factor), big, dtype=dtype)
    assert repr(tg.nn.PixelShuffle(factor)) == repr(torch.nn.PixelShuffle(factor))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5)])
def test_softmax2d_matches_torch(shape):
    assert_matches_torch(tg.nn.Softmax2d(), torch.nn.Softmax2d(), shape)
    with pytest.raises(ValueError, match="Softmax2d"):
        tg.nn.Softmax2d()(tg.zeros(2, 3))


def test_prelu_and_pixel_shuffle_refuse_bad_shapes():
    for shape in [(2, 3), (4,)]:  # torch: RuntimeError for both (a 1-D input has one channel)
        with pytest.raises(tg.ShapeError, match="prelu"):
            tg.nn.functional.prelu(tg.zeros(*shape), tg.ones(4))
    with pytest.raises(tg.ShapeError, match="pixel_shuffle"):
        tg.nn.functional.pixel_shuffle(tg.zeros(1, 6, 2, 2), 2)
    with pytest.raises(tg.ShapeError, match="pixel_unshuffle"):
        tg.nn.functional.pixel_unshuffle(tg.zeros(1, 1, 3, 4), 2)


@pytest.mark.parametrize("call, error, words", [
    (lambda F: F.pixel_shuffle(tg.zeros(1, 4, 2, 2), 0), ValueError, "pixel_shuffle: upscale_factor .* 0"),
    (lambda F: F.pixel_unshuffle(tg.zeros(1, 4, 2, 2), 0), ValueError, "pixel_unshuffle: downscale_factor .* 0"),
    (lambda F: F.group_norm(tg.zeros(2, 4, 3), 0), ValueError, "group_norm: num_groups .* 0"),
    (lambda F: tg.nn.GroupNorm(0, 4), ValueError, "GroupNorm: .*num_groups=0"),
    (lambda F: F.adaptive_avg_pool2d(tg.zeros(1, 2, 3, 3), (2, 2, 2)), ValueError, r"adaptive_avg_pool2d.*\(2, 2, 2\)"),
    (lambda F: F.adaptive_max_pool2d(tg.zeros(1, 2, 3, 3), (2,)), ValueError, r"adaptive_max_pool2d.*\(2,\)"),
    (lambda F: F.scaled_dot_product_attention(tg.zeros(2, 3, 4), tg.zeros(2, 5, 4), tg.zeros(2, 5, 4),
                                              attn_mask=tg.tensor(np.ones((3, 4), dtype=bool))),
     tg.ShapeError, r"scaled_dot_product_attention: attn_mask of shape \(3, 4\)")])
def test_zero_factors_wrong_sizes_and_masks_raise_naming_the_function(call, error, words):
    with pytest.raises(error, match=words):
        call(tg.nn.functional)


# ---- MultiheadAttention ------------------------------------------------------------------------

_CAUSAL = np.triu(np.ones((3, 3), dtype=bool), 1)  # True: may not attend (MultiheadAttention's convention)
_PADDING = np.array([[False, False, True, False], [False, True, False, False]])


@pytest.mark.parametrize("case", ["self", "cross_batch_first", "unbatched", "causal_bool_mask",
                                  "padding_and_float_mask", "no_bias_per_head_weights"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_multihead_attention_matches_torch(case, dtype):
    """Output, attention weights and the gradients of query, key, value and every parameter, with
    torch's parameters loaded."""
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    options = {"batch_first": case == "cross_batch_first", "bias": case != "no_bias_per_head_weights"}
    theirs = torch.nn.MultiheadAttention(4, 2, **options).to(torch_dtype)
    ours = tg.nn.MultiheadAttention(4, 2, **options, dtype=dtype)
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(3)
    shapes = {"self": [(3, 2, 4)] * 3, "cross_batch_first": [(2, 3, 4), (2, 4, 4), (2, 4, 4)],
              "unbatched": [(3, 4), (4, 4), (4, 4)], "causal_bool_mask": [(3, 2, 4)] * 3,
              "padding_and_float_mask": [(3, 2, 4), (4, 2, 4), (4, 2, 4)],
              "no_bias_per_head_weights": [(3, 2, 4), (4, 2, 4), (4, 2, 4)]}[case]
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    float_mask = rng.standard_normal((4, 3, 4)).astype(dtype)  # (N·heads, L, S)

    def run(lib, module):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        kwargs = {"average_attn_weights": case != "no_bias_per_head_weights"}
        if case == "causal_bool_mask":
            kwargs["attn_mask"] = lib.tensor(_CAUSAL)
        if case == "padding_and_float_mask":
            kwargs.update(attn_mask=lib.tensor(float_mask), key_padding_mask=lib.tensor(_PADDING))
        out, weights = module(*inputs, **kwargs)
        (out * lib.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape).astype(dtype))).sum().backward()
        return [out.detach().numpy(), weights.detach().numpy(), *(t.grad.numpy() for t in inputs),
                *(p.grad.numpy() for p in module.parameters())]

    rtol = 1e-10 if dtype == np.float64 else 2e-5
    for a, b in zip(run(tg, ours), run(torch, theirs), strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def test_multihead_attention_refuses_what_it_does_not_support():
    with pytest.raises(ValueError, match="divisible"):
        tg.nn.MultiheadAttention(5, 2)
    with pytest.raises(NotImplementedError, match="kdim"):
        tg.nn.MultiheadAttention(4, 2, kdim=3)
    with pytest.raises(ValueError, match=r"MultiheadAttention.*\(3, 2, 5\)"):
        tg.nn.MultiheadAttention(4, 2)(tg.zeros(3, 2, 5), tg.zeros(3, 2, 5), tg.zeros(3, 2, 5))
    with pytest.raises(RuntimeError, match="is_causal"):
        tg.nn.MultiheadAttention(4, 2)(tg.zeros(3, 2, 4), tg.zeros(3, 2, 4), tg.zeros(3, 2, 4), is_causal=True)


@pytest.mark.parametrize("masks, words", [
    ({"key_padding_mask": np.zeros((2, 5), dtype=bool)}, r"key_padding_mask of shape \(2, 4\).*\(2, 5\)"),
    ({"attn_mask": np.zeros((3, 5), dtype=bool)}, r"attn_mask of shape \(3, 4\) or \(4, 3, 4\).*\(3, 5\)"),
    ({"attn_mask": np.zeros((3, 3, 4))}, r"attn_mask .*\(3, 3, 4\)")])
def test_multihead_attention_refuses_masks_of_the_wrong_shape_naming_them(masks, words):
    query, key = tg.zeros(3, 2, 4), tg.zeros(4, 2, 4)
    with pytest.raises(ValueError, match="MultiheadAttention: expected " + words):
        tg.nn.MultiheadAttention(4, 2)(query, key, key, **{k: tg.tensor(v) for k, v in masks.items()})


@pytest.mark.parametrize("options", [{}, {"norm_first": True, "activation": "gelu"}, {"batch_first": True},
                                     {"bias": False, "layer_norm_eps": 1e-3}])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_encoder_matches_torch(options, mode, dtype):
    """Two encoder layers and a final LayerNorm, torch's parameters loaded, dropout 0 (so train mode is
    deterministic), with a causal mask and key padding; output and every gradient (float64, float32)."""
    def build(lib):
        layer = lib.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, **options)
        extra = {} if lib is tg else {"enable_nested_tensor": False}
        model = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(4), **extra)
        return model.double() if dtype == np.float64 else model.float()
    theirs, ours = build(torch), build(tg)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    getattr(ours, mode)(), getattr(theirs, mode)()
    src = np.random.default_rng(4).standard_normal((2, 3, 4) if options.get("batch_first") else (3, 2, 4)).astype(dtype)
    causal = np.triu(np.ones((3, 3), dtype=bool), 1)
    padding = np.array([[False, False, True], [False, False, False]])

    def run(lib, model):
        x = lib.tensor(src, requires_grad=True)
        y = model(x, mask=lib.tensor(causal), src_key_padding_mask=lib.tensor(padding))
        (y * lib.tensor(np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(dtype))).sum().backward()
        return [y.detach().numpy(), x.grad.numpy(), *(p.grad.numpy() for p in model.parameters())]

    rtol, atol = (1e-9, 1e-10) if dtype == np.float64 else (2e-5, 2e-5)
    for a, b in zip(run(tg, ours), run(torch, theirs), strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
