"""The C GEMM's medium and large paths (gemm_direct with a packed B, gemm_blocked) against NumPy.

Shapes are drawn around the switch points of those paths: the row limit of the direct path
(DIRECT_MAX_M = 128), its B panel (DIRECT_NC = 256 columns) and tile width (NR = 32/16/8
columns), the K blocks (KC = 384/256; gemm_blocked's KC_P = 512 on AVX-512) and the
small-k order (k ≤ 32), and the B rows 4 KiB apart that the direct path packs although they are
contiguous (n ≥ 1024 float32, 512 float64).
A transposed or sliced B is packed one strip of tile columns at a time, just before its column
of tiles; these tests cover every strip position (first, last, partial) in every K block.
The comparison is ``assert_matmul_close`` of test_kernels_gemm.py: the dot-product rounding
bound 2·k·ε·(|A|·|B|), which is float64-tight and float32-loose by the dtype's own ε.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kernels_gemm import ISAS, assert_matmul_close, c_settings, layout

import tinygrad_edu as tg

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

DTYPES = st.sampled_from([np.float32, np.float64])
# rows: 1, around a direct tile (MR = 14/6/4, ~13 when 64 rows are split evenly) and DIRECT_MAX_M
DIRECT_ROWS = [1, 5, 7, 8, 13, 14, 15, 63, 64, 65, 127, 128, 129]
# k: around the small-k order (32) and the K blocks (256, 384), and the MLP's 784
DIRECT_K = [1, 31, 32, 33, 255, 256, 257, 383, 384, 385, 784]
# n: around a tile width (8/16/32) and the B panel of 256 columns
DIRECT_N = [1, 15, 16, 17, 31, 32, 33, 65, 255, 256, 257, 300, 513]


def check_product(m: int, k: int, n: int, dtype, isa: str, layout_a: str, layout_b: str, seed: int,
                  threads: int = 1) -> None:
    """A random (m×k)·(k×n) product in the given operand layouts against the reference."""
    rng = np.random.default_rng(seed)
    a = layout(rng.standard_normal((m, k)).astype(dtype), layout_a)
    b = layout(rng.standard_normal((k, n)).astype(dtype), layout_b)
    with c_settings(isa, threads):
        assert_matmul_close(a, b, c.matmul(a, b))


@settings(max_examples=80, deadline=None)
@given(m=st.sampled_from(DIRECT_ROWS), k=st.sampled_from(DIRECT_K), n=st.sampled_from(DIRECT_N), dtype=DTYPES,
       isa=st.sampled_from(ISAS), layout_a=st.sampled_from(["c", "transposed", "sliced"]),
       layout_b=st.sampled_from(["transposed", "sliced"]), seed=st.integers(0, 2**16))
def test_direct_path_packed_b_matches_numpy(m, k, n, dtype, isa, layout_a, layout_b, seed):
    """B's columns not contiguous (x·Wᵀ of a linear layer, or a slice): B is packed, strip by strip."""
    check_product(m, k, n, dtype, isa, layout_a, layout_b, seed)


@settings(max_examples=25, deadline=None)
@given(m=st.sampled_from([7, 8, 14, 15, 64, 128]), k=st.sampled_from([33, 256, 385]),
       n=st.sampled_from([512, 520, 1024, 1030]), dtype=DTYPES, isa=st.sampled_from(ISAS),
       seed=st.integers(0, 2**16))
def test_direct_path_wide_contiguous_b_matches_numpy(m, k, n, dtype, isa, seed):
    """B stored row-major with rows ≥ 4 KiB apart (wide n): packed by copies, not transposes."""
    check_product(m, k, n, dtype, isa, "c", "c", seed)


@settings(max_examples=25, deadline=None)
@given(m=st.sampled_from([97, 129, 168, 169, 193, 256, 337]), k=st.sampled_from([1, 33, 64, 385]),
       n=st.sampled_from([65, 129, 784]), dtype=DTYPES, isa=st.sampled_from(ISAS),
       layout_a=st.sampled_from(["c", "transposed"]), layout_b=st.sampled_from(["c", "transposed"]),
       seed=st.integers(0, 2**16))
def test_blocked_path_matches_numpy(m, k, n, dtype, isa, layout_a, layout_b, seed):
    """More than DIRECT_MAX_M rows and a wide n: the packed, blocked path (∂W = ∂Yᵀ·x of fc1 is 256×64·64×784)."""
    check_product(m, k, n, dtype, isa, layout_a, layout_b, seed)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_path_across_its_blocks_matches_numpy(isa, threads, dtype):
    """337×1025 · 1025×1100 crosses every block of gemm_blocked: A blocks of nearly equal length in whole
    strips, at most MC_P rows (96 / 120 on AVX-512, 144 / 128 on AVX2 / SSE2): 337 rows as 90+90+90+67
    (float64 AVX-512), 114+114+109 (float32 AVX-512, AVX2) or 116+116+105 (SSE2), each last block ending in
    a partial strip; K blocks of KC_P (512 on AVX-512, else 256: k = 1025 is split into 3 or 5 equal
    blocks), B panels of NC columns (1024 for float64 on AVX-512: n = 1100 leaves a second, partial panel)
    and the request for the next tile's C rows, which stops at each block's last tile; 2 threads split the
    columns (7.6e8 flops, above the parallel threshold)."""
    check_product(337, 1025, 1100, dtype, isa, "c", "c", seed=5, threads=threads)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_path_split_over_threads_matches_numpy(isa, threads, dtype):
    """128×1024 · (2049×1024)ᵀ is above the parallel threshold: each thread packs its own strips."""
    check_product(128, 1024, 2049, dtype, isa, "c", "transposed", seed=3, threads=threads)


def at_line_offset(x: np.ndarray, offset: int) -> np.ndarray:
    """A C-order copy of x whose first element lies `offset` bytes after the start of a 64-byte line."""
    buffer = np.empty(x.nbytes + 64 + offset, dtype=np.uint8)
    start = (-buffer.ctypes.data) % 64 + offset
    copy = buffer[start:start + x.nbytes].view(x.dtype).reshape(x.shape)
    copy[...] = x
    return copy


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("b_offset", [0, 8, 16, 48])
@pytest.mark.parametrize("m, k, n", [(64, 784, 256), (13, 300, 130), (64, 40, 200)])
def test_direct_path_b_rows_on_and_off_line_starts(isa, dtype, b_offset, m, k, n):
    """B read in place, rows 512 B – 4 KiB apart: requested one line more per row when B starts inside a line."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = at_line_offset(rng.standard_normal((k, n)).astype(dtype), b_offset)
    with c_settings(isa, 1):
        assert_matmul_close(a, b, c.matmul(a, b))
