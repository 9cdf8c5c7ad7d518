"""distillation_loss against the same expression in PyTorch and in NumPy (values and
gradients, float64 tight, float32 loose, hypothesis over shapes/T/alpha), and distill()
against the plain training loop it stands for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import data, nn, optim
from tinygrad_edu.compress import distill, distillation_loss

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def torch_distillation_loss(s, t, y, T, alpha):
    """α T² KL(softmax(t/T) ‖ softmax(s/T)) (batchmean) + (1 − α) CE(s, y), in PyTorch."""
    soft = TF.kl_div(TF.log_softmax(s / T, dim=1), TF.softmax(t.detach() / T, dim=1), reduction="batchmean")
    return alpha * T**2 * soft + (1 - alpha) * TF.cross_entropy(s, y)


def softmax_np(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_loss_and_grad(s, t, y, T, alpha):
    """The formula and its gradient ∂L/∂s = α T (q − p)/N + (1 − α)(softmax(s) − onehot(y))/N."""
    n, c = s.shape
    p, q = softmax_np(t / T), softmax_np(s / T)
    kl = np.sum(p * (np.log(p) - np.log(q))) / n
    ce = -np.mean(np.log(softmax_np(s)[np.arange(n), y]))
    grad = alpha * T * (q - p) / n + (1 - alpha) * (softmax_np(s) - np.eye(c)[y]) / n
    return alpha * T**2 * kl + (1 - alpha) * ce, grad


TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(2, 8), T=st.floats(0.5, 8.0), alpha=st.floats(0.0, 1.0),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_distillation_loss_matches_torch_and_the_formula(n, c, T, alpha, dtype, seed):
    rng = np.random.default_rng(seed)
    s_np, t_np = (3 * rng.standard_normal((n, c))).astype(dtype), (3 * rng.standard_normal((n, c))).astype(dtype)
    y_np = rng.integers(0, c, n)
    s, t = tg.tensor(s_np, requires_grad=True), tg.tensor(t_np, requires_grad=True)
    loss = distillation_loss(s, t, y_np, T, alpha)
    loss.backward()
    s_ref, t_ref = torch.tensor(s_np, requires_grad=True), torch.tensor(t_np, requires_grad=True)
    ref = torch_distillation_loss(s_ref, t_ref, torch.tensor(y_np), T, alpha)
    ref.backward()
    tol = TOLERANCES[dtype]
    assert loss.dtype == dtype and s.grad.dtype == dtype
    np.testing.assert_allclose(loss.item(), ref.item(), **tol)
    np.testing.assert_allclose(s.grad.numpy(), s_ref.grad.numpy(), **tol)
    assert t.grad is None  # the teacher's logits are a constant target
    value, grad = numpy_loss_and_grad(s_np.astype(np.float64), t_np.astype(np.float64), y_np, T, alpha)
    np.testing.assert_allclose(loss.item(), value, **tol)
    np.testing.assert_allclose(s.grad.numpy(), grad, **tol)


def test_extreme_teacher_logits_stay_finite():
    s = tg.tensor(np.zeros((2, 3)), requires_grad=True)
    t = np.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, -5000.0]])  # softmax(t/T) has exact zeros
    loss = distillation_loss(s, t, [0, 1], T=1.0, alpha=0.5)
    loss.backward()
    ref = torch_distillation_loss(torch.zeros(2, 3, dtype=torch.float64), torch.tensor(t), torch.tensor([0, 1]),
                                  1.0, 0.5)
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    assert np.all(np.isfinite(s.grad.numpy()))


def test_bad_arguments_raise_clear_errors():
    s = tg.tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(s, np.zeros((2, 3)), [0, 1], T=0.0)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(s, np.zeros((2, 3)), [0, 1], alpha=1.5)
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 4\)"):
        distillation_loss(s, np.zeros((2, 4)), [0, 1])


def synthetic_problem(n=96, features=6, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (x[:, :classes] + 0.3 * rng.standard_normal((n, classes))).argmax(1)
    return x, y


def test_distill_is_the_plain_loop_with_the_distillation_loss():
    x, y = synthetic_problem()
    tg.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    student = nn.Linear(6, 4)
    twin = nn.Linear(6, 4)
    twin.load_state_dict(student.state_dict())
    teacher_before = {k: v.numpy().copy() for k, v in teacher.state_dict().items()}

    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=32)
    history = distill(student, teacher, loader, optim.SGD(student.parameters(), lr=0.1), 2, T=3.0, alpha=0.7,
                      val_loader=loader, progress=False)

    opt = optim.SGD(twin.parameters(), lr=0.1)
    for _ in range(2):
        for xb, yb in loader:
            opt.zero_grad()
            with tg.no_grad():
                teacher_logits = teacher(xb)
            distillation_loss(twin(xb), teacher_logits, yb, T=3.0, alpha=0.7).backward()
            opt.step()
    for key, value in twin.state_dict().items():
        np.testing.assert_allclose(student.state_dict()[key].numpy(), value.numpy(), rtol=1e-6, atol=1e-7)
    for key, value in teacher.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), teacher_before[key])  # the teacher never moves
    assert all(p.grad is None for p in teacher.parameters())
    assert teacher.training  # run in eval mode during each epoch, then handed back as it was
    with tg.no_grad():  # validation loss is the student's plain cross-entropy on labels
        expected_val = tg.nn.functional.cross_entropy(student(tg.tensor(x)), y).item()
    np.testing.assert_allclose(history.history["val_loss"][-1], expected_val, rtol=1e-5)
    assert len(history.history["loss"]) == 2


def test_distilled_student_learns_the_teachers_outputs():
    x, y = synthetic_problem(n=128)
    tg.manual_seed(1)
    teacher = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 4))
    tg.train.fit(teacher, data.DataLoader(data.TensorDataset(x, y), batch_size=32), nn.CrossEntropyLoss(),
                 optim.Adam(teacher.parameters(), lr=0.02), 20, progress=False)
    student = nn.Linear(6, 4)

    def kl_to_teacher():
        with tg.no_grad():
            return distillation_loss(student(tg.tensor(x)), teacher(tg.tensor(x)), y, T=2.0, alpha=1.0).item()

    start = kl_to_teacher()
    distill(student, teacher, data.DataLoader(data.TensorDataset(x, y), batch_size=32, shuffle=True),
            optim.Adam(student.parameters(), lr=0.05), 15, T=2.0, alpha=1.0, progress=False)
    assert kl_to_teacher() < 0.3 * start
