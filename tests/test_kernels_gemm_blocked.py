"""The C GEMM's medium and large paths (gemm_direct with a packed B, gemm_blocked) against NumPy.

Shapes are drawn around the switch points of those paths: the row limit of the direct path
(DIRECT_MAX_M = 128), its B panel (DIRECT_NC = 256 columns) and tile width (NR = 32/16/8
columns), the K blocks (KC = 384/256; gemm_blocked's KC_P = 512 on AVX-512) and the
small-k order (k ≤ 32), and the B rows 4 KiB apart that the direct path packs although they are
contiguous (n ≥ 1024 float32, 512 float64).
A transposed or sliced B is packed one strip of tile columns at a time, just before its column
of tiles; these tests cover every strip position (first, last, partial) in every K block.
B stored by rows ≥ 4 KiB apart and larger than L2 (2 MiB) goes to gemm_panels, which copies B's next panel
while the tiles run on the one before (m > MR / 2, k > 32, n ≥ 512): tested around those switches.
The comparison is ``assert_matmul_close`` of test_kernels_gemm.py: the dot-product rounding
bound 2·k·ε·(|A|·|B|), which is float64-tight and float32-loose by the dtype's own ε.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kernels_gemm import ISAS, assert_matmul_close, c_settings, check_gemm_tight, layout

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
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [775, 784, 790, 800, 816, 830])
def test_blocked_path_narrow_last_micro_panel_matches_numpy(isa, dtype, n):
    """fc1's ∂W = ∂Yᵀ·x (256×64 · 64×784, A transposed) and n around it: the last micro-panel of B (NR_P = 64 / 32
    columns on AVX-512) holds 1, 2 or 3 vectors, whole or partial, and its tiles compute only those; also
    with A by columns, C transposed and β = 0.5 (tg_gemm), where the partial tiles store element by element."""
    check_product(256, 64, n, dtype, isa, "transposed", "c", seed=n)
    check_gemm_tight(256, 64, n, a_rows=False, b_rows=True, beta=0.5, c_transposed=n % 2 == 0, dtype=dtype,
                     isa=isa, seed=n + 1)


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


# gemm_panels: every B has rows ≥ 4 KiB apart and more than 2 MiB in float32 too. LeNet's conv2 W·cols; one
# row of tiles (8, 14), two (15), three (29: 10 + 10 + 9) and 4·MR = 56 on AVX-512 (MR / 2 < m ≤ 4·MR: 8-16
# on every level, 29 and 56 on AVX-512 only, the other levels' direct path then); k just past the small-k
# order (33) and split into K blocks (300 in float64, 400 in both); n in whole panels, with a last panel
# of 8 columns (1800: less than a float32 vector) or of 120 (1400: the panel before it is copied after its
# tiles, not during them), or a partial last vector (8200, 16400)
PANEL_SHAPES = [(16, 150, 6400), (8, 33, 16400), (14, 64, 8200), (15, 300, 1800), (29, 400, 1400), (56, 64, 8200)]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", PANEL_SHAPES)
def test_direct_path_b_copied_while_tiles_run_matches_numpy(isa, dtype, m, k, n):
    """B larger than L2, rows ≥ 4 KiB apart: A by rows, transposed or sliced (c.matmul); and, through tg_gemm,
    A by columns, B in a buffer ending at its last value (ASan: the copy's whole vectors stay inside B),
    starting 16 bytes into a line, C transposed with β = 0.5."""
    check_product(m, k, n, dtype, isa, "c", "c", seed=m)
    check_product(m, k, n, dtype, isa, "transposed" if m % 2 else "sliced", "c", seed=k)
    check_gemm_tight(m, k, n, a_rows=False, b_rows=True, beta=0.5, c_transposed=True, dtype=dtype, isa=isa,
                     seed=n, b_at=16)


@settings(max_examples=80, deadline=None)
@given(m=st.sampled_from([4, 6, 7, 12, 13, 16, 20, 24]), k=st.sampled_from([33, 150, 256, 257, 513]),
       panels=st.integers(0, 2), extra=st.sampled_from([0, 1, 8, 16, 63, 64, 65, 255]), b_at=st.sampled_from([0, 16]),
       a_rows=st.booleans(), beta=st.sampled_from([0.0, 0.5]), c_transposed=st.booleans(), dtype=DTYPES,
       isa=st.sampled_from(ISAS), seed=st.integers(0, 2**16))
def test_direct_path_b_copy_rows_padded_matches_numpy(m, k, panels, extra, b_at, a_rows, beta, c_transposed, dtype,
                                                      isa, seed):
    """gemm_panels' copies of B hold a panel's rows PANELS_NC(m) + PANEL_PAD apart (on AVX2 one 64-byte line
    after each row's 64 values with more than MR = 6 rows of A, 256 with fewer), two copies side by side in the
    workspace, and on AVX2 A packed after them (PANELS_PACK_A) by rows of tiles of 4-6 rows (split evenly: 7 as
    4 + 3, 13 as 5 + 5 + 3, 20 as 4 × 5): the largest K block (k = 256, one block of KC) and k split into
    blocks (257, 513); n just past PANELS_MIN_B (2 MiB of B) in whole panels of 256 plus 0-2 more, then 0, 1,
    8, 16, 63, 64, 65 or 255 columns (no partial panel, a partial vector, one or two float64 / float32
    vectors, a 64-column panel short of one, one, and one more, a 256-column panel short of one); m over one
    to four row tiles (MR / 2 < m ≤ 4·MR: 4…24 on AVX2, m = 20, 24 on the direct path at the portable level);
    A by rows or columns, B starting on or 16 bytes into a line in a buffer ending at its last value,
    C = A·B + β·C row-major or transposed."""
    whole = 2 * 2**20 // (k * np.dtype(dtype).itemsize * 256) + 1  # panels of 256 columns just past 2 MiB of B
    check_gemm_tight(m, k, (whole + panels) * 256 + extra, a_rows, True, beta, c_transposed, dtype, isa, seed,
                     b_at=b_at)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_path_b_copied_while_tiles_run_split_over_threads(dtype):
    """56×300 · 300×16400 (5.5e8 flops) is above the parallel threshold: 2 threads take 8192 / 8208 columns."""
    check_product(56, 300, 16400, dtype, ISAS[-1], "c", "c", seed=11, threads=2)


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
