r"""``tg.autograd.functional``: Jacobians, Hessians and their products, as functions of a function.

Every function here takes ``func`` (Tensors in, Tensors out) and the point ``inputs`` at
which to differentiate it, with PyTorch's signatures (``torch.autograd.functional``). All of
them are built on the one reverse-mode primitive the engine offers, ``tg.autograd.grad``,
which computes a vector-Jacobian product.

The math, for f: ℝⁿ → ℝᵐ at the point x (a tuple of inputs is the concatenation of them,
a tuple of outputs likewise):

    Jacobian            J = ∂f/∂x ∈ ℝ^{m×n},   J[i, j] = ∂fᵢ/∂xⱼ
    vjp(f, x, v)        vᵀJ ∈ ℝⁿ         one backward pass (``grad`` with grad_outputs=v)
    jvp(f, x, v)        J v ∈ ℝᵐ         a forward-mode product, here by two backward passes
    jacobian(f, x)      J, one backward pass per output element (row i = e_iᵀ J)

For a scalar function f: ℝⁿ → ℝ:

    Hessian             H = ∇²f ∈ ℝ^{n×n},  H[i, j] = ∂²f / ∂xᵢ ∂xⱼ  (the Jacobian of ∇f)
    vhp(f, x, v)        vᵀH = ∇ₓ(∇f(x) · v)  backward through the (recorded) gradient
    hvp(f, x, v)        H v                  = (vᵀHᵀ)ᵀ: equal to vhp when f is twice continuously
                                             differentiable (H symmetric); computed, as PyTorch
                                             does, by the double-backward trick on ∇f
    hessian(f, x)       jacobian(∇f, x), with ∇f recorded (``create_graph=True``)

Shapes follow PyTorch exactly: the Jacobian block of output ``out`` with respect to input
``inp`` has shape ``out.shape + inp.shape``; ``jacobian`` of a tuple of inputs returns a tuple
(one block per input), of a tuple of outputs a tuple (one entry per output), of both a
tuple of tuples ``J[i][j] = ∂outᵢ/∂inpⱼ``. ``hessian`` of a tuple returns ``H[i][j]`` of shape
``inpᵢ.shape + inpⱼ.shape``.

Common arguments:
    create_graph   record the computation, so that the results are differentiable again
                   (the results are detached otherwise)
    strict         raise when an output is independent of an input, instead of returning
                   zeros for that block (PyTorch's errors and wording)
    vectorize      accepted for compatibility; PyTorch batches the backward passes with vmap,
                   here the same loop runs either way (same values, same speed)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import grad_mode
from .engine import grad as _grad

Tensors = Any  # a Tensor or a tuple of Tensors
_STRATEGIES = ("forward-mode", "reverse-mode")


# ---- argument handling (as torch.autograd.functional's private helpers) --------------------


def _tensor_class() -> type:
    from ..tensor import Tensor  # (at call time: tensor.py imports the autograd package)

    return Tensor


def _as_tuple(value: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple[Any, ...]]:
    """(was it a tuple, the value as a tuple of Tensors); a non-Tensor entry is a TypeError."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, item in enumerate(values):
        if not isinstance(item, _tensor_class()):
            where = f"the value at index {i} has type {type(item)}" if is_tuple \
                else f"the given {arg_name} has type {type(item)}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                            f"but {where}.")
    return is_tuple, values


def _prepare(tensors: tuple[Any, ...], create_graph: bool, need_graph: bool) -> tuple[Any, ...]:
    """The tensors to differentiate with respect to: new Tensor objects, so that the caller's
    are never marked or changed. With ``create_graph`` a tensor that requires grad is aliased
    differentiably (``view_as``), so the results stay connected to it; otherwise detached."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(need_graph)
                 for t in tensors)


def _finish(results: tuple[Any, ...], create_graph: bool) -> tuple[Any, ...]:
    """Detach (possibly nested tuples of) results unless the graph is wanted."""
    if create_graph:
        return results
    return tuple(_finish(r, False) if isinstance(r, tuple) else r.detach() for r in results)


def _unpack(results: tuple[Any, ...], is_tuple: bool | tuple[bool, bool]) -> Any:
    """Return a tuple only where the user gave one: ``(outputs_tuple, inputs_tuple)`` for nested results."""
    if isinstance(is_tuple, tuple):
        outputs_tuple, inputs_tuple = is_tuple
        if not inputs_tuple:
            results = tuple(r[0] for r in results)
        return results if outputs_tuple else results[0]
    return results if is_tuple else results[0]


def _check_v(v: tuple[Any, ...], others: tuple[Any, ...], others_tuple: bool) -> None:
    """v must hold one Tensor of the same shape per output (vjp) or input (jvp, hvp, vhp)."""
    if len(v) != len(others):
        if others_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(others)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (v_i, other) in enumerate(zip(v, others)):
        if v_i.shape != other.shape:
            prefix = f"Entry {i} in " if others_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {other.shape} but got {v_i.shape}.")


def _prepare_v(v: Any, others: tuple[Any, ...], others_tuple: bool, fn_name: str, what: str,
               create_graph: bool) -> tuple[Any, ...] | None:
    """Check ``v`` against ``others``; None is allowed only for a single one-element Tensor."""
    if v is None:
        if len(others) != 1 or others[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if {what} a single Tensor with a single element.")
        return None
    _, v = _as_tuple(v, "v", fn_name)
    v = _prepare(v, create_graph, need_graph=False)
    _check_v(v, others, others_tuple)
    return v


_INDEPENDENT = {
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs must be "
               "computed in a differentiable manner from the input when running in strict mode.",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the user-provided "
                   "function. This is not allowed in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function with respect "
                "to input {i} is independent of the input. This is not allowed in strict mode. You should ensure "
                "that your function is twice differentiable and that the jacobian depends on the inputs (this "
                "would be violated by a linear function for example).",
    "hessian": "The hessian of the user-provided function with respect to input {i} is independent of the input. "
               "This is not allowed in strict mode. You should ensure that your function is thrice "
               "differentiable and that the hessian depends on the inputs.",
}


def _check_requires_grad(tensors: tuple[Any, ...], kind: str, strict: bool) -> None:
    """In strict mode, every entry must exist and be differentiable (PyTorch's messages)."""
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. "
                               "This is not allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_INDEPENDENT[kind].format(i=i))


def _backward(outputs: tuple[Any, ...], inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...] | None = None,
              create_graph: bool = False, retain_graph: bool | None = None) -> tuple[Any, ...]:
    """``grad`` over the outputs that are differentiable at all; None for an input none of them reach."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else grad_outputs
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs], retain_graph=retain_graph,
                 create_graph=create_graph, allow_unused=True)


_MISSING = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in "
            "strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in "
                  "strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed "
                   "in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                         "backward trick to replace forward mode AD.",
    "jacobian_row": "Output {output} of the user-provided function is independent of input {i}. This is not "
                    "allowed in strict mode.",
}


def _fill_in_zeros(grads: tuple[Any, ...], refs: tuple[Any, ...], strict: bool, create_graph: bool,
                   stage: str, output: int = 0) -> tuple[Any, ...]:
    """Replace a missing gradient (None: independent) by zeros shaped like ``refs[i]``; in
    strict mode raise instead, naming the backward pass (``stage``) that found it (and, for a
    Jacobian row, the ``output`` it belongs to)."""
    from ..factories import zeros_like

    filled = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_MISSING[stage].format(i=i, output=output))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. "
                               "This is not allowed in strict mode when create_graph=True.")
        filled.append(g)
    return tuple(filled)


def _call(func: Callable[..., Any], inputs: tuple[Any, ...], fn_name: str, strict: bool) -> tuple[bool, tuple]:
    """Run ``func`` with recording on; return (outputs were a tuple, outputs as a tuple)."""
    is_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict)
    return is_tuple, outputs


def _check_scalar_output(is_tuple: bool, outputs: tuple[Any, ...], fn_name: str) -> None:
    if is_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")


def _vjp_of(outputs: tuple[Any, ...], wrt: tuple[Any, ...], v: tuple[Any, ...] | None, refs: tuple[Any, ...],
            create_graph: bool, strict: bool, stage: str) -> tuple[Any, ...]:
    """The last backward pass every product ends with: vᵀ ∂outputs/∂wrt, zeros (or, strict,
    an error) where independent. Recorded only with ``create_graph`` (or if the caller records)."""
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        return _fill_in_zeros(_backward(outputs, wrt, v, create_graph), refs, strict, create_graph, stage)


def _linear_in_dummy(outputs: tuple[Any, ...], inputs: tuple[Any, ...],
                     shapes: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The first half of the double-vjp trick (see ``jvp``): a dummy u (zeros that require
    grad, shaped like the outputs: given as ``shapes``, a tuple of Tensors, since an output
    may be None) and the recorded uᵀJ, a function linear in u."""
    from ..factories import zeros_like

    dummy = tuple(zeros_like(t, requires_grad=True) for t in shapes)
    return dummy, _backward(outputs, inputs, dummy, create_graph=True)


# ---- products ------------------------------------------------------------------------------


def vjp(func: Callable[..., Tensors], inputs: Tensors, v: Tensors | None = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensors, Tensors]:
    """Return ``(func(inputs), vᵀJ)``: the vector-Jacobian product, one backward pass.

    ``v`` has the outputs' shapes (it may be None only for a one-element output); the
    product has the inputs' shapes.
    """
    with grad_mode.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _call(func, inputs, "vjp", strict)
        v = _prepare_v(v, outputs, outputs_tuple, "vjp", "the user-provided function returns", create_graph)
    product = _vjp_of(outputs, inputs, v, inputs, create_graph, strict, "back")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(product, create_graph), inputs_tuple))


def jvp(func: Callable[..., Tensors], inputs: Tensors, v: Tensors | None = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensors, Tensors]:
    """Return ``(func(inputs), J v)``: the Jacobian-vector product, by the double-vjp trick.

    The engine only runs backwards, and one backward pass gives uᵀJ for any u. Treat u as
    a variable: the map g(u) = uᵀJ = Jᵀu is linear in u, its Jacobian is Jᵀ, so one more
    vector-Jacobian product, now with v, gives

        vᵀ (∂g/∂u) = vᵀ Jᵀ = (J v)ᵀ        i.e.  J v = ∂/∂u [ (uᵀJ) · v ]

    So: record g = grad(f(x), x, grad_outputs=u) with ``create_graph=True`` for a dummy u
    that requires grad (its value never matters, g being linear in u; zeros), then
    ``grad(g, u, grad_outputs=v)`` is J v. Cost: two backward passes instead of PyTorch's
    forward-mode pass; the value is the same.
    """
    with grad_mode.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _prepare_v(v, inputs, inputs_tuple, "jvp", "the input to the user-provided function is", create_graph)
        outputs_tuple, outputs = _call(func, inputs, "jvp", strict)
        dummy, grad_inputs = _linear_in_dummy(outputs, inputs, outputs)  # u and uᵀJ
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    product = _vjp_of(grad_inputs, dummy, v, outputs, create_graph, strict, "back_trick")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(product, create_graph), outputs_tuple))


def _scalar_gradient(func: Callable[..., Any], fn_name: str, inputs: Tensors, v: Tensors | None,
                     create_graph: bool, strict: bool) -> tuple[bool, tuple, tuple, tuple | None, tuple]:
    """What vhp and hvp share: check and prepare, run the scalar ``func``, record ∇f."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _prepare(inputs, create_graph, need_graph=True)
    v = _prepare_v(v, inputs, inputs_tuple, fn_name, "the input to the user-provided function is", create_graph)
    outputs_tuple, outputs = _call(func, inputs, fn_name, strict)
    _check_scalar_output(outputs_tuple, outputs, fn_name)
    gradient = _backward(outputs, inputs, create_graph=True)  # ∇f, itself differentiable
    _check_requires_grad(gradient, "jacobian", strict)
    return inputs_tuple, inputs, outputs, v, gradient


def vhp(func: Callable[..., Any], inputs: Tensors, v: Tensors | None = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Tensors]:
    """Return ``(func(inputs), vᵀH)`` for a scalar ``func``: vᵀH = ∇ₓ(∇f(x) · v).

    Two backward passes: ∇f recorded, then backward through it with grad_outputs v.
    """
    with grad_mode.enable_grad():
        inputs_tuple, inputs, outputs, v, gradient = _scalar_gradient(func, "vhp", inputs, v, create_graph, strict)
    product = _vjp_of(gradient, inputs, v, inputs, create_graph, strict, "double_back")
    return _finish(outputs, create_graph)[0], _unpack(_finish(product, create_graph), inputs_tuple)


def hvp(func: Callable[..., Any], inputs: Tensors, v: Tensors | None = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Tensors]:
    """Return ``(func(inputs), H v)`` for a scalar ``func``.

    H v is the Jacobian-vector product of the map x ↦ ∇f(x), so it is ``jvp``'s trick applied
    to ∇f: with the recorded ∇f and a dummy u, w(u) = uᵀ ∂(∇f)/∂x = uᵀH is linear in u, and
    H v = ∂/∂u [ w(u) · v ]. Three backward passes (PyTorch does the same); for a twice
    continuously differentiable f, H is symmetric and H v = vᵀH (``vhp``, two passes).
    """
    with grad_mode.enable_grad():
        inputs_tuple, inputs, outputs, v, gradient = _scalar_gradient(func, "hvp", inputs, v, create_graph, strict)
        dummy, double_back = _linear_in_dummy(gradient, inputs, inputs)  # (∇f has the inputs' shapes)  # u and uᵀH
        _check_requires_grad(gradient, "hessian", strict)
    product = _vjp_of(double_back, dummy, v, inputs, create_graph, strict, "double_back_trick")
    return _finish(outputs, create_graph)[0], _unpack(_finish(product, create_graph), inputs_tuple)


# ---- full matrices -------------------------------------------------------------------------


def _basis(inputs: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The standard basis of the concatenated inputs: one tuple (e_k split per input) for each k."""
    from ..factories import zeros_like

    vectors = []
    for i, inp in enumerate(inputs):
        for k in range(inp.numel()):
            e = tuple(zeros_like(t) for t in inputs)
            e[i].data.reshape(-1)[k] = 1  # (a fresh contiguous array: reshape is a view of it)
            vectors.append(e)
    return vectors


def _stack_blocks(rows: Sequence[Any], out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> Any:
    """Stack ``rows`` (one per output element, each shaped like the input) into out.shape + in.shape."""
    from ..tensor import stack

    return stack(list(rows), 0).reshape(tuple(out_shape) + tuple(in_shape))


def _jacobian_forward(func: Callable[..., Tensors], inputs: Tensors, strict: bool, vectorize: bool) -> Any:
    """strategy="forward-mode": one ``jvp`` per input element (column k of J is J e_k)."""
    if strict:
        raise RuntimeError('tg.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not '
                           'supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    if not vectorize:  # as PyTorch, which has forward-mode Jacobians only through vmap
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                  "implemented for `vectorize=True`.")
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    products = [jvp(func, inputs, e) for e in _basis(inputs)]  # each: (outputs, J e_k)
    outputs_tuple, outputs = _as_tuple(products[0][0], "outputs of the user-provided function", "jacobian")
    columns = [c if outputs_tuple else (c,) for _, c in products]
    blocks = []
    for i, out in enumerate(outputs):
        row, start = [], 0
        for inp in inputs:
            block = [columns[start + k][i] for k in range(inp.numel())]  # ∂out/∂inp_k, shaped like out
            stacked = _stack_blocks(block, tuple(inp.shape), tuple(out.shape))  # in.shape + out.shape
            perm = tuple(range(inp.ndim, inp.ndim + out.ndim)) + tuple(range(inp.ndim))
            row.append(stacked.permute(*perm) if perm else stacked)
            start += inp.numel()
        blocks.append(tuple(row))
    return _unpack(tuple(blocks), (outputs_tuple, inputs_tuple))


def jacobian(func: Callable[..., Tensors], inputs: Tensors, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``: block ``∂outᵢ/∂inpⱼ`` of shape ``outᵢ.shape + inpⱼ.shape``.

    ``strategy="reverse-mode"`` (default): one backward pass per output element, row
    e_kᵀJ = ∇(out.flatten()[k]). ``strategy="forward-mode"`` (needs ``vectorize=True``, as in
    PyTorch): one ``jvp`` per input element, column J e_k (each jvp is two backward passes
    here, so it is never faster; it is there for parity and to check one against the other).
    ``vectorize=True`` runs the same loop as ``False``.
    """
    from ..factories import zeros

    if strategy not in _STRATEGIES:
        raise ValueError(f'Expected strategy to be either "forward-mode" or "reverse-mode", got {strategy!r}. '
                         'Hint: If your function has more outputs than inputs, "forward-mode" tends to be more '
                         'performant. Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('tg.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacobian_forward(func, inputs, strict, vectorize)
    if vectorize and strict:
        raise RuntimeError("tg.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported "
                           "together. Please either set `strict=False` or `vectorize=False`.")
    with grad_mode.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _call(func, inputs, "jacobian", strict)
        blocks = []
        for i, out in enumerate(outputs):
            rows: list[list[Any]] = [[] for _ in inputs]  # rows[j][k] = ∂out.flatten()[k] / ∂inputs[j]
            flat = out.reshape(-1)
            for k in range(out.numel()):
                row = _backward((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
                for j, g in enumerate(_fill_in_zeros(row, inputs, strict, create_graph, "jacobian_row", output=i)):
                    rows[j].append(g)
            blocks.append(tuple(_stack_blocks(rows[j], tuple(out.shape), tuple(inp.shape)) if rows[j]
                                else zeros(tuple(out.shape) + tuple(inp.shape), dtype=inp.dtype)  # an empty output
                                for j, inp in enumerate(inputs)))
    return _unpack(_finish(tuple(blocks), create_graph), (outputs_tuple, inputs_tuple))


def hessian(func: Callable[..., Any], inputs: Tensors, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of the scalar ``func``: H[i][j] = ∂²f/∂inpᵢ∂inpⱼ, shape ``inpᵢ.shape + inpⱼ.shape``.

    H = jacobian(∇f): the inner Jacobian (the gradient, recorded with ``create_graph=True``)
    is differentiated again by an outer ``jacobian`` (its ``strategy`` is
    ``outer_jacobian_strategy``). The returned ``H`` holds both H[i][j] and H[j][i]; they
    agree up to rounding for a twice continuously differentiable f.
    """
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ValueError(f'Expected strategy to be either "forward-mode" or "reverse-mode", got '
                         f'{outer_jacobian_strategy!r}.')

    def scalar(*inp: Any) -> Any:
        outputs_tuple, outputs = _call(func, inp, "hessian", strict)
        _check_scalar_output(outputs_tuple, outputs, "hessian")
        return outputs[0].squeeze()

    def gradient(*inp: Any) -> tuple[Any, ...]:
        if outer_jacobian_strategy == "forward-mode":  # jvp's preparation detaches inputs that do not require grad
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(scalar, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                      strategy=outer_jacobian_strategy)
    return _unpack(result, (inputs_tuple, inputs_tuple))
