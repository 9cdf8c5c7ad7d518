"""A B packed once for many products (backend.pack_b / backend.matmul_packed) against the NumPy reference.

The C backend copies B into the direct tiles' strips (NR = 32/16/8 columns on AVX-512/AVX2/portable
for float32, half that for float64; all k rows, p-major) and multiplies with A read in place, in K
blocks of KC = 384/256. Shapes are drawn around those edges, with A and B C-ordered, transposed
(read in place) or sliced (copied first), at every ISA level and with 1 and 2 threads. The comparison
is test_kernels_gemm.py's ``assert_matmul_close`` (the dot-product rounding bound).
A PackedB is a snapshot: later changes to the source array do not reach its products.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kernels_gemm import ISAS, assert_matmul_close, c_settings, layout, tight_buffer

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

ROWS = [0, 1, 5, 13, 14, 15, 64, 65, 129]
K = [0, 1, 7, 16, 17, 128, 255, 256, 257, 384, 385, 512]
N = [1, 7, 8, 9, 16, 17, 31, 32, 33, 64, 100, 128, 512]
LAYOUTS = st.sampled_from(["c", "transposed", "sliced"])


def packed_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c.matmul_packed(a, c.pack_b(b)), checking the PackedB's description of B on the way."""
    packed = c.pack_b(b)
    assert packed.shape == b.shape and packed.dtype == b.dtype
    assert packed.transposed == (not b.flags.c_contiguous and b.flags.f_contiguous)
    return c.matmul_packed(a, packed)


@settings(max_examples=120, deadline=None)
@given(m=st.sampled_from(ROWS), k=st.sampled_from(K), n=st.sampled_from(N),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS), layout_a=LAYOUTS,
       layout_b=LAYOUTS, threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**16))
def test_matmul_packed_matches_numpy(m, k, n, dtype, isa, layout_a, layout_b, threads, seed):
    rng = np.random.default_rng(seed)
    a = layout(rng.standard_normal((m, k)).astype(dtype), layout_a)
    b = layout(rng.standard_normal((k, n)).astype(dtype), layout_b)
    with c_settings(isa, threads):
        assert_matmul_close(a, b, packed_product(a, b))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_packed_two_threads_split_rows(isa, dtype, rng):
    """2·m·n·k ≥ 2^29 flops: the rows of A are split over 2 threads, both reading the one packed B."""
    a = rng.standard_normal((515, 1024)).astype(dtype)
    b = rng.standard_normal((512, 1024)).astype(dtype).T  # W_hhᵀ-like: a transposed view
    with c_settings(isa, 2):
        packed = c.pack_b(b)
        assert_matmul_close(a, b, c.matmul_packed(a, packed))
        assert_matmul_close(a[:7], b, c.matmul_packed(a[:7], packed))  # few rows: one thread, the same B


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("b_rows", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pack_b_reads_only_inside_b(isa, b_rows, dtype, rng):
    """B in a buffer that ends at its last element (by rows, or by columns: packed by in-register
    transposes whose last block of k may reach past B's values): the packing reads nothing past it
    (ASan, .ci/asan), and the products are right. k = 37, n = 45: partial blocks and strips."""
    for k, n in [(37, 45), (16, 33), (3, 5)]:
        values = rng.standard_normal((k, n)).astype(dtype)
        buf, rs, cs = tight_buffer(values, b_rows)
        b = np.lib.stride_tricks.as_strided(buf, (k, n), (rs * buf.itemsize, cs * buf.itemsize))
        a = rng.standard_normal((9, k)).astype(dtype)
        with c_settings(isa, 1):
            assert_matmul_close(a, values, packed_product(a, b))


def test_packed_b_is_a_snapshot(rng):
    """Changing B after packing does not change the products (both backends): they use B as packed."""
    b = rng.standard_normal((40, 70)).astype(np.float32)
    a = rng.standard_normal((6, 40)).astype(np.float32)
    for module in (c, ref):
        expected = ref.matmul(a, b)
        packed = module.pack_b(b)
        b_before = b.copy()
        b *= 2
        np.testing.assert_allclose(module.matmul_packed(a, packed), expected, rtol=1e-5, atol=1e-5)
        b[...] = b_before


@pytest.mark.parametrize("backend_name", ["c", "numpy"])
def test_matmul_packed_bad_operand_raises_naming_op_and_shapes(backend_name, rng):
    b = rng.standard_normal((8, 5))
    with tg.backend.using(backend_name):
        packed = tg.backend.pack_b(b)
        for a, text in [(rng.standard_normal((3, 7)), r"\(3, 7\)"),  # k = 7 against B's 8 rows
                        (rng.standard_normal((3, 8)).astype(np.float32), "float32"),  # B is float64
                        (rng.standard_normal(8), r"\(8,\)"),  # 1-D
                        (rng.standard_normal((2, 3, 8)), r"\(2, 3, 8\)")]:  # batched
            with pytest.raises(ValueError, match=rf"matmul_packed: .*\(8, 5\).*{text}"):
                tg.backend.matmul_packed(a, packed)
        with pytest.raises(ValueError, match=r"pack_b: .*\(2, 8, 5\)"):
            tg.backend.pack_b(np.zeros((2, 8, 5)))


def test_packed_b_of_the_c_backend_on_the_numpy_backend_raises(rng):
    """A PackedB (tiles' strips) used while the NumPy backend is active: a ValueError that says so (np.matmul's
    error about a 0-d operand before)."""
    with tg.backend.using("c"):
        packed = tg.backend.pack_b(rng.standard_normal((8, 5)))
    with tg.backend.using("numpy"), pytest.raises(ValueError, match="matmul_packed: B was packed by another backend"):
        tg.backend.matmul_packed(rng.standard_normal((3, 8)), packed)


def test_packed_b_of_another_isa_raises():
    """A PackedB's strips are as wide as the tiles of the ISA level it was packed at (float32 AVX-512: 32
    columns, AVX2: 16): used after set_isa changed the width, it raises and says to pack again."""
    if len(ISAS) < 2:
        pytest.skip("only one ISA level on this CPU")
    b = np.ones((4, 40), np.float32)
    packed = c.pack_b(b)
    with c_settings(ISAS[0], 1), pytest.raises(ValueError, match="pack it again"):
        c.matmul_packed(np.ones((2, 4), np.float32), packed)


def test_dispatcher_falls_back_to_the_reference_for_other_dtypes(rng):
    """float16 has no C kernel: pack_b and matmul_packed run the reference (np.matmul of the copy)."""
    b, a = rng.standard_normal((12, 20)).astype(np.float16), rng.standard_normal((3, 12)).astype(np.float16)
    with tg.backend.using("c"):
        packed = tg.backend.pack_b(b)
        out = tg.backend.matmul_packed(a, packed)
    assert isinstance(packed, np.ndarray) and out.dtype == np.float16
    np.testing.assert_array_equal(out, np.matmul(a, b))


@pytest.mark.parametrize("precision", ["high", "medium"])
def test_float32_precision_settings_reach_packed_products(precision, rng):
    """At float32 precision "high"/"medium" a PackedB holds a copy of B and multiplies by matmul, so its
    products are exactly matmul's under that setting (bfloat16 AMX products where they run)."""
    a, b = rng.standard_normal((64, 128)).astype(np.float32), rng.standard_normal((128, 512)).astype(np.float32)
    try:
        tg.backend.set_float32_matmul_precision(precision)
        packed = c.pack_b(b)
        np.testing.assert_array_equal(c.matmul_packed(a, packed), c.matmul(a, b))
    finally:
        tg.backend.set_float32_matmul_precision("highest")
    assert c.pack_b(b).panel is not None  # "highest": the FMA kernels' packed panel


# (batch, hidden size H, gates): LSTM (4), GRU (3) and RNN (1) layers' per-step products
RECURRENT_SHAPES = [(1, 48, 4), (5, 64, 3), (64, 128, 4), (64, 512, 1), (7, 300, 4), (3, 40, 1)]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_packed_gives_matmuls_bits_on_recurrent_shapes(isa, threads, dtype, rng):
    """LSTM/GRU/RNN results did not change when their W_hh became packed: the per-step products h·W_hhᵀ
    (k = H, n = gates·H) and δz·W_hh (k = gates·H, n = H) give the very bits of the unpacked calls they
    replaced, matmul(h, W_hhᵀ as a C-ordered copy) and matmul(δz, W_hh) (the same tiles, the same k order),
    wherever A lies in memory (offsets of 0 … 56 bytes from a cache line)."""
    def at_offset(values: np.ndarray, offset: int) -> np.ndarray:
        raw = np.empty(values.nbytes + 128, np.uint8)
        start = -raw.ctypes.data % 64 + offset
        placed = raw[start:start + values.nbytes].view(values.dtype).reshape(values.shape)
        placed[...] = values
        return placed

    for batch, hidden, gates in RECURRENT_SHAPES:
        w_hh = rng.standard_normal((gates * hidden, hidden)).astype(dtype)
        h, dz = (rng.standard_normal((batch, size)).astype(dtype) for size in (hidden, gates * hidden))
        with c_settings(isa, threads):
            for a, b, unpacked_b in [(h, w_hh.T, np.ascontiguousarray(w_hh.T)), (dz, w_hh, w_hh)]:
                packed = c.pack_b(b)
                for offset in range(0, 64, 8):
                    a_there = at_offset(a, offset)
                    np.testing.assert_array_equal(c.matmul_packed(a_there, packed), c.matmul(a_there, unpacked_b),
                                                  err_msg=f"{(batch, hidden, gates)} offset {offset}")
