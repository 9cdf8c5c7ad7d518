"""``tg.compress``: make a trained model smaller or faster (source documents 000, 001, 003).

    prune.py     prune_magnitude, remove_pruning, sparsity: zero the smallest weights by rate
                 (global or per layer); masks keep them zero while training continues
    distill.py   distillation_loss, distill: a small student learns from a teacher's
                 softened outputs (α T² KL + (1 − α) CE)
    quantize.py  quantize_int8, QuantizedLinear, QuantizedConv2d, model_size_bytes: int8 weights
                 (per-output-channel scales), int8 inference through csrc/qgemm.c
    report.py    compression_report, format_report: size/accuracy/speed of each method on
                 the shipped digits (``python -m tinygrad_edu compress``)
"""

from .distill import distill, distillation_loss
from .prune import prune_magnitude, remove_pruning, sparse_size_bytes, sparsity
from .quantize import (
    QuantizedConv2d,
    QuantizedLinear,
    dequantize_weights,
    model_size_bytes,
    quantize_int8,
    quantize_per_channel,
)
from .report import compression_report, format_report

__all__ = [
    "QuantizedConv2d", "QuantizedLinear", "compression_report", "dequantize_weights", "distill", "distillation_loss",
    "format_report", "model_size_bytes", "prune_magnitude", "quantize_int8", "quantize_per_channel", "remove_pruning",
    "sparse_size_bytes", "sparsity",
]
