"""The MLP head's products (issue 3's fc2 family) and the small-k path with any B layout, against NumPy.

k ≤ 12 runs gemm_b_in_registers (csrc/gemm_small.inc): a strip of B held in registers while the rows
of A stream past. A B whose rows are not contiguous (a transposed B: ∂X = ∂Y·Wᵀ with nn.Linear's W
stored (out, in), or any strided B) is first packed into the workspace 512 columns at a time, strips of
whole vectors; these tests put n on and off a strip (32/16/8/4/2 columns per ISA level) and around the
512-column blocks, B in buffers that end at its last value (ASan: .ci/asan -k gemm_small_calls), and
run the fc2 family through ``c.matmul`` in both weight layouts, float32 and float64, at every ISA level
and with 1 and 2 threads.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kernels_gemm import ISAS, assert_matmul_close, c_settings, check_gemm_tight, gemm_into, tight_buffer

import tinygrad_edu as tg

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(), reason="the C extension is not built")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c


@settings(max_examples=60, deadline=None)
@given(m=st.sampled_from([1, 3, 4, 5, 16, 17, 64]), k=st.sampled_from([1, 2, 7, 10, 12]),
       n=st.sampled_from([2, 4, 8, 15, 16, 31, 32, 33, 64, 255, 256, 257, 511, 512, 513, 1100]),
       a_rows=st.booleans(), beta=st.sampled_from([0.0, 0.5]), c_transposed=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_gemm_b_in_registers_b_by_columns_matches_numpy(m, k, n, a_rows, beta, c_transposed, dtype, isa, seed):
    """k ≤ 12 with B stored by columns (rsb = 1, csb = k: a transposed B), packed into work in blocks of
    512 columns and strips of whole vectors, the last strip partial or whole; A by rows or columns,
    C = A·B + β·C row-major or transposed, every operand in a buffer ending at its last value."""
    check_gemm_tight(m, k, n, a_rows, False, beta, c_transposed, dtype, isa, seed)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_b_in_registers_b_strided_both_ways_matches_numpy(isa, dtype, rng):
    """A B whose rows and columns are both strided (rsb = 2, csb = 2k + 1 elements) takes the same
    packing, element by element: C = A·B + β·C within the dot-product bound."""
    m, k, n, beta = 37, 9, 70, 0.5
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    start = rng.standard_normal((m, n)).astype(dtype)
    rsb, csb = 2, 2 * k + 1
    b_buf = np.zeros((n - 1) * csb + (k - 1) * rsb + 1, dtype)
    np.lib.stride_tricks.as_strided(b_buf, (k, n), (rsb * b_buf.itemsize, csb * b_buf.itemsize))[...] = b
    out = start.copy().ravel()
    with c_settings(isa, 1):
        gemm_into(out, m, n, k, a, k, 1, b_buf, rsb, csb, beta, n, 1)
    exact = a.astype(np.float64) @ b + beta * start
    tol = 4 * k * np.finfo(dtype).eps * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(start))
    assert np.all(np.abs(out.reshape(m, n) - exact) <= tol + np.finfo(dtype).tiny)


def fc2_family(rng: np.random.Generator, dtype) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The MLP head's forward and backward products at batch 64 (256 -> 10), transposes as views: W stored
    (256, 10) (x·W) and as nn.Linear stores it, (10, 256) (x·Wᵀ)."""
    x, g = rng.standard_normal((64, 256)).astype(dtype), rng.standard_normal((64, 10)).astype(dtype)
    w_in_out, w_out_in = rng.standard_normal((256, 10)).astype(dtype), rng.standard_normal((10, 256)).astype(dtype)
    return [("X.W", x, w_in_out), ("Xt.dY", x.T, g), ("dY.Wt", g, w_in_out.T),
            ("x.Wt", x, w_out_in.T), ("dYt.x", g.T, x), ("dY.W", g, w_out_in)]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fc2_family_through_matmul_matches_numpy(dtype, isa, threads, rng):
    """Every fc2 product through c.matmul's fast path (C-order and transposed operands, no copies), at each
    ISA level, 1 and 2 threads; and called twice, the first result kept, equal both times."""
    with c_settings(isa, threads):
        for _, a, b in fc2_family(rng, dtype):
            first = c.matmul(a, b)
            assert_matmul_close(a, b, first)
            second = c.matmul(a, b)
            assert second is not first and np.array_equal(first, second)


def test_fc2_family_bad_input_still_raises(rng):
    """The fast path's checks: mismatched inner dimensions name both shapes; float16 has no kernel."""
    x, w = rng.standard_normal((64, 256)), rng.standard_normal((10, 256))
    with pytest.raises(ValueError, match=r"inner dimensions differ: shapes \(64, 256\) and \(10, 256\)"):
        c.matmul(x, w)
    with pytest.raises(tg.backend.NoKernelError, match="matmul"):
        c.matmul(x.astype(np.float16), w.T.astype(np.float16))


GUARD = -3.0  # the value of every element around C in the buffers below


def buffer_on_a_line(size: int, dtype) -> np.ndarray:
    """size elements of dtype, all GUARD, starting on a 64-byte line (so element j lies j elements into it)."""
    itemsize = np.dtype(dtype).itemsize
    base = np.empty(size + 64 // itemsize, dtype)
    skip = (-base.ctypes.data % 64) // itemsize
    out = base[skip:skip + size]
    out[...] = GUARD
    return out


def rows_view(buf: np.ndarray, rows: int, cols: int, rs: int) -> np.ndarray:
    """The rows × cols matrix stored by rows rs elements apart from buf's start (a view)."""
    return np.lib.stride_tricks.as_strided(buf, (rows, cols), (rs * buf.itemsize, buf.itemsize))


@settings(max_examples=60, deadline=None)
@given(m=st.sampled_from([1, 3, 5, 16, 17, 64]), k=st.sampled_from([1, 2, 10, 12]),
       n=st.sampled_from([2, 16, 31, 32, 33, 47, 48, 63, 64, 65, 97, 250, 256, 257]),
       c_lead=st.integers(0, 15), extra_columns=st.sampled_from([0, 16]), a_rows=st.booleans(), b_rows=st.booleans(),
       beta=st.sampled_from([0.0, 0.5]), dtype=st.sampled_from([np.float32, np.float64]),
       isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_gemm_b_in_registers_c_inside_a_line_matches_numpy(m, k, n, c_lead, extra_columns, a_rows, b_rows, beta, dtype,
                                                            isa, seed):
    """k ≤ 12 (gemm_small.inc) into a row-major C whose rows (a multiple of 16 elements plus extra_columns
    apart) all start c_lead elements into a 64-byte line, as NumPy's arrays do (16-byte aligned), B stored by
    rows or by columns (∂Y·Wᵀ), A by rows or columns: C = A·B + β·C within the dot-product bound, C's start
    NaN where β = 0 (never read), and nothing outside C's rows written: the elements before C, between its
    rows (the columns past n) and after it keep GUARD."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    start = rng.standard_normal((m, n)).astype(dtype) if beta else np.full((m, n), np.nan, dtype)
    a_buf, rsa, csa = tight_buffer(a, a_rows)
    b_buf, rsb, csb = tight_buffer(b, b_rows)
    ld = -(-n // 16) * 16 + extra_columns
    lead = c_lead % (64 // np.dtype(dtype).itemsize)
    size = lead + (m - 1) * ld + n + 8
    out = buffer_on_a_line(size, dtype)
    result = rows_view(out[lead:], m, n, ld)
    result[...] = start
    with c_settings(isa, 1):
        gemm_into(out[lead:], m, n, k, a_buf, rsa, csa, b_buf, rsb, csb, beta, ld, 1)
    exact = a.astype(np.float64) @ b + (beta * start if beta else 0)
    bound = np.abs(a).astype(np.float64) @ np.abs(b) + (np.abs(start) if beta else 0)
    assert np.all(np.abs(result - exact) <= 4 * k * np.finfo(dtype).eps * bound + np.finfo(dtype).tiny)
    written = np.zeros(size, bool)
    rows_view(written[lead:], m, n, ld)[...] = True
    assert np.all(out[~written] == GUARD)
