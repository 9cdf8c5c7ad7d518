"""Module machinery: registration order, named_* walks, state_dict / load_state_dict (keys
as PyTorch, strict, wrong shapes), train/eval, zero_grad, buffers, apply, repr equal to
PyTorch's, hooks (forward, forward pre, full backward vs PyTorch), Sequential/ModuleList,
and nn.init / nn.utils."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

torch = pytest.importorskip("torch")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(2)])
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(8, 3, bias=False))
        self.scale = nn.Parameter(tg.ones(3))


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(8, 8) for _ in range(2)])
        self.head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(8, 3, bias=False))
        self.scale = torch.nn.Parameter(torch.ones(3))


def test_state_dict_keys_shapes_and_parameter_order_equal_torch():
    ours, theirs = Net(), TorchNet()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert isinstance(ours.scale, nn.Parameter) and ours.scale.requires_grad


def test_repr_equals_torch():
    assert repr(Net()).replace("Net(", "X(") == repr(TorchNet()).replace("TorchNet(", "X(")
    for ours, theirs in [
        (nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.2), nn.BatchNorm1d(3, momentum=None)),
         torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout(0.2), torch.nn.BatchNorm1d(3, momentum=None))),
        (nn.Conv2d(1, 2, (3, 2), stride=2, padding=1, dilation=2, bias=False),
         torch.nn.Conv2d(1, 2, (3, 2), stride=2, padding=1, dilation=2, bias=False)),
        (nn.Conv1d(2, 3, 3, padding="same"), torch.nn.Conv1d(2, 3, 3, padding="same")),
        (nn.LSTM(3, 4, 2, batch_first=True), torch.nn.LSTM(3, 4, 2, batch_first=True)),
        (nn.GRU(2, 3, bias=False, dropout=0.5, num_layers=2),
         torch.nn.GRU(2, 3, bias=False, dropout=0.5, num_layers=2)),
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)), (nn.AvgPool2d(3, 1, 1), torch.nn.AvgPool2d(3, 1, 1)),
        (nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3))), (nn.ModuleList([]), torch.nn.ModuleList([])),
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()), (nn.ReLU(), torch.nn.ReLU()),
    ]:
        assert repr(ours) == repr(theirs)


def test_torch_state_dict_loads_and_predicts_the_same():
    theirs, ours = TorchNet(), Net()
    theirs.bn.running_mean.uniform_(-1, 1)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)

    def run(m, x, flat):
        h = m.bn(m.conv(x))
        h = flat(h)[:, :8]
        for block in m.blocks:
            h = block(h)
        return m.head(h) * m.scale

    expected = run(theirs, torch.from_numpy(x), lambda t: t.flatten(1)).detach().numpy()
    np.testing.assert_allclose(run(ours, tg.tensor(x), lambda t: t.flatten(1)).data, expected, rtol=1e-5, atol=1e-6)


def test_load_state_dict_wrong_shape_names_key_and_both_shapes():
    m = nn.Linear(4, 3)
    sd = {"weight": np.zeros((3, 5), np.float32), "bias": np.zeros(3, np.float32)}
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape \(3, 5\) .*"
                                           r"the shape in current model is \(3, 4\)"):
        m.load_state_dict(sd)


def test_load_state_dict_strict_and_non_strict():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    sd = {k: v for k, v in m.state_dict().items() if k != "1.running_var"}
    sd["extra.weight"] = tg.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "1.running_var"'):
        m.load_state_dict(sd)
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "extra.weight"'):
        m.load_state_dict(sd)
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["extra.weight"]
    assert result == (["1.running_var"], ["extra.weight"])


def test_load_state_dict_copies_in_place_with_dtype_cast():
    m = nn.Linear(2, 2)
    weight = m.weight
    m.load_state_dict({"weight": tg.tensor(np.ones((2, 2))), "bias": np.arange(2.0)})  # float64 / Tensor inputs
    assert m.weight is weight and m.weight.dtype == np.float32
    np.testing.assert_array_equal(m.weight.data, 1.0)
    np.testing.assert_array_equal(m.bias.data, [0.0, 1.0])


def test_train_eval_zero_grad_buffers_apply_and_registration():
    m = Net()
    assert m.training and m.head[1].training
    m.eval()
    assert not m.training and not m.head[1].training and not m.bn.training
    m.train()
    assert m.bn.training
    out = m.blocks[0](tg.randn(2, 8)).sum()
    out.backward()
    assert m.blocks[0].weight.grad is not None
    m.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(m.blocks[0].weight.grad.data, 0.0)
    m.zero_grad()
    assert m.blocks[0].weight.grad is None
    m.register_buffer("steps", tg.zeros(1), persistent=False)
    m.register_buffer("kept", tg.zeros(2))
    assert "steps" not in m.state_dict() and "kept" in m.state_dict()
    assert "steps" in dict(m.named_buffers())
    m.register_parameter("extra", None)
    assert "extra" not in dict(m.named_parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen[0] == "Conv2d"
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = tg.ones(3)
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        _ = m.nope
    del m.head
    assert "head" not in dict(m.named_children())


def test_shared_parameter_listed_once():
    shared = nn.Linear(2, 2)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(m.parameters())) == 2


def test_sequential_and_module_list_behave_like_lists():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Linear)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    assert len(seq[:2]) == 2 and seq(tg.randn(4, 2)).shape == (4, 1)
    ml = nn.ModuleList([nn.Linear(1, 1)]).append(nn.Linear(1, 2))
    assert len(ml) == 2 and [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_double_and_float_convert_in_place():
    m = nn.Linear(2, 2)
    w = m.weight
    m.double()
    assert m.weight is w and w.dtype == np.float64
    assert m(tg.randn(1, 2, dtype=tg.float64)).dtype == np.float64


def test_module_to_device_as_pytorch_scripts_call_it():
    # model.to(device) with a torch.device, device=, or "cpu": the module itself, nothing converted
    m = nn.Linear(2, 2)
    for same in (m.to("cpu"), m.to(torch.device("cpu")), m.to(device="cpu"), m.cpu(), m.to("cpu:0")):
        assert same is m and m.weight.dtype == np.float32
    assert m.to(dtype=tg.float64) is m and m.weight.dtype == np.float64
    with pytest.raises(RuntimeError, match=r"Module\.to: device 'cuda:0' is not available"):
        m.to(torch.device("cuda:0"))


# ---- hooks --------------------------------------------------------------------------------------


def test_forward_hooks_see_and_replace_values():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append((args[0].data.copy(), out.shape)) or out + 1)
    x = tg.ones(1, 2)
    y = m(x)
    np.testing.assert_array_equal(calls[0][0], 2 * np.ones((1, 2)))
    np.testing.assert_allclose(y.data, (2 * x.data) @ m.weight.data.T + m.bias.data + 1, rtol=1e-6)
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(m(x).data, x.data @ m.weight.data.T + m.bias.data, rtol=1e-6)


def test_full_backward_hook_matches_torch():
    theirs = torch.nn.Linear(3, 2).double()
    ours = nn.Linear(3, 2).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    seen_t, seen_g = [], []
    theirs.register_full_backward_hook(lambda m, gi, go: seen_t.append((gi[0].numpy().copy(), go[0].numpy().copy())))
    ours.register_full_backward_hook(lambda m, gi, go: seen_g.append((gi[0].data.copy(), go[0].data.copy())))
    x = np.random.default_rng(0).standard_normal((4, 3))
    tx, gx = torch.tensor(x, requires_grad=True), tg.tensor(x, requires_grad=True)
    (theirs(tx) ** 2).sum().backward()
    (ours(gx) ** 2).sum().backward()
    assert len(seen_g) == 1
    np.testing.assert_allclose(seen_g[0][0], seen_t[0][0], rtol=1e-10)
    np.testing.assert_allclose(seen_g[0][1], seen_t[0][1], rtol=1e-10)
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-10)


def test_full_backward_hook_can_replace_grad_input():
    m = nn.Linear(3, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    x = tg.randn(2, 3, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 0.0)
    assert m.weight.grad is not None and np.abs(m.weight.grad.data).sum() > 0


# ---- init and utils ---------------------------------------------------------------------------------


def test_init_functions_statistics_and_seed():
    t = tg.zeros(400, 300)
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(t)
    assert (fan_in, fan_out) == (300, 400)
    assert nn.init._calculate_fan_in_and_fan_out(tg.zeros(4, 3, 5, 2)) == (30, 40)
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    cases = [
        (nn.init.xavier_uniform_, math.sqrt(2 / 700)),
        (nn.init.xavier_normal_, math.sqrt(2 / 700)),
        (nn.init.kaiming_uniform_, 1 / math.sqrt(300) * math.sqrt(2 / 1.0001)),
        (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 400)),
        (lambda t: nn.init.normal_(t, 0.0, 0.3), 0.3),
        (lambda t: nn.init.uniform_(t, -1, 1), 1 / math.sqrt(3)),
    ]
    for fn, std in cases:
        fn(t)
        assert abs(t.data.std() - std) < 0.02 * std
        assert t.dtype == np.float32
    bound = math.sqrt(6 / 700)
    nn.init.xavier_uniform_(t)
    assert np.abs(t.data).max() <= bound
    tg.manual_seed(5)
    a = nn.init.normal_(tg.zeros(3)).data.copy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(nn.init.normal_(tg.zeros(3)).data, a)
    np.testing.assert_array_equal(nn.init.constant_(tg.zeros(2), 0.5).data, 0.5)
    np.testing.assert_array_equal(nn.init.ones_(tg.zeros(2)).data, 1)
    np.testing.assert_array_equal(nn.init.zeros_(tg.ones(2)).data, 0)
    with pytest.raises(ValueError, match="at least 2 dims"):
        nn.init.xavier_uniform_(tg.zeros(3))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    grads = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate([(3, 2), (4,)])]
    ours = [nn.Parameter(tg.zeros(*g.shape, dtype=tg.float64)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(*g.shape, dtype=torch.float64)) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = tg.tensor(g.copy()), torch.tensor(g.copy())
    total_g = nn.utils.clip_grad_norm_(ours, 0.5, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
    np.testing.assert_allclose(total_g.item(), total_t.item(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_penalties():
    p = nn.Parameter(tg.tensor(np.array([[1.0, -2.0], [3.0, -4.0]])))
    p.grad = tg.tensor(np.array([[0.5, -3.0], [2.0, 0.1]]))
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.data, [[0.5, -1.0], [1.0, 0.1]])
    q = nn.Parameter(tg.tensor(np.array([0.5, -1.5])))
    l1 = nn.utils.l1_penalty([p, q])
    l2 = nn.utils.l2_penalty([p, q])
    assert l1.item() == pytest.approx(np.abs(p.data).sum() + np.abs(q.data).sum())  # Σ|θ|
    assert l2.item() == pytest.approx((p.data ** 2).sum() + (q.data ** 2).sum())  # Σθ²
    p.grad = None
    (l1 + l2).backward()
    np.testing.assert_allclose(p.grad.data, np.sign(p.data) + 2 * p.data)
