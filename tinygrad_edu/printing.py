"""How a Tensor prints: ``repr(t)`` and ``str(t)`` write what PyTorch writes::

    tensor([[ 1.1235, -2.0000],
            [ 3.0000,  4.0000]], dtype=tg.float64, grad_fn=<MulBackward0>)

The rules, PyTorch's, so that a printed tensor reads the same in both libraries:

* **One number style for the whole tensor**, chosen from its finite nonzero elements
  (zeros, inf and nan follow whatever the others chose):

  - all whole numbers: no decimals, a point to show it is a float (``1.``, ``-3.``);
  - otherwise fixed point with ``precision`` decimals (4 by default: ``0.1429``);
  - scientific (``1.0000e-05``) when the largest |x| is above 1e8, or more than 1000 times the
    smallest, or (not all whole) the smallest is below 1e-4: then no element loses its digits.

  Integers and bools are written as Python writes them (``-10``, ``True``).
* **One width**: every element is right-aligned to the widest (finite nonzero) one, so columns
  line up; rows wrap at ``linewidth`` (80) characters.
* **Nesting**: one bracket per dim; a dim of 3 or more separates its blocks by blank lines.
* **Summary**: above ``threshold`` (1000) elements only the first and last ``edgeitems`` (3) of
  each dim are printed, with ``...`` between (and only they choose the style and width).
* **Suffixes**: ``dtype=`` unless float32, int64 or bool (what a literal gets by default; an
  empty tensor shows any dtype but float32, and its shape when it is not ``(0,)``), then
  ``grad_fn=<...>`` for an op's output or ``requires_grad=True`` for a leaf that requires grad.

``set_printoptions`` changes the numbers above, as ``torch.set_printoptions`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dtypes

if TYPE_CHECKING:
    from .tensor import Tensor


@dataclass
class PrintOptions:
    """The settings every tensor is printed with (PyTorch's defaults)."""

    precision: int = 4  # decimals in fixed and scientific style
    threshold: float = 1000  # more elements than this: print a summary
    edgeitems: int = 3  # elements kept at each end of each dim in a summary
    linewidth: int = 80  # characters per line before a row wraps
    sci_mode: bool | None = None  # None: choose per tensor; True/False: always/never scientific


options = PrintOptions()

# precision, threshold, edgeitems, linewidth of torch.set_printoptions(profile=...)
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}

# The dtypes a literal gets by default (tg.tensor([1.0]), [1], [True]): printed without dtype=.
_IMPLIED_DTYPES = (dtypes.float32, dtypes.int64, dtypes.bool)


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None,
                     sci_mode: bool | None = None) -> None:
    """Change how tensors print (``torch.set_printoptions``): ``profile`` ("default", "short",
    "full") sets the first four at once, the others then override it; ``sci_mode`` is set on
    every call (None: chosen per tensor)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        options.precision, options.threshold, options.edgeitems, options.linewidth = _PROFILES[profile]
    if precision is not None:
        options.precision = precision
    if threshold is not None:
        options.threshold = threshold
    if edgeitems is not None:
        options.edgeitems = edgeitems
    if linewidth is not None:
        options.linewidth = linewidth
    options.sci_mode = sci_mode


class _ElementFormat:
    """The one style and width that every element of a tensor is written with."""

    def __init__(self, shown: np.ndarray) -> None:
        """Choose them from ``shown``: the elements that will be printed."""
        self.style = "plain"  # integers and bools: str(value)
        if shown.dtype.kind != "f":
            measured = shown.ravel().tolist()
        else:
            values = shown[np.isfinite(shown) & (shown != 0)].astype(np.float64)
            measured = values.tolist()
            whole = bool(np.all(values == np.ceil(values)))
            scientific = options.sci_mode
            if scientific is None and values.size:
                largest, smallest = np.abs(values).max(), np.abs(values).min()
                scientific = largest / smallest > 1000.0 or largest > 1.0e8 or (not whole and smallest < 1.0e-4)
            self.style = "scientific" if scientific else "whole" if whole else "fixed"
        self.width = max((len(self.write(value)) for value in measured), default=1)

    def write(self, value: Any) -> str:
        """``value`` in this style, not yet aligned."""
        if self.style == "scientific":
            return f"{value:.{options.precision}e}"
        if self.style == "fixed":
            return f"{value:.{options.precision}f}"
        if self.style == "whole":
            return f"{value:.0f}" if math.isinf(value) or math.isnan(value) else f"{value:.0f}."
        return str(value)

    def __call__(self, value: Any) -> str:
        """``value`` in this style, right-aligned to the common width."""
        return self.write(value).rjust(self.width)


def _edges(a: np.ndarray) -> np.ndarray:
    """The elements a summary shows: the first and last ``edgeitems`` along every long dim."""
    keep = options.edgeitems
    for axis, n in enumerate(a.shape):
        if n > 2 * keep:
            a = np.take(a, np.r_[0:keep, n - keep:n], axis=axis)
    return a


def _nested(a: np.ndarray, fmt: _ElementFormat, indent: int, summarize: bool) -> str:
    """``a`` written as nested bracketed rows; ``indent`` is the column its ``[`` stands at."""
    if a.ndim == 0:
        return fmt(a.item())
    n, keep = a.shape[0], options.edgeitems
    shown = [*range(keep), None, *range(n - keep, n)] if summarize and n > 2 * keep else range(n)  # None: "..."
    if a.ndim == 1:
        items = [" ..." if i is None else fmt(a[i].item()) for i in shown]
        per_line = max(1, (options.linewidth - indent) // (fmt.width + 2))  # ", " after each
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = ["..." if i is None else _nested(a[i], fmt, indent + 1, summarize) for i in shown]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """``text, suffix, ...)``: each suffix on the current line if it fits in ``linewidth``,
    else on a new line at ``indent``."""
    line_length = len(text) - text.rfind("\n") + 1  # (PyTorch's count: 2 more than the line when it has no newline)
    for suffix in suffixes:
        if line_length + len(suffix) + 2 > options.linewidth:
            text += ",\n" + " " * indent + suffix
            line_length = indent + len(suffix)
        else:
            text += ", " + suffix
            line_length += len(suffix) + 2
    return text + ")"


def tensor_repr(t: Tensor) -> str:
    """``repr(t)`` as PyTorch writes it (with tinygrad_edu's dtype names: ``dtype=tg.float64``)."""
    prefix = "tensor("
    a = t.data
    dtype = f"dtype=tg.{a.dtype.name}"
    suffixes = []
    if a.size == 0:
        body = "[]"
        if a.ndim != 1:
            suffixes.append(f"size={a.shape}")
        if a.dtype != dtypes.default_float:
            suffixes.append(dtype)
    else:
        if a.dtype not in _IMPLIED_DTYPES:
            suffixes.append(dtype)
        summarize = a.size > options.threshold
        body = _nested(a, _ElementFormat(_edges(a) if summarize else a), len(prefix), summarize)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, len(prefix))
