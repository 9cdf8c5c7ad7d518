"""``tg.compress``: make a trained model smaller or faster (source documents 000, 001, 003).

    prune.py     prune_magnitude, remove_pruning, sparsity: zero the smallest weights by rate
                 (global or per layer); masks keep them zero while training continues
    distill.py   distillation_loss, distill: a small student learns from a teacher's
                 softened outputs (α T² KL + (1 − α) CE)
    report.py    compression_report, format_report: size/accuracy/speed of each method on
                 the shipped digits (``python -m tinygrad_edu compress``)
"""

from .distill import distill, distillation_loss
from .prune import prune_magnitude, remove_pruning, sparse_size_bytes, sparsity
from .report import compression_report, format_report

__all__ = [
    "compression_report", "distill", "distillation_loss", "format_report", "prune_magnitude", "remove_pruning",
    "sparse_size_bytes", "sparsity",
]
