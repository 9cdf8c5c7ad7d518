"""tg.compress pruning against torch.nn.utils.prune: masks, repeated pruning, training with
the masks held (SGD momentum, Adam, AdamW, all with weight decay), remove_pruning,
state dicts, the sparsity report and the sparse size.

Weights come from PyTorch's random initialisation, so there are no ties in |w| (the tie
rule is tested on its own)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.compress import prune_magnitude, remove_pruning, sparse_size_bytes, sparsity

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def twin_models(dtype=torch.float32, seed=0):
    """The same small CNN in torch and in tinygrad_edu, with identical weights."""
    torch.manual_seed(seed)
    reference = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                    torch.nn.Linear(4 * 6 * 6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 10)).to(dtype)
    ours = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 12), nn.ReLU(),
                         nn.Linear(12, 10)).to(str(dtype).removeprefix("torch."))
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return reference, ours


LAYERS = (0, 3, 5)


def torch_targets(model):
    return [(model[i], "weight") for i in LAYERS]


def assert_same_state(reference, ours, rtol=0.0, atol=0.0):
    ref_state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    our_state = {k: v.numpy() for k, v in ours.state_dict().items()}
    assert list(our_state) == list(ref_state)  # same names, same order: checkpoints move unchanged
    for key, value in ref_state.items():
        np.testing.assert_allclose(our_state[key], value, rtol=rtol, atol=atol, err_msg=key)
    for i in LAYERS:  # the weight the forward uses
        np.testing.assert_allclose(ours[i].weight.detach().numpy(), reference[i].weight.detach().numpy(),
                                   rtol=rtol, atol=atol)


@pytest.mark.parametrize("amounts", [(0.5,), (0.8,), (0.3, 0.5), (7, 0.25), (0.0,), (1.0,)])
def test_layer_scope_matches_l1_unstructured(amounts):
    reference, ours = twin_models()
    for amount in amounts:
        for module, name in torch_targets(reference):
            tprune.l1_unstructured(module, name, amount=amount)
        prune_magnitude(ours, amount, scope="layer")
    assert_same_state(reference, ours)


@pytest.mark.parametrize("amounts", [(0.5,), (0.8,), (0.4, 0.5), (100, 0.3), (1.0,)])
def test_global_scope_matches_global_unstructured(amounts):
    reference, ours = twin_models()
    for amount in amounts:
        tprune.global_unstructured(torch_targets(reference), pruning_method=tprune.L1Unstructured, amount=amount)
        prune_magnitude(ours, amount, scope="global")
    assert_same_state(reference, ours)


def test_layer_then_global_and_chosen_parameters_match_torch():
    reference, ours = twin_models()
    tprune.l1_unstructured(reference[3], "weight", amount=0.6)
    tprune.l1_unstructured(reference[3], "bias", amount=0.5)
    prune_magnitude(ours, 0.6, scope="layer", parameters=[(ours[3], "weight")])
    prune_magnitude(ours, 0.5, scope="layer", parameters=[(ours[3], "bias")])
    tprune.global_unstructured(torch_targets(reference), pruning_method=tprune.L1Unstructured, amount=0.5)
    prune_magnitude(ours, 0.5)
    assert_same_state(reference, ours)
    assert np.count_nonzero(ours[3].bias.detach().numpy() == 0) == 6


def test_masked_weight_is_what_the_forward_uses_and_gradients_match():
    reference, ours = twin_models(torch.float64)
    tprune.global_unstructured(torch_targets(reference), pruning_method=tprune.L1Unstructured, amount=0.7)
    prune_magnitude(ours, 0.7)
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    reference(torch.tensor(x)).square().sum().backward()
    (ours(tg.tensor(x)) ** 2).sum().backward()
    for i in LAYERS:
        grad = ours[i].weight_orig.grad.numpy()
        np.testing.assert_allclose(grad, reference[i].weight_orig.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert np.all(grad[ours[i].weight_mask.numpy() == 0] == 0)


OPTIMIZERS = [
    ("sgd momentum + weight decay", lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-2),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-2)),
    ("adam + weight decay", lambda p: optim.Adam(p, lr=0.01, weight_decay=1e-2),
     lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-2)),
    ("adamw", lambda p: optim.AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
]


@pytest.mark.parametrize("name,make_ours,make_torch", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_pruned_entries_stay_exactly_zero_while_training(name, make_ours, make_torch):
    reference, ours = twin_models(torch.float64)
    tprune.global_unstructured(torch_targets(reference), pruning_method=tprune.L1Unstructured, amount=0.6)
    prune_magnitude(ours, 0.6)
    masks = [ours[i].weight_mask.numpy().copy() for i in LAYERS]
    before = [ours[i].weight.detach().numpy().copy() for i in LAYERS]
    opt, torch_opt = make_ours(list(ours.parameters())), make_torch(list(reference.parameters()))
    rng = np.random.default_rng(1)
    for _ in range(6):
        x, y = rng.standard_normal((8, 1, 8, 8)), rng.integers(0, 10, 8)
        opt.zero_grad()
        tg.nn.functional.cross_entropy(ours(tg.tensor(x)), y).backward()
        opt.step()
        torch_opt.zero_grad()
        torch.nn.functional.cross_entropy(reference(torch.tensor(x)), torch.tensor(y)).backward()
        torch_opt.step()
    ours(tg.tensor(x))  # the pre-hooks recompute weight = weight_orig ⊙ mask (in both libraries)
    reference(torch.tensor(x))
    for i, mask, start in zip(LAYERS, masks, before):
        weight = ours[i].weight.detach().numpy()
        assert np.all(weight[mask == 0] == 0.0), f"{name}: a pruned weight of layer {i} came back"
        assert not np.allclose(weight[mask == 1], start[mask == 1]), "the kept weights did not train"
        np.testing.assert_array_equal(ours[i].weight_mask.numpy(), mask)
    assert_same_state(reference, ours, rtol=1e-9, atol=1e-12)


def test_remove_pruning_folds_masks_into_plain_parameters():
    reference, ours = twin_models()
    prune_magnitude(ours, 0.5)
    tprune.global_unstructured(torch_targets(reference), pruning_method=tprune.L1Unstructured, amount=0.5)
    originals = [ours[i].weight_orig for i in LAYERS]
    remove_pruning(ours)
    for module, name in torch_targets(reference):
        tprune.remove(module, name)
    assert_same_state(reference, ours)
    for i, original in zip(LAYERS, originals):
        layer = ours[i]
        assert isinstance(layer.weight, nn.Parameter) and layer.weight is original  # optimisers keep working
        assert "weight_orig" not in layer._parameters and "weight_mask" not in layer._buffers
        assert not layer._forward_pre_hooks
    assert remove_pruning(ours) is ours  # nothing left to remove: no error


def test_pruned_state_dict_saves_and_loads(tmp_path):
    _, ours = twin_models()
    prune_magnitude(ours, 0.7)
    path = tmp_path / "pruned.safetensors"
    tg.save(ours.state_dict(), path)
    _, fresh = twin_models(seed=1)
    prune_magnitude(fresh, 0.0)  # all-ones masks: the pruned structure, ready to load
    fresh.load_state_dict(tg.load(path))
    x = tg.tensor(np.random.default_rng(2).random((4, 1, 8, 8), dtype=np.float32))
    with tg.no_grad():
        np.testing.assert_array_equal(fresh(x).numpy(), ours(x).numpy())
    assert sparsity(fresh) == sparsity(ours)
    with pytest.raises(RuntimeError, match="weight_orig"):
        twin_models()[1].load_state_dict(tg.load(path))  # an unpruned model lacks the keys, as in PyTorch


def test_torch_pruned_checkpoint_loads_into_ours():
    reference, _ = twin_models()
    tprune.global_unstructured(torch_targets(reference), pruning_method=tprune.L1Unstructured, amount=0.6)
    _, ours = twin_models(seed=3)
    prune_magnitude(ours, 0.0)
    ours.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    x = np.random.default_rng(4).random((2, 1, 8, 8), dtype=np.float32)
    with tg.no_grad():
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), reference(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_sparsity_reports_each_weight_and_the_total():
    _, ours = twin_models()
    assert sparsity(ours) == {"0.weight": 0.0, "3.weight": 0.0, "5.weight": 0.0, "global": 0.0}
    prune_magnitude(ours, 0.3, scope="layer")
    prune_magnitude(ours, 0.5, scope="layer", parameters=[(ours[5], "bias")])
    report = sparsity(ours)
    weights = {f"{i}.weight": ours[i].weight.detach().numpy() for i in LAYERS}
    weights["5.bias"] = ours[5].bias.detach().numpy()
    assert list(report) == ["0.weight", "3.weight", "5.weight", "5.bias", "global"]
    for key, value in weights.items():
        assert report[key] == np.mean(value == 0)
    assert report["global"] == sum(np.sum(v == 0) for v in weights.values()) / sum(v.size for v in weights.values())
    assert report["3.weight"] == round(0.3 * 1728) / 1728  # Linear(144, 12)


def test_sparse_size_counts_bitmask_and_nonzero_values():
    _, ours = twin_models()
    dense = sum(t.numpy().nbytes for t in ours.state_dict().values())
    assert sparse_size_bytes(ours) == dense  # nothing pruned: all dense
    prune_magnitude(ours, 0.8)
    expected = sum(ours[i].bias.data.nbytes for i in LAYERS)
    for i in LAYERS:
        w = ours[i].weight.detach().numpy()
        expected += -(-w.size // 8) + 4 * np.count_nonzero(w)
    assert sparse_size_bytes(ours) == expected < dense / 3


@settings(max_examples=30, deadline=None)
@given(shape=st.sampled_from([(5,), (3, 4), (2, 3, 3)]), rate=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_layer_mask_is_the_rate_formula(shape, rate, seed):
    """Source document 000: zero the k = round(r·n) weights of smallest |w|, i.e. keep |w| > the k-th smallest."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    w = (rng.permutation(np.linspace(0.1, 1.0, n)) * rng.choice([-1.0, 1.0], n)).reshape(shape)  # distinct |w|
    layer = nn.Linear(1, 1)
    layer.weight = nn.Parameter(w)  # any parameter shape: the rule is elementwise over the flattened tensor
    prune_magnitude(layer, rate, scope="layer")
    k = round(rate * w.size)
    threshold = np.sort(np.abs(w).ravel())[k - 1] if k else -1.0
    np.testing.assert_array_equal(layer.weight_mask.numpy(), (np.abs(w) > threshold).astype(w.dtype))
    np.testing.assert_array_equal(layer.weight.detach().numpy(), np.where(np.abs(w) > threshold, w, 0.0))


def test_ties_prune_the_earliest_entries_first():
    layer = nn.Linear(3, 2, bias=False)
    layer.weight.data[...] = np.array([[0.5, -0.1, 0.1], [0.1, 2.0, -0.5]], dtype=np.float32)
    prune_magnitude(layer, 2, scope="layer")  # four entries tie at |w| = 0.1: the first two in row-major order go
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[1, 0, 0], [1, 1, 1]])


def test_bad_arguments_raise_clear_errors():
    _, ours = twin_models()
    with pytest.raises(ValueError, match="scope"):
        prune_magnitude(ours, 0.5, scope="row")
    with pytest.raises(ValueError, match=r"amount must be in \[0, 1\]"):
        prune_magnitude(ours, 1.5)
    with pytest.raises(TypeError, match="amount"):
        prune_magnitude(ours, "half")
    with pytest.raises(ValueError, match="cannot prune 5000 entries"):
        prune_magnitude(ours, 5000)
    with pytest.raises(ValueError, match="no Linear/Conv layers"):
        prune_magnitude(nn.Sequential(nn.ReLU()), 0.5)
    with pytest.raises(ValueError, match="no parameter 'kernel'"):
        prune_magnitude(ours, 0.5, parameters=[(ours[0], "kernel")])
    assert sparsity(ours)["global"] == 0.0  # nothing was half-applied
