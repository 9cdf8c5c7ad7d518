"""CTC's vectorised recursions (ops/ctc.py): both ways of adding logs (np.logaddexp for small steps,
_LogAdder's vectorised formula for large ones) give torch's loss and gradient, with every edge
(unequal input and target lengths, empty inputs and targets, repeated labels, no alignment,
zero_infinity), and _LogAdder is np.logaddexp bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F  # noqa: N812 - as torch's F
from tinygrad_edu.ops import ctc

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("vectorised", [False, True])
def test_log_adder_is_np_logaddexp(vectorised):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 40, 30)) * 400  # gaps beyond 700 too
    a[rng.random(a.shape) < 0.3] = -np.inf
    b[rng.random(b.shape) < 0.3] = -np.inf
    b[:2] = a[:2]  # equal terms, −inf on both sides included
    adder = ctc._LogAdder(a.shape)
    adder.vectorised = vectorised
    out = np.empty_like(a)
    with np.errstate(invalid="ignore"):
        adder(a, b, out=out)
    expected = np.logaddexp(a, b)
    assert np.array_equal(np.isneginf(out), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(out[finite], expected[finite], rtol=4e-16, atol=1e-300)


def ctc_case(rng, frames: int, batch: int, classes: int, longest: int, dtype):
    logits = rng.standard_normal((frames, batch, classes))
    log_probs = (logits - np.log(np.exp(logits).sum(-1, keepdims=True))).astype(dtype)
    targets = rng.integers(1, classes, (batch, longest))
    targets[0, 1:3] = targets[0, 0]  # repeated labels: no skip between them
    input_lengths = rng.integers(0, frames + 1, batch)
    input_lengths[:2] = frames
    target_lengths = rng.integers(0, longest + 1, batch)
    target_lengths[1] = 0  # an empty target
    target_lengths[2] = longest
    targets[2, 1] = targets[2, 0]
    input_lengths[2] = longest  # too short: a repeat needs a blank between, U + 1 frames (infinite loss)
    return log_probs, targets, input_lengths, target_lengths


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("frames", "batch", "classes", "longest"), [(30, 6, 7, 5), (60, 24, 9, 12)],
                         ids=["np.logaddexp", "vectorised"])
def test_ctc_matches_torch_on_both_paths(frames, batch, classes, longest, dtype, zero_infinity):
    rng = np.random.default_rng(frames + batch)
    log_probs, targets, input_lengths, target_lengths = ctc_case(rng, frames, batch, classes, longest, dtype)
    assert ctc._LogAdder((batch, 2 * longest + 1)).vectorised == (batch * (2 * longest + 1) >= ctc._VECTORISED_FROM)
    ours = tg.tensor(log_probs, requires_grad=True)
    theirs = torch.tensor(log_probs, requires_grad=True)
    loss = F.ctc_loss(ours, tg.tensor(targets), tg.tensor(input_lengths), tg.tensor(target_lengths),
                      reduction="none", zero_infinity=zero_infinity)
    expected = torch.nn.functional.ctc_loss(theirs, torch.tensor(targets), torch.tensor(input_lengths),
                                            torch.tensor(target_lengths), reduction="none",
                                            zero_infinity=zero_infinity)
    tolerance = {"rtol": 1e-11, "atol": 1e-12} if dtype == np.float64 else {"rtol": 2e-5, "atol": 2e-5}
    assert loss.dtype == dtype
    assert zero_infinity or np.isinf(expected[2].item())
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), **tolerance)
    weights = np.random.default_rng(1).random(batch).astype(dtype)
    (loss * tg.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), equal_nan=True, **tolerance)
