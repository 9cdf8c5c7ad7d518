"""The C matrix product's result must not depend on where its operands lie in memory.

NumPy aligns arrays to 16 bytes only, and the kernels may choose their vector loads by where rows start
(gemm_dot sums from a vector boundary with AVX-512 and at the portable level). The same product with A
or B copied elsewhere must still give the same bits: a checkpointed forward recomputed from copies of
the activations must equal the plain forward (tests/test_parity_functional_autograd.py). Each operand is
placed at every element offset within a 64-byte line, A's and B's offsets varied independently, in all
four layouts (A and B stored by rows or as transposed views), float32 and float64, at every
instruction-set level this CPU has; the shapes include those that reach the dot-product path (n < 2
vectors with k ≥ 4 vectors; k ≥ 512 and ≥ 8·max(m, n)) and any others. Every result must equal the one
at offsets (0, 0) bit for bit, and that one must be within the rounding bound of the exact product.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kernels_gemm import ISAS, assert_matmul_close, c_settings

import tinygrad_edu as tg

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

LINE = 64  # bytes


def placed(x: np.ndarray, offset: int, transposed: bool) -> np.ndarray:
    """x's values stored from `offset` elements past the start of a 64-byte line: C-order, or (transposed)
    as the .T view of a C-order xᵀ, which the kernels read through swapped strides."""
    stored = np.ascontiguousarray(x.T) if transposed else x
    per_line = LINE // x.dtype.itemsize
    buf = np.empty(stored.size + 2 * per_line, x.dtype)
    start = (-buf.ctypes.data % LINE) // x.dtype.itemsize + offset
    out = buf[start:start + stored.size].reshape(stored.shape)
    out[...] = stored
    return out.T if transposed else out


def check_address_independent(m: int, k: int, n: int, dtype, isa: str, seed: int) -> None:
    """A·B in every layout with A, then B, at each offset within a line (the other at 0), and both
    moved together: all bit-identical to offsets (0, 0), which is close to the exact product."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    per_line = LINE // np.dtype(dtype).itemsize
    offsets = [(o, 0) for o in range(per_line)] + [(0, o) for o in range(1, per_line)] + \
              [(o, per_line - 1 - o) for o in range(per_line)]
    with c_settings(isa, 1):
        for ta in (False, True):
            for tb in (False, True):
                first = tg.backend.c.matmul(placed(a, 0, ta), placed(b, 0, tb))
                assert_matmul_close(a, b, first)
                for off_a, off_b in offsets:
                    other = tg.backend.c.matmul(placed(a, off_a, ta), placed(b, off_b, tb))
                    assert np.array_equal(other.view(np.uint8), first.view(np.uint8)), \
                        (f"{m}x{k}x{n} {np.dtype(dtype).name} {isa} A{'ᵀ' if ta else ''}·B{'ᵀ' if tb else ''}: "
                         f"A at +{off_a}, B at +{off_b} elements differs from both at +0 by up to "
                         f"{np.max(np.abs(other.astype(np.float64) - first))}")


# The dot-product path's two cases (n narrower than two vectors of 16/8/4/2 lanes, k from 4 vectors; k long
# against m and n, across its 8 KiB K blocks of 2048/1024 elements), and shapes of every other path.
NARROW = st.tuples(st.integers(1, 70), st.integers(8, 700), st.integers(1, 31))
LONG_K = st.integers(1, 40).flatmap(
    lambda side: st.tuples(st.integers(1, side), st.integers(max(512, 8 * side), 4500), st.integers(1, side)))
ANY = st.tuples(st.integers(1, 200), st.integers(1, 300), st.integers(1, 200))


@settings(max_examples=40, deadline=None)
@given(shape=st.one_of(NARROW, LONG_K, ANY), dtype=st.sampled_from([np.float32, np.float64]),
       isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_matmul_bits_do_not_depend_on_operand_addresses(shape, dtype, isa, seed):
    check_address_independent(*shape, dtype, isa, seed)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 32, 3), (64, 256, 10), (64, 784, 10), (35, 192, 24), (6, 3000, 25),
                                   (16, 2049, 6), (3, 37, 5), (64, 10, 256), (150, 16, 640), (170, 390, 70),
                                   (67, 13, 530)],
                         ids=lambda s: "x".join(map(str, s)))
def test_training_shapes_bits_do_not_depend_on_operand_addresses(isa, dtype, shape):
    """The MLP head (x·W, x·Wᵀ), LeNet's ∂W shapes, a K-block edge, a block shorter than 8 KiB with a
    ragged tail, one shape of each other path, and a small k past a chunk of gemm_small_k_tiles' packed B
    with rows past its 4-row tiles (AVX2)."""
    check_address_independent(*shape, dtype, isa, seed=0)
