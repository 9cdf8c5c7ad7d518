"""Every row of ``op_table.OP_TABLE`` against PyTorch, under every available backend.

For each op variant: forward values, shape, dtype and input gradients vs PyTorch in
float64 (rtol 1e-7) and float32, on the row's fixed samples in every memory layout and on
shapes drawn by hypothesis (broadcasting both ways, size-1 dims, 0-d, odd sizes,
non-contiguous inputs); ``gradcheck`` in float64; and double backward vs
``torch.autograd.grad(..., create_graph=True)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import LAYOUTS, check_grad, check_gradgrad, check_op
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from op_table import OP_TABLE, OpCase

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

DTYPES = (np.float64, np.float32)
DIFFERENTIABLE = [c for c in OP_TABLE if not c.forward_only]
DRAWN = [c for c in OP_TABLE if c.shapes is not None]


def _ids(cases: list[OpCase]) -> list[str]:
    return [c.id for c in cases]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", OP_TABLE, ids=_ids(OP_TABLE))
def test_op_matches_torch_on_samples(case: OpCase, dtype, backend):
    for sample in case.samples:
        for layout in case.layouts:
            check_op(case.fn, case.torch_fn, sample, domain=case.domain, dtype=dtype, layout=layout,
                     forward_only=case.forward_only, tol32=case.tol32)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("case", DRAWN, ids=_ids(DRAWN))
def test_op_matches_torch_on_drawn_shapes(case: OpCase, backend, data):
    sample = data.draw(case.shapes(), label="shapes")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    layout = data.draw(st.sampled_from([lay for lay in LAYOUTS if lay in case.layouts]), label="layout")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    check_op(case.fn, case.torch_fn, sample, domain=case.domain, dtype=dtype, layout=layout, seed=seed,
             forward_only=case.forward_only, tol32=case.tol32)


GRADCHECKED = [c for c in DIFFERENTIABLE if c.gradcheck]


@pytest.mark.parametrize("case", GRADCHECKED, ids=_ids(GRADCHECKED))
def test_op_gradcheck(case: OpCase, backend):
    for sample in case.samples:
        check_grad(case.fn, sample, domain=case.domain)


DRAWN_GRADCHECKED = [c for c in GRADCHECKED if c.shapes is not None]


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("case", DRAWN_GRADCHECKED, ids=_ids(DRAWN_GRADCHECKED))
def test_op_gradcheck_on_drawn_shapes(case: OpCase, backend, data):
    sample = data.draw(case.shapes(), label="shapes")
    check_grad(case.fn, sample, domain=case.domain, seed=data.draw(st.integers(0, 2**16), label="seed"))


GRADGRADED = [c for c in DIFFERENTIABLE if c.gradgrad]


@pytest.mark.parametrize("case", GRADGRADED, ids=_ids(GRADGRADED))
def test_op_gradgrad_matches_torch(case: OpCase, backend):
    for sample in case.samples:
        check_gradgrad(case.fn, case.torch_fn, sample, domain=case.domain)
