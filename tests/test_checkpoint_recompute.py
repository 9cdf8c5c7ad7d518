"""tg.utils.checkpoint (use_reentrant=False): the tensors a segment sends gradients to are found
from the graph its recorded forward made, not by searching objects; activations are not kept;
the recomputation is checked against the forward (determinism_check); results equal torch's."""

from __future__ import annotations

import collections
import gc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.autograd.engine import AccumulateGrad, topological_order
from tinygrad_edu.utils.checkpoint import Checkpoint, checkpoint

torch = pytest.importorskip("torch")

TOLERANCES = {np.float64: {"rtol": 1e-12, "atol": 1e-13}, np.float32: {"rtol": 2e-5, "atol": 2e-6}}
LIBS = [(tg, checkpoint), (torch, torch.utils.checkpoint.checkpoint)]


def pair(array: np.ndarray) -> tuple[tg.Tensor, torch.Tensor]:
    return tg.tensor(array.copy(), requires_grad=True), torch.tensor(array.copy(), requires_grad=True)


def close(ours: tg.Tensor, theirs: torch.Tensor, dtype) -> None:
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOLERANCES[dtype])


class Slotted:
    """No __dict__ and not a Module: an object walk could not look inside it."""

    __slots__ = ("weight",)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensors_reached_only_through_opaque_objects_get_their_gradients(dtype):
    """A weight read through a __slots__ object, a bias read from a dict in a list, and an outside
    non-leaf tensor (computed before the call from a leaf) all get torch's gradients."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in [(5, 4), (4, 3), (3,), (3,)]]
    (x, xt), (w, wt), (b, bt), (s, st) = (pair(a) for a in arrays)
    holder, holder_t = Slotted(), Slotted()
    holder.weight, holder_t.weight = w, wt
    table, table_t = [{"bias": b}], [{"bias": bt}]
    scale, scale_t = s * 2.0, st * 2.0  # non-leaf, made outside the segment, also used outside it below

    def segment(h, tab, c):
        return lambda v: (v @ h.weight + tab[0]["bias"]).tanh() * c

    out = checkpoint(segment(holder, table, scale), x, use_reentrant=False)
    out_t = torch.utils.checkpoint.checkpoint(segment(holder_t, table_t, scale_t), xt, use_reentrant=False)
    close(out, out_t, dtype)
    ((out ** 2).sum() + scale.sum()).backward()
    ((out_t ** 2).sum() + scale_t.sum()).backward()
    for ours, theirs in [(x, xt), (w, wt), (b, bt), (s, st)]:
        close(ours.grad, theirs.grad, dtype)


def test_autograd_grad_reaches_the_parameters_of_a_checkpointed_model():
    """tg.autograd.grad w.r.t. the layers' weights (no .grad written), as torch.autograd.grad."""
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.LayerNorm(8), nn.Linear(8, 2)).double()
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.LayerNorm(8),
                                    torch.nn.Linear(8, 2)).double()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x, xt = pair(np.random.default_rng(2).standard_normal((6, 4)))
    params, params_t = list(model.parameters()), list(reference.parameters())
    grads = tg.autograd.grad((checkpoint(model, x, use_reentrant=False) ** 2).sum(), [x, *params])
    grads_t = torch.autograd.grad((torch.utils.checkpoint.checkpoint(reference, xt, use_reentrant=False) ** 2).sum(),
                                  [xt, *params_t])
    for ours, theirs in zip(grads, grads_t):
        close(ours, theirs, np.float64)
    assert all(p.grad is None for p in params)


def test_the_segment_keeps_no_activation():
    """After forward, every intermediate tensor of the segment is freed (weak references die), the
    output's graph is one Checkpoint node and the leaves, and the node saved only the input."""
    tg.manual_seed(3)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    intermediates: list[weakref.ref] = []

    def forward(v):
        for layer in model:
            v = layer(v)
            intermediates.append(weakref.ref(v.data))
        return v

    x = tg.randn(8, 16, requires_grad=True)
    out = checkpoint(forward, x, use_reentrant=False)
    assert len(intermediates) == 5 and out.data is intermediates[-1]()  # the output array itself is kept
    assert all(ref() is None for ref in intermediates[:-1])
    nodes = topological_order([out.grad_fn])
    assert [type(n) for n in nodes].count(Checkpoint) == 1
    assert sum(isinstance(n, AccumulateGrad) for n in nodes) == 1 + len(list(model.parameters()))
    assert len(nodes) == 2 + len(list(model.parameters()))
    saved = out.grad_fn._saved
    assert len(saved) == 1 and saved[0][1] is x  # (kind, tensor, version): the argument alone
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(("use_reentrant", "how"), [(False, "backward"), (True, "backward"), (False, "retained"),
                                                   (True, "retained"), (False, "grad of grad")])
def test_the_stand_ins_and_activations_are_freed_by_reference_counting(use_reentrant, how):
    """With the cyclic garbage collector off: the stand-ins the segment ran on (new leaves sharing
    the input activation's array) die once their graph does (forward's recording at once, the
    recomputation's at the end of backward), and the activation with the step's last reference;
    no garbage is left for the collector, after a backward, two with retain_graph, or a gradient
    of a gradient. (A leaf held its AccumulateGrad node, which holds the leaf: each stand-in, and
    with it the activation's array, waited for the cyclic collector.)"""
    tg.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    x = tg.randn(4, 6, requires_grad=True)
    received: list[weakref.ref] = []

    def segment(v):
        received.append(weakref.ref(v))
        return model(v)

    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        h = (x * 2.0).tanh()  # the activation the segment starts from
        activation = weakref.ref(h.data)
        out = checkpoint(segment, h, use_reentrant=use_reentrant)
        assert len(received) == 1 and received[0]() is (h if use_reentrant else None)  # (reentrant: h itself)
        loss = (out ** 2).sum()
        if how == "grad of grad":
            (gx,) = tg.autograd.grad(loss, [x], create_graph=True)
            (gx ** 2).sum().backward()
            del gx
        else:
            loss.backward(retain_graph=how == "retained")
            if how == "retained":
                loss.backward()
        assert len(received) > 1 and all(ref() is None for ref in received[1:])  # the recomputations'
        assert all(p.grad is not None for p in model.parameters()) and x.grad is not None
        del h, out, loss
        assert activation() is None
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_a_reference_cycle_inside_the_segment_is_not_mistaken_for_an_outside_tensor():
    """A node kept alive by a cycle (an op's ctx holding its own output) outlives the dropped
    recording until the garbage collector runs; checkpoint runs it, so the node is not taken for
    a tensor from outside: the Checkpoint node's edges are the input and the weight only."""
    w = tg.randn(3, 3, dtype=tg.float64, requires_grad=True)

    def segment(v):
        h = (v @ w).tanh()
        h.grad_fn.keep = h  # the cycle: node -> tensor -> node
        return h * h

    x = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    gc.disable()
    try:
        out = checkpoint(segment, x, use_reentrant=False)
    finally:
        gc.enable()
    assert len(out.grad_fn.next_functions) == 2
    out.sum().backward()
    expected = tg.autograd.grad(segment(x).sum(), [x, w])
    np.testing.assert_allclose(x.grad.numpy(), expected[0].numpy(), rtol=1e-14)
    np.testing.assert_allclose(w.grad.numpy(), expected[1].numpy(), rtol=1e-14)


def test_an_argument_also_read_from_the_closure_gets_both_gradients():
    w = tg.randn(3, 3, dtype=tg.float64, requires_grad=True)
    x = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    out = checkpoint(lambda a, v: (v @ a) @ w, w, x, use_reentrant=False)  # w as argument and from the closure
    out.sum().backward()
    expected = tg.autograd.grad(((x @ w) @ w).sum(), [w])[0]
    np.testing.assert_allclose(w.grad.numpy(), expected.numpy(), rtol=1e-13)


@pytest.mark.parametrize("create_graph", [False, True])
def test_weight_shared_across_the_boundary(create_graph):
    """The segment uses w and tensors computed outside from w (one read from the closure, one the
    argument): each path's gradient counted once, first and second order, as torch's. (The
    segment's grad stops at the boundary tensors; it used to walk on into the outer graph.)"""
    rng = np.random.default_rng(7)
    (w, wt), (x, xt) = pair(rng.standard_normal(3)), pair(rng.standard_normal(3))
    results = []
    for ck, p, v, grad in [(checkpoint, w, x, tg.autograd.grad), (torch.utils.checkpoint.checkpoint, wt, xt,
                                                                   torch.autograd.grad)]:
        doubled = (p * 2.0).sin()
        out = ck(lambda a, p=p, d=doubled: (a * p * d).tanh(), v * p, use_reentrant=False)
        loss = (out ** 2).sum() + doubled.sum()
        if create_graph:
            gw, gx = grad(loss, [p, v], create_graph=True)
            ((gw ** 2).sum() + (gx ** 3).sum()).backward()
        else:
            loss.backward()
        results.append((p.grad, v.grad))
    for ours, theirs in zip(*results):
        close(ours, theirs, np.float64)


def test_hooks_of_the_tensors_the_segment_uses_run_once():
    """A hook on a parameter and on an outside non-leaf tensor the segment reads (scaling the
    gradient by 10) runs once per backward, as torch's (it ran in the segment's grad and again in
    the outer backward: the gradient came out 100 times larger)."""
    rng = np.random.default_rng(8)
    (w, wt), (u, ut), (x, xt) = (pair(rng.standard_normal(3)) for _ in range(3))
    results = []
    for ck, p, q, v in [(checkpoint, w, u, x), (torch.utils.checkpoint.checkpoint, wt, ut, xt)]:
        calls = []
        p.register_hook(lambda g, calls=calls: calls.append("leaf") or g * 10.0)
        shifted = q + 1.0
        shifted.register_hook(lambda g, calls=calls: calls.append("non-leaf") or g * 10.0)
        ck(lambda a, p=p, s=shifted: (a * p * s).sin(), v, use_reentrant=False).sum().backward()
        results.append((p.grad, q.grad, v.grad, sorted(calls)))
    assert results[0][3] == results[1][3] == ["leaf", "non-leaf"]
    for ours, theirs in zip(results[0][:3], results[1][:3]):
        close(ours, theirs, np.float64)


def test_determinism_check_compares_the_recomputed_ops():
    calls = []

    def changing(v):  # runs exp in forward, sin in the recomputation: same shapes, another function
        calls.append(1)
        return v.exp() if len(calls) % 2 else v.sin()

    x = tg.randn(4, dtype=tg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"differs from its forward pass.*op 0: \('ExpBackward0'"):
        checkpoint(changing, x, use_reentrant=False).sum().backward()
    calls.clear()
    checkpoint(changing, x, use_reentrant=False, determinism_check="none").sum().backward()  # not checked
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.detach().numpy()), rtol=1e-15)

    calls.clear()

    def growing(v):  # one more op each call
        calls.append(1)
        for _ in range(len(calls)):
            v = v * 2.0
        return v

    with pytest.raises(RuntimeError, match="forward ran 1 ops, the recomputation 2"):
        checkpoint(growing, x, use_reentrant=False).sum().backward()


def test_grad_of_grad_through_a_closure_over_an_outside_tensor():
    """create_graph=True through a segment reading a non-leaf outside tensor: second derivatives
    equal the plain function's."""
    rng = np.random.default_rng(5)
    w = tg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    x = tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    got = []
    for run in ("plain", "checkpoint"):
        shifted = w + 1.0  # outside the segment, non-leaf

        def f(v, m=shifted):
            return (v @ m).tanh()

        y = f(x) if run == "plain" else checkpoint(f, x, use_reentrant=False)
        gx, gw = tg.autograd.grad((y ** 2).sum(), [x, w], create_graph=True)
        got.append([gx.detach().numpy(), gw.detach().numpy(),
                    *(g.numpy() for g in tg.autograd.grad((gx ** 2).sum() + gw.sum(), [w, x]))])
    for a, b in zip(*got):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


def test_a_tensor_used_only_by_the_recomputation_is_an_error():
    """Forward used w1, the recomputation w2: w2 would silently get no gradient; backward raises."""
    w1, w2 = (tg.randn(3, dtype=tg.float64, requires_grad=True) for _ in range(2))
    calls = []

    def switching(v):
        calls.append(1)
        return v * (w1 if len(calls) == 1 else w2)

    out = checkpoint(switching, tg.randn(3, dtype=tg.float64), use_reentrant=False, determinism_check="none")
    with pytest.raises(RuntimeError, match=r"used a tensor that requires grad \(shape \(3,\)\) that its forward"):
        out.sum().backward()


def test_nested_checkpoints_and_tensor_keyword_arguments_match_the_plain_run():
    tg.manual_seed(4)
    inner_layer, outer_layer = nn.Linear(3, 3).double(), nn.Linear(3, 3).double()
    x = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    shift = tg.randn(3, dtype=tg.float64, requires_grad=True)

    def inner(v, *, offset):
        return (inner_layer(v) + offset).tanh()

    def outer(v, offset):
        return outer_layer(checkpoint(inner, v, use_reentrant=False, offset=offset)).sin()

    tensors = [x, shift, *inner_layer.parameters(), *outer_layer.parameters()]
    expected = tg.autograd.grad((outer(x, shift) ** 2).sum(), tensors)
    got = tg.autograd.grad((checkpoint(outer, x, shift, use_reentrant=False) ** 2).sum(), tensors)
    for a, b in zip(expected, got):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-13)


@pytest.mark.parametrize("create_graph", [False, True])
def test_function_returning_an_argument_or_an_outside_tensor_unchanged(create_graph):
    """An output that is an argument, or a parameter the function returns as it is, passes its
    gradient on (no op of the segment lies between them), first and second order, as torch."""
    rng = np.random.default_rng(3)
    (x, xt), (w, wt) = pair(rng.standard_normal(4)), pair(rng.standard_normal(4))
    results = []
    for ck, v, p, grad in [(checkpoint, x, w, tg.autograd.grad), (torch.utils.checkpoint.checkpoint, xt, wt,
                                                                     torch.autograd.grad)]:
        same = ck(lambda a: a, v, use_reentrant=False)
        kept, doubled = ck(lambda a, p=p: (p, a * 2.0), v, use_reentrant=False)
        loss = (same ** 3).sum() + (kept ** 2 * doubled).sum()
        if create_graph:
            gx, gw = grad(loss, [v, p], create_graph=True)
            ((gx ** 2).sum() + (gw ** 2).sum()).backward()
        else:
            loss.backward()
        results.append((v.grad, p.grad))
    for ours, theirs in zip(results[0], results[1]):
        close(ours, theirs, np.float64)


def unchanged_tensors(lib, dtype=np.float64) -> dict:
    """x (requires grad), m (an argument without grad), a parameter w, a constant c and an
    outside non-leaf z = 2w: what a function may return as it is."""
    rng = np.random.default_rng(12)
    x, w = (lib.tensor(rng.standard_normal(3).astype(dtype), requires_grad=True) for _ in range(2))
    return {"x": x, "m": lib.tensor(rng.standard_normal(3).astype(dtype)), "w": w,
            "c": lib.tensor(rng.standard_normal(3).astype(dtype)), "z": w * 2.0}


def returning_them_unchanged(lib, named):
    """The function: each tensor of ``named`` as it is (x twice), beside values it computes (one
    from the argument, w and z, which so also reach the segment's graph; a detached one; a leaf
    requiring grad)."""
    w, c, z = named["w"], named["c"], named["z"]
    return lambda a, m: (a, m, w, c, z, a, a * w * z, (a * 2.0).detach(), lib.ones(3, requires_grad=True))


@pytest.mark.parametrize("grad_mode", [True, False])
def test_tensors_returned_unchanged_come_back_as_themselves(grad_mode):
    """Without reentrance torch's checkpoint returns what the function returned: a tensor it did
    not compute (an argument, with or without grad, twice; a parameter; a constant; an outside
    non-leaf) is that very tensor, in grad mode and under no_grad (there the plain call), and its
    autograd state is untouched. Ours too (here the segment's computed outputs are new tensors, of
    the Checkpoint node, where torch's have the recorded ops' nodes: compared are which tensor
    each output is, and whether it requires grad and is a leaf)."""
    seen = []
    for lib, ck in LIBS:
        named = unchanged_tensors(lib)
        state = {name: (t.requires_grad, t.grad_fn) for name, t in named.items()}
        with lib.enable_grad() if grad_mode else lib.no_grad():
            outputs = ck(returning_them_unchanged(lib, named), named["x"], named["m"], use_reentrant=False)
        seen.append([(next((name for name, t in named.items() if t is out), "new"), out.requires_grad,
                      out.grad_fn is None) for out in outputs])
        assert state == {name: (t.requires_grad, t.grad_fn) for name, t in named.items()}
    assert seen[0] == seen[1]
    assert [name for name, *_ in seen[0]] == ["x", "m", "w", "c", "z", "x", "new", "new", "new"]


def test_a_non_leaf_argument_or_a_nested_checkpoints_argument_returned_unchanged():
    """The stand-in the segment ran on gives back the argument itself also when the argument is
    a non-leaf (its gradient goes on through its graph) and through two nested checkpoints, as
    torch's; the gradients are torch's."""
    results = []
    for lib, ck in LIBS:
        x = lib.tensor(np.random.default_rng(13).standard_normal(3), requires_grad=True)
        doubled = x * 2.0
        same, computed = ck(lambda a: (a, a.sin()), doubled, use_reentrant=False)
        nested_same, nested_computed = ck(lambda a, ck=ck: ck(lambda b: (b, b * b), a, use_reentrant=False), x,
                                          use_reentrant=False)
        assert same is doubled and nested_same is x
        (same * 3.0 + computed + nested_same * 5.0 + nested_computed).sum().backward()
        results.append(x.grad)
    close(*results, np.float64)


def gradients_and_hook_calls(lib, ck, dtype, arguments_only=False, use_reentrant=False) -> list[tuple]:
    """Run ``returning_them_unchanged`` (through ``ck``, or plainly if None; only the outputs that
    are arguments or computed from them if ``arguments_only``), backpropagate a loss using every
    output; return x's and w's gradients, then the hooks' calls on x, w and z by name: (name, g)."""
    named, calls = unchanged_tensors(lib, dtype), []
    for name in "xwz":
        named[name].register_hook(lambda g, name=name: calls.append((name, g.detach().numpy())))
    function, weights = returning_them_unchanged(lib, named), [2.0, 0.0, 3.0, 0.0, -1.0, 5.0, 1.0, 0.0, 0.0]
    if arguments_only:
        kept = [0, 1, 5, 6]
        function, weights = (lambda a, m, f=function: tuple(f(a, m)[i] for i in kept)), [weights[i] for i in kept]
    args = named["x"], named["m"]
    outputs = ck(function, *args, use_reentrant=use_reentrant) if ck else function(*args)
    sum((out * k).sum() for out, k in zip(outputs, weights) if k).backward()
    grads = [(name, named[name].grad.detach().numpy()) for name in "xw"]
    return grads + sorted(calls, key=lambda call: call[0])


def assert_same_gradients(ours: list[tuple], theirs: list[tuple], dtype) -> None:
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (_, a), (_, b) in zip(ours, theirs):
        np.testing.assert_allclose(a, b, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("use_reentrant", [False, True])
def test_gradients_and_hooks_of_tensors_returned_unchanged(use_reentrant, dtype):
    """A loss using every output: the gradients of x and w and the calls of x's, w's and z's
    hooks (each once, with its gradient) are the plain call's, in both variants; without
    reentrance torch's too (with it, torch hangs: see
    test_reentrant_returns_new_tensors_where_torch_rewrites_the_history)."""
    ours = gradients_and_hook_calls(tg, checkpoint, dtype, use_reentrant=use_reentrant)
    assert [name for name, _ in ours] == ["x", "w", "w", "x", "z"]
    assert_same_gradients(ours, gradients_and_hook_calls(tg, None, dtype), dtype)
    if not use_reentrant:
        assert_same_gradients(ours, gradients_and_hook_calls(torch, torch.utils.checkpoint.checkpoint, dtype), dtype)


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_reentrant_returns_new_tensors_where_torch_rewrites_the_history():
    """With reentrance every output is a new tensor, the Checkpoint node's. Torch's too for an
    argument (a view of it per output: x twice gives two tensors), with the same gradients and
    hook calls, and the output (a non-leaf) has no .grad. A tensor the function was not given,
    returned as it is, torch returns as itself after rewriting its history in place (measured,
    2.13.0): in grad mode it becomes an output of the checkpoint node (a parameter stops being a
    leaf; backward then re-enters that node without end: it hangs), under no_grad it is detached
    (a parameter stops requiring grad). Ours leaves those tensors as they were and gives them the
    plain call's gradients (test_gradients_and_hooks_of_tensors_returned_unchanged)."""
    for dtype in (np.float64, np.float32):
        ours = gradients_and_hook_calls(tg, checkpoint, dtype, arguments_only=True, use_reentrant=True)
        theirs = gradients_and_hook_calls(torch, torch.utils.checkpoint.checkpoint, dtype, arguments_only=True,
                                          use_reentrant=True)
        assert_same_gradients(ours, theirs, dtype)
    for grad_mode in (True, False):
        identities, states = [], []
        for lib, ck in LIBS:
            named = unchanged_tensors(lib)
            with lib.enable_grad() if grad_mode else lib.no_grad():
                outputs = ck(returning_them_unchanged(lib, named), named["x"], named["m"], use_reentrant=True)
            assert outputs[0] is not outputs[5] and outputs[0].grad is None
            identities.append([next((name for name, t in named.items() if t is out), "new") for out in outputs])
            states.append([(named[name].requires_grad, named[name].is_leaf) for name in "wcz"])
        assert identities[0] == ["new"] * 9
        assert identities[1] == ["new", "new", "w", "c", "z", "new", "new", "new", "new"]
        assert states[0] == [(True, True), (False, True), (True, False)]  # as they were
        assert states[1] == ([(True, False)] * 3 if grad_mode else [(False, True)] * 3)


def test_intermediate_tensors_the_function_keeps_a_reference_to():
    """A forward hook that stores a layer's output, and a list the function appends an
    intermediate to, keep nodes of the recording alive: they are still the segment's (they lead
    to its other nodes), so the gradients and the determinism check are as without them (torch)."""
    rng = np.random.default_rng(4)
    (x, xt), (w, wt), (b, bt) = (pair(rng.standard_normal(s)) for s in [(2, 4), (3, 4), (3,)])
    layer, layer_t = nn.Linear(4, 3, dtype=tg.float64), torch.nn.Linear(4, 3, dtype=torch.float64)
    layer.weight, layer.bias = nn.Parameter(w), nn.Parameter(b)
    layer_t.weight, layer_t.bias = torch.nn.Parameter(wt), torch.nn.Parameter(bt)
    for module in (layer, layer_t):
        module.register_forward_hook(lambda _module, _args, out, seen=[]: seen.append(out))
    kept, kept_t = [], []

    def segment(lin, kept):
        return lambda v: (kept.append(v * 2.0) or kept[-1]).exp() + lin(v).tanh().sum()

    checkpoint(segment(layer, kept), x, use_reentrant=False).sum().backward()
    torch.utils.checkpoint.checkpoint(segment(layer_t, kept_t), xt, use_reentrant=False).sum().backward()
    for ours, theirs in [(x, xt), (layer.weight, layer_t.weight), (layer.bias, layer_t.bias)]:
        close(ours.grad, theirs.grad, np.float64)


def test_outputs_computed_without_grad_do_not_require_it():
    """As torch's: an output the function computes from detached values does not require grad,
    alone or next to one that does; the gradients through the other are unchanged."""
    rng = np.random.default_rng(5)
    x, xt = pair(rng.standard_normal(3))
    both = [ck(lambda v: (v.exp(), v.detach() * 2.0), v, use_reentrant=False)
            for ck, v in [(checkpoint, x), (torch.utils.checkpoint.checkpoint, xt)]]
    alone = [ck(lambda v: v.detach() * 2.0, v, use_reentrant=False)
             for ck, v in [(checkpoint, x), (torch.utils.checkpoint.checkpoint, xt)]]
    assert [o.requires_grad for o in both[0]] == [o.requires_grad for o in both[1]] == [True, False]
    assert alone[0].requires_grad is alone[1].requires_grad is False
    (both[0][0].sum() + both[0][1].sum()).backward()
    (both[1][0].sum() + both[1][1].sum()).backward()
    close(x.grad, xt.grad, np.float64)


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_a_returned_tuple_may_hold_other_values(use_reentrant):
    """(output, None, a number) as a transformer layer returns it: the other items come back as
    they are, the gradients are torch's."""
    rng = np.random.default_rng(6)
    (x, xt), (w, wt) = pair(rng.standard_normal((2, 3))), pair(rng.standard_normal((3, 3)))
    results = []
    for ck, v, p in [(checkpoint, x, w), (torch.utils.checkpoint.checkpoint, xt, wt)]:
        out = ck(lambda a, p=p: (None, (a @ p).tanh(), 7, a.sin()), v, use_reentrant=use_reentrant)
        assert out[0] is None and out[2] == 7 and len(out) == 4
        (out[1].sum() + (out[3] ** 2).sum()).backward()
        results.append((v.grad, p.grad))
    for ours, theirs in zip(*results):
        close(ours, theirs, np.float64)


Pair = collections.namedtuple("Pair", "tensor number")


def nested_outputs(t, p):
    return (t * 2.0, [(t @ p).tanh(), None], {"k": (t.sin(), 5)}, Pair(t * p[0], 1))


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_outputs_in_lists_dicts_and_nested_tuples(use_reentrant):
    """The structure comes back as the function returned it, as torch's does: without reentrance
    every Tensor in it is an output; with it, only a returned tuple's Tensors (a returned
    namedtuple becomes a tuple), the others computed without grad. Gradients are torch's."""
    rng = np.random.default_rng(8)
    (x, xt), (w, wt) = pair(rng.standard_normal((3, 3))), pair(rng.standard_normal((3, 3)))
    results = []
    for ck, v, p in [(checkpoint, x, w), (torch.utils.checkpoint.checkpoint, xt, wt)]:
        out = ck(nested_outputs, v, p, use_reentrant=use_reentrant)
        tensors = [out[0], out[1][0], out[2]["k"][0], out[3][0]]
        loss = sum(((t ** 2).sum() for t in tensors if t.requires_grad), out[0].sum() * 0.0)
        loss.backward()
        results.append((out, tensors, v.grad, p.grad))
    (out, tensors, *grads), (out_t, tensors_t, *grads_t) = results
    assert type(out) is type(out_t) is tuple and [type(item) for item in out[1:]] == [list, dict, Pair]
    assert [type(item) for item in out_t[1:]] == [list, dict, Pair]
    assert (out[1][1], out[2]["k"][1], out[3][1]) == (out_t[1][1], out_t[2]["k"][1], out_t[3][1]) == (None, 5, 1)
    assert [t.requires_grad for t in tensors] == [t.requires_grad for t in tensors_t]
    assert [t.requires_grad for t in tensors] == [True, *[not use_reentrant] * 3]
    assert (grads[1] is None) is (grads_t[1] is None) is use_reentrant  # (w is read by nested outputs only)
    for ours, theirs in zip([*tensors, *grads], [*tensors_t, *grads_t]):
        if theirs is not None:
            close(ours, theirs, np.float64)
    # a namedtuple returned: kept, or (reentrant) a tuple, as from torch's Function
    for (_, ck), v in zip(LIBS, (x, xt)):
        assert type(ck(lambda t: Pair(t * 2.0, 1), v, use_reentrant=use_reentrant)) is (
            tuple if use_reentrant else Pair)


@pytest.mark.parametrize("use_reentrant", [False, True])
@pytest.mark.parametrize("returned", [None, 5, "list", "dict"])
def test_outputs_without_a_differentiable_tensor_come_back_as_they_are(use_reentrant, returned):
    """A function returning no Tensor, or a list or dict (reentrant: no Tensor in it is an output):
    the value comes back, as from torch's."""
    values = []
    for lib, ck in LIBS:
        x = lib.ones(3, requires_grad=True)
        make = {"list": lambda t: [t * 2.0], "dict": lambda t: {"a": t * 2.0}}.get(returned, lambda t: returned)
        out = ck(make, x, use_reentrant=use_reentrant)
        values.append(out)
    ours, theirs = values
    assert type(ours) is type(theirs)
    if returned in ("list", "dict"):
        (a,), (b,) = (list(v.values()) if isinstance(v, dict) else v for v in values)
        assert a.requires_grad is b.requires_grad is (not use_reentrant)
        close(a, b, np.float32)
    else:
        assert ours == theirs


def test_transformer_block_with_dropout_nested_and_a_keyword_mask():
    """A TransformerEncoderLayer (dropout 0.3) called with its padding mask as a keyword argument,
    checkpointed alone and inside an outer checkpoint: in training the gradients (input and every
    parameter) are the plain run's bit for bit (the dropout masks replayed), in each library; in
    eval they equal torch's."""
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3, batch_first=True).double()
    reference = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3, batch_first=True).double()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    x0 = np.random.default_rng(9).standard_normal((2, 5, 8))
    mask0 = np.array([[False] * 5, [False] * 3 + [True] * 2])

    def gradients(lib, ck, module, how):
        x = lib.tensor(x0.copy(), requires_grad=True)
        lib.manual_seed(5)

        def block(v, *, key_padding):
            return module(v, src_key_padding_mask=key_padding)

        def nested(v, m):
            return ck(block, v, use_reentrant=False, key_padding=m).sin()

        mask = lib.tensor(mask0)
        y = {"plain": lambda: block(x, key_padding=mask).sin(),
             "checkpoint": lambda: ck(block, x, use_reentrant=False, key_padding=mask).sin(),
             "nested": lambda: ck(nested, x, mask, use_reentrant=False)}[how]()
        (y ** 2).sum().backward()
        found = [x.grad] + [p.grad for p in module.parameters()]
        module.zero_grad()
        return [g.detach().numpy().copy() for g in found]

    for lib, ck, module in [(tg, checkpoint, layer), (torch, torch.utils.checkpoint.checkpoint, reference)]:
        plain = gradients(lib, ck, module, "plain")
        for how in ("checkpoint", "nested"):
            for a, b in zip(plain, gradients(lib, ck, module, how)):
                np.testing.assert_array_equal(b, a)
    layer.eval()
    reference.eval()
    for a, b in zip(gradients(tg, checkpoint, layer, "nested"), gradients(torch, torch.utils.checkpoint.checkpoint,
                                                                         reference, "nested")):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def hooked_tensors(lib, calls: list) -> tuple:
    """x, a parameter w and an outside non-leaf s = u + 1 (u a leaf), w and s with hooks that
    log their call and scale the gradient (by 10 and by 3)."""
    rng = np.random.default_rng(10)
    x, w, u = (lib.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(3))
    w.register_hook(lambda g: calls.append("w") or g * 10.0)
    s = u + 1.0
    s.register_hook(lambda g: calls.append("s") or g * 3.0)
    return x, w, u, s


@pytest.mark.parametrize("how", ["retain_graph twice", "two checkpoints", "nested", "nested, create_graph"])
def test_boundary_tensors_with_hooks_across_backward_passes_and_checkpoints(how):
    """The segment's grad stops at the boundary by pointing the recomputed graph's edges to w and
    s at fresh leaves while it runs. Each hook still runs once per backward pass and the
    gradients are torch's: a second backward of a retained graph, two checkpoints reading the
    same w and s, nested checkpoints, and grad-of-grad through them (hooks of both passes)."""
    results = []
    for lib, ck in [(tg, checkpoint), (torch, torch.utils.checkpoint.checkpoint)]:
        calls: list[str] = []
        x, w, u, s = hooked_tensors(lib, calls)

        def segment(a, w=w, s=s):
            return (a * w * s).sin()

        def nested(a, ck=ck, w=w, s=s, segment=segment):
            return ck(segment, a * s, use_reentrant=False) * w

        if how == "retain_graph twice":
            y = ck(segment, x, use_reentrant=False)
            y.sum().backward(retain_graph=True)
            y.sum().backward()
        elif how == "two checkpoints":
            y = ck(segment, x, use_reentrant=False) + ck(lambda a, w=w, s=s: (a * s).exp() * w, x, use_reentrant=False)
            (y ** 2).sum().backward()
        else:
            y = ck(nested, x, use_reentrant=False)
            if how == "nested":
                (y ** 2).sum().backward()
            else:
                grads = (tg.autograd.grad if lib is tg else torch.autograd.grad)((y ** 2).sum(), [x, w, u],
                                                                                 create_graph=True)
                calls.append("|")
                sum((g ** 2).sum() for g in grads).backward()
        phases = "".join(calls).split("|")
        results.append(([x.grad, w.grad, u.grad], [sorted(p) for p in phases]))
    (ours, our_calls), (theirs, their_calls) = results
    assert our_calls == their_calls
    for a, b in zip(ours, theirs):
        close(a, b, np.float64)


def test_an_error_in_the_segments_backward_leaves_its_graph_as_it_was():
    """A hook inside the segment raises during the recomputed graph's grad: the error reaches the
    caller, and the edges pointed at fresh leaves while grad ran lead to the boundary tensor
    again (an intermediate the function kept shows it); then a backward succeeds, as torch's."""
    results = []
    for lib, ck in [(tg, checkpoint), (torch, torch.utils.checkpoint.checkpoint)]:
        calls: list[str] = []
        x, w, u, s = hooked_tensors(lib, calls)
        kept, failing = [], [True]

        def raise_if_failing(g, failing=failing):
            if failing[0]:
                raise ValueError("hook failed")

        def segment(a, w=w, s=s, kept=kept):
            h = a * s
            kept.append(h)
            h.register_hook(raise_if_failing)
            return h.sin() * w

        y = ck(segment, x, use_reentrant=False)
        with pytest.raises(ValueError, match="hook failed"):
            y.sum().backward(retain_graph=True)
        if lib is tg:
            assert kept[-1].grad_fn.next_functions[1] == (s.grad_fn, 0)
        failing[0] = False
        y.sum().backward()
        results.append((x.grad, u.grad))  # (w's: torch adds to it in the failed backward before the error)
    for a, b in zip(*results):
        close(a, b, np.float64)


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_a_tensor_only_an_unused_output_depends_on(use_reentrant):
    """The loss uses the first of two outputs; w reaches only the second. As torch's: without
    reentrance w gets no gradient (None, its hook does not run: an optimizer skips it, as in the
    plain run); the reentrant variant hands zeros to the unused output (w.grad zeros, hook once).
    (The engine gave the Checkpoint node zeros for the unused output in both variants.)"""
    rng = np.random.default_rng(11)
    arrays = rng.standard_normal(3), rng.standard_normal(3)
    results = []
    for ck, (v, p) in [(checkpoint, (tg.tensor(a, requires_grad=True) for a in arrays)),
                       (torch.utils.checkpoint.checkpoint, (torch.tensor(a, requires_grad=True) for a in arrays))]:
        calls: list[str] = []
        p.register_hook(lambda g, calls=calls: calls.append("w"))
        used, _unused = ck(lambda a, p=p: (a.exp(), (a * p).sin()), v, use_reentrant=use_reentrant)
        used.sum().backward()
        results.append((v.grad, p.grad, calls))
    (x, w_grad, calls), (xt, wt_grad, calls_t) = results
    close(x, xt, np.float64)
    assert calls == calls_t
    assert (w_grad is None) is (wt_grad is None) is (not use_reentrant)
    if use_reentrant:
        close(w_grad, wt_grad, np.float64)


# ---- use_reentrant=True and a tensor from outside the arguments ---------------------------------


def outside_non_leaf(lib, dtype, make_z):
    """x, w (leaves) and z = make_z(w), a non-leaf made outside the segment."""
    rng = np.random.default_rng(17)
    x, w = (lib.tensor(rng.standard_normal(4).astype(dtype), requires_grad=True) for _ in range(2))
    return x, w, make_z(w)


OUTSIDE = {"w*2": lambda w: w * 2.0, "exp(w)": lambda w: w.exp()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make_z", OUTSIDE.values(), ids=OUTSIDE.keys())
def test_reentrant_closure_over_an_outside_non_leaf(dtype, make_z):
    """out = checkpoint(t ↦ sin(t ⊙ z), x) with z made from w outside the segment. The reentrant
    inner backward runs on through z's graph, as PyTorch's: w gets its gradient through z, z's hook
    runs once and z.grad (retain_grad) is torch's. The inner pass does not retain the graph it runs
    through (even when the outer backward does): a later backward through z's graph raises, as
    torch's does."""
    results = []
    for lib, ck in LIBS:
        x, w, z = outside_non_leaf(lib, dtype, make_z)
        out = ck(lambda t, z=z: (t * z).sin(), x, use_reentrant=True)
        z.retain_grad()
        calls: list[int] = []
        z.register_hook(lambda g, calls=calls: calls.append(1))
        loss = out.sum()
        loss.backward(retain_graph=True)
        results.append((x.grad, w.grad, z.grad, len(calls)))
        for again in (loss, z.sum()):
            with pytest.raises(RuntimeError, match=r"(?i)backward through the graph a second time"):
                again.backward()
    (*ours, calls), (*theirs, calls_t) = results
    assert calls == calls_t == 1
    for a, b in zip(ours, theirs):
        close(a, b, dtype)


@pytest.mark.parametrize("make_z", OUTSIDE.values(), ids=OUTSIDE.keys())
def test_reentrant_closure_and_an_outer_use_of_the_same_non_leaf(make_z):
    """When the loss also uses z, the inner backward frees z's graph before the outer one reaches
    it: the backward raises in both libraries (without retain_graph, and with it when the outer
    branch comes first in the loss). Passing z as an argument instead gives torch's gradients."""
    for retain_graph in (False, True):
        for lib, ck in LIBS:
            x, w, z = outside_non_leaf(lib, np.float64, make_z)
            loss = z.sum() * 3.0 + ck(lambda t, z=z: (t * z).sin(), x, use_reentrant=True).sum()
            with pytest.raises(RuntimeError, match=r"(?i)backward through the graph a second time"):
                loss.backward(retain_graph=retain_graph)
    results = []
    for lib, ck in LIBS:
        x, w, z = outside_non_leaf(lib, np.float64, make_z)
        out = ck(lambda t, u: (t * u).sin(), x, z, use_reentrant=True)
        (z.sum() * 3.0 + out.sum()).backward()
        results.append((x.grad, w.grad))
    for a, b in zip(*results):
        close(a, b, np.float64)
