"""tg.autograd.functional against torch.autograd.functional, and tg.utils.checkpoint.

Each test function below is written once and run on both libraries' tensors (the methods
used exist with the same meaning in both). Results are compared value by value and shape by
shape, nested tuples included; errors are compared by their messages.
"""

from __future__ import annotations

import re
import types
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.autograd.functional as AF  # noqa: N812 - as torch.autograd.functional is often imported
from tinygrad_edu import nn
from tinygrad_edu.autograd.engine import topological_order
from tinygrad_edu.utils.checkpoint import Checkpoint, checkpoint, checkpoint_sequential

torch = pytest.importorskip("torch")
TF = torch.autograd.functional

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 2e-5, "atol": 2e-5}}
DTYPES = [np.float64, np.float32]


# ---- helpers -----------------------------------------------------------------------------


def both(arrays: list[np.ndarray], requires_grad: bool = False) -> tuple[tuple, tuple]:
    """The same arrays as tg and as torch tensors."""
    return (tuple(tg.tensor(a.copy(), requires_grad=requires_grad) for a in arrays),
            tuple(torch.tensor(a.copy(), requires_grad=requires_grad) for a in arrays))


def assert_same(ours, theirs, dtype) -> None:
    """Same nesting, same shapes, same values (within the dtype's tolerance), same dtype.

    (torch's forward-mode jacobian returns a list where its reverse mode returns a tuple; here
    both return tuples.)"""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), (type(ours), len(theirs))
        for a, b in zip(ours, theirs):
            assert_same(a, b, dtype)
        return
    assert isinstance(ours, tg.Tensor), type(ours)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL[dtype])


def unpack(inputs: tuple, as_tuple: bool):
    return inputs if as_tuple else inputs[0]


# Functions of tuples of inputs, with the input shapes to call them at.
def elementwise(x):
    return x.exp() * x.sin() + x ** 3


def matmul_chain(a, b):
    return (a @ b).tanh() @ a


def softmax(x):
    return x.softmax(-1)


def tuple_out(x, y):
    return x * y, (x + y).sum(0), x.exp()


def unused_input(x, y):
    return (x * 2.0).tanh()


VECTOR_FUNCTIONS = [
    (elementwise, [(3, 2)], False),
    (matmul_chain, [(3, 4), (4, 3)], True),
    (softmax, [(2, 3)], False),
    (tuple_out, [(2, 3), (2, 3)], True),
    (unused_input, [(2, 2), (3,)], True),
]


def scalar_elementwise(x):
    return (x.exp() * x.sin()).sum() + (x ** 2).sum() * x.sum()


def scalar_matmul(a, b):
    return ((a @ b).tanh() ** 2).sum()


def scalar_log_softmax(x):
    return (x.log_softmax(-1) * x).sum()


def scalar_unused(x, y):
    return (x ** 3).sum()


SCALAR_FUNCTIONS = [
    (scalar_elementwise, [(3, 2)], False),
    (scalar_matmul, [(2, 3), (3, 2)], True),
    (scalar_log_softmax, [(2, 3)], False),
    (scalar_unused, [(2,), (2, 2)], True),
    (scalar_elementwise, [()], False),  # a 0-d input: v may be None
]


def arrays_for(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) * 0.7 for s in shapes]


def outputs_like(func, inputs):
    with torch.no_grad():
        out = func(*inputs)
    return out if isinstance(out, tuple) else (out,)


# ---- values against torch -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("func", "shapes", "as_tuple"), VECTOR_FUNCTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_vjp_jvp_jacobian_match_torch(func, shapes, as_tuple, dtype):
    arrays = arrays_for(shapes, dtype)
    ours, theirs = both(arrays)
    outs = outputs_like(func, theirs)
    rng = np.random.default_rng(1)
    v_out = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in outs]
    v_in = [rng.standard_normal(s).astype(dtype) for s in shapes]
    out_tuple = isinstance(func(*theirs), tuple)
    vo_ours, vo_theirs = both(v_out)
    vi_ours, vi_theirs = both(v_in)
    assert_same(AF.vjp(func, unpack(ours, as_tuple), unpack(vo_ours, out_tuple)),
                TF.vjp(func, unpack(theirs, as_tuple), unpack(vo_theirs, out_tuple)), dtype)
    assert_same(AF.jvp(func, unpack(ours, as_tuple), unpack(vi_ours, as_tuple)),
                TF.jvp(func, unpack(theirs, as_tuple), unpack(vi_theirs, as_tuple)), dtype)
    expected = TF.jacobian(func, unpack(theirs, as_tuple))
    assert_same(AF.jacobian(func, unpack(ours, as_tuple)), expected, dtype)
    assert_same(AF.jacobian(func, unpack(ours, as_tuple), vectorize=True), expected, dtype)
    assert_same(AF.jacobian(func, unpack(ours, as_tuple), vectorize=True, strategy="forward-mode"),
                TF.jacobian(func, unpack(theirs, as_tuple), vectorize=True, strategy="forward-mode"), dtype)
    # the caller's tensors are left alone
    assert all(not t.requires_grad and t.grad is None for t in ours)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("func", "shapes", "as_tuple"), SCALAR_FUNCTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_hessian_hvp_vhp_match_torch(func, shapes, as_tuple, dtype):
    ours, theirs = both(arrays_for(shapes, dtype))
    v = arrays_for(shapes, dtype, seed=2)
    v_ours, v_theirs = both(v)
    x_ours, x_theirs = unpack(ours, as_tuple), unpack(theirs, as_tuple)
    assert_same(AF.hessian(func, x_ours), TF.hessian(func, x_theirs), dtype)
    assert_same(AF.jacobian(func, x_ours), TF.jacobian(func, x_theirs), dtype)  # a scalar output: in.shape
    assert_same(AF.hessian(func, x_ours, vectorize=True, outer_jacobian_strategy="forward-mode"),
                TF.hessian(func, tuple(t.detach() for t in theirs) if as_tuple else x_theirs.detach(),
                           vectorize=True, outer_jacobian_strategy="forward-mode"), dtype)
    for ours_fn, torch_fn in ((AF.hvp, TF.hvp), (AF.vhp, TF.vhp), (AF.vjp, TF.vjp)):
        if ours_fn is AF.vjp:  # the gradient: v=None for a scalar output
            assert_same(ours_fn(func, x_ours), torch_fn(func, x_theirs), dtype)
            continue
        assert_same(ours_fn(func, x_ours, unpack(v_ours, as_tuple)),
                    torch_fn(func, x_theirs, unpack(v_theirs, as_tuple)), dtype)
        if not shapes[0]:  # one one-element input: v may be omitted
            assert_same(ours_fn(func, x_ours), torch_fn(func, x_theirs), dtype)


def test_jacobian_shapes_of_tuple_to_tuple():
    """J[i][j] has shape out_i.shape + in_j.shape; a tuple of tuples for tuple → tuple."""
    ours, theirs = both(arrays_for([(2, 3), (2, 3)], np.float64))
    jac = AF.jacobian(tuple_out, ours)
    expected = TF.jacobian(tuple_out, theirs)
    assert [[b.shape for b in row] for row in jac] == [[tuple(b.shape) for b in row] for row in expected]
    assert jac[1][0].shape == (3, 2, 3) and jac[2][1].shape == (2, 3, 2, 3)
    h = AF.hessian(scalar_matmul, both(arrays_for([(2, 3), (3, 2)], np.float64))[0])
    assert [[b.shape for b in row] for row in h] == [[(2, 3, 2, 3), (2, 3, 3, 2)], [(3, 2, 2, 3), (3, 2, 3, 2)]]
    np.testing.assert_allclose(h[0][1].numpy(), h[1][0].numpy().transpose(2, 3, 0, 1), rtol=1e-12)  # H symmetric
    empty = AF.jacobian(lambda t: t[:0], ours[0])  # (torch's stack of no rows raises; here: zeros)
    assert empty.shape == (0, 3, 2, 3) and empty.dtype == tg.float64


def test_jvp_of_the_identity_and_of_a_constant_output():
    ours, theirs = both(arrays_for([(3,)], np.float64))
    assert_same(AF.jvp(lambda x: x, ours[0], ours[0] * 2), TF.jvp(lambda x: x, theirs[0], theirs[0] * 2), np.float64)
    assert_same(AF.jacobian(lambda x: (x, x.sum() * 0 + 1.0), ours[0]),
                TF.jacobian(lambda x: (x, x.sum() * 0 + 1.0), theirs[0]), np.float64)


@settings(max_examples=15)
@given(in_shape=st.lists(st.integers(1, 3), max_size=2).map(tuple), k=st.integers(1, 3), seed=st.integers(0, 99))
def test_jacobian_shapes_and_values_for_any_shape(in_shape, k, seed):
    """jacobian of x ↦ (sin x scaled k ways, Σ x²) has blocks (k, *in) + in and () + in."""
    rng = np.random.default_rng(seed)
    scale = rng.standard_normal((k,) + (1,) * len(in_shape))
    (x,), (tx,) = both([rng.standard_normal(in_shape)])

    def f(t):
        lib = tg if isinstance(t, tg.Tensor) else torch
        return t.sin().unsqueeze(0) * lib.tensor(scale), (t * t).sum()

    jac = AF.jacobian(f, x)
    assert jac[0].shape == (k, *in_shape, *in_shape) and jac[1].shape == in_shape
    assert_same(jac, TF.jacobian(f, tx), np.float64)


# ---- create_graph -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_create_graph_results_are_differentiable(dtype):
    """The gradient of (a weighting of) each result with respect to the inputs, as torch's."""
    arrays = arrays_for([(2, 3), (3, 2)], dtype)
    rng = np.random.default_rng(3)
    (a, b), (ta, tb) = both(arrays, requires_grad=True)
    (va, vb), (tva, tvb) = both(arrays_for([(2, 3), (3, 2)], dtype, seed=4), requires_grad=True)
    cases = [
        lambda m, x, v: m.hessian(scalar_matmul, x, create_graph=True)[0][0],
        lambda m, x, v: m.hvp(scalar_matmul, x, v, create_graph=True)[1][0],
        lambda m, x, v: m.vhp(scalar_matmul, x, v, create_graph=True)[1][1],
        lambda m, x, v: m.jvp(matmul_chain, x, v, create_graph=True)[1],
        lambda m, x, v: m.vjp(scalar_matmul, x, create_graph=True)[1][0],
        lambda m, x, v: m.jacobian(matmul_chain, x, create_graph=True)[1].sum((0, 1)),
    ]
    for make in cases:
        result = make(AF, (a, b), (va, vb))
        expected = make(TF, (ta, tb), (tva, tvb))
        assert result.requires_grad
        assert_same(result, expected, dtype)
        weight = rng.standard_normal(result.shape).astype(dtype)
        loss = (result * tg.tensor(weight)).sum()
        torch_loss = (expected * torch.tensor(weight)).sum()
        grads = tg.autograd.grad(loss, [a, b, va, vb], allow_unused=True)
        expected_grads = torch.autograd.grad(torch_loss, [ta, tb, tva, tvb], allow_unused=True)
        for g, tg_ in zip(grads, expected_grads):
            assert (g is None) == (tg_ is None)
            if g is not None:
                assert_same(g, tg_, dtype)


def test_without_create_graph_results_are_detached():
    (x,), _ = both(arrays_for([(3,)], np.float64), requires_grad=True)
    out, grad = AF.vjp(scalar_elementwise, x)
    assert not out.requires_grad and not grad.requires_grad
    assert not AF.hessian(scalar_elementwise, x).requires_grad
    assert x.grad is None  # nothing accumulated into the caller's leaf


def test_inside_no_grad_as_torch():
    """The functions record what they need themselves; create_graph still gives a graph."""
    (x,), (tx,) = both(arrays_for([(3,)], np.float64))
    with tg.no_grad(), torch.no_grad():
        assert_same(AF.hessian(scalar_elementwise, x), TF.hessian(scalar_elementwise, tx), np.float64)
        assert_same(AF.jvp(elementwise, x, x), TF.jvp(elementwise, tx, tx), np.float64)
        ours = AF.hvp(scalar_elementwise, x, x, create_graph=True)[1]
        theirs = TF.hvp(scalar_elementwise, tx, tx, create_graph=True)[1]
        assert ours.requires_grad == theirs.requires_grad
        assert not AF.vjp(scalar_elementwise, x)[1].requires_grad
    assert tg.is_grad_enabled()


# ---- strict mode and errors (PyTorch's messages) --------------------------------------------


def linear(x, y):
    return 2.0 * x + y


def constant(x):
    return x.detach() * 2.0


STRICT_CASES = [
    ("vjp", unused_input, [(2, 2), (3,)], "vo"),
    ("jvp", unused_input, [(2, 2), (3,)], "vi"),
    ("jacobian", unused_input, [(2, 2), (3,)], None),
    ("vjp", constant, [(3,)], "vo"),
    ("jacobian", constant, [(3,)], None),
    ("hessian", scalar_unused, [(2,), (2, 2)], None),
    ("hvp", scalar_unused, [(2,), (2, 2)], "vi"),
    ("vhp", scalar_unused, [(2,), (2, 2)], "vi"),
    ("hvp", lambda x: (x * 3.0).sum(), [(3,)], "vi"),
]


def call(module, name, func, inputs, v, **kwargs):
    fn = getattr(module, name)
    return fn(func, inputs, **kwargs) if v is None else fn(func, inputs, v, **kwargs)


def errors_of(run_ours, run_theirs) -> tuple[BaseException, BaseException]:
    with pytest.raises(Exception) as ours:
        run_ours()
    with pytest.raises(Exception) as theirs:
        run_theirs()
    return ours.value, theirs.value


@pytest.mark.parametrize(("name", "func", "shapes", "v_kind"), STRICT_CASES)
def test_strict_raises_like_torch_and_non_strict_gives_zeros(name, func, shapes, v_kind):
    arrays = arrays_for(shapes, np.float64)
    ours, theirs = both(arrays)
    as_tuple = len(shapes) > 1
    v_ours = v_theirs = None
    if v_kind == "vi":
        v_ours, v_theirs = (unpack(t, as_tuple) for t in both(arrays_for(shapes, np.float64, seed=5)))
    elif v_kind == "vo":
        outs = outputs_like(func, theirs)
        v_ours, v_theirs = (t[0] for t in both([np.ones(tuple(o.shape)) for o in outs]))
    x_ours, x_theirs = unpack(ours, as_tuple), unpack(theirs, as_tuple)
    mine, reference = errors_of(lambda: call(AF, name, func, x_ours, v_ours, strict=True),
                                lambda: call(TF, name, func, x_theirs, v_theirs, strict=True))
    assert type(mine) is type(reference) is RuntimeError
    # torch's hessian message prints a literal "{i}" (a missing f-string) where ours has the index
    assert re.fullmatch(re.escape(str(reference)).replace(re.escape("{i}"), r"\d+"), str(mine)), (mine, reference)
    assert_same(call(AF, name, func, x_ours, v_ours), call(TF, name, func, x_theirs, v_theirs), np.float64)


def test_strict_with_create_graph_on_a_linear_function():
    (x,), (tx,) = both(arrays_for([(3,)], np.float64), requires_grad=True)
    mine, reference = errors_of(lambda: AF.jacobian(lambda t: 2.0 * t, x, create_graph=True, strict=True),
                                lambda: TF.jacobian(lambda t: 2.0 * t, tx, create_graph=True, strict=True))
    assert str(mine) == str(reference)
    assert "independent of input 0" in str(mine) and "create_graph=True" in str(mine)


BAD_CALLS = [
    ("vjp(v=None, non-scalar output)", lambda m, x, v: m.vjp(elementwise, x)),
    ("jvp(v=None, several elements)", lambda m, x, v: m.jvp(elementwise, x)),
    ("v of the wrong shape", lambda m, x, v: m.vjp(elementwise, x, v[:2])),
    ("v of the wrong length", lambda m, x, v: m.jvp(matmul_chain, (x, x.T), (v,))),
    ("v entry of the wrong shape", lambda m, x, v: m.jvp(matmul_chain, (x, x.T), (v, v))),
    ("non-tensor input", lambda m, x, v: m.jacobian(elementwise, [x])),
    ("non-tensor in a tuple", lambda m, x, v: m.jacobian(matmul_chain, (x, 1.0))),
    ("non-tensor output", lambda m, x, v: m.jacobian(lambda t: [t], x)),
    ("hvp of a vector function", lambda m, x, v: m.hvp(elementwise, x, v)),
    ("vhp of a tuple function", lambda m, x, v: m.vhp(lambda t: (t.sum(),), x, v)),
    ("hessian of a vector function", lambda m, x, v: m.hessian(elementwise, x)),
    ("forward-mode without vectorize", lambda m, x, v: m.jacobian(elementwise, x, strategy="forward-mode")),
    ("forward-mode with create_graph",
     lambda m, x, v: m.jacobian(elementwise, x, create_graph=True, vectorize=True, strategy="forward-mode")),
    ("forward-mode with strict",
     lambda m, x, v: m.jacobian(elementwise, x, strict=True, vectorize=True, strategy="forward-mode")),
    ("vectorize with strict", lambda m, x, v: m.jacobian(elementwise, x, strict=True, vectorize=True)),
]


@pytest.mark.parametrize(("label", "bad"), BAD_CALLS, ids=[label for label, _ in BAD_CALLS])
def test_bad_calls_raise_like_torch(label, bad):
    (x, v), (tx, tv) = both(arrays_for([(3, 2), (3, 2)], np.float64))
    mine, reference = errors_of(lambda: bad(AF, x, v), lambda: bad(TF, tx, tv))
    assert type(mine) is type(reference), (label, mine, reference)
    assert normalise(str(mine)) == normalise(str(reference)), label


def normalise(message: str) -> str:
    """A message up to the library's name and how each prints a shape or the Tensor class."""
    message = re.sub(r"torch\.Size\(\[([^\]]*)\]\)", r"(\1)", message)
    for ours, theirs in (("<class 'tinygrad_edu.tensor.Tensor'>", "<class 'torch.Tensor'>"), ("tg.", "torch.")):
        message = message.replace(ours, theirs)
    return re.sub(r"\s+", "", message)  # (torch's forward-mode message misses a space: "isonly")


def test_unknown_strategy_is_an_error():
    (x,), _ = both(arrays_for([(2,)], np.float64))
    with pytest.raises(ValueError, match="reverse-mode"):
        AF.jacobian(elementwise, x, strategy="backward")
    with pytest.raises(ValueError, match="reverse-mode"):
        AF.hessian(scalar_elementwise, x, outer_jacobian_strategy="sideways")


# ---- tg.utils.checkpoint ------------------------------------------------------------------------


def make_model(dropout: float = 0.3) -> nn.Module:
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Dropout(dropout), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 32), nn.Tanh(), nn.Dropout(dropout), nn.Linear(32, 3))


def gradients(model: nn.Module, run, x: tg.Tensor) -> list[np.ndarray]:
    """Forward with a fixed seed, backward; the gradients, the output and one random draw after backward."""
    for p in model.parameters():
        p.grad = None
    x.grad = None
    tg.manual_seed(7)
    out = run(x)
    (out * out).sum().backward()
    after = tg.random.generator().random(3)  # the global stream after backward
    return [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy(), out.detach().numpy(),
                                                                   after]


RUNS = {
    "checkpoint": lambda model, re: lambda x: checkpoint(model, x, use_reentrant=re),
    "checkpoint(lambda)": lambda model, re: lambda x: checkpoint(lambda t: model(t), x, use_reentrant=re),
    "sequential(3)": lambda model, re: lambda x: checkpoint_sequential(model, 3, x, use_reentrant=re),
    "sequential(list, 4)": lambda model, re: lambda x: checkpoint_sequential(list(model.children()), 4, x,
                                                                               use_reentrant=re),
}


@pytest.mark.parametrize("reentrant", [False, True])
@pytest.mark.parametrize("how", list(RUNS))
def test_checkpoint_gradients_equal_the_plain_run_with_dropout(how, reentrant):
    model = make_model()
    x = tg.randn(5, 6, requires_grad=True)
    plain = gradients(model, model, x)
    checkpointed = gradients(model, RUNS[how](model, reentrant), x)
    for a, b in zip(plain, checkpointed):
        np.testing.assert_array_equal(a, b)  # the same ops on the same numbers: bit for bit


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_sequential_matches_torch(reentrant):
    """The same network, weights and input in both libraries: the same output and gradients."""
    model = make_model(dropout=0.0)
    reference = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Dropout(0.0),
                                    torch.nn.Linear(32, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32),
                                    torch.nn.Tanh(), torch.nn.Dropout(0.0), torch.nn.Linear(32, 3))
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x = np.random.default_rng(8).standard_normal((5, 6)).astype(np.float32)
    (ours,), (theirs,) = both([x], requires_grad=True)
    out = checkpoint_sequential(model, 3, ours, use_reentrant=reentrant)
    expected = torch.utils.checkpoint.checkpoint_sequential(reference, 3, theirs, use_reentrant=reentrant)
    assert_same(out, expected, np.float32)
    (out ** 2).sum().backward()
    (expected ** 2).sum().backward()
    assert_same(ours.grad, theirs.grad, np.float32)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert_same(p.grad, q.grad, np.float32)


def test_checkpoint_without_preserving_rng_state_changes_the_dropout_mask():
    """The replay above is what makes the test pass: without it the recomputed mask differs."""
    model = make_model(dropout=0.5)
    x = tg.randn(5, 6, requires_grad=True)
    plain = gradients(model, model, x)
    unpreserved = gradients(model, lambda t: checkpoint(model, t, use_reentrant=False, preserve_rng_state=False), x)
    assert not np.array_equal(plain[0], unpreserved[0])


def saved_bytes(out: tg.Tensor, parameters) -> tuple[int, int]:
    """(number of nodes, bytes of the activations they saved for backward) in the graph of
    ``out``; the ``parameters`` some nodes save too are not counted."""
    skip = {id(p) for p in parameters}
    total, nodes = 0, topological_order([out.grad_fn])
    for node in nodes:
        for _kind, value, _ in getattr(node, "_saved", ()):
            if isinstance(value, tg.Tensor):
                total += 0 if id(value) in skip else value.data.nbytes
            elif value is not None:
                total += np.asarray(value[0] if isinstance(value, tuple) else value).nbytes
    return len(nodes), total


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_keeps_only_the_segment_inputs(reentrant):
    model = make_model()
    params = list(model.parameters())
    x = tg.randn(64, 6, requires_grad=True)
    plain_nodes, plain_bytes = saved_bytes(model(x), params)
    out = checkpoint_sequential(model, 3, x, use_reentrant=reentrant)
    nodes, kept = saved_bytes(out, params)
    ops = [type(n).__name__ for n in topological_order([out.grad_fn]) if type(n).__name__ != "AccumulateGrad"]
    # the first two segments (3 layers each) are one Checkpoint node each; the last 3 layers as usual
    assert ops.count("Checkpoint") == 2 and len(ops) == 2 + 3, ops
    assert nodes < plain_nodes
    # kept: the inputs of the two checkpointed segments, and the activations of the last one
    layers = list(model.children())
    with tg.no_grad():
        h = nn.Sequential(*layers[:6])(x)
    _, last_segment = saved_bytes(nn.Sequential(*layers[6:])(h.requires_grad_()), params)
    assert kept == x.data.nbytes + h.data.nbytes + last_segment, (kept, plain_bytes)
    assert kept < 0.6 * plain_bytes
    single, single_bytes = saved_bytes(checkpoint(model, x, use_reentrant=reentrant), params)
    assert single == 1 + len(params) * (not reentrant) + 1  # Checkpoint + leaves (its inputs)
    assert single_bytes == x.data.nbytes  # only the input


def test_checkpoint_sequential_segments_take_only_their_own_parameters():
    """Each segment's Checkpoint node has edges to its input and its own layers' parameters, not to
    every parameter of the chain (the segment's closure holds only its functions)."""
    model = make_model()
    layers = list(model.children())
    out = checkpoint_sequential(model, 3, tg.randn(4, 6, requires_grad=True), use_reentrant=False)
    nodes = [n for n in topological_order([out.grad_fn]) if isinstance(n, Checkpoint)]
    own = [sum(1 for _ in nn.Sequential(*layers[k:k + 3]).parameters()) for k in (0, 3)]
    assert sorted(len(n.next_functions) for n in nodes) == sorted(1 + p for p in own)


def test_checkpoint_under_no_grad_runs_the_function_without_searching(monkeypatch):
    """Nothing is recorded under no_grad (evaluation), so the recorded run that finds the tensors
    the function reaches is skipped; the value is the plain call's."""
    import tinygrad_edu.utils.checkpoint as checkpoint_module

    def no_search(segment, args):
        raise AssertionError("searched for tensors under no_grad")

    monkeypatch.setattr(checkpoint_module._Segment, "record", no_search)
    model = make_model(dropout=0.0)
    x = tg.randn(4, 6)
    with tg.no_grad():
        out = checkpoint(model, x, use_reentrant=False)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), model(x).detach().numpy())


def test_checkpoint_under_autograd_grad_and_grad_of_grad():
    """use_reentrant=False: closure weights get their gradient through tg.autograd.grad, and
    a second derivative through the checkpoint equals the plain one."""
    tg.manual_seed(3)
    W = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    holder = types.SimpleNamespace(bias=tg.randn(3, dtype=tg.float64, requires_grad=True))
    x = tg.randn(5, 4, dtype=tg.float64, requires_grad=True)

    def f(t, scale=1.0):
        return ((t @ W) * scale + holder.bias).tanh()

    for run in (f, lambda t: checkpoint(f, t, use_reentrant=False, scale=1.0)):
        y = run(x)
        gx, gW = tg.autograd.grad((y ** 2).sum(), [x, W], create_graph=True)
        second = tg.autograd.grad((gx ** 2).sum() + gW.sum(), [W, holder.bias, x])
        if run is f:
            expected = [gx.detach().numpy(), gW.detach().numpy(), *(g.numpy() for g in second)]
        else:
            got = [gx.detach().numpy(), gW.detach().numpy(), *(g.numpy() for g in second)]
    for a, b in zip(expected, got):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    assert W.grad is None and holder.bias.grad is None  # grad() does not touch .grad


def test_checkpoint_reentrant_semantics():
    model = make_model(dropout=0.0)
    x = tg.randn(2, 6)  # does not require grad
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(model, x, use_reentrant=True)
    assert not out.requires_grad  # PyTorch's reentrant pitfall: parameters inside get no gradient
    assert checkpoint(model, x, use_reentrant=False).requires_grad  # the non-reentrant variant finds them
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(lambda t, scale: t * scale, x, use_reentrant=True, scale=2.0)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        checkpoint(model, x)
    xg = tg.randn(2, 6, requires_grad=True)
    out = checkpoint(model, xg, use_reentrant=True)
    with pytest.raises(NotImplementedError, match="Checkpoint"):
        tg.autograd.grad(out.sum(), [xg], create_graph=True)


def test_checkpoint_finds_tensors_held_by_a_submodule_as_by_the_module_itself():
    """A tensor requiring grad kept in a plain attribute (not a Parameter) of a submodule gets its
    gradient, as when the checkpointed module holds it itself, and as in PyTorch."""

    def make(lib, nn_lib, data):
        class Scale(nn_lib.Module):
            def __init__(self) -> None:
                super().__init__()
                self.factors = [lib.tensor(data.copy(), requires_grad=True)]  # a list: not registered

            def forward(self, x):
                return (x * self.factors[0]).tanh()

        class Outer(nn_lib.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = Scale()

            def forward(self, x):
                return self.inner(x)

        return Outer()

    data = np.random.default_rng(4).standard_normal(3)
    ours, theirs = make(tg, nn, data), make(torch, torch.nn, data)
    (x,), (xt,) = both([np.random.default_rng(5).standard_normal((2, 3))], requires_grad=True)
    checkpoint(ours, x, use_reentrant=False).sum().backward()
    torch.utils.checkpoint.checkpoint(theirs, xt, use_reentrant=False).sum().backward()
    assert_same(ours.inner.factors[0].grad, theirs.inner.factors[0].grad, np.float64)
    assert_same(x.grad, xt.grad, np.float64)


def test_checkpoint_errors():
    x = tg.randn(2, 3, requires_grad=True)

    class Hidden:  # __slots__: no __dict__ for checkpoint to look into
        __slots__ = ("W",)

    hidden = Hidden()
    hidden.W = tg.randn(3, 3, requires_grad=True)
    out = checkpoint(lambda t: t @ hidden.W, x, use_reentrant=False)  # found by its use, not by a search
    out.sum().backward()
    np.testing.assert_array_equal(hidden.W.grad.numpy(), (x.detach().T @ tg.ones(2, 3)).numpy())
    with pytest.raises(NotImplementedError, match="context_fn"):
        checkpoint(lambda t: t * 2, x, use_reentrant=False, context_fn=lambda: None)
    doubled = checkpoint(lambda t: t * 2, x, use_reentrant=False, determinism_check="none")
    np.testing.assert_array_equal(doubled.detach().numpy(), x.detach().numpy() * 2)
    model = make_model()
    with pytest.raises(ValueError, match="segments must be"):
        checkpoint_sequential(model, 0, x, use_reentrant=False)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        checkpoint_sequential(model, 2, x, use_reentrant=False, foo=1)


def test_checkpoint_tuple_outputs_and_non_tensor_arguments():
    a = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    b = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)

    def f(x, y, power):
        return (x * y) ** power, (x - y).exp()

    for reentrant in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # use_reentrant given: no warning
            p, q = checkpoint(f, a, b, 3, use_reentrant=reentrant)
        ga, gb = tg.autograd.grad((p.sum() + (q * q).sum()), [a, b]) if not reentrant else (None, None)
        if reentrant:
            a.grad = b.grad = None
            (p.sum() + (q * q).sum()).backward()
            ga, gb = a.grad, b.grad
        p0, q0 = f(a, b, 3)
        ea, eb = tg.autograd.grad((p0.sum() + (q0 * q0).sum()), [a, b])
        np.testing.assert_allclose(ga.numpy(), ea.numpy(), rtol=1e-13)
        np.testing.assert_allclose(gb.numpy(), eb.numpy(), rtol=1e-13)
    assert isinstance(Checkpoint.formula, tuple)


def test_rng_state_round_trip():
    tg.manual_seed(11)
    state = tg.get_rng_state()
    first = tg.rand(4).numpy()
    tg.set_rng_state(state)
    np.testing.assert_array_equal(tg.rand(4).numpy(), first)
    with pytest.raises(TypeError, match="get_rng_state"):
        tg.set_rng_state(b"not a state")
