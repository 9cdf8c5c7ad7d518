"""Hypothesis strategies for testing ops: shapes that broadcast, inputs that are safe to differentiate.

Needs ``hypothesis`` (a test extra; nothing else in tinygrad_edu imports it).

    from hypothesis import given
    from tinygrad_edu.testing import strategies as tst

    @given(tst.broadcastable_shapes())
    def test_add_broadcasts(shapes):
        a_shape, b_shape = shapes          # np.broadcast_shapes(a_shape, b_shape) never raises

    @given(tst.well_conditioned_arrays((3, 4), avoid=(0.0,)))
    def test_relu_grad(x): ...             # |x| ≥ margin: no element sits on relu's kink

Broadcasting, read right to left: two shapes are compatible when, dimension by dimension
from the last, the sizes are equal or one of them is 1; a missing leading dimension counts
as 1. ``broadcastable_shapes`` builds pairs from that rule: draw the result shape, then
for each operand drop some leading dimensions and set some of the rest to 1, so size-1
dimensions, different ranks and 0-d shapes all occur.

"Well-conditioned" inputs keep finite differences and float comparisons meaningful: the
values lie in a moderate range and at least ``margin`` away from every point in ``avoid``
(kinks such as 0 for relu/abs, poles such as 0 for 1/x and log), and optionally all
distinct (no ties for max).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

Shape = tuple[int, ...]


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy[Shape]:
    """Array shapes with ``min_dims``..``max_dims`` dimensions of sizes ``min_side``..``max_side``."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@st.composite
def broadcastable_shapes(draw: st.DrawFn, min_dims: int = 0, max_dims: int = 4,
                         max_side: int = 5) -> tuple[Shape, Shape]:
    """A pair of shapes that NumPy (and PyTorch) can broadcast together.

    Built from the result shape: each operand keeps its trailing dimensions (the leading
    ones it drops are broadcast) and some of those may shrink to 1. 0-d shapes occur.
    """
    result = draw(shapes(min_dims, max_dims, 1, max_side))

    def operand() -> Shape:
        kept = draw(st.integers(0, len(result)))
        trailing = result[len(result) - kept:]
        ones = draw(st.lists(st.booleans(), min_size=kept, max_size=kept))
        return tuple(1 if one else size for one, size in zip(ones, trailing))

    return operand(), operand()


def _element(dtype: np.dtype, low: float, high: float, avoid: Sequence[float],
             margin: float) -> st.SearchStrategy[float]:
    width = 32 if dtype == np.float32 else 64
    values = st.floats(low, high, width=width, allow_nan=False, allow_infinity=False)
    return values.filter(lambda v: all(abs(v - point) >= margin for point in avoid))


@st.composite
def well_conditioned_arrays(draw: st.DrawFn, shape: Shape | st.SearchStrategy[Shape], dtype: Any = np.float64,
                            low: float = -3.0, high: float = 3.0, avoid: Sequence[float] = (),
                            margin: float = 0.1, unique: bool = False,
                            noncontiguous: bool = False) -> np.ndarray:
    """A float array of ``shape`` (a shape or a strategy of shapes) safe for gradient tests.

    Elements lie in [low, high] and at least ``margin`` away from every point in ``avoid``;
    ``unique=True`` makes them all distinct (no ties). ``noncontiguous=True`` returns a
    strided view (every other element of a larger array), as a transpose or slice produces.
    """
    dtype = np.dtype(dtype)
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    elements = _element(dtype, low, high, avoid, margin)
    if not noncontiguous or len(shape) == 0:
        return draw(hnp.arrays(dtype, shape, elements=elements, unique=unique))
    wide = (*shape[:-1], 2 * shape[-1])
    return draw(hnp.arrays(dtype, wide, elements=elements, unique=unique))[..., ::2]


@st.composite
def broadcastable_arrays(draw: st.DrawFn, dtype: Any = np.float64, avoid: Sequence[float] = (),
                         margin: float = 0.1, max_dims: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Two well-conditioned arrays whose shapes broadcast together (see broadcastable_shapes)."""
    a_shape, b_shape = draw(broadcastable_shapes(max_dims=max_dims))
    return (draw(well_conditioned_arrays(a_shape, dtype, avoid=avoid, margin=margin)),
            draw(well_conditioned_arrays(b_shape, dtype, avoid=avoid, margin=margin)))


__all__ = ["broadcastable_arrays", "broadcastable_shapes", "shapes", "well_conditioned_arrays"]
