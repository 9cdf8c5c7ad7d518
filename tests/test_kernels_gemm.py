"""The C matrix product (csrc/gemm.c through ``backend.c.matmul``) against the NumPy reference.

``backend.numpy_ref.matmul`` (np.matmul) is the definition of correct. The C result must
agree within the rounding-error bound of a length-k dot product,

    |C_c − C_exact| ≤ 2·k·ε · (|A|·|B|)      elementwise (ε: the dtype's unit roundoff),

on shapes drawn by hypothesis around the kernels' block and tile sizes (1, primes, MR/NR
multiples ± 1, KC, MC, NC, the 8 KiB K blocks (2048 / 1024 elements) of
the dot-product path, k around 32 (the small-k path), k = 0 and empty dimensions), with
transposed, Fortran-order and sliced inputs, batched and broadcast, float32 and float64, at
every instruction-set level this CPU has (forced in turn) and with 1 and 2 threads. Operands
that the kernels read past their last used value (whole vectors) are also passed in buffers
that end exactly at their last element, so that AddressSanitizer (.ci/asan) sees any overrun.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from helpers import c_isa_names
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c
BEST_ISA, ISAS = c_isa_names()

# Sizes that sit on the edges of the register tiles (direct paths: MR = 14/6/4 rows, NR = 32/16/8
# columns; the blocked path's packed tile on AVX-512: 6 rows, 64/32 columns) and of the cache blocks
# (KC = 256/384, MC = 128/144/168), plus 1, primes and 0.
EDGE_SIZES = [1, 2, 3, 5, 6, 7, 13, 14, 15, 16, 17, 29, 31, 32, 33, 47, 64, 65, 97, 129, 169, 257, 385]


@contextlib.contextmanager
def c_settings(isa: str, threads: int) -> Iterator[None]:
    """Run the block with the C kernels capped at `isa` and using `threads` threads."""
    c.set_isa(isa)
    c.set_num_threads(threads)
    try:
        yield
    finally:
        c.set_isa(BEST_ISA)
        c.set_num_threads(1)


def assert_matmul_close(a: np.ndarray, b: np.ndarray, actual: np.ndarray) -> None:
    """Same shape and dtype as the reference, and within the dot-product rounding bound."""
    expected = ref.matmul(a, b)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    k = a.shape[-1]
    bound = 2 * max(k, 1) * np.finfo(actual.dtype).eps * np.matmul(np.abs(a).astype(np.float64),
                                                                    np.abs(b).astype(np.float64))
    assert np.all(np.abs(actual - exact) <= bound + np.finfo(actual.dtype).tiny)


def layout(x: np.ndarray, how: str) -> np.ndarray:
    """The same values as x, stored C-order, as a transposed view, or as a strided slice."""
    if how == "transposed":  # the .T of a C-order array: C passes swapped strides, no copy
        return np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)
    if how == "sliced":  # every other column of a wider array: neither C nor Fortran order
        wide = np.zeros((*x.shape[:-1], 2 * x.shape[-1]), dtype=x.dtype)
        wide[..., ::2] = x
        return wide[..., ::2]
    return x


LAYOUTS = st.sampled_from(["c", "transposed", "sliced"])


def check_random_product(m: int, k: int, n: int, dtype, isa: str, layout_a: str, layout_b: str, seed: int) -> None:
    """A random (m×k)·(k×n) product in the given layouts, at ISA level `isa`, against the reference."""
    rng = np.random.default_rng(seed)
    a = layout(rng.standard_normal((m, k)).astype(dtype), layout_a)
    b = layout(rng.standard_normal((k, n)).astype(dtype), layout_b)
    with c_settings(isa, 1):
        assert_matmul_close(a, b, c.matmul(a, b))


@settings(max_examples=60, deadline=None)
@given(m=st.sampled_from(EDGE_SIZES), k=st.sampled_from([0, *EDGE_SIZES]), n=st.sampled_from(EDGE_SIZES),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS), layout_a=LAYOUTS,
       layout_b=LAYOUTS, seed=st.integers(0, 2**16))
def test_matmul_c_matches_numpy(m, k, n, dtype, isa, layout_a, layout_b, seed):
    check_random_product(m, k, n, dtype, isa, layout_a, layout_b, seed)


@settings(max_examples=30, deadline=None)
@given(m=st.sampled_from([1, 2, 3, 4, 5, 6, 8, 16, 17, 63]),
       k=st.sampled_from([512, 1023, 1025, 2047, 2048, 2049, 4111]),
       n=st.sampled_from([1, 3, 4, 5, 6, 10, 11, 25, 33, 64]), dtype=st.sampled_from([np.float32, np.float64]),
       isa=st.sampled_from(ISAS), layout_a=LAYOUTS, layout_b=LAYOUTS, seed=st.integers(0, 2**16))
def test_matmul_long_k_c_matches_numpy(m, k, n, dtype, isa, layout_a, layout_b, seed):
    """k ≫ m, n (a convolution's ∂W): the dot-product path when A·Bᵀ is stored row by row, K blocks of 8 KiB,
    tiles of 4×5 (AVX-512) or 3×3 with m, n on and off their edges, lanes summed by the transpose-add tree."""
    check_random_product(m, k, n, dtype, isa, layout_a, layout_b, seed)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(30, 5, 2049), (170, 390, 70), (64, 784, 256), (64, 256, 10), (256, 64, 10),
                                   (64, 10, 256), (784, 64, 256), (6, 25, 3000),
                                   (3000, 25, 6), (6, 3000, 25), (16, 150, 640), (16, 150, 1100)],
                         ids=lambda s: "x".join(map(str, s)))
def test_matmul_block_edges_and_training_shapes_c_matches_numpy(isa, dtype, shape, rng):
    """Past NC = 2048 columns, past KC and MC, and the MLP/LeNet training shapes, all layouts."""
    m, k, n = shape
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    with c_settings(isa, 1):
        for how_a in ("c", "transposed"):
            for how_b in ("c", "transposed"):
                assert_matmul_close(a, b, c.matmul(layout(a, how_a), layout(b, how_b)))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 3, 10, 17, 31])
def test_matmul_narrow_b_read_in_place_c_matches_numpy(isa, dtype, n, rng):
    """n below a tile: B's rows are read in place as whole vectors except its last rows (copied), so k
    from 1 (every row is a last row) to past KC (the copied rows are in the last K block only); with
    a transposed A the product runs as Cᵀ with a strided C."""
    for m, k in [(1, 1), (64, 1), (5, 2), (64, 256), (256, 64), (33, 385), (70, 800)]:
        a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
        with c_settings(isa, 1):
            assert_matmul_close(a, b, c.matmul(a, b))
            assert_matmul_close(a, b, c.matmul(layout(a, "transposed"), b))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 31, 32, 33])
def test_matmul_small_k_c_matches_numpy(isa, dtype, k, rng):
    """k ≤ 32 with more than 128 rows and more than two tiles of columns (conv2 ∂cols, 150×16 · 16×6400):
    the unpacked row-sweep path (gemm_small_k), up to and past its switch-over at k = 32, n on and off
    a whole tile (NR = 32 … 4) and a vector, A stored transposed or strided. Fewer rows (the MLP head's
    ∂X, 64×10 · 10×256) and a transposed B take the other paths: results must agree whichever runs."""
    with c_settings(isa, 1):
        for m, n in [(129, 65), (150, 640), (200, 131), (131, 97), (64, 256), (7, 70), (1, 100)]:
            a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
            for how_a, how_b in [("c", "c"), ("transposed", "c"), ("sliced", "c"), ("c", "sliced"),
                                 ("c", "transposed")]:
                assert_matmul_close(a, b, c.matmul(layout(a, how_a), layout(b, how_b)))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_small_k_beta_and_strided_c_match_numpy(isa, dtype, rng):
    """C = A·B + β·C on the small-k path, into a row-major C and into a transposed C (rsc = 1)."""
    ctype = "float[]" if dtype == np.float32 else "double[]"
    kernel, workspace = ((c.lib.tg_gemm_f32, c.lib.tg_gemm_workspace_f32) if dtype == np.float32
                         else (c.lib.tg_gemm_f64, c.lib.tg_gemm_workspace_f64))
    m, k, n = 150, 16, 70
    a_t, b = rng.standard_normal((k, m)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    work = np.empty(workspace(1), dtype)
    ptr = c.ffi.from_buffer
    for transposed_c in (False, True):
        out = rng.standard_normal((n, m) if transposed_c else (m, n)).astype(dtype)
        start = (out.T if transposed_c else out).copy()
        rsc, csc = (1, m) if transposed_c else (n, 1)
        with c_settings(isa, 1):
            assert kernel(1, m, n, k, ptr(ctype, a_t), 0, 1, m, ptr(ctype, b), 0, n, 1, 0.5,
                          ptr(ctype, out, require_writable=True), 0, rsc, csc, ptr(ctype, work), work.size) == 0
        exact = a_t.T.astype(np.float64) @ b + 0.5 * start
        tol = 4 * k * np.finfo(dtype).eps * (np.abs(a_t.T).astype(np.float64) @ np.abs(b) + np.abs(start))
        assert np.all(np.abs((out.T if transposed_c else out) - exact) <= tol)


def gemm_into(c_buf: np.ndarray, m: int, n: int, k: int, a_buf: np.ndarray, rsa: int, csa: int, b_buf: np.ndarray,
              rsb: int, csb: int, beta: float, rsc: int, csc: int) -> None:
    """C = A·B + β·C through the C entry point tg_gemm_{f32,f64} on raw buffers and element strides."""
    dtype = c_buf.dtype
    ctype = "float[]" if dtype == np.float32 else "double[]"
    kernel, workspace = ((c.lib.tg_gemm_f32, c.lib.tg_gemm_workspace_f32) if dtype == np.float32
                         else (c.lib.tg_gemm_f64, c.lib.tg_gemm_workspace_f64))
    work = np.empty(workspace(c.lib.tg_get_num_threads()), dtype)
    ptr = c.ffi.from_buffer
    status = kernel(1, m, n, k, ptr(ctype, a_buf), 0, rsa, csa, ptr(ctype, b_buf), 0, rsb, csb, beta,
                    ptr(ctype, c_buf, require_writable=True), 0, rsc, csc, ptr(ctype, work), work.size)
    assert status == 0


# k and n around a vector (LANES = 16/8/4/2) and a tile, the small-k switch (32) and KC; m on both sides of
# the direct path's limit (128 rows) and of a tile (14/6/4 rows).
PARTIAL_K = [1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 31, 33, 385]
PARTIAL_N = [1, 2, 9, 10, 11, 17, 31, 33, 65, 256, 257]


@settings(max_examples=80, deadline=None)
@given(m=st.sampled_from([1, 5, 13, 14, 15, 64, 129, 200]), k=st.sampled_from(PARTIAL_K), n=st.sampled_from(PARTIAL_N),
       b_columns=st.booleans(), gap=st.sampled_from([0, 3]), beta=st.sampled_from([0.0, 0.5]),
       c_transposed=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS),
       seed=st.integers(0, 2**16))
def test_gemm_reads_b_past_its_values_only_inside_b(m, k, n, b_columns, gap, beta, c_transposed, dtype, isa, seed):
    """B in a buffer that ends at its last element (ASan flags any read past it), stored by rows (rsb = n + gap,
    csb = 1: partial tiles read whole vectors across rows, the last rows copied) or by columns (rsb = 1,
    csb = k + gap: the packing transposes LANES × LANES blocks in registers, a partial last K block reading
    on into the next column, e.g. the MLP head's ∂X = ∂Y·Wᵀ with k = 10); C = A·B + β·C row-major or
    transposed, against the float64 product."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    start = rng.standard_normal((m, n)).astype(dtype)
    if b_columns:
        rsb, csb = 1, k + gap
        b_buf = np.empty((n - 1) * csb + k, dtype)  # column j at j·csb, nothing after the last value
        np.lib.stride_tricks.as_strided(b_buf, (k, n), (b_buf.itemsize, csb * b_buf.itemsize))[...] = b
    else:
        rsb, csb = n + gap, 1
        b_buf = np.empty((k - 1) * rsb + n, dtype)
        np.lib.stride_tricks.as_strided(b_buf, (k, n), (rsb * b_buf.itemsize, b_buf.itemsize))[...] = b
    out = (start.T.copy() if c_transposed else start.copy()).ravel()
    rsc, csc = (1, m) if c_transposed else (n, 1)
    with c_settings(isa, 1):
        gemm_into(out, m, n, k, a, k, 1, b_buf, rsb, csb, beta, rsc, csc)
    result = out.reshape(n, m).T if c_transposed else out.reshape(m, n)
    exact = a.astype(np.float64) @ b + beta * start
    tol = 4 * k * np.finfo(dtype).eps * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(start))
    assert np.all(np.abs(result - exact) <= tol + np.finfo(dtype).tiny)


@settings(max_examples=60, deadline=None)
@given(m=st.sampled_from([6, 7, 12, 13, 36, 37, 64]), k=st.sampled_from([1, 33, 200, 257, 513]),
       row_bytes=st.sampled_from([1016, 1024, 2040, 2048, 4088, 4096]), gap=st.sampled_from([0, 5]),
       a_rows=st.booleans(), beta=st.sampled_from([0.0, 0.5]), c_transposed=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_gemm_direct_b_rows_far_apart_matches_numpy(m, k, row_bytes, gap, a_rows, beta, c_transposed, dtype, isa,
                                                    seed):
    """B stored by rows row_bytes apart (rsb ≥ n: gap columns unused) on the direct path (m ≤ 128): read in
    place or packed (packs_b_rows), on both sides of its switches (rows 1, 2 and 4 KiB apart; more than MR / 2,
    2·MR and 6·MR rows on AVX2: 3, 12, 36), k within one K block and across several, A by rows or by columns,
    C = A·B + β·C row-major or transposed, B in a buffer ending at its last value."""
    rng = np.random.default_rng(seed)
    rsb = row_bytes // np.dtype(dtype).itemsize
    n = rsb - gap
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    start = rng.standard_normal((m, n)).astype(dtype)
    a_buf, rsa, csa = tight_buffer(a, a_rows)
    b_buf = np.empty((k - 1) * rsb + n, dtype)
    np.lib.stride_tricks.as_strided(b_buf, (k, n), (rsb * b_buf.itemsize, b_buf.itemsize))[...] = b
    out = (start.T.copy() if c_transposed else start.copy()).ravel()
    rsc, csc = (1, m) if c_transposed else (n, 1)
    with c_settings(isa, 1):
        gemm_into(out, m, n, k, a_buf, rsa, csa, b_buf, rsb, 1, beta, rsc, csc)
    result = out.reshape(n, m).T if c_transposed else out.reshape(m, n)
    exact = a.astype(np.float64) @ b + beta * start
    tol = 4 * k * np.finfo(dtype).eps * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(start))
    assert np.all(np.abs(result - exact) <= tol + np.finfo(dtype).tiny)


def tight_buffer(x: np.ndarray, rows_contiguous: bool, line_offset: int | None = None) -> tuple[np.ndarray, int, int]:
    """x's values in a buffer ending at its last element, stored by rows or by columns: (buffer, rs, cs).

    line_offset: where the buffer starts in a 64-byte cache line, in bytes (a multiple of the item size);
    None: wherever NumPy's allocation starts (16-byte aligned)."""
    rows, cols = x.shape
    rs, cs = (cols, 1) if rows_contiguous else (1, rows)
    buf = np.empty(rows * cols, x.dtype)
    tried = []  # kept alive, so that every attempt is a new allocation
    while line_offset is not None and buf.ctypes.data % 64 != line_offset:
        # NumPy's allocations start 16-byte aligned: guess where the next one starts (16·j bytes into a
        # line), skip `lead` elements to the offset, and keep it if the guess was right
        lead = (line_offset - 16 * (len(tried) % 4)) % 64 // x.itemsize
        tried.append(np.empty(rows * cols + lead, x.dtype))
        buf = tried[-1][lead:]
        assert len(tried) < 100, "no allocation started where the test needs it"
    np.lib.stride_tricks.as_strided(buf, x.shape, (rs * x.itemsize, cs * x.itemsize))[...] = x
    return buf, rs, cs


def check_gemm_tight(m: int, k: int, n: int, a_rows: bool, b_rows: bool, beta: float, c_transposed: bool, dtype,
                     isa: str, seed: int, a_at: int | None = None, b_at: int | None = None) -> None:
    """C = A·B + β·C through tg_gemm at ISA level `isa`, every operand (A and B by rows or by columns, C
    row-major or transposed) in a buffer ending at its last value (A and B starting a_at and b_at bytes
    into a cache line, if given), against the float64 product."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    start = rng.standard_normal((m, n)).astype(dtype)
    a_buf, rsa, csa = tight_buffer(a, a_rows, a_at)
    b_buf, rsb, csb = tight_buffer(b, b_rows, b_at)
    out, rsc, csc = tight_buffer(start, not c_transposed)
    with c_settings(isa, 1):
        gemm_into(out, m, n, k, a_buf, rsa, csa, b_buf, rsb, csb, beta, rsc, csc)
    result = np.lib.stride_tricks.as_strided(out, (m, n), (rsc * out.itemsize, csc * out.itemsize))
    exact = a.astype(np.float64) @ b + beta * start
    tol = 4 * k * np.finfo(dtype).eps * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(start))
    assert np.all(np.abs(result - exact) <= tol + np.finfo(dtype).tiny)


@settings(max_examples=80, deadline=None)
@given(m=st.sampled_from([1, 2, 3, 4, 5, 9, 16, 17, 64, 70]), k=st.sampled_from([1, 2, 3, 7, 10, 11, 12, 13]),
       n=st.sampled_from([1, 2, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 256, 257]),
       a_rows=st.booleans(), beta=st.sampled_from([0.0, 0.5]), c_transposed=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_gemm_b_in_registers_matches_numpy(m, k, n, a_rows, beta, c_transposed, dtype, isa, seed):
    """k ≤ 12 with B's rows contiguous (the MLP head's ∂x = ∂Y·W, 64×10 · 10×256): a strip of B held in
    registers (gemm_small.inc; on AVX2 only with A by columns or k ≤ 2, else the direct path's tiles), k on
    both sides of the switches at 2 and 12, n on and off a whole strip (32/16/8/4/2
    columns) and below one (the other paths), m on and off the row groups (4 or fewer) and blocks (16), A by
    rows or by columns, C = A·B + β·C row-major or transposed, operands in buffers ending at their last value."""
    check_gemm_tight(m, k, n, a_rows, True, beta, c_transposed, dtype, isa, seed)


@settings(max_examples=200, deadline=None)
@given(m=st.sampled_from([7, 8, 9, 10, 11, 12, 64, 67, 130]), k=st.sampled_from([1, 2, 3, 9, 10, 12, 13, 15, 16, 17]),
       n=st.sampled_from([1, 3, 4, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 256, 511, 512, 513, 530, 1100]),
       b_rows=st.booleans(), beta=st.sampled_from([0.0, 0.5]), c_transposed=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_gemm_small_k_tiles_matches_numpy(m, k, n, b_rows, beta, c_transposed, dtype, isa, seed):
    """k ≤ 16 with A by rows and m ≥ 8 (the MLP head's ∂X = ∂Y·W and ∂Y·Wᵀ, 64×10 · 10×256): on AVX2 the
    tiles of gemm_small_k_tiles (gemm_small.inc), one copy per k; k on both sides of 16 (and of 2, where a B
    by rows with n ≥ one vector goes to gemm_b_in_registers), m on both sides of 8 and with 0-3 rows past
    the 4-row tiles, n on and off a strip (16/8 columns) and below one, B by rows (read in place from n = 8
    vectors on, its partial last strip copied) or by columns (packed 512 columns at a time: n on both sides
    of 512 and past two chunks), C = A·B + β·C row-major (or transposed: the other paths), operands in buffers
    ending at their last value."""
    check_gemm_tight(m, k, n, True, b_rows, beta, c_transposed, dtype, isa, seed)


@settings(max_examples=40, deadline=None)
@given(m=st.sampled_from([129, 150]), k=st.sampled_from([1, 13, 16, 32]),
       n=st.sampled_from([1023, 1024, 1025, 1031, 2048, 2049, 2100]), a_rows=st.booleans(),
       beta=st.sampled_from([0.0, 0.5]), c_transposed=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]),
       isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_gemm_small_k_column_chunks_match_numpy(m, k, n, a_rows, beta, c_transposed, dtype, isa, seed):
    """k ≤ 32 with more than 128 rows (conv2 ∂cols): gemm_small_k, which on AVX2 runs 1024 columns of B at a
    time (SMALL_K_NC); n on and off a chunk edge, with and without a partial last tile, A by rows or by
    columns, C = A·B + β·C row-major or transposed, operands in buffers ending at their last value."""
    check_gemm_tight(m, k, n, a_rows, True, beta, c_transposed, dtype, isa, seed)


@settings(max_examples=100, deadline=None)
@given(m=st.sampled_from([1, 5, 6, 7, 13, 64, 256]), k=st.sampled_from([13, 33, 64, 257]),
       n=st.sampled_from([9, 10, 11, 12, 13, 14, 17, 20, 24, 25, 40, 264, 265]), a_rows=st.booleans(),
       b_rows=st.booleans(), beta=st.sampled_from([0.0, 0.5]), c_transposed=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_gemm_direct_narrow_last_tile_matches_numpy(m, k, n, a_rows, b_rows, beta, c_transposed, dtype, isa, seed):
    """The direct path's partial last column of tiles, which on AVX2 is one vector wide where its columns fit
    in one (NARROW_LAST_TILE; tiles of 8 / 16 columns for float64 / float32): n past a tile by 1…LANES
    columns (9-12, 17, 20, 25, 265 float64; 17-24, 40, 264 float32) and by more (13, 14 float64; 25, 265
    float32), the MLP head's ∂W = Xᵀ·∂Y (256×64 · 64×10 float64, A by columns) among them; n ≤ 2 tiles, so
    256 rows take the direct path too.
    A by rows (tile_any) or by columns (tile_any_unit_rsa, the narrow tile then tile_any's), B read in place
    (the last rows copied, as wide as the narrow tile) or packed, C = A·B + β·C row-major or transposed,
    operands in buffers ending at their last value."""
    check_gemm_tight(m, k, n, a_rows, b_rows, beta, c_transposed, dtype, isa, seed)


@settings(max_examples=80, deadline=None)
@given(m=st.sampled_from([1, 2, 3, 4, 5, 6, 9, 10, 11, 64, 65]), k=st.sampled_from([7, 8, 15, 16, 17, 31, 32, 33,
                                                                                      63, 64, 65, 256, 257]),
       n=st.sampled_from([1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 15, 16, 17, 31, 32, 33]), beta=st.sampled_from([0.0, 0.5]),
       c_transposed=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS),
       seed=st.integers(0, 2**16))
def test_gemm_dot_narrow_n_matches_numpy(m, k, n, beta, c_transposed, dtype, isa, seed):
    """A·Bᵀ with n narrower than two vectors (the MLP head's x·Wᵀ, 64×256 · (10×256)ᵀ): the dot-product
    tiles (4×5 or 3×3), taken from k = 4 vectors (64/32/16/8/4 elements) on; n and m on and off the tile
    edges, m < n and m > n (the two tile orders), k with a partial last vector, C = A·B + β·C row-major or
    transposed, operands in buffers ending at their last value."""
    check_gemm_tight(m, k, n, True, False, beta, c_transposed, dtype, isa, seed)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 4, 5, 6, 8, 9, 10, 14, 15, 16])
def test_gemm_transposed_a_narrow_n_matches_numpy(isa, dtype, n):
    """A stored by columns (Xᵀ) times a narrow B stored by rows, m > n (the MLP head's ∂W = Xᵀ·∂Y, 256×64 ·
    64×10): run as Cᵀ, whose whole tiles with all of Cᵀ's n rows (at most a vector's lanes) are transposed
    in registers into rows of C and stored as overlapping whole vectors, the last rows element by element;
    m on and off the tiles' 32/16/8 columns, n on both sides of a vector and of the tile height, β = 0
    (that store) and 0.5 (the other), C in a buffer ending at its last value (ASan: nothing stored past it)."""
    for seed, (m, k, beta) in enumerate([(31, 13, 0.0), (32, 64, 0.0), (64, 33, 0.0), (257, 64, 0.0), (64, 16, 0.5)]):
        check_gemm_tight(m, k, n, False, True, beta, False, dtype, isa, seed)


@settings(max_examples=100, deadline=None)
@given(m=st.sampled_from([1, 4, 5, 15, 16, 17, 64]), k=st.sampled_from([31, 32, 64, 65, 79, 96, 256, 257, 520, 2050]),
       n=st.sampled_from([1, 2, 5, 9, 10, 11, 15, 17, 33]), b_rows=st.booleans(), a_at=st.integers(0, 15),
       b_at=st.integers(0, 15), dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS),
       seed=st.integers(0, 2**16))
def test_gemm_dot_any_line_offset_matches_numpy(m, k, n, b_rows, a_at, b_at, dtype, isa, seed):
    """The dot-product path with A's and B's rows starting anywhere in a 64-byte line: the sums run over
    whole vectors from one operand's line boundary, a masked vector before it (blended with the one
    after the last whole vector when k is a multiple of the vector); a narrow Bᵀ (n = 1…17) is copied to
    A's place in a line, and a narrow B stored by rows (the MLP head's x·W) transposed into it, from
    m = 16 on (m and k on both sides of the switch, n on and off a whole vector); k with and without a
    partial vector, several K blocks (2050), n = 33 (Bᵀ not copied, its line boundary used)."""
    itemsize = np.dtype(dtype).itemsize
    check_gemm_tight(m, k, n, True, b_rows, 0.0, False, dtype, isa, seed, a_at=a_at * 4 // itemsize * itemsize,
                     b_at=b_at * 4 // itemsize * itemsize)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("inf_at", [0, 3, 250, 255])
def test_gemm_dot_masked_lanes_keep_an_infinity(isa, dtype, inf_at):
    """x·Wᵀ with an infinity in W: the lanes masked off in the dot path's partial vectors are zero in both
    operands, so a row sums to ±∞ as NumPy's does, not to NaN (0·∞) — A and Bᵀ 16 bytes apart in a line."""
    rng = np.random.default_rng(inf_at)
    x, w = rng.uniform(1, 2, (8, 256)).astype(dtype), rng.standard_normal((10, 256)).astype(dtype)
    w[3, inf_at] = -np.inf
    a_buf, _, _ = tight_buffer(x, True, 16)
    b_buf, _, _ = tight_buffer(w, True, 32)
    out = np.empty((8, 10), dtype)
    with c_settings(isa, 1):
        gemm_into(out, 8, 10, 256, a_buf, 256, 1, b_buf, 1, 256, 0.0, 10, 1)
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(x @ w.T))
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(x @ w.T))
    assert np.isfinite(np.delete(out, 3, axis=1)).all()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shapes", [((700, 520), (520, 740)), ((12, 200, 300), (300, 500)),
                                    ((3, 1, 180, 300), (5, 300, 330)), ((2, 700, 450), (2, 450, 500))],
                         ids=str)
def test_matmul_threads_c_matches_numpy(isa, threads, shapes, rng):
    """Products above the parallel threshold, split by columns, rows or batch."""
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    with c_settings(isa, threads):
        assert_matmul_close(a, b, c.matmul(a, b))
        assert_matmul_close(a.T.copy().T, b, c.matmul(a.T.copy().T, b))
        if b.ndim == 2:  # B stored transposed: packed by in-register transposes
            assert_matmul_close(a, b.T.copy().T, c.matmul(a, b.T.copy().T))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((5,), (5,)), ((5,), (5, 3)), ((4, 5), (5,)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3)),
                                    ((7, 3, 4), (7, 4, 5)), ((7, 3, 4), (4, 5)), ((3, 4), (7, 4, 5)),
                                    ((2, 1, 3, 4), (5, 4, 6)), ((1, 3, 4), (6, 4, 2)), ((0, 3, 4), (4, 5)),
                                    ((3, 0), (0, 4)), ((0, 4), (4, 3)), ((3, 4), (4, 0)), ((2, 3, 4), (1, 4, 2))],
                         ids=str)
def test_matmul_batched_broadcast_1d_c_matches_numpy(dtype, shapes, rng):
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    assert_matmul_close(a, b, c.matmul(a, b))
    if a.ndim >= 2 and b.ndim >= 2:  # batches of transposed matrices are passed by strides too
        a_t, b_t = layout(a, "transposed"), layout(b, "transposed")
        assert_matmul_close(a_t, b_t, c.matmul(a_t, b_t))


def test_matmul_dtype_rules(rng):
    """NumPy's promotion: f32·f32 -> f32 in C; f32·f64 and int·float -> f64 in C; int·int -> the reference."""
    a32, b64 = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2))
    ints_a, ints_b = rng.integers(-5, 5, (3, 4)), rng.integers(-5, 5, (4, 2))
    assert c.matmul(a32, a32.T).dtype == np.float32
    assert_matmul_close(a32.astype(np.float64), b64, c.matmul(a32, b64))
    assert_matmul_close(ints_a.astype(np.float64), b64, c.matmul(ints_a, b64))
    with tg.backend.using("c"):  # c.matmul raises NoKernelError, the dispatcher runs the reference
        exact_int = tg.backend.matmul(ints_a, ints_b)
    assert exact_int.dtype == np.matmul(ints_a, ints_b).dtype
    np.testing.assert_array_equal(exact_int, np.matmul(ints_a, ints_b))


@pytest.mark.parametrize("shapes", [((3, 4), (5, 2)), ((4,), (5,)), ((2, 3, 4), (3, 5, 2)), ((3, 4), (2, 3, 5, 1))],
                         ids=str)
def test_matmul_bad_shapes_raise_naming_both(shapes):
    a, b = np.ones(shapes[0], np.float32), np.ones(shapes[1], np.float32)
    with pytest.raises(ValueError, match="matmul") as info:
        c.matmul(a, b)
    assert str(shapes[0]) in str(info.value) and str(shapes[1]) in str(info.value)


def test_matmul_zero_dim_operand_raises():
    with pytest.raises(ValueError, match=r"matmul.*\(\).*\(3,\)"):
        c.matmul(np.float32(2.0), np.ones(3, np.float32))


def test_gemm_beta_accumulates_and_bad_arguments_return_status(rng):
    """C = A·B + β·C at the C level, and the status codes for a negative size or a small workspace."""
    a, b, out = rng.standard_normal((5, 7)), rng.standard_normal((7, 3)), rng.standard_normal((5, 3))
    expected = a @ b + 0.5 * out
    work = np.empty(c.lib.tg_gemm_workspace_f64(1))
    ptr = c.ffi.from_buffer

    def call(m, work_len):
        return c.lib.tg_gemm_f64(1, m, 3, 7, ptr("double[]", a), 0, 7, 1, ptr("double[]", b), 0, 3, 1, 0.5,
                                 ptr("double[]", out, require_writable=True), 0, 3, 1, ptr("double[]", work), work_len)

    assert call(5, work.size) == 0
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    assert call(-1, work.size) == c.lib.TG_GEMM_BAD_SHAPE
    assert call(5, 10) == c.lib.TG_GEMM_SMALL_WORKSPACE


def test_set_isa_and_threads_reject_bad_values():
    with pytest.raises(ValueError, match="set_isa"):
        c.set_isa("sse9")
    with pytest.raises(ValueError, match="set_num_threads"):
        c.set_num_threads(0)
    assert tg.backend.isa() == BEST_ISA and tg.backend.get_num_threads() == 1


def test_environment_variables_choose_isa_and_threads():
    """TINYGRAD_EDU_ISA caps the level (and an unknown value raises); TINYGRAD_EDU_NUM_THREADS sets threads."""
    script = ("import numpy as np, tinygrad_edu as tg\n"
              "print(tg.backend.isa(), tg.backend.get_num_threads())\n"
              "a = np.arange(12.0).reshape(3, 4)\n"
              "assert np.array_equal(tg.backend.c.matmul(a, a.T), a @ a.T)\n")
    env = {**os.environ, "TINYGRAD_EDU_ISA": "portable", "TINYGRAD_EDU_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["portable", "2"]
    env["TINYGRAD_EDU_ISA"] = "avx1024"
    failed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "TINYGRAD_EDU_ISA must be one of" in failed.stderr
