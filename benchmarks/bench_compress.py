"""Benchmark: the compression report on the shipped digits, checked against issue 8's targets.

Runs ``tg.compress.compression_report`` (the table of ``python -m tinygrad_edu compress``)
with one thread (OPENBLAS_NUM_THREADS=1, set before the imports) and checks:

    int8:         accuracy within 1 point of float32; bytes at most 1/4 of float32's plus
                  8 per output channel (its float32 scale and float32 bias stay 4 bytes
                  each); forward faster than float32
    pruning 50 %: accuracy within 1 point of float32 after fine-tuning

Accuracy is measured on 270 test images, so one point is about 3 images; each target is
printed as PASS or FAIL and the exit code is 1 if any fails.

Run:  python benchmarks/bench_compress.py [--epochs N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import time

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--epochs", type=int, default=15, help="training epochs of the CNN (default 15)")
_parser.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling (default 0)")
_args = _parser.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # must precede the numpy import

import platform  # noqa: E402
import sys  # noqa: E402

from _common import cpu_name  # noqa: E402

from tinygrad_edu import backend  # noqa: E402
from tinygrad_edu.compress import compression_report, format_report  # noqa: E402

ACCURACY_POINTS = 0.01
OUTPUT_CHANNELS = 16 + 32 + 10  # of the report's CNN: Conv 1→16, Conv 16→32, Linear 128→10


def check_targets(rows: list[dict]) -> list[tuple[str, bool, str]]:
    """(target, passed, measured) for each of issue 8's targets."""
    by_method = {row["method"]: row for row in rows}
    f32, int8, pruned = by_method["float32 CNN"], by_method["int8 CNN"], by_method["pruned 50% + fine-tune"]
    size_ratio = int8["size_bytes"] / f32["size_bytes"]
    size_bound = f32["size_bytes"] / 4 + 8 * OUTPUT_CHANNELS
    return [
        ("int8 accuracy within 1 pt of float32", f32["accuracy"] - int8["accuracy"] <= ACCURACY_POINTS,
         f"{int8['accuracy']:.4f} vs {f32['accuracy']:.4f}"),
        ("int8 bytes <= 1/4 of float32 + 8 per output channel", int8["size_bytes"] <= size_bound,
         f"{int8['size_bytes']:,} vs {f32['size_bytes']:,} (ratio {size_ratio:.3f}; bound {size_bound:,.0f})"),
        ("int8 forward faster than float32", int8["ms"] < f32["ms"],
         f"{int8['ms']:.2f} ms vs {f32['ms']:.2f} ms ({f32['ms'] / int8['ms']:.2f}x); in the conv/linear layers "
         f"{int8['layers_ms']:.2f} vs {f32['layers_ms']:.2f} ms ({f32['layers_ms'] / int8['layers_ms']:.2f}x)"),
        ("50% pruning + fine-tune within 1 pt of float32", f32["accuracy"] - pruned["accuracy"] <= ACCURACY_POINTS,
         f"{pruned['accuracy']:.4f} vs {f32['accuracy']:.4f}"),
    ]


def main() -> int:
    print(f"{cpu_name()}, Python {platform.python_version()}, backend {backend.name()}, 1 thread")
    started = time.perf_counter()
    rows = compression_report(epochs=_args.epochs, seed=_args.seed)
    print(format_report(rows))
    print(f"\n{time.perf_counter() - started:.1f} s\n")
    results = check_targets(rows)
    for target, passed, measured in results:
        print(f"{'PASS' if passed else 'FAIL'}  {target}: {measured}")
    return 0 if all(passed for _, passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
