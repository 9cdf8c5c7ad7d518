"""Loss modules: each stores its options and calls the matching ``F`` function (formulas there).

``reduction`` is 'mean' (default), 'sum' or 'none' (one loss per element or sample).
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .linear import errors_named
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional per-class ``weight``, registered as a buffer as in PyTorch: it is
    in ``state_dict()`` (when given) and ``.to()``/``.double()`` convert it with the model."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """MSE = (1/n) Σ (y_i − ŷ_i)²."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """Mean squared error of ``input`` against ``target``."""
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """(1/n) Σ |y_i − ŷ_i|."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """Mean absolute error."""
        return F.l1_loss(input, target, self.reduction)


class NLLLoss(_WeightedLoss):
    """ℓ_i = −w[t_i]·log p[i, t_i] of log-probabilities (e.g. LogSoftmax outputs)."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """Negative log-likelihood of the target classes."""
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits: class indices (sparse categorical CE) or class probabilities."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """−log softmax(input)[target] (see ``F.cross_entropy``)."""
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class BCELoss(_WeightedLoss):
    """BCE = −(1/n) Σ [y log ŷ + (1 − y) log(1 − ŷ)] on probabilities ŷ (logs clamped at −100)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """Binary cross-entropy of probabilities."""
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """BCE on logits, fused and stable: max(x, 0) − x·y + log(1 + e^(−|x|)); ``pos_weight`` scales positives
    (a buffer too, as ``weight``)."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """Binary cross-entropy of logits."""
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class KLDivLoss(_Loss):
    """KL(y ‖ q) with input log q: y·(log y − log q); ``log_target`` if the target is log y."""

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """Pointwise KL divergence, reduced."""
        return F.kl_div(input, target, self.reduction, self.log_target)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge (SVM) loss: (1/C) Σ_{j≠t} max(0, margin − x_t + x_j)^p."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p = 1 or 2 are supported, got {p}")
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """Hinge loss of the scores ``input`` (N, C) against class indices."""
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)


class SmoothL1Loss(_Loss):
    """½d²/β where |d| < β, else |d| − ½β (d = input − target)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The smooth L1 loss (see ``F.smooth_l1_loss``)."""
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """½d² where |d| < δ, else δ·(|d| − ½δ) (d = input − target)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The Huber loss (see ``F.huber_loss``)."""
        return F.huber_loss(input, target, self.reduction, self.delta)


class MarginRankingLoss(_Loss):
    """max(0, −y·(x1 − x2) + margin)."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        """The ranking loss (see ``F.margin_ranking_loss``)."""
        return F.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class SoftMarginLoss(_Loss):
    """log(1 + e^(−y·x))."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The two-class logistic loss (see ``F.soft_margin_loss``)."""
        return F.soft_margin_loss(input, target, self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One binary logistic loss per class, averaged over the classes."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """See ``F.multilabel_soft_margin_loss``."""
        return F.multilabel_soft_margin_loss(input, target, self.weight, self.reduction)


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, max(0, margin − x) where y = −1."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """See ``F.hinge_embedding_loss``."""
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)


class CosineEmbeddingLoss(MarginRankingLoss):
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1."""

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        """See ``F.cosine_embedding_loss``."""
        return F.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) − d(a, n) + margin) with the p-norm distance."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        """See ``F.triplet_margin_loss``."""
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     self.reduction)


class PoissonNLLLoss(_Loss):
    """Negative log-likelihood of a Poisson target (``F.poisson_nll_loss``)."""

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Any) -> Tensor:
        """See ``F.poisson_nll_loss``."""
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, self.eps, self.reduction)


class GaussianNLLLoss(_Loss):
    """Negative log-likelihood of a Gaussian target with predicted mean and variance."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Any, var: Tensor | float) -> Tensor:
        """See ``F.gaussian_nll_loss``."""
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class CTCLoss(_Loss):
    """Connectionist temporal classification: −log p(target | per-frame log-probabilities), summed
    over every alignment of the target to the frames (``F.ctc_loss``; recursions in ``ops/ctc.py``)."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        """See ``F.ctc_loss``."""
        with errors_named("CTCLoss"):
            return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                              self.zero_infinity)
