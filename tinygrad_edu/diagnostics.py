"""Look inside training: gradient norms per layer (vanishing/exploding gradients) and saliency maps.

Gradient norms
    ``grad_norms(model)`` is ``{parameter name: ‖∂L/∂θ‖₂}`` for the gradients currently in
    ``.grad``. ``GradNormRecorder`` keeps one such value per backward pass, by registering a
    tensor hook on every parameter, so it also works inside ``tg.train.fit``::

        with GradNormRecorder(model) as recorder:
            fit(model, loader, loss_fn, optimizer, epochs=3)
        print(recorder.report())

    ``recorder.watch(name, h)`` records ‖∂L/∂h‖ of any intermediate tensor too, e.g. the
    hidden state of each time step of an RNN. Why gradients vanish there: with
    h_t = tanh(W x_t + U h_{t−1} + b), backpropagation through time multiplies, per step,

        ∂L/∂h_{t−1} = Uᵀ (∂L/∂h_t ⊙ (1 − h_t²)),

    and since |tanh'| ≤ 1, ‖∂L/∂h_{t−k}‖ ≤ (‖U‖₂)^k ‖∂L/∂h_t‖: geometric decay when ‖U‖₂ < 1.
    A deep stack of tanh layers shrinks the gradient layer by layer in the same way.

Saliency
    ``saliency(model, x, target)`` = |∂ logit_target / ∂x|, the input-gradient saliency map
    (Simonyan et al., 2014): how much each input pixel moves the score of the target class.
    For a linear model logits = x Wᵀ + b it is exactly |W[target]|. ``save_image`` writes a
    map as a grayscale PNG (no dependencies beyond zlib).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .autograd import engine
from .tensor import Tensor

NamedTensors = Any  # a Module (named_parameters()), a {name: Tensor} mapping, or (name, Tensor) pairs


def _named(params: NamedTensors) -> list[tuple[str, Tensor]]:
    """(name, tensor) pairs from a module, a mapping or an iterable of pairs."""
    if hasattr(params, "named_parameters"):
        return list(params.named_parameters())
    if isinstance(params, Mapping):
        return list(params.items())
    if isinstance(params, Iterable):
        return list(params)
    raise TypeError(f"expected a Module, a {{name: Tensor}} dict or (name, Tensor) pairs, got {type(params).__name__}")


def _norm(t: Tensor) -> float:
    return float(np.sqrt(np.sum(np.square(t.data, dtype=np.float64))))


def grad_norms(model: NamedTensors) -> dict[str, float]:
    """``{name: ‖grad‖₂}`` for every parameter whose ``.grad`` is set (in ``named_parameters`` order)."""
    return {name: _norm(p.grad) for name, p in _named(model) if p.grad is not None}


class GradNormRecorder:
    """Record ‖∂L/∂θ‖₂ of each parameter (and of watched tensors) at every backward pass.

    Use as a context manager (or ``attach()`` / ``detach()``); ``history[name]`` is the list
    of norms, one per backward pass that reached the tensor.
    """

    def __init__(self, model: NamedTensors) -> None:
        self.params = [(name, p) for name, p in _named(model) if p.requires_grad]
        self.history: dict[str, list[float]] = {name: [] for name, _ in self.params}
        self._removers: list[Callable[[], None]] = []

    def _hook(self, name: str) -> Callable[[Tensor], None]:
        def record(grad: Tensor) -> None:
            self.history.setdefault(name, []).append(_norm(grad))

        return record

    def attach(self) -> GradNormRecorder:
        """Start recording: one hook per parameter."""
        if not self._removers:
            self._removers = [p.register_hook(self._hook(name)) for name, p in self.params]
        return self

    def detach(self) -> None:
        """Stop recording (the history is kept)."""
        for remove in self._removers:
            remove()
        self._removers = []

    def __enter__(self) -> GradNormRecorder:
        return self.attach()

    def __exit__(self, *exc_info: object) -> None:
        self.detach()

    def watch(self, name: str, tensor: Tensor) -> Tensor:
        """Also record ‖∂L/∂tensor‖₂ (e.g. an RNN hidden state) when backward reaches it; returns it."""
        tensor.register_hook(self._hook(name))
        return tensor

    def last(self) -> dict[str, float]:
        """The most recent norm of every recorded tensor."""
        return {name: values[-1] for name, values in self.history.items() if values}

    def report(self) -> str:
        """A table: per tensor, the number of steps and the first, last, min and max norm."""
        rows = [("name", "steps", "first", "last", "min", "max")]
        for name, values in self.history.items():
            if values:
                rows.append((name, str(len(values)), *(f"{v:.3e}" for v in
                             (values[0], values[-1], min(values), max(values)))))
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.rjust(w) if c else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths)))
                 for row in rows]
        return "\n".join(lines)


def saliency(model: Callable[[Tensor], Tensor], x: Any, target: int | Any) -> np.ndarray:
    """|∂ logit_target / ∂x| for each sample: which inputs moved the target class's score.

    ``x`` has a leading batch dimension; ``target`` is one class index or one per sample.
    The model runs in eval mode (dropout off, batch-norm running statistics) and is put
    back in its previous mode afterwards. Returns an array of x's shape.
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    inputs = Tensor(data.copy(), requires_grad=True)
    targets = np.broadcast_to(np.asarray(target, dtype=np.int64), (data.shape[0],))
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        logits = model(inputs)
        if logits.ndim != 2:
            raise ValueError(f"saliency: the model must return logits of shape (batch, classes), got {logits.shape}")
        # Samples are independent, so the gradient of the sum is each sample's own gradient.
        score = logits[np.arange(data.shape[0]), targets].sum()
        (grad,) = engine.grad([score], [inputs])
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    return np.abs(grad.data)


def save_image(image: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Write a 2-D array as an 8-bit grayscale PNG, min → black, max → white.

    Each value becomes a ``scale``×``scale`` block, so an 8×8 map is visible. Returns the path.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"save_image: expected a 2-D array (height, width), got shape {image.shape}")
    low, high = image.min(), image.max()
    pixels = np.zeros(image.shape) if high == low else (image - low) / (high - low)
    pixels = np.kron((pixels * 255).round().astype(np.uint8), np.ones((scale, scale), dtype=np.uint8))
    height, width = pixels.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter type 0 ("None") per row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale, no interlace
    path = Path(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))
    return path


__all__ = ["GradNormRecorder", "grad_norms", "saliency", "save_image"]
