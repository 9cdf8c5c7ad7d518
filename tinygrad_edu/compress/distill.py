r"""Knowledge distillation: a small student learns from a large teacher's softened outputs.

With temperature T, softmax(z/T) spreads probability over the wrong classes too ("this 3
looks a bit like an 8"), information that hard labels lack (source document 000; its
snippet never uses the teacher's outputs). The student's loss mixes both targets:

    L = α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(s, y)

s student logits, t teacher logits (a constant: no gradient flows into the teacher),
y class labels, KL summed over classes and averaged over the N samples ("batchmean").
The T² keeps the soft term's gradient on the scale of the hard term's, since

    ∂L/∂s = α · T · (softmax(s/T) − softmax(t/T)) / N + (1 − α) · (softmax(s) − onehot(y)) / N

``distill`` trains a student with this loss through ``tg.train.fit``: the teacher's logits
travel with the labels as the batch's target (``SoftTargets``), so fit's loop is used
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..autograd import no_grad
from ..nn import Module
from ..nn import functional as F  # noqa: N812 - PyTorch's conventional name
from ..tensor import Tensor
from ..training import History, fit


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor | Any, target: Any, T: float = 4.0,
                      alpha: float = 0.9) -> Tensor:
    r"""The distillation loss of (N, C) student logits against teacher logits and labels.

    Forward:   L = α T² · (1/N) Σ_i Σ_c p_ic (log p_ic − log q_ic) + (1 − α) · CE(s, y)
               p = softmax(t/T) (teacher, detached),  q = softmax(s/T) (student)
    Backward:  ∂L/∂s = α T (q − p) / N + (1 − α) (softmax(s) − onehot(y)) / N
               ∂L/∂t = 0 (the teacher's logits are a fixed target)

    The KL term is computed from log-probabilities (log_softmax of both), so extreme
    teacher logits do not produce log 0.
    """
    if T <= 0:
        raise ValueError(f"distillation_loss: temperature T must be > 0, got {T}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"distillation_loss: alpha must be in [0, 1], got {alpha}")
    teacher = teacher_logits.detach() if isinstance(teacher_logits, Tensor) else Tensor(teacher_logits)
    if student_logits.ndim != 2 or tuple(teacher.shape) != tuple(student_logits.shape):
        raise ValueError(f"distillation_loss: student and teacher logits must both be (N, C); got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher.shape)}")
    log_q = F.log_softmax(student_logits / T, dim=1)
    log_p = F.log_softmax(teacher.astype(student_logits.dtype) / T, dim=1)
    soft = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits, target)
    return alpha * T**2 * soft + (1 - alpha) * hard


@dataclass
class SoftTargets:
    """A batch's targets for distillation: the hard labels and the teacher's logits.

    ``len()`` is the batch size, which is what ``fit`` weights the batch loss by.
    """

    labels: Any
    teacher_logits: Tensor

    def __len__(self) -> int:
        return len(self.labels)


class WithTeacherLogits:
    """Wraps a data loader: yields ``(x, SoftTargets(y, teacher(x)))``, the teacher run in eval
    mode without recording a graph."""

    def __init__(self, loader: Iterable, teacher: Module) -> None:
        self.loader, self.teacher = loader, teacher

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[Any, SoftTargets]]:
        was_training = self.teacher.training
        self.teacher.eval()
        try:
            for x, y in self.loader:
                with no_grad():
                    teacher_logits = self.teacher(x)
                yield x, SoftTargets(y, teacher_logits)
        finally:  # the teacher's mode is the caller's again once the epoch is over
            self.teacher.train(was_training)


class DistillationLoss:
    """``loss_fn(student_logits, target)`` for ``fit``: the distillation loss when the target is
    ``SoftTargets``, plain cross-entropy against labels otherwise (validation batches)."""

    def __init__(self, T: float = 4.0, alpha: float = 0.9) -> None:
        self.T, self.alpha = T, alpha

    def __call__(self, student_logits: Tensor, target: Any) -> Tensor:
        if isinstance(target, SoftTargets):
            return distillation_loss(student_logits, target.teacher_logits, target.labels, self.T, self.alpha)
        return F.cross_entropy(student_logits, target)


def distill(student: Module, teacher: Module, train_loader: Iterable, optimizer: Any, epochs: int,
            T: float = 4.0, alpha: float = 0.9, **fit_kwargs: Any) -> History:
    """Train ``student`` on ``train_loader`` with ``distillation_loss`` against ``teacher``.

    ``optimizer`` holds the student's parameters (the teacher is never updated). Other
    keyword arguments go to ``tg.train.fit`` (``val_loader``, ``scheduler``, ``progress``,
    ...); its ``val_loss`` is the student's plain cross-entropy. Returns fit's History.
    """
    return fit(student, WithTeacherLogits(train_loader, teacher), DistillationLoss(T, alpha), optimizer, epochs,
               **fit_kwargs)
