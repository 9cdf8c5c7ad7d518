"""What an op saves for backward, against PyTorch: only what the needed gradients read.

PyTorch's built-in ops save an input only when a gradient that is needed reads it
(derivatives.yaml: ``mul`` keeps ``other`` only if ``self`` requires grad). So an in-place
write to an input that no needed gradient reads (``with no_grad: w.add_(1)``, or
``optimizer.step()`` on w) does not make backward raise. For every op row of the op table,
every choice of inputs that require grad and every input written in place, both libraries
must agree: tinygrad_edu raises "modified in place" at backward iff PyTorch raises (except
the rows listed in ``EXCEPTIONS``, each with the reason), and where neither raises, the
gradients agree. Also: an input whose saved copy no gradient needs is not kept alive by the graph.
"""

from __future__ import annotations

import gc
import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from helpers import make_inputs
from op_table import OP_TABLE, OpCase, Sample

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore::UserWarning")]  # rows at their edges (var of 1 element) warn

RAISES, NO_GRAPH = "raises", "no graph"


@dataclass(frozen=True)
class Known:
    """A known difference: in the runs ``applies`` picks, only ``who`` raises ("ours" or "torch")."""

    who: str
    reason: str
    applies: Callable[[Sample, tuple[bool, ...], int], bool] = lambda sample, needs, written: True


# Ops whose derivative PyTorch computes from x itself, while ours saves a value derived from x in
# forward (a mask, a sign, the share of each tie): a later write to x cannot change it, so our
# gradient stays right and there is nothing to refuse.
_DERIVED = Known("torch", "torch saves x, we save a mask / sign / tie share computed from x in forward")
# PyTorch's backward of these reads the input (pooling, padding and gather kernels take it, if only
# for its shape); ours keeps the shape and the indices.
_SHAPE_ONLY = Known("torch", "torch's backward kernel takes the input; ours keeps only its shape and indices")
# Fused ops whose backward with create_graph=True runs the composite again on the inputs, so they
# keep every input, as PyTorch's own fused ops do (_thnn_fused_lstm_cell,
# binary_cross_entropy_with_logits); the table's torch reference is the composite, whose ops save less.
_FUSED = Known("ours", "a fused op keeps its inputs for its create_graph=True backward; torch's row is a composite")

EXCEPTIONS: dict[str, Known] = {
    **dict.fromkeys(["abs", "abs_at_zero", "clamp", "clamp_min", "clamp_max", "clamp_at_bounds", "leaky_relu",
                     "leaky_relu_0.2", "amax", "amax_dims", "amax_ties", "amin", "amin_ties", "max", "max_ties",
                     "min_ties", "norm_inf", "maximum", "minimum", "tg_maximum_ties", "tg_minimum_ties",
                     "max_elementwise", "min_elementwise", "min", "median", "median_ties", "clamp_tensor",
                     "clamp_tensor_min", "clamp_tensor_max", "clamp_tensor_ties"], _DERIVED),
    **dict.fromkeys(["gather", "index_add", "pad_reflect", "pad_replicate", "pad_reflect_crop", "max_pool2d",
                     "max_pool2d_ceil", "max_pool1d_ceil", "avg_pool2d", "avg_pool2d_ceil",
                     "avg_pool2d_ceil_exclude_pad", "avg_pool2d_divisor_override", "avg_pool1d_ceil_exclude_pad",
                     "max_unpool2d", "max_pool3d_ceil", "avg_pool3d_ceil"],
                    _SHAPE_ONLY),
    **dict.fromkeys(["lstm_cell", "lstm_layer", "gru_cell", "gru_layer", "rnn_layer", "bce_with_logits_fused"], _FUSED),
    **dict.fromkeys(["cross_entropy_fused", "cross_entropy_mean", "cross_entropy_sum_weighted_ignored",
                     "cross_entropy_mean_weighted_smoothing", "cross_entropy_none_smoothing"],
                    Known("ours", "CrossEntropy keeps x: its create_graph=True backward computes softmax(x) in "
                                  "Tensor ops; torch's log_softmax saves its output, nll_loss no logits")),
    "rdiv": Known("ours", "2 / x is Div(2, x), whose ∂L/∂x = −g·2/x² reads x; torch computes x.reciprocal() * 2, "
                          "and reciprocal saves its output"),
    "float_times_int": Known("torch", "Tensor.mul casts the int operand to float first (a copy) and Mul saves the "
                                      "copy; torch's mul promotes inside the kernel and saves the int tensor",
                             lambda sample, needs, written: written == 1),
    "matmul": Known("ours", "torch.matmul turns these into one bmm or mm on copies (broadcast batch dims expanded "
                            "and reshaped; a 1-D x folded against w's transpose) and saves the copies",
                    lambda sample, needs, written: sample in (((2, 1, 3, 4), (5, 4, 2)), ((3,), (2, 3, 4)))),
    **dict.fromkeys(["einsum_implicit_chain", "einsum_ellipsis_batched", "einsum_summed_alone", "einsum_bilinear",
                     "einsum_trace_product"],
                    Known("ours", "torch.einsum contracts pairwise through bmm on copies (an index only one "
                                  "operand has summed first, broadcast dims expanded and reshaped, a third operand "
                                  "met by the first product) and saves those; Einsum keeps the operands themselves")),
    **dict.fromkeys(["chunk", "split", "split_sizes", "unbind"],
                    Known("torch", "torch refuses to differentiate a view made by an op returning several views "
                                   "(split, unbind) once its base is written in place; nothing saved is involved")),
    **dict.fromkeys(["cummax", "cummin_dim0", "index_copy"], _SHAPE_ONLY),  # (index_copy: torch reads source's)
    "nanmedian": _DERIVED,
    "logaddexp2": Known("torch", "logaddexp2 is LogAddExp of x·ln 2 and w·ln 2, which saves those products (new "
                                 "tensors), not x and w"),
    "svdvals": Known("ours", "SvdVals keeps A and recomputes U, Vh through Svd in backward (so create_graph "
                             "differentiates them); torch's svdvals computes U, Vh in forward and saves those"),
    "erfinv": Known("torch", "Erfinv's derivative ½√π·exp(y²) reads its output y; torch's reads x again"),
    "ndtr": Known("ours", "Ndtr keeps x for φ(x); torch's ndtr is a composite whose erfc saves a scaled copy of x"),
    **dict.fromkeys(["modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
                     "scaled_modified_bessel_k1", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1"],
                    Known("ours", "torch has no derivative for these (nothing saved); ours differentiates and "
                                  "keeps x")),
    "kron": Known("ours", "kron multiplies reshaped views of its operands and Mul saves the views, which share the "
                          "operands' version counter; torch.kron saves reshaped copies"),
}

CASES = [c for c in OP_TABLE if not c.forward_only]


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(lib, case: OpCase, arrays: list[np.ndarray], needs: tuple[bool, ...], written: int | None,
         create_graph: bool = False):
    """Forward, an in-place write to input ``written`` (if any) that bumps its version (values kept),
    backward: RAISES if backward refused a saved tensor modified in place, NO_GRAPH if no output
    requires grad, else the input gradients."""
    inputs = [lib.tensor(a.copy(), requires_grad=need) for a, need in zip(arrays, needs)]
    fn = case.fn if lib is tg else (case.torch_fn or case.fn)
    outputs = [o for o in _as_list(fn(*inputs)) if o.requires_grad]
    if not outputs:  # the inputs that require grad reach no output through a differentiable op
        return NO_GRAPH
    if written is not None:
        with lib.no_grad():
            inputs[written].add_(0)
    try:
        loss = outputs[0].sum()
        for o in outputs[1:]:
            loss = loss + o.sum()
        loss.backward(create_graph=create_graph)
    except RuntimeError as err:
        text = str(err)
        assert "modified" in text and ("in place" in text or "inplace" in text), text
        return RAISES
    return [None if x.grad is None else x.grad.detach().numpy().copy() for x in inputs]


def _grad_subsets(arrays: list[np.ndarray]):
    """Which inputs require grad: every nonempty subset of the float inputs (for more than three,
    each one alone, all but one, and all)."""
    floats = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    sizes = range(1, len(floats) + 1) if len(floats) <= 3 else (1, len(floats) - 1, len(floats))
    for size in sizes:
        for chosen in itertools.combinations(floats, size):
            yield tuple(i in chosen for i in range(len(arrays)))


def _disagreements(case: OpCase) -> list[tuple]:
    """(sample, needs, written, ours, torch's) for every run where the outcomes differ."""
    found = []
    for sample in case.samples:
        arrays = make_inputs(sample, case.domain, np.float64)
        for needs in _grad_subsets(arrays):
            for written in range(len(arrays)):
                ours, theirs = _run(tg, case, arrays, needs, written), _run(torch, case, arrays, needs, written)
                if (ours == RAISES) != (theirs == RAISES):
                    found.append((sample, needs, written, "ours" if ours == RAISES else "torch"))
                elif ours not in (RAISES, NO_GRAPH):
                    _assert_same_gradients(ours, theirs)
    return found


def _assert_same_gradients(ours: list, theirs: list) -> None:
    for g, g_t in zip(ours, theirs):
        assert (g is None) == (g_t is None)
        if g is not None:
            np.testing.assert_allclose(g, g_t, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_raises_after_an_in_place_write_iff_torch_raises(case: OpCase):
    found = _disagreements(case)
    known = EXCEPTIONS.get(case.name)
    if known is not None:
        assert found, f"{case.id} agrees with torch now: remove it from EXCEPTIONS"
        found = [f for f in found if not (f[3] == known.who and known.applies(*f[:3]))]
    assert found == [], (f"{case.id}: (sample, requires_grad, input written, who alone raises): {found}; "
                         "if the difference is meant, add the row to EXCEPTIONS with the reason")


# Ops whose forward passes None to save_for_backward for some choices of requires_grad.
SAVING_LESS = {"Mul", "Div", "Pow", "Hypot", "MatMul", "Linear", "ClampTensor"}
GRAPH_CASES = [c for c in CASES if SAVING_LESS & set(c.ops)]


@pytest.mark.parametrize("case", GRAPH_CASES, ids=[c.id for c in GRAPH_CASES])
def test_backward_with_create_graph_reads_only_what_was_kept(case: OpCase):
    """The differentiable backward (create_graph=True: Tensor ops, not the array fast paths) under
    every choice of inputs requiring grad: it reads no item forward did not keep, and its
    gradients are torch's."""
    for sample in case.samples:
        arrays = make_inputs(sample, case.domain, np.float64)
        for needs in _grad_subsets(arrays):
            ours = _run(tg, case, arrays, needs, None, create_graph=True)
            theirs = _run(torch, case, arrays, needs, None, create_graph=True)
            assert (ours == NO_GRAPH) == (theirs == NO_GRAPH)
            if ours != NO_GRAPH:
                _assert_same_gradients(ours, theirs)


# ---- optimizer.step() between forward and backward ---------------------------------------

OPTIMIZERS = {"SGD": {"lr": 0.1, "momentum": 0.9}, "Adam": {"lr": 0.01}}


def _step_then_backward(lib, optimizer: str, layer: bool):
    """A loss whose op saved only the input x (w * x with x not requiring grad, or a linear layer on
    x), one optimizer step on the weights, then backward: the weights' gradients, or RAISES."""
    x = lib.tensor(np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], dtype=np.float32))
    if layer:
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 2)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)))
        params = [model.weight, model.bias]
        forward = model
    else:
        w = lib.tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], dtype=np.float32), requires_grad=True)
        params, forward = [w], (lambda x: w * x)
    opt = getattr(lib.optim, optimizer)(params, **OPTIMIZERS[optimizer])
    forward(x).sum().backward()  # a first step, so that the optimiser has state
    opt.step()
    loss = forward(x).sum()
    versions = [p._version for p in params]
    opt.step()  # writes every parameter in place (the gradients are kept): backward reads no saved copy of one
    assert all(p._version > v for p, v in zip(params, versions))
    try:
        loss.backward()
    except RuntimeError:
        return RAISES
    return [p.grad.detach().numpy().copy() for p in params]


@pytest.mark.parametrize("layer", [False, True], ids=["w*x", "nn.Linear"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_step_between_forward_and_backward_on_weights_no_gradient_reads_runs_as_torch(optimizer, layer):
    ours, theirs = _step_then_backward(tg, optimizer, layer), _step_then_backward(torch, optimizer, layer)
    assert theirs != RAISES and ours != RAISES
    for g, g_t in zip(ours, theirs):
        np.testing.assert_allclose(g, g_t, rtol=1e-6)


# ---- memory: what no needed gradient reads is not kept -------------------------------------

GRAPHS = {  # (the input that only a gradient not needed would read, an op on it); the other operand needs no grad
    "mul": lambda h, c: (h * c).sum(),
    "div": lambda h, c: (h / (c + 1.0)).sum(),
    "matmul": lambda h, c: (c @ h).sum(),
    "linear (frozen weight)": lambda h, c: tg.nn.functional.linear(h, c).sum(),
}


@pytest.mark.parametrize("graph", GRAPHS)
def test_an_input_no_needed_gradient_reads_is_not_kept_alive(graph):
    leaf = tg.tensor(np.linspace(0.5, 2.0, 9).reshape(3, 3), requires_grad=True)
    constant = tg.tensor(np.arange(9.0).reshape(3, 3))  # requires no grad
    h = leaf * 2.0  # Mul(leaf, 2): ∂/∂leaf reads only the 2, so h's node does not keep leaf either
    tensor_ref, array_ref = weakref.ref(h), weakref.ref(h.data)
    loss = GRAPHS[graph](h, constant)
    del h
    gc.collect()
    assert tensor_ref() is None and array_ref() is None  # the graph kept the constant, not h
    loss.backward()
    assert leaf.grad is not None and np.all(np.isfinite(leaf.grad.numpy()))


def test_a_broadcast_operand_written_in_place_raises_as_torch():
    """Broadcasting inserts Expand for an operand that needs a gradient; the op saves that view.
    The view shares its base's version counter, so a write to the base is seen (it used to be
    missed, and backward silently computed with the new values)."""
    outcomes = []
    for lib in (tg, torch):
        x = lib.tensor(np.array([[1.0], [2.0]]), requires_grad=True)  # (2, 1): expanded to (2, 3)
        w = lib.tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)  # (1, 3)
        loss = (x * w).sum()  # ∂L/∂x reads w, ∂L/∂w reads x: both kept
        with lib.no_grad():
            w.mul_(3.0)
        with pytest.raises(RuntimeError, match="modified") as raised:
            loss.backward()
        outcomes.append(str(raised.value))
    assert "MulBackward0" in outcomes[0]
