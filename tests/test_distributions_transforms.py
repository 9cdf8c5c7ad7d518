"""tg.distributions transforms, constraints, biject_to/transform_to and ExponentialFamily against torch.distributions.

Constraints: check() of every new constraint against torch's on valid and invalid values (shapes included).
Transforms: forward, inverse, log|det J| in float64 (rtol 1e-10) and float32 on shapes with batch dims, round
trips, gradients of all three vs torch's, domain/codomain/event dims/bijective/sign/forward_shape/inverse_shape
and __eq__ as torch's. biject_to/transform_to(c)(x) lands in c and equals torch's for every constraint.
TransformedDistribution with the new transforms. ExponentialFamily: the Bregman entropy and KL against the
closed forms (and torch's Bregman KL), gradients included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import distributions as D  # noqa: N812 - as torch.distributions is often imported

torch = pytest.importorskip("torch")
TD = torch.distributions

pytestmark = pytest.mark.torch

C, TC = D.constraints, TD.constraints


def _np(value: Any) -> np.ndarray:
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def _close(ours: Any, theirs: Any, rtol: float, atol: float = 0.0, what: str = "") -> None:
    ours, theirs = _np(ours), _np(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


# -- constraints ------------------------------------------------------------------------------------------------
def _matrices(rng: np.random.Generator) -> list[np.ndarray]:
    a = rng.normal(size=(3, 4, 4))
    psd = a[..., :2] @ np.swapaxes(a[..., :2], -1, -2)             # rank 2: semidefinite, not definite
    return [a, a + np.swapaxes(a, -1, -2), a @ np.swapaxes(a, -1, -2), psd - 1e-3 * np.eye(4), np.tril(a),
            np.tril(np.abs(a)) + np.eye(4), a[..., :3], np.stack([a[0] @ a[0].T, a[1]])]


@pytest.mark.parametrize("name", ["lower_triangular", "lower_cholesky", "square", "symmetric",
                                  "positive_semidefinite", "positive_definite"])
def test_matrix_constraints_match_torch(name: str) -> None:
    for value in _matrices(np.random.default_rng(0)):
        ours = getattr(C, name).check(tg.tensor(value))
        theirs = getattr(TC, name).check(torch.tensor(value))
        np.testing.assert_array_equal(_np(ours), _np(theirs), err_msg=f"{name} on {value.shape}")
    assert getattr(C, name).event_dim == getattr(TC, name).event_dim == 2


def test_multinomial_constraint_matches_torch() -> None:
    values = np.array([[1.0, 2.0, 0.0], [3.0, 2.0, 1.0], [-1.0, 2.0, 0.0], [0.5, 0.5, 0.0]])
    for bound in (3, 6):
        np.testing.assert_array_equal(_np(C.multinomial(bound).check(tg.tensor(values))),
                                      _np(TC.multinomial(bound).check(torch.tensor(values))))
    assert C.multinomial(3).is_discrete and C.multinomial(3).event_dim == 1


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack_constraints_match_torch(dim: int) -> None:
    rng = np.random.default_rng(2)
    value = rng.normal(size=(5, 5, 5))
    ours = C.cat([C.positive, C.real, C.interval(-0.5, 0.5)], dim, [1, 3, 1]).check(tg.tensor(value))
    theirs = TC.cat([TC.positive, TC.real, TC.interval(-0.5, 0.5)], dim, [1, 3, 1]).check(torch.tensor(value))
    np.testing.assert_array_equal(_np(ours), _np(theirs))
    cseq, tseq = [C.positive, C.real, C.unit_interval] * 2, [TC.positive, TC.real, TC.unit_interval] * 2
    value = rng.normal(size=(6, 6, 6))
    np.testing.assert_array_equal(_np(C.stack(cseq[:6], dim).check(tg.tensor(value))),
                                  _np(TC.stack(tseq[:6], dim).check(torch.tensor(value))))
    assert C.stack([C.simplex] * 6, dim).event_dim == TC.stack([TC.simplex] * 6, dim).event_dim
    assert C.cat([C.simplex, C.real], dim).event_dim == TC.cat([TC.simplex, TC.real], dim).event_dim


def test_cat_and_stack_constraints_refuse_wrong_sizes() -> None:
    with pytest.raises(ValueError, match=r"constraints.cat: .*shape \(2, 4\).*sum\(lengths\) = 5"):
        C.cat([C.positive, C.real], -1, [2, 3]).check(tg.zeros(2, 4))
    with pytest.raises(ValueError, match=r"constraints.stack: .*len\(cseq\) = 2"):
        C.stack([C.positive, C.real], 0).check(tg.zeros(3, 4))
    with pytest.raises(ValueError, match="out of range"):
        C.stack([C.positive, C.real], 2).check(tg.zeros(2, 4))
    with pytest.raises(TypeError, match="must be a Constraint"):
        C.cat([C.positive, 1.0])
    with pytest.raises(ValueError, match="2 lengths for 3 constraints"):
        C.cat([C.positive] * 3, 0, [1, 2])


def test_mixture_same_family_support_is_torchs() -> None:
    """Components with different supports: the value must lie in every one of them (torch 2.13's
    MixtureSameFamilyConstraint); the component's own support did not even broadcast against a value."""
    low, high = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 2.0]]), np.array([[2.0, 3.0], [2.0, 3.0], [4.0, 5.0]])
    ours = D.MixtureSameFamily(D.Categorical(logits=tg.zeros(3, 2)), D.Uniform(tg.tensor(low), tg.tensor(high)))
    theirs = TD.MixtureSameFamily(TD.Categorical(logits=torch.zeros(3, 2)),
                                  TD.Uniform(torch.tensor(low), torch.tensor(high)))
    assert isinstance(ours.support, C.MixtureSameFamilyConstraint)
    for value in (np.array([1.5, 1.5, 2.5]), np.array([[1.5, 0.5, 2.5], [1.2, 2.5, 3.9]])):
        np.testing.assert_array_equal(_np(ours.support.check(tg.tensor(value))),
                                      _np(theirs.support.check(torch.tensor(value))))
    _close(ours.log_prob(tg.tensor([1.5, 1.5, 2.5])), theirs.log_prob(torch.tensor([1.5, 1.5, 2.5])), 1e-12)
    with pytest.raises(ValueError, match="support"):
        ours.log_prob(tg.tensor([1.5, 0.5, 2.5]))
