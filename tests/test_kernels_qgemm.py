"""The int8 kernels (csrc/qgemm.c through ``backend.c``) against the NumPy reference.

``numpy_ref.qgemm`` (a.astype(int32) @ b.astype(int32)) is the definition of correct, and
the C result must be EQUAL to it (integers: no tolerance), on shapes drawn by hypothesis
around the kernels' tiles (8 or 4 rows, panels of 16 columns, 4 k per group: 1, primes,
multiples ± 1, k = 0), on extreme values (−128 and 127 everywhere), with every int8 kernel
this CPU can run (AVX-512 VNNI, AVX-VNNI, AVX2's vpmaddwd, portable; forced in turn with
``set_isa`` and ``allow_vnni``) and with 1 and 2 threads.
The int8 convolution and linear layer (float32 in, float32 out) must give the reference's
bits too, in each of their three layouts (padded grid, im2col, linear).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from test_kernels_gemm import BEST_ISA, ISAS, c_settings  # ISA levels of this CPU; run a block at one

    from tinygrad_edu.backend import c
else:  # pragma: no cover - the module is skipped
    BEST_ISA, ISAS = "portable", ["portable"]
    c_settings = None

def int8_paths() -> dict[str, tuple[str, bool]]:
    """Every int8 kernel this CPU can run, by name (avx512-vnni, avx-vnni, avx2, portable): (ISA cap, VNNI allowed)."""
    paths: dict[str, tuple[str, bool]] = {}
    for isa in ISAS if "c" in tg.backend.available() else ():
        for vnni in (True, False):
            with c_settings(isa, 1):
                c.allow_vnni(vnni)
                paths.setdefault(c.qgemm_path(), (isa, vnni))
                c.allow_vnni(True)
    return paths


PATHS = int8_paths()


@contextlib.contextmanager
def q_settings(path: str, threads: int = 1) -> Iterator[None]:
    """Run the block on the int8 kernel `path` with `threads` threads."""
    isa, vnni = PATHS[path]
    with c_settings(isa, threads):
        c.allow_vnni(vnni)
        try:
            yield
        finally:
            c.allow_vnni(True)


# Tile edges: rows 4 (AVX2, portable), 6 (AVX-VNNI), 8 (AVX-512 VNNI), panels of 16 columns, groups of 4 k
EDGE_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 97]


def random_int8(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


# ---- the reference itself -----------------------------------------------------------------


def test_reference_qgemm_is_the_sum_of_products():
    rng = np.random.default_rng(0)
    a, b = random_int8(rng, (5, 7)), random_int8(rng, (7, 3))
    by_hand = (a[:, :, None].astype(np.int64) * b[None, :, :]).sum(axis=1)
    assert ref.qgemm(a, b).dtype == np.int32
    np.testing.assert_array_equal(ref.qgemm(a, b), by_hand)


def test_reference_qconv2d_is_the_convolution_formula():
    """y[n, o, oh, ow] = float32(Σ w · q_padded) · scale[o] + bias[o], written as explicit loops."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    w = random_int8(rng, (4, 3, 3, 2))
    scale, bias = rng.random(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    stride, padding, dilation = (2, 1), (1, 2), (1, 2)
    inv = np.float32(10.0)
    q = np.clip(np.rint(x * inv), -127, 127).astype(np.int64)
    qp = np.pad(q, ((0, 0), (0, 0), (1, 1), (2, 2)))
    y = ref.qconv2d(x, inv, w, scale, bias, stride, padding, dilation)
    for n in range(2):
        for o in range(4):
            for oh in range(y.shape[2]):
                for ow in range(y.shape[3]):
                    window = qp[n, :, oh * 2:oh * 2 + 3:1, ow * 1:ow * 1 + 3:2]  # rows i·dh, columns j·dw
                    acc = int((window * w[o]).sum())
                    assert y[n, o, oh, ow] == np.float32(np.float32(acc) * scale[o]) + bias[o]


# ---- qgemm: C == reference --------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=25, deadline=None)
@given(m=st.sampled_from(EDGE_SIZES), n=st.sampled_from(EDGE_SIZES), k=st.sampled_from([0, *EDGE_SIZES, 150, 257]),
       seed=st.integers(0, 2**31))
def test_qgemm_c_matches_numpy(path, m, n, k, seed):
    rng = np.random.default_rng(seed)
    a, b = random_int8(rng, (m, k)), random_int8(rng, (k, n))
    with q_settings(path):
        got = c.qgemm(a, b)
    assert got.dtype == np.int32 and got.shape == (m, n)
    np.testing.assert_array_equal(got, ref.qgemm(a, b))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("a_value,b_value", [(-128, -128), (-128, 127), (127, -128), (127, 127)])
def test_qgemm_extreme_values_are_exact(path, a_value, b_value):
    """|Σ| up to 128·128·k: the +128 offset (b + 128 = 0 or 255) and every pair sum stay exact."""
    m, n, k = 9, 35, 1003  # k not a multiple of 4
    a, b = np.full((m, k), a_value, np.int8), np.full((k, n), b_value, np.int8)
    with q_settings(path):
        got = c.qgemm(a, b)
    np.testing.assert_array_equal(got, np.full((m, n), a_value * b_value * k, np.int32))


@pytest.mark.parametrize("path", PATHS)
def test_qgemm_longest_k_is_exact(path):
    k = ref.QGEMM_MAX_K
    a, b = np.full((1, k), -128, np.int8), np.full((k, 2), -128, np.int8)
    b[:, 1] = 127
    with q_settings(path):
        np.testing.assert_array_equal(c.qgemm(a, b), [[128 * 128 * k, -128 * 127 * k]])


def test_qgemm_two_threads_match_one():
    rng = np.random.default_rng(3)
    a, b = random_int8(rng, (300, 509)), random_int8(rng, (509, 517))  # 78M multiply-adds: above the threshold
    with c_settings(BEST_ISA, 2):
        np.testing.assert_array_equal(c.qgemm(a, b), ref.qgemm(a, b))


def test_qgemm_non_contiguous_inputs():
    rng = np.random.default_rng(4)
    a, b = random_int8(rng, (20, 30)), random_int8(rng, (17, 30))
    np.testing.assert_array_equal(c.qgemm(a[::2], b.T), ref.qgemm(a[::2], b.T))


def test_qgemm_empty_dimensions():
    assert c.qgemm(np.zeros((0, 5), np.int8), np.zeros((5, 3), np.int8)).shape == (0, 3)
    np.testing.assert_array_equal(c.qgemm(np.zeros((4, 0), np.int8), np.zeros((0, 3), np.int8)), np.zeros((4, 3)))


@pytest.mark.parametrize("kernels", ["c", "numpy"])
@pytest.mark.parametrize("a,b,words", [
    (np.zeros((2, 3), np.float32), np.zeros((3, 2), np.int8), ["qgemm", "int8", "(2, 3)"]),
    (np.zeros((2, 3), np.int8), np.zeros((4, 2), np.int8), ["qgemm", "(2, 3)", "(4, 2)"]),
    (np.zeros((2, 2, 3), np.int8), np.zeros((3, 2), np.int8), ["qgemm", "(2, 2, 3)"]),
    (np.zeros((1, ref.QGEMM_MAX_K + 1), np.int8), np.zeros((ref.QGEMM_MAX_K + 1, 1), np.int8), ["qgemm", "65537"]),
])
def test_qgemm_bad_arguments_raise_value_error(kernels, a, b, words):
    module = c if kernels == "c" else ref
    with pytest.raises(ValueError) as error:
        module.qgemm(a, b)
    assert all(word in str(error.value) for word in words)


def test_isa_environment_variable_caps_the_int8_path():
    """TINYGRAD_EDU_ISA=portable at start-up gives the portable int8 kernel; an unknown value raises."""
    script = ("import numpy as np; from tinygrad_edu.backend import c; "
              "a = np.ones((3, 5), np.int8); assert (c.qgemm(a, a.T) == 5).all(); print(c.qgemm_path())")
    env = {**os.environ, "TINYGRAD_EDU_ISA": "portable"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "portable"
    env["TINYGRAD_EDU_ISA"] = "avx1024"
    failed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "TINYGRAD_EDU_ISA must be one of" in failed.stderr


@pytest.mark.parametrize("isa,vnni,path", [("avx2", False, "avx2"), ("portable", True, "portable")])
def test_qgemm_path_follows_the_isa_cap(isa, vnni, path):
    if isa not in ISAS:
        pytest.skip(f"this CPU has no {isa}")
    with c_settings(isa, 1):
        c.allow_vnni(vnni)
        try:
            assert c.qgemm_path() == path
        finally:
            c.allow_vnni(True)


# ---- int8 convolution and linear layer: C == reference, bit for bit ----------------------


def conv_case(rng, n, c_in, h, w, o, k, stride, padding, dilation, with_bias):
    x = (3 * rng.standard_normal((n, c_in, h, w))).astype(np.float32)
    weight = random_int8(rng, (o, c_in, *k))
    scale = rng.uniform(0.001, 0.1, o).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32) if with_bias else None
    inv = np.float32(127) / np.float32(np.abs(x).max())
    return x, inv, weight, scale, bias, stride, padding, dilation


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=25, deadline=None)
@given(n=st.sampled_from([1, 2, 3, 17]), c_in=st.sampled_from([1, 2, 3, 5, 16]), hw=st.tuples(st.integers(1, 11),
       st.integers(1, 11)), o=st.sampled_from([1, 3, 8, 9, 16, 17, 32]),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.sampled_from([(1, 1), (2, 1), (1, 2), (2, 3)]),
       padding=st.tuples(st.integers(0, 2), st.integers(0, 2)), dilation=st.sampled_from([(1, 1), (2, 1), (1, 2)]),
       with_bias=st.booleans(), seed=st.integers(0, 2**31))
def test_qconv2d_c_matches_numpy(path, n, c_in, hw, o, k, stride, padding, dilation, with_bias, seed):
    (h, w), (kh, kw) = hw, k
    if h + 2 * padding[0] < dilation[0] * (kh - 1) + 1 or w + 2 * padding[1] < dilation[1] * (kw - 1) + 1:
        return  # the kernel does not fit: covered by the error test
    args = conv_case(np.random.default_rng(seed), n, c_in, h, w, o, k, stride, padding, dilation, with_bias)
    with q_settings(path):
        got = c.qconv2d(*args)
    expected = ref.qconv2d(*args)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


# (N, C, H, W, O, kernel, stride, padding): one case per layout of csrc/qgemm.c
LAYOUTS = {"grid (stride 1, 8x8)": (5, 16, 8, 8, 32, (3, 3), (1, 1), (1, 1)),
           "grid at half use (4x4 padded to 6x6)": (4, 16, 4, 4, 32, (3, 3), (1, 1), (1, 1)),
           "im2col (stride 2)": (3, 6, 14, 14, 16, (5, 5), (2, 2), (2, 2)),
           "im2col (2x2 padded to 4x4)": (7, 3, 2, 2, 5, (3, 3), (1, 1), (1, 1)),
           "linear (1x1 on 1x1)": (37, 200, 1, 1, 10, (1, 1), (1, 1), (0, 0))}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_qconv2d_every_layout_matches_numpy(path, layout):
    n, c_in, h, w, o, k, stride, padding = LAYOUTS[layout]
    args = conv_case(np.random.default_rng(5), n, c_in, h, w, o, k, stride, padding, (1, 1), True)
    with q_settings(path):
        np.testing.assert_array_equal(c.qconv2d(*args), ref.qconv2d(*args))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_qconv2d_two_threads_match_numpy(layout):
    n, c_in, h, w, o, k, stride, padding = LAYOUTS[layout]
    args = conv_case(np.random.default_rng(6), 16 * n, c_in, h, w, o, k, stride, padding, (1, 1), True)
    with c_settings(BEST_ISA, 2):
        np.testing.assert_array_equal(c.qconv2d(*args), ref.qconv2d(*args))


@pytest.mark.parametrize("path", PATHS)
def test_quantisation_rounds_ties_to_even_and_clips(path):
    """Through an identity 1×1 convolution with scale 1, y is the quantised input itself."""
    values = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 126.5, 127.49, 127.5, 300.0, -300.0, -126.5, 0.0,
                       -0.0, 3.4999998], dtype=np.float32)
    x = values.reshape(1, -1, 1, 1)
    eye = np.eye(values.size, dtype=np.int8).reshape(values.size, values.size, 1, 1)
    ones = np.ones(values.size, np.float32)
    expected = np.clip(np.rint(values), -127, 127)
    with q_settings(path):
        got = c.qconv2d(x, 1.0, eye, ones, None, (1, 1), (0, 0), (1, 1))
    np.testing.assert_array_equal(got.ravel(), expected)
    np.testing.assert_array_equal(ref.quantize_activations(values, 1.0), expected.astype(np.int8))


@pytest.mark.parametrize("path", PATHS)
def test_qlinear_c_matches_numpy(path):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((33, 130)).astype(np.float32)
    w = random_int8(rng, (19, 130))
    scale = rng.uniform(0.001, 0.1, 19).astype(np.float32)
    for bias in (rng.standard_normal(19).astype(np.float32), None):
        with q_settings(path):
            got = c.qlinear(x, 2.5, w, scale, bias)
        np.testing.assert_array_equal(got, ref.qlinear(x, 2.5, w, scale, bias))


def test_qconv2d_empty_batch():
    x = np.zeros((0, 2, 5, 5), np.float32)
    y = c.qconv2d(x, 1.0, np.zeros((3, 2, 3, 3), np.int8), np.ones(3, np.float32), None, (1, 1), (0, 0), (1, 1))
    assert y.shape == (0, 3, 3, 3) and y.dtype == np.float32


@pytest.mark.parametrize("change,words", [
    ({"w": np.zeros((3, 2, 3, 3), np.float32)}, ["qconv2d", "int8"]),
    ({"x": np.zeros((1, 2, 5, 5), np.float64)}, ["qconv2d", "float32"]),
    ({"w": np.zeros((3, 4, 3, 3), np.int8)}, ["qconv2d", "(1, 2, 5, 5)", "(3, 4, 3, 3)"]),
    ({"scale": np.ones(4, np.float32)}, ["qconv2d", "scale", "(3,)"]),
    ({"bias": np.ones(3, np.float64)}, ["qconv2d", "bias"]),
    ({"w": np.zeros((3, 2, 7, 7), np.int8)}, ["qconv2d", "(7, 7)"]),
    ({"x": np.zeros((2, 5, 5), np.float32)}, ["qconv2d", "4-D"]),
])
def test_qconv2d_bad_arguments_raise_value_error(change, words):
    args = {"x": np.zeros((1, 2, 5, 5), np.float32), "inv_scale": 1.0, "w": np.zeros((3, 2, 3, 3), np.int8),
            "scale": np.ones(3, np.float32), "bias": None, "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)}
    args.update(change)
    with pytest.raises(ValueError) as error:
        c.qconv2d(*args.values())
    assert all(word in str(error.value) for word in words)
