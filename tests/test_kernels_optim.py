"""The optimiser update kernels in C (csrc/optim.c through ``backend.c``) against the NumPy reference.

``backend.numpy_ref.{sgd,adam,rmsprop,adagrad,adadelta,adamax,nadam,radam,rprop,asgd}_update``
are the definition of correct (they follow the optimisers' docstrings line by line;
tests/test_optim.py and tests/test_parity_optim18.py check the optimisers built on them against
torch.optim). C computes every line in the element type, in
the reference's order and without fused multiply-adds, so the two must agree bit for bit: on
every combination of options, over several steps from zero state and from a random state, for
sizes 0, 1, odd and vector-length multiples ± 1, float32 and float64, and with NaN, ±inf and −0
in the gradient. The kernels have no ISA-specific or threaded paths (one portable loop, memory-
bound), so there is nothing to switch there. Strided parameters run the reference; strided
gradients are copied; bad input raises ValueError naming the kernel on both backends.
"""

from __future__ import annotations

import itertools
import tracemalloc

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

STEPS = 3
DTYPES = [np.float32, np.float64]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)


# ---- one kernel = its state buffers + a call with given options ------------------------------

def sgd(backend, param, grad, state, t, momentum, dampening, weight_decay, nesterov, maximize):
    backend.sgd_update(param, grad, state["momentum_buffer"] if momentum else None, 0.05, momentum, dampening,
                       weight_decay, nesterov, maximize, first_step=t == 1)


def adam(backend, param, grad, state, t, betas, weight_decay, decoupled, amsgrad, maximize):
    lr, (beta1, beta2) = 0.01, betas
    backend.adam_update(param, grad, state["exp_avg"], state["exp_avg_sq"],
                        state["max_exp_avg_sq"] if amsgrad else None, lr, beta1, beta2, 1e-6, weight_decay,
                        decoupled, maximize, step_size=lr / (1 - beta1**t), bias_correction2_sqrt=(1 - beta2**t) ** 0.5)


def rmsprop(backend, param, grad, state, t, alpha, weight_decay, centered, momentum, maximize):
    backend.rmsprop_update(param, grad, state["square_avg"], state["grad_avg"] if centered else None,
                           state["momentum_buffer"] if momentum else None, 0.01, alpha, 1e-6, weight_decay, momentum,
                           maximize)


def adagrad(backend, param, grad, state, t, lr_decay, weight_decay, maximize):
    backend.adagrad_update(param, grad, state["sum"], 0.1 / (1 + (t - 1) * lr_decay), 1e-8, weight_decay, maximize)


def adadelta(backend, param, grad, state, t, rho, weight_decay, maximize):
    backend.adadelta_update(param, grad, state["square_avg"], state["acc_delta"], 0.5, rho, 1e-6, weight_decay,
                            maximize)


def adamax(backend, param, grad, state, t, betas, weight_decay, maximize):
    lr, (beta1, beta2) = 0.01, betas
    backend.adamax_update(param, grad, state["exp_avg"], state["exp_inf"], lr, beta1, beta2, 1e-8, weight_decay,
                          maximize, bias_correction1=1 - beta1**t)


def nadam(backend, param, grad, state, t, betas, weight_decay, decoupled, maximize):
    lr, (beta1, beta2) = 0.01, betas
    mu, mu_next, mu_product = 0.45, 0.46, 0.45**t  # NAdam's μ_t, μ_{t+1}, Π μ (any values: both get the same)
    backend.nadam_update(param, grad, state["exp_avg"], state["exp_avg_sq"], lr, beta1, beta2, 1e-8, weight_decay,
                         decoupled, maximize, bias_correction2=1 - beta2**t,
                         grad_coefficient=lr * (1 - mu) / (1 - mu_product),
                         exp_avg_coefficient=lr * mu_next / (1 - mu_product * mu_next))


def radam(backend, param, grad, state, t, rectified, weight_decay, decoupled, maximize):
    lr, beta1, beta2 = 0.01, 0.9, 0.999
    backend.radam_update(param, grad, state["exp_avg"], state["exp_avg_sq"], lr, beta1, beta2, 1e-8, weight_decay,
                         decoupled, maximize, 1 - beta1**t, 1 - beta2**t, 0.7 + 0.01 * t if rectified else None)


def rprop(backend, param, grad, state, t, etas, maximize):
    backend.rprop_update(param, grad, state["prev"], state["step_size"], *etas, 1e-3, 2.0, maximize)


def asgd(backend, param, grad, state, t, mu, weight_decay, maximize):
    eta = 0.05 / (1 + 1e-2 * 0.05 * t) ** 0.75
    backend.asgd_update(param, grad, state["ax"], 1e-2, eta, np.array(mu, np.float32), weight_decay, maximize)


STATE_NAMES = {sgd: ["momentum_buffer"], adam: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
               rmsprop: ["square_avg", "grad_avg", "momentum_buffer"], adagrad: ["sum"],
               adadelta: ["square_avg", "acc_delta"], adamax: ["exp_avg", "exp_inf"], nadam: ["exp_avg", "exp_avg_sq"],
               radam: ["exp_avg", "exp_avg_sq"], rprop: ["prev", "step_size"], asgd: ["ax"]}
# every combination of each kernel's options: (kernel, option values by name)
OPTIONS = {
    sgd: dict(momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.05], nesterov=[False, True],
              maximize=[False, True]),
    adam: dict(betas=[(0.9, 0.999), (0.3, 0.8)], weight_decay=[0.0, 0.1], decoupled=[False, True],
               amsgrad=[False, True], maximize=[False, True]),  # 1 − β₁ = 0.1 and 0.7: lerp from either end
    rmsprop: dict(alpha=[0.99, 0.4], weight_decay=[0.0, 0.1], centered=[False, True], momentum=[0.0, 0.5],
                  maximize=[False, True]),
    adagrad: dict(lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.1], maximize=[False, True]),
    adadelta: dict(rho=[0.9, 0.3], weight_decay=[0.0, 0.1], maximize=[False, True]),
    adamax: dict(betas=[(0.9, 0.999), (0.3, 0.8)], weight_decay=[0.0, 0.1], maximize=[False, True]),
    nadam: dict(betas=[(0.9, 0.999), (0.3, 0.8)], weight_decay=[0.0, 0.1], decoupled=[False, True],
                maximize=[False, True]),
    radam: dict(rectified=[False, True], weight_decay=[0.0, 0.1], decoupled=[False, True], maximize=[False, True]),
    rprop: dict(etas=[(0.5, 1.2), (0.3, 1.7)], maximize=[False, True]),
    asgd: dict(mu=[1.0, 0.5, 1 / 3], weight_decay=[0.0, 0.1], maximize=[False, True]),  # 1/3: μ rounded to float32
}
ALL_KERNELS = list(OPTIONS)
COMBINATIONS = [(kernel, dict(zip(options, values)))
                for kernel, options in OPTIONS.items() for values in itertools.product(*options.values())]


def combination_id(combination) -> str:
    kernel, options = combination
    return kernel.__name__ + "-" + "-".join(f"{k}={v}" for k, v in options.items())


def run_both(kernel, options, param, grads, state) -> None:
    """Step the reference and C on copies of the same arrays; after every step all must be equal."""
    arrays = {"numpy": (param.copy(), {k: v.copy() for k, v in state.items()}),
              "c": (param.copy(), {k: v.copy() for k, v in state.items()})}
    for t, grad in enumerate(grads, start=1):
        for name, backend in (("numpy", ref), ("c", c)):
            p, s = arrays[name]
            kernel(backend, p, grad, s, t, **options)
        (p_ref, s_ref), (p_c, s_c) = arrays["numpy"], arrays["c"]
        np.testing.assert_array_equal(p_c, p_ref, err_msg=f"parameter after step {t}")
        for key in s_ref:
            np.testing.assert_array_equal(s_c[key], s_ref[key], err_msg=f"{key} after step {t}")
        assert p_c.dtype == param.dtype


def random_arrays(shape, dtype, seed, kernel, zero_state: bool):
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(STEPS)]
    # squared averages and sums are ≥ 0; the others any sign
    state = {k: np.zeros(shape, dtype) if zero_state else
             np.array(rng.standard_normal(shape), dtype) for k in STATE_NAMES[kernel]}
    for k in ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum", "acc_delta", "exp_inf", "step_size"):
        if k in state:
            np.abs(state[k], out=state[k])
    if "grad_avg" in state and not zero_state:  # centered: v − g_ave² ≥ 0 keeps √ real, as in training
        state["grad_avg"] *= 0.1
        state["square_avg"] += 0.1
    return param, grads, state


# ---- C == reference, bit for bit -------------------------------------------------------------

@pytest.mark.parametrize("combination", COMBINATIONS, ids=combination_id)
@settings(max_examples=4, deadline=None)
@given(shape=SHAPES, dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16), zero_state=st.booleans())
@example(shape=(), dtype=np.float32, seed=0, zero_state=True)
@example(shape=(0,), dtype=np.float64, seed=0, zero_state=True)
@example(shape=(1,), dtype=np.float32, seed=1, zero_state=False)
@example(shape=(7, 131), dtype=np.float32, seed=2, zero_state=False)  # vector loops plus odd tails
@example(shape=(1031,), dtype=np.float64, seed=3, zero_state=True)
def test_update_c_matches_numpy(combination, shape, dtype, seed, zero_state):
    kernel, options = combination
    run_both(kernel, options, *random_arrays(shape, dtype, seed, kernel, zero_state))


@pytest.mark.parametrize("combination", [c for c in COMBINATIONS if c[1].get("maximize") is False],
                         ids=combination_id)
@pytest.mark.parametrize("dtype", DTYPES)
def test_update_c_matches_numpy_on_special_values(combination, dtype):
    kernel, options = combination
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30, -1e30, 3.0, -2.5], dtype)
    param, grads, state = random_arrays(special.shape, dtype, 7, kernel, zero_state=True)
    grads[1] = special  # NaN, ±inf and −0 reach every state buffer from step 2 on
    param[-2:] = [np.inf, -0.0]
    with np.errstate(all="ignore"):
        run_both(kernel, options, param, grads, state)


# ---- layouts, aliasing, allocations -------------------------------------------------------------

@pytest.mark.parametrize("kernel", ALL_KERNELS, ids=lambda k: k.__name__)
def test_strided_parameter_is_updated_in_place_by_the_reference_and_strided_grad_is_read(kernel):
    options = dict(zip(OPTIONS[kernel], (values[-1] for values in OPTIONS[kernel].values())))
    options["maximize"] = False
    base, grads, state = random_arrays((6, 10), np.float64, 3, kernel, zero_state=True)
    expected, expected_state = base.copy(), {k: v.copy() for k, v in state.items()}
    for t, grad in enumerate(grads, start=1):
        kernel(ref, expected, grad, expected_state, t, **options)
    strided_base = np.zeros((6, 20))
    strided_base[:, ::2] = base
    param = strided_base[:, ::2]                  # not contiguous: no C kernel, the dispatcher runs the reference
    transposed_state = {k: np.ascontiguousarray(v.T).T for k, v in state.items()}  # Fortran order
    for t, grad in enumerate(grads, start=1):
        strided_grad = np.repeat(grad, 2, axis=1)[:, ::2]    # same values, strided
        with tg.backend.using("c"):
            kernel(tg.backend, param, strided_grad, transposed_state, t, **options)
    np.testing.assert_array_equal(strided_base[:, ::2], expected)
    assert not strided_base[:, 1::2].any()        # the gaps are untouched
    for key in state:
        np.testing.assert_array_equal(transposed_state[key], expected_state[key])


@pytest.mark.parametrize("kernel", ALL_KERNELS, ids=lambda k: k.__name__)
def test_contiguous_arrays_run_in_c_and_others_in_the_reference(kernel, monkeypatch):
    """Otherwise "C == reference" above could be the reference compared with itself."""
    options = dict(zip(OPTIONS[kernel], (values[-1] for values in OPTIONS[kernel].values())))
    name = f"{kernel.__name__}_update"
    calls = []
    reference = getattr(ref, name)
    monkeypatch.setattr(c.numpy_ref, name, lambda *args, **kwargs: calls.append(1) or reference(*args, **kwargs))
    dispatch = tg.backend  # with C active, it runs the reference where the C adapter has no kernel
    with tg.backend.using("c"):
        for dtype, in_c in ((np.float32, True), (np.float64, True), (np.float16, False)):  # float16: no C type
            param, grads, state = random_arrays((3, 5), dtype, 0, kernel, zero_state=True)
            kernel(dispatch, param, grads[0], state, 1, **options)
            kernel(dispatch, param[:, ::2].copy(), grads[0][:, ::2], {k: v[:, ::2].copy() for k, v in state.items()},
                   2, **options)                                              # a strided gradient is copied
            assert len(calls) == (0 if in_c else 2), dtype
            calls.clear()
        kernel(dispatch, np.ones((4, 6))[:, ::2], np.ones((4, 3)), {k: np.zeros((4, 3)) for k in state}, 1, **options)
    assert len(calls) == 1                                                    # a strided parameter


def test_the_c_step_allocates_nothing_per_step():
    """State buffers come once, at the first step; after that a step writes in place only."""
    n = 1 << 20  # 4 MB per float32 array: any temporary the size of the parameter would show
    params = [tg.Tensor(np.ones(n, np.float32), requires_grad=True) for _ in range(2)]
    for p in params:
        p.grad = tg.Tensor(np.full(n, 0.5, np.float32))
    with tg.backend.using("c"):
        for opt in (optim.Adam(params, amsgrad=True), optim.SGD(params, lr=0.1, momentum=0.9),
                    optim.RMSprop(params, centered=True, momentum=0.5), optim.Adagrad(params), optim.Adadelta(params),
                    optim.Adamax(params), optim.NAdam(params), optim.RAdam(params), optim.Rprop(params),
                    optim.ASGD(params, t0=0)):
            opt.step()
            buffers = {id(p): [id(v) for v in opt.state[p].values() if isinstance(v, np.ndarray)] for p in params}
            tracemalloc.start()
            opt.step()
            opt.step()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < n // 4, f"{type(opt).__name__}: a step allocated {peak} bytes"
            assert buffers == {id(p): [id(v) for v in opt.state[p].values() if isinstance(v, np.ndarray)]
                               for p in params}


def test_the_numpy_step_allocates_temporaries_the_c_step_avoids():
    """The check above can fail: the reference's line-by-line NumPy allocates per step."""
    n = 1 << 20
    p = tg.Tensor(np.ones(n, np.float32), requires_grad=True)
    p.grad = tg.Tensor(np.full(n, 0.5, np.float32))
    with tg.backend.using("numpy"):
        opt = optim.Adam([p])
        opt.step()
        tracemalloc.start()
        opt.step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak >= 4 * n


# ---- bad input --------------------------------------------------------------------------------

def bad_calls(param, grad, state):
    """(kernel name, call) pairs that pass `state` as every buffer."""
    s = state
    return [
        ("sgd_update", lambda b: b.sgd_update(param, grad, s, 0.1, 0.9, 0.0, 0.0, False, False, True)),
        ("adam_update", lambda b: b.adam_update(param, grad, s, s, None, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False,
                                                0.1, 1.0)),
        ("rmsprop_update", lambda b: b.rmsprop_update(param, grad, s, s, s, 0.1, 0.99, 1e-8, 0.0, 0.5, False)),
        ("adagrad_update", lambda b: b.adagrad_update(param, grad, s, 0.1, 1e-8, 0.0, False)),
        ("adadelta_update", lambda b: b.adadelta_update(param, grad, s, s, 1.0, 0.9, 1e-6, 0.0, False)),
        ("adamax_update", lambda b: b.adamax_update(param, grad, s, s, 0.1, 0.9, 0.999, 1e-8, 0.0, False, 0.1)),
        ("nadam_update", lambda b: b.nadam_update(param, grad, s, s, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False, 0.1,
                                                  0.1, 0.1)),
        ("radam_update", lambda b: b.radam_update(param, grad, s, s, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False, 0.1,
                                                  0.1, None)),
        ("rprop_update", lambda b: b.rprop_update(param, grad, s, s, 0.5, 1.2, 1e-6, 50.0, False)),
        ("asgd_update", lambda b: b.asgd_update(param, grad, s, 1e-4, 0.01, np.ones((), np.float32), 0.0, False)),
    ]


def read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("backend_name", ["numpy", "c"])
@pytest.mark.parametrize(("param", "grad", "state", "message"), [
    (np.ones(3), np.ones(4), np.zeros(3), r"\(4,\)"),                           # grad shape
    (np.ones(3), np.ones(3), np.zeros((3, 1)), r"\(3, 1\)"),                    # state shape
    (np.ones(3, np.float32), np.ones(3), np.zeros(3, np.float32), "float64"),   # grad dtype
    (np.ones(3), np.ones(3), np.zeros(3, np.float32), "float32"),               # state dtype
    (np.ones(3, np.int64), np.ones(3, np.int64), np.zeros(3, np.int64), "floating-point"),
    (read_only(np.ones(3)), np.ones(3), np.zeros(3), "read-only"),
    (np.ones(3), np.ones(3), read_only(np.zeros(3)), "read-only"),
], ids=["grad-shape", "state-shape", "grad-dtype", "state-dtype", "integer", "read-only-param", "read-only-state"])
def test_bad_input_raises_value_error_naming_the_kernel(backend_name, param, grad, state, message):
    backend = ref if backend_name == "numpy" else c
    for name, call in bad_calls(param, grad, state):
        with pytest.raises(ValueError, match=f"{name}: .*{message}"):
            call(backend)


def test_c_status_is_checked():
    p = np.ones(3)
    pointer = c.ffi.from_buffer("double[]", p)
    assert c.lib.tg_sgd_update_f64(pointer, pointer, c.ffi.NULL, -1, 0.1, 0, 0, 0, 0, 0, 1) == 1
    assert c.lib.tg_adam_update_f64(pointer, pointer, c.ffi.NULL, pointer, c.ffi.NULL, 3, 0.1, 0.9, 0.999, 1e-8,
                                    0, 0, 0, 0.1, 1.0) == 1
    assert c.lib.tg_rprop_update_f64(pointer, pointer, c.ffi.NULL, pointer, 3, 0.5, 1.2, 1e-6, 50, 0) == 1
    assert c.lib.tg_asgd_update_f64(pointer, pointer, pointer, 3, 1e-4, 0.01, 1.0, 0, 0) == 4  # ax aliases param
    with pytest.raises(ValueError, match=r"sgd_update: the C kernel rejected"):
        c._check_status("sgd_update", 1, p)
