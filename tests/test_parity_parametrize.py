"""nn.utils.parametrize, nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal) and the
hook-based nn.utils.weight_norm / spectral_norm against PyTorch: the parametrized weight, the
gradients reaching the originals, the power-iteration buffers, state-dict keys and round trips,
and what remove_* leaves behind. Each module pair starts from the same weights (torch's, copied)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn.utils import parametrizations as tg_pz
from tinygrad_edu.nn.utils import parametrize as tg_p

torch = pytest.importorskip("torch")
tnn = torch.nn
t_p = torch.nn.utils.parametrize
t_pz = torch.nn.utils.parametrizations

@pytest.fixture(autouse=True)
def seeded():
    """torch's layers draw their initial weights: seed both sides so that every run checks the same cases."""
    torch.manual_seed(0)
    tg.manual_seed(0)


DTYPES = [(np.float64, torch.float64, 1e-10), (np.float32, torch.float32, 2e-5)]


def numpy_of(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def copy_into(target: tg.Tensor, source: torch.Tensor) -> None:
    target.data[...] = numpy_of(source)


def twin(torch_module: torch.nn.Module, tg_module: nn.Module) -> nn.Module:
    """``tg_module`` holding torch_module's parameters and buffers, by state-dict key."""
    tg_module.load_state_dict({k: numpy_of(v) for k, v in torch_module.state_dict().items()})
    return tg_module


def linear_pair(n_in: int, n_out: int, np_dtype, torch_dtype):
    tm = tnn.Linear(n_in, n_out).to(torch_dtype)
    return tm, twin(tm, nn.Linear(n_in, n_out, dtype=np_dtype))


def conv_pair(cls_torch, cls_tg, np_dtype, torch_dtype, *args):
    tm = cls_torch(*args).to(torch_dtype)
    return tm, twin(tm, cls_tg(*args, dtype=np_dtype))


def layer_pair(layer: str, n_in: int, n_out: int, np_dtype, torch_dtype):
    """torch's and our Linear, Conv2d or ConvTranspose2d (kernel 2) with the same weights."""
    if layer == "linear":
        return linear_pair(n_in, n_out, np_dtype, torch_dtype)
    classes = {"conv": (tnn.Conv2d, nn.Conv2d), "convT": (tnn.ConvTranspose2d, nn.ConvTranspose2d)}[layer]
    return conv_pair(*classes, np_dtype, torch_dtype, n_in, n_out, 2)


def close(a, b, tol: float) -> None:
    a = a.data if isinstance(a, tg.Tensor) else a
    b = numpy_of(b) if isinstance(b, torch.Tensor) else b.data if isinstance(b, tg.Tensor) else b
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def backward_through_weight(tm, m, seed: int = 0) -> None:
    """loss = Σ C ⊙ weight for the same random C: the gradient reaching the originals is Cᵀ·∂W/∂orig."""
    t_weight, weight = tm.weight, m.weight  # one read each: a read may run a power-iteration step
    C = np.random.default_rng(seed).standard_normal(weight.shape)
    (t_weight * torch.from_numpy(C).to(t_weight.dtype)).sum().backward()
    (weight * tg.Tensor(C.astype(weight.dtype))).sum().backward()


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class TSymmetric(tnn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class Scale(nn.Module):
    """A second parametrization in the chain (no right_inverse)."""

    def forward(self, X):
        return 2.0 * X


class TScale(tnn.Module):
    def forward(self, X):
        return 2.0 * X


class SplitSum(nn.Module):
    """right_inverse returns a tuple: two originals whose sum is the weight."""

    def forward(self, A, B):
        return A + B

    def right_inverse(self, W):
        return 0.25 * W, 0.75 * W


class TSplitSum(tnn.Module):
    def forward(self, A, B):
        return A + B

    def right_inverse(self, W):
        return 0.25 * W, 0.75 * W


# ---- parametrize ---------------------------------------------------------------------------------

@pytest.mark.parametrize("np_dtype,torch_dtype,tol", DTYPES)
def test_register_value_grads_keys_and_repr_match_torch(np_dtype, torch_dtype, tol):
    tm, m = linear_pair(4, 4, np_dtype, torch_dtype)
    original_param = m.weight
    t_p.register_parametrization(tm, "weight", TSymmetric())
    tg_p.register_parametrization(m, "weight", Symmetric())
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert tg_p.is_parametrized(m) and tg_p.is_parametrized(m, "weight") and not tg_p.is_parametrized(m, "bias")
    assert m.parametrizations.weight.original is original_param  # the same object, as torch keeps it
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert repr(m) == repr(tm).replace("TSymmetric", "Symmetric")
    close(m.parametrizations.weight.original, tm.parametrizations.weight.original, tol)
    close(m.weight, tm.weight, tol)
    assert m.weight.dtype == np_dtype
    x = np.random.default_rng(1).standard_normal((3, 4))
    close(m(tg.Tensor(x.astype(np_dtype))), tm(torch.from_numpy(x).to(torch_dtype)), tol)
    backward_through_weight(tm, m)
    close(m.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad, tol)
    assert m.bias.grad is None  # only the weight was used by the loss


def test_chain_unsafe_and_tuple_right_inverse_match_torch():
    tm, m = linear_pair(3, 3, np.float64, torch.float64)
    for register, mod, mods in ((t_p.register_parametrization, tm, (TSymmetric(), TScale())),
                                (tg_p.register_parametrization, m, (Symmetric(), Scale()))):
        for p in mods:
            register(mod, "weight", p)
    assert len(m.parametrizations.weight) == 2
    close(m.weight, tm.weight, 1e-12)
    # assigning the weight runs right_inverse through the chain; Scale has none -> torch's error
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        m.weight = tg.ones(3, 3, dtype=tg.float64)

    tm2, m2 = linear_pair(3, 5, np.float64, torch.float64)
    t_p.register_parametrization(tm2, "weight", TSplitSum())
    tg_p.register_parametrization(m2, "weight", SplitSum())
    assert list(m2.state_dict()) == list(tm2.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    close(m2.parametrizations.weight.original0, tm2.parametrizations.weight.original0, 1e-12)
    backward_through_weight(tm2, m2)
    close(m2.parametrizations.weight.original1.grad, tm2.parametrizations.weight.original1.grad, 1e-12)
    new = np.arange(15.0).reshape(5, 3)
    tm2.weight = torch.from_numpy(new)
    m2.weight = tg.Tensor(new)
    close(m2.parametrizations.weight.original1, tm2.parametrizations.weight.original1, 1e-12)
    close(m2.weight, new, 1e-12)


def test_assigning_a_value_of_another_dtype_raises_as_torch_for_one_or_several_originals():
    for t_param, param in ((TSymmetric, Symmetric), (TSplitSum, SplitSum)):
        tm, m = linear_pair(3, 3, np.float32, torch.float32)
        t_p.register_parametrization(tm, "weight", t_param())
        tg_p.register_parametrization(m, "weight", param())
        with pytest.raises(ValueError, match=r"has dtype torch\.float64 while `original0?` has dtype torch\.float32"):
            tm.weight = torch.ones(3, 3, dtype=torch.float64)
        with pytest.raises(ValueError, match=r"has dtype float64 while `original0?` has dtype float32"):
            m.weight = tg.ones(3, 3, dtype=tg.float64)
        close(m.weight, tm.weight, 0)  # neither changed


def test_assignment_calls_right_inverse_and_keeps_the_original_object():
    tm, m = linear_pair(3, 3, np.float64, torch.float64)
    t_p.register_parametrization(tm, "weight", TSymmetric())
    tg_p.register_parametrization(m, "weight", Symmetric())
    original = m.parametrizations.weight.original
    value = np.random.default_rng(2).standard_normal((3, 3))
    value = value + value.T
    tm.weight = torch.from_numpy(value)
    m.weight = tg.Tensor(value)
    m.weight = nn.Parameter(tg.Tensor(value))  # a Parameter goes through right_inverse too, not registered
    assert m.parametrizations.weight.original is original and "weight" not in m._parameters
    close(original, tm.parametrizations.weight.original, 1e-12)
    close(m.weight, value, 1e-12)


def test_deepcopy_of_a_parametrized_module_is_independent():
    import copy

    m = tg_p.register_parametrization(nn.Linear(3, 3, dtype=np.float64), "weight", Symmetric())
    twin_module = copy.deepcopy(m)
    twin_module.parametrizations.weight.original.data[...] = 0.0
    assert np.abs(m.weight.data).max() > 0 and np.abs(twin_module.weight.data).max() == 0
    close(m.weight, m.weight.data.T, 0)


def test_removing_a_parametrization_from_a_deepcopy_leaves_the_original_parametrized():
    """(torch's deepcopy shares the generated class, so there the removal deletes the original's
    property too and reading its weight raises AttributeError; here each copy has its own class.)"""
    import copy

    tm, m = linear_pair(3, 3, np.float64, torch.float64)
    t_p.register_parametrization(tm, "weight", TSymmetric())
    tg_p.register_parametrization(m, "weight", Symmetric())
    twin_module = tg_p.remove_parametrizations(copy.deepcopy(m), "weight")
    assert type(twin_module) is nn.Linear and type(m).__name__ == "ParametrizedLinear"
    assert tg_p.is_parametrized(m, "weight")
    close(m.weight, tm.weight, 1e-12)
    close(twin_module.weight, tm.weight, 1e-12)


def test_cached_computes_once_per_block():
    m = tg_p.register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    assert m.weight is not m.weight
    with tg_p.cached():
        first = m.weight
        with tg_p.cached():
            assert m.weight is first
        assert m.weight is first  # the inner block's exit keeps the outer cache
    assert m.weight is not first


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations_matches_torch(leave):
    tm, m = linear_pair(4, 4, np.float64, torch.float64)
    t_p.register_parametrization(tm, "weight", TSymmetric())
    tg_p.register_parametrization(m, "weight", Symmetric())
    original = m.parametrizations.weight.original
    t_p.remove_parametrizations(tm, "weight", leave_parametrized=leave)
    tg_p.remove_parametrizations(m, "weight", leave_parametrized=leave)
    assert type(m) is nn.Linear and "parametrizations" not in m._modules and m.weight is original
    assert isinstance(m.weight, nn.Parameter) and list(m.state_dict()) == list(tm.state_dict())
    close(m.weight, tm.weight, 1e-12)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        tg_p.remove_parametrizations(m, "weight")


class ToDouble(nn.Module):
    def forward(self, X):
        return 1.5 * X.double()


class TToDouble(tnn.Module):
    def forward(self, X):
        return 1.5 * X.double()


def test_remove_leaving_a_value_of_another_dtype_raises_as_torch():
    tm, m = linear_pair(3, 2, np.float32, torch.float32)
    t_p.register_parametrization(tm, "weight", TToDouble(), unsafe=True)
    tg_p.register_parametrization(m, "weight", ToDouble(), unsafe=True)
    with pytest.raises(RuntimeError, match="leave_parametrized=True"):  # (set_ cannot change the dtype)
        t_p.remove_parametrizations(tm, "weight")
    with pytest.raises(RuntimeError, match="dtype float32 to values of dtype float64"):
        tg_p.remove_parametrizations(m, "weight")
    assert tg_p.is_parametrized(m, "weight") and t_p.is_parametrized(tm, "weight")
    close(m.weight, tm.weight, 1e-6)


def test_remove_tuple_parametrization_needs_leave_parametrized():
    tm, m = linear_pair(3, 2, np.float64, torch.float64)
    t_p.register_parametrization(tm, "weight", TSplitSum())
    tg_p.register_parametrization(m, "weight", SplitSum())
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        tg_p.remove_parametrizations(m, "weight", leave_parametrized=False)
    t_p.remove_parametrizations(tm, "weight")
    tg_p.remove_parametrizations(m, "weight")
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    close(m.weight, tm.weight, 1e-12)


def test_state_dict_round_trip_with_torch():
    tm, m = linear_pair(4, 4, np.float32, torch.float32)
    t_p.register_parametrization(tm, "weight", TSymmetric())
    tg_p.register_parametrization(m, "weight", Symmetric())
    with torch.no_grad():
        tm.parametrizations.weight.original.mul_(3.0)
    m.load_state_dict({k: numpy_of(v) for k, v in tm.state_dict().items()})
    close(m.weight, tm.weight, 1e-6)
    back = tnn.Linear(4, 4)
    t_p.register_parametrization(back, "weight", TSymmetric())
    back.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    close(m.weight, back.weight, 1e-6)


@pytest.mark.parametrize("kind", ["symmetric", "weight_norm"])
def test_transfer_parametrizations_and_params_shares_the_originals_as_torch(kind):
    tm, m = linear_pair(3, 3, np.float64, torch.float64)
    if kind == "symmetric":
        t_p.register_parametrization(tm, "weight", TSymmetric())
        tg_p.register_parametrization(m, "weight", Symmetric())
    else:
        t_pz.weight_norm(tm)
        tg_pz.weight_norm(m)
    t_target, target = tnn.Linear(3, 3).double(), nn.Linear(3, 3, dtype=np.float64)
    t_p.transfer_parametrizations_and_params(tm, t_target)
    tg_p.transfer_parametrizations_and_params(m, target)
    assert list(target.state_dict()) == list(t_target.state_dict())
    for key, value in m.parametrizations.weight.named_parameters():
        assert getattr(target.parametrizations.weight, key) is value
    close(target.weight, t_target.weight, 1e-12)
    close(target.weight, m.weight, 0)


def test_register_errors_name_the_problem():
    m = nn.Linear(3, 4)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element with name"):
        tg_p.register_parametrization(m, "foo", Symmetric())

    class Shrink(nn.Module):
        def forward(self, X):
            return X[:1]

    with pytest.raises(ValueError, match="may not change the shape or dtype"):
        tg_p.register_parametrization(nn.Linear(3, 4), "weight", Shrink())
    shrunk = tg_p.register_parametrization(nn.Linear(3, 4), "weight", Shrink(), unsafe=True)
    assert shrunk.weight.shape == (1, 3)
    assert type(nn.Linear(3, 4)) is nn.Linear  # the generated class belongs to the instance only


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("table", tg.Tensor(np.arange(9.0).reshape(3, 3)))


class TWithBuffer(tnn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.arange(9.0, dtype=torch.float64).reshape(3, 3))


def test_a_buffer_can_be_parametrized_and_stays_a_buffer():
    tm = t_p.register_parametrization(TWithBuffer(), "table", TSymmetric())
    m = tg_p.register_parametrization(WithBuffer(), "table", Symmetric())
    assert list(m.state_dict()) == list(tm.state_dict()) == ["parametrizations.table.original"]
    assert not list(m.parameters()) and tg_p.type_before_parametrizations(m) is WithBuffer
    close(m.table, tm.table, 1e-12)
    tg_p.remove_parametrizations(m, "table")
    assert type(m) is WithBuffer and "table" in m._buffers


def test_a_second_safe_parametrization_must_keep_shape_and_dtype():
    m = tg_p.register_parametrization(nn.Linear(3, 3), "weight", Symmetric())

    class Transposed(nn.Module):
        def forward(self, X):
            return X[:2]

    with pytest.raises(ValueError, match="may not change the shape or dtype"):
        tg_p.register_parametrization(m, "weight", Transposed())
    assert len(m.parametrizations.weight) == 1


class Doubled(nn.Module):
    """A right_inverse that declines (NotImplementedError): registration still succeeds, as torch's."""

    def forward(self, X):
        return 2.0 * X

    def right_inverse(self, X):
        raise NotImplementedError


class TDoubled(tnn.Module):
    def forward(self, X):
        return 2.0 * X

    def right_inverse(self, X):
        raise NotImplementedError


def test_a_second_parametrization_whose_right_inverse_declines_is_registered_as_torch():
    tm, m = linear_pair(3, 3, np.float64, torch.float64)
    for _ in range(2):
        t_p.register_parametrization(tm, "weight", TDoubled())
        tg_p.register_parametrization(m, "weight", Doubled())
    assert len(m.parametrizations.weight) == len(tm.parametrizations.weight) == 2
    close(m.weight, tm.weight, 1e-12)


# ---- weight_norm -----------------------------------------------------------------------------------

@pytest.mark.parametrize("np_dtype,torch_dtype,tol", DTYPES)
@pytest.mark.parametrize("layer,dim", [("linear", 0), ("linear", 1), ("linear", None), ("conv", 0), ("conv", 2),
                                       ("conv", -2), ("convT", 1)])
def test_weight_norm_matches_torch(np_dtype, torch_dtype, tol, layer, dim):
    tm, m = layer_pair(layer, 5, 3, np_dtype, torch_dtype)
    t_pz.weight_norm(tm, dim=dim)
    tg_pz.weight_norm(m, dim=dim)
    assert list(m.state_dict()) == list(tm.state_dict())
    g, v = m.parametrizations.weight.original0, m.parametrizations.weight.original1
    assert g.shape == tuple(tm.parametrizations.weight.original0.shape) and g.dtype == np_dtype
    close(g, tm.parametrizations.weight.original0, tol)
    close(m.weight, tm.weight, tol)
    with torch.no_grad():  # move away from w = v so that g and v both matter
        tm.parametrizations.weight.original0.mul_(1.7)
    copy_into(g, tm.parametrizations.weight.original0)
    close(m.weight, tm.weight, tol)
    backward_through_weight(tm, m)
    close(g.grad, tm.parametrizations.weight.original0.grad, tol)
    close(v.grad, tm.parametrizations.weight.original1.grad, tol)


class Holder(nn.Module):
    def __init__(self, array):
        super().__init__()
        self.weight = nn.Parameter(tg.Tensor(array))


class THolder(tnn.Module):
    def __init__(self, array):
        super().__init__()
        self.weight = tnn.Parameter(torch.from_numpy(array.copy()))


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
@settings(max_examples=25)
def test_weight_norm_over_shapes_and_dims_matches_torch(shape, data):
    dim = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    array = np.random.default_rng(len(shape)).standard_normal(shape) + 0.1
    tm, m = t_pz.weight_norm(THolder(array), dim=dim), tg_pz.weight_norm(Holder(array), dim=dim)
    close(m.parametrizations.weight.original0, tm.parametrizations.weight.original0, 1e-12)
    close(m.weight, tm.weight, 1e-12)
    backward_through_weight(tm, m)
    close(m.parametrizations.weight.original0.grad, tm.parametrizations.weight.original0.grad, 1e-10)
    close(m.parametrizations.weight.original1.grad, tm.parametrizations.weight.original1.grad, 1e-10)


def test_weight_norm_remove_and_state_dict_round_trip():
    tm, m = linear_pair(4, 3, np.float64, torch.float64)
    t_pz.weight_norm(tm)
    tg_pz.weight_norm(m)
    with torch.no_grad():
        tm.parametrizations.weight.original0.mul_(0.5)
    m.load_state_dict({k: numpy_of(v) for k, v in tm.state_dict().items()})
    close(m.weight, tm.weight, 1e-12)
    t_p.remove_parametrizations(tm, "weight")
    tg_p.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and list(m.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
    close(m.weight, tm.weight, 1e-12)


def test_weight_norm_loads_a_state_dict_of_the_hook_based_form():
    old = tnn.Linear(4, 3).double()
    with pytest.warns(FutureWarning):
        tnn.utils.weight_norm(old)
    with torch.no_grad():
        old.weight_g.mul_(2.0)
    new = t_pz.weight_norm(tnn.Linear(4, 3).double())
    saved = old.state_dict()
    new.load_state_dict(saved)
    m = tg_pz.weight_norm(nn.Linear(4, 3, dtype=np.float64))
    given = {k: numpy_of(v) for k, v in saved.items()}
    m.load_state_dict(given)
    assert list(given) == ["bias", "weight_g", "weight_v"]  # the caller's dict is left as it was
    close(m.weight, new.weight, 1e-12)


# ---- spectral_norm ---------------------------------------------------------------------------------

def spectral_pair(layer: str, np_dtype, torch_dtype, **kwargs):
    tm, m = layer_pair(layer, 5 if layer == "linear" else 3, 4, np_dtype, torch_dtype)
    t_pz.spectral_norm(tm, **kwargs)
    tg_pz.spectral_norm(m, **kwargs)
    for name in ("_u", "_v"):  # the same starting vectors (each side drew its own at random)
        copy_into(getattr(m.parametrizations.weight[0], name), getattr(tm.parametrizations.weight[0], name))
    return tm, m


@pytest.mark.parametrize("np_dtype,torch_dtype,tol", DTYPES)
@pytest.mark.parametrize("layer,kwargs", [("linear", {}), ("linear", {"n_power_iterations": 3}),
                                          ("conv", {}), ("conv", {"dim": 1}), ("convT", {})])
def test_spectral_norm_power_iteration_and_grads_match_torch(np_dtype, torch_dtype, tol, layer, kwargs):
    tm, m = spectral_pair(layer, np_dtype, torch_dtype, **kwargs)
    assert list(m.state_dict()) == list(tm.state_dict())
    t_sn, sn = tm.parametrizations.weight[0], m.parametrizations.weight[0]
    for _ in range(4):  # every read in training mode is one more power-iteration step
        close(m.weight, tm.weight, tol)
    close(sn._u, t_sn._u, tol)
    close(sn._v, t_sn._v, tol)
    backward_through_weight(tm, m)
    close(m.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad, tol)


def test_double_float_train_and_eval_reach_originals_buffers_and_parametrizations_as_torch():
    tm, m = spectral_pair("conv", np.float32, torch.float32)
    for module in (tm, m):
        module.double().eval()
    chain = m.parametrizations.weight
    assert not chain[0].training and chain.original.dtype == chain[0]._u.dtype == chain[0]._v.dtype == np.float64
    close(m.weight, tm.weight, 1e-12)  # eval: σ from the converted buffers, no power iteration
    close(chain[0]._u, tm.parametrizations.weight[0]._u, 0)
    for module in (tm, m):
        module.float().train()
    weight = m.weight  # (each read in training mode is one power-iteration step)
    close(weight, tm.weight, 2e-5)
    assert weight.dtype == np.float32 and chain[0].training
    close(chain[0]._v, tm.parametrizations.weight[0]._v, 2e-5)


def test_spectral_norm_eval_keeps_the_buffers_and_sigma_is_the_top_singular_value():
    tm, m = spectral_pair("linear", np.float64, torch.float64, n_power_iterations=1)
    tm.eval()
    m.eval()
    u_before = m.parametrizations.weight[0]._u.data.copy()
    for _ in range(3):
        close(m.weight, tm.weight, 1e-12)
    np.testing.assert_array_equal(m.parametrizations.weight[0]._u.data, u_before)
    m.train()  # W with singular values 3, 1, 0.5, 0.2: the power iteration converges to sigma = 3
    rng = np.random.default_rng(10)
    U, V = np.linalg.qr(rng.standard_normal((4, 4)))[0], np.linalg.qr(rng.standard_normal((5, 4)))[0]
    m.parametrizations.weight.original.data[...] = U @ np.diag([3.0, 1.0, 0.5, 0.2]) @ V.T
    for _ in range(30):
        weight = m.weight
    assert np.linalg.norm(weight.data, 2) == pytest.approx(1.0, rel=1e-12)


def test_spectral_norm_of_a_vector_is_its_normalisation():
    tm, m = linear_pair(3, 4, np.float64, torch.float64)
    t_pz.spectral_norm(tm, name="bias")
    tg_pz.spectral_norm(m, name="bias")
    assert list(m.state_dict()) == list(tm.state_dict())  # no u, v buffers for a vector
    close(m.bias, tm.bias, 1e-12)
    close(np.linalg.norm(m.bias.data), 1.0, 1e-12)


def test_spectral_norm_state_dict_round_trip_and_errors():
    tm, m = spectral_pair("linear", np.float32, torch.float32)
    _ = tm.weight  # one more step on the torch side only: the loaded buffers must carry it
    m.load_state_dict({k: numpy_of(v) for k, v in tm.state_dict().items()})
    m.eval()
    tm.eval()
    close(m.weight, tm.weight, 1e-6)
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        tg_pz.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tg_pz.spectral_norm(nn.Linear(2, 2), dim=2)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'kernel'"):
        tg_pz.spectral_norm(nn.Linear(2, 2), name="kernel")


# ---- orthogonal ----------------------------------------------------------------------------------

def orthogonal_pair(shape, np_dtype, torch_dtype, **kwargs):
    """torch's module and ours with torch's original and base copied in (a non-square base is random)."""
    tm, m = linear_pair(shape[1], shape[0], np_dtype, torch_dtype)
    t_pz.orthogonal(tm, **kwargs)
    tg_pz.orthogonal(m, **kwargs)
    copy_into(m.parametrizations.weight.original, tm.parametrizations.weight.original)
    if hasattr(tm.parametrizations.weight[0], "base"):
        copy_into(m.parametrizations.weight[0].base, tm.parametrizations.weight[0].base)
    return tm, m


@pytest.mark.parametrize("np_dtype,torch_dtype,tol", DTYPES)
@pytest.mark.parametrize("shape,orthogonal_map", [((4, 4), None), ((5, 3), None), ((3, 5), None),
                                                  ((4, 4), "cayley"), ((5, 3), "matrix_exp"),
                                                  ((3, 5), "cayley"), ((4, 4), "householder")])
def test_orthogonal_matches_torch_after_a_step(np_dtype, torch_dtype, tol, shape, orthogonal_map):
    tm, m = orthogonal_pair(shape, np_dtype, torch_dtype, orthogonal_map=orthogonal_map)
    chosen = tm.parametrizations.weight[0].orthogonal_map.name
    assert m.parametrizations.weight[0].orthogonal_map == chosen
    assert list(m.state_dict()) == list(tm.state_dict())
    close(m.parametrizations.weight.original, -np.eye(*shape), 0)  # the trivialization starts at -I
    close(m.weight, tm.weight, tol)
    # move the original off -I as an optimiser would (the diagonal gets no gradient: householder reads
    # only its sign, the other maps cancel it in X - Xᵀ) and compare the map and its gradient there
    step = 0.3 * np.random.default_rng(3).standard_normal(shape) * (1 - np.eye(*shape))
    with torch.no_grad():
        tm.parametrizations.weight.original.add_(torch.from_numpy(step).to(torch_dtype))
    copy_into(m.parametrizations.weight.original, tm.parametrizations.weight.original)
    W = m.weight.data.astype(np.float64)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=10 * tol)
    close(m.weight, tm.weight, tol)
    backward_through_weight(tm, m)
    close(m.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad, 20 * tol)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_without_trivialization_matches_torch(shape):
    tm, m = linear_pair(shape[1], shape[0], np.float64, torch.float64)
    t_pz.orthogonal(tm, orthogonal_map="householder", use_trivialization=False)
    tg_pz.orthogonal(m, orthogonal_map="householder", use_trivialization=False)
    assert "base" not in m.parametrizations.weight[0]._buffers
    close(m.parametrizations.weight.original, tm.parametrizations.weight.original, 1e-10)  # geqrf's reflectors
    close(m.weight, tm.weight, 1e-10)
    backward_through_weight(tm, m)
    close(m.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad, 1e-10)


class Stack(nn.Module):
    """A batch of two 4 × 3 matrices as one parameter."""

    def __init__(self, dtype):
        super().__init__()
        self.weight = nn.Parameter(tg.zeros(2, 4, 3, dtype=dtype))


class TStack(tnn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.weight = tnn.Parameter(torch.randn(2, 4, 3, dtype=dtype))


@pytest.mark.parametrize("orthogonal_map", ["householder", "matrix_exp"])
def test_orthogonal_batch_of_matrices_matches_torch(orthogonal_map):
    tm, m = TStack(torch.float64), Stack(tg.float64)
    copy_into(m.weight, tm.weight)
    t_pz.orthogonal(tm, orthogonal_map=orthogonal_map)
    tg_pz.orthogonal(m, orthogonal_map=orthogonal_map)
    copy_into(m.parametrizations.weight[0].base, tm.parametrizations.weight[0].base)
    step = 0.2 * np.random.default_rng(7).standard_normal((2, 4, 3)) * (1 - np.eye(4, 3))
    with torch.no_grad():
        tm.parametrizations.weight.original.add_(torch.from_numpy(step))
    copy_into(m.parametrizations.weight.original, tm.parametrizations.weight.original)
    close(m.weight, tm.weight, 1e-10)
    backward_through_weight(tm, m)
    close(m.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad, 1e-9)


def test_orthogonal_assignment_and_errors():
    tm, m = orthogonal_pair((4, 4), np.float64, torch.float64)
    Q = np.linalg.qr(np.random.default_rng(4).standard_normal((4, 4)))[0]
    tm.weight = torch.from_numpy(Q)
    m.weight = tg.Tensor(Q)  # an orthogonal matrix becomes the new base; the original -I
    close(m.weight, tm.weight, 1e-12)
    close(m.parametrizations.weight[0].base, Q, 1e-12)
    with pytest.raises(ValueError, match=r"Expected a matrix or batch of matrices\. Got a tensor of 1 dimensions"):
        tg_pz.orthogonal(nn.Linear(2, 2), name="bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder"'):
        tg_pz.orthogonal(nn.Linear(2, 2), orthogonal_map="qr")
    m2 = tg_pz.orthogonal(nn.Linear(3, 3), orthogonal_map="matrix_exp", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="not possible to assign to the matrix exponential"):
        m2.weight = tg.eye(3)


# ---- the hook-based weight_norm / spectral_norm ---------------------------------------------------

def test_old_weight_norm_of_a_missing_parameter_raises_before_changing_the_module():
    """(torch raises a TypeError from norm_except_dim, after deleting the entry.)"""
    with pytest.raises(TypeError), pytest.warns(FutureWarning):
        tnn.utils.weight_norm(tnn.Linear(2, 2, bias=False), "bias")
    m = nn.Linear(2, 2, bias=False)
    with pytest.raises(ValueError, match="parameter `bias` is None"), pytest.warns(FutureWarning):
        nn.utils.weight_norm(m, "bias")
    assert [n for n, _ in m.named_parameters()] == ["weight"] and not m._forward_pre_hooks


@pytest.mark.parametrize("np_dtype,torch_dtype,tol", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_old_weight_norm_matches_torch(np_dtype, torch_dtype, tol, dim):
    tm, m = linear_pair(5, 3, np_dtype, torch_dtype)
    with pytest.warns(FutureWarning):
        tnn.utils.weight_norm(tm, dim=dim)
    with pytest.warns(FutureWarning, match="deprecated in favor of `tg.nn.utils.parametrizations.weight_norm`"):
        nn.utils.weight_norm(m, dim=dim)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    with torch.no_grad():
        tm.weight_g.mul_(1.3)
    copy_into(m.weight_g, tm.weight_g)
    x = np.random.default_rng(5).standard_normal((2, 5))
    ty, y = tm(torch.from_numpy(x).to(torch_dtype)), m(tg.Tensor(x.astype(np_dtype)))
    close(y, ty, tol)
    ty.sum().backward()
    y.sum().backward()
    close(m.weight_g.grad, tm.weight_g.grad, tol)
    close(m.weight_v.grad, tm.weight_v.grad, tol)
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"), pytest.warns(FutureWarning):
        nn.utils.weight_norm(m, dim=dim)
    tnn.utils.remove_weight_norm(tm)
    nn.utils.remove_weight_norm(m)
    assert list(m.state_dict()) == list(tm.state_dict()) and not m._forward_pre_hooks
    close(m.weight, tm.weight, tol)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        nn.utils.remove_weight_norm(m)


@pytest.mark.parametrize("np_dtype,torch_dtype,tol", DTYPES)
@pytest.mark.parametrize("layer", ["linear", "convT"])
def test_old_spectral_norm_matches_torch(np_dtype, torch_dtype, tol, layer):
    tm, m = layer_pair(layer, 5 if layer == "linear" else 3, 4, np_dtype, torch_dtype)
    x = np.random.default_rng(6).standard_normal((2, 5) if layer == "linear" else (2, 3, 4, 4))
    tnn.utils.spectral_norm(tm, n_power_iterations=2)
    nn.utils.spectral_norm(m, n_power_iterations=2)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert [n for n, _ in m.named_buffers()] == ["weight_u", "weight_v"]
    copy_into(m.weight_u, tm.weight_u)
    copy_into(m.weight_v, tm.weight_v)
    xt, xg = torch.from_numpy(x).to(torch_dtype), tg.Tensor(x.astype(np_dtype))
    for _ in range(3):
        ty, y = tm(xt), m(xg)
        close(y, ty, tol)
    close(m.weight_u, tm.weight_u, tol)
    close(m.weight_v, tm.weight_v, tol)
    ty.sum().backward()
    y.sum().backward()
    close(m.weight_orig.grad, tm.weight_orig.grad, tol)
    tm.eval()
    m.eval()
    close(m(xg), tm(xt), tol)
    tnn.utils.remove_spectral_norm(tm)
    nn.utils.remove_spectral_norm(m)
    assert list(m.state_dict()) == list(tm.state_dict()) and isinstance(m.weight, nn.Parameter)
    close(m.weight, tm.weight, tol)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found in"):
        nn.utils.remove_spectral_norm(m)
