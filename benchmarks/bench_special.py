"""Error-function family: tinygrad_edu's vector C kernels vs torch.special vs the NumPy reference, ns per element.

    python benchmarks/bench_special.py [--rounds 7] [--size 100000]

One process, 1 thread: for each function and dtype the three implementations run interleaved, ``--rounds``
times, on the same random inputs (uniform over the range named in the table); the table shows medians in ns per
element and the ratios C / torch and NumPy / C. Each call is timed in process CPU time (time.process_time): on
a machine shared with other jobs, wall time also counts the moments this process waits for a core. The C
kernels run at the best ISA level unless TINYGRAD_EDU_ISA says otherwise. The NumPy reference (ops/special.py)
is the path without the C extension.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_arguments, cpu_name


def _size_argument(parser) -> None:
    parser.add_argument("--size", type=int, default=100_000, help="elements per call (default 100000)")


ARGS = bench_arguments(__doc__, rounds=7, add_arguments=_size_argument)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu.backend import c, numpy_ref  # noqa: E402
from tinygrad_edu.ops import special as special_ops  # noqa: E402

# name -> (input range, NumPy reference)
FUNCTIONS = {
    "erf": ((-5.0, 5.0), numpy_ref.erf),
    "erfc": ((-5.0, 5.0), special_ops._erfc),
    "erfcx": ((-5.0, 5.0), special_ops._erfcx),
    "ndtr": ((-5.0, 5.0), special_ops._ndtr),
    "log_ndtr": ((-5.0, 5.0), special_ops._log_ndtr),
    "ndtri": ((0.0, 1.0), special_ops._ndtri),
    "erfinv": ((-1.0, 1.0), special_ops._erfinv),
}


def _ns_per_element(fn, size: int) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) / size * 1e9


def main() -> None:
    torch.set_num_threads(ARGS.threads)
    tg.backend.set_num_threads(ARGS.threads)
    size, rng = ARGS.size, np.random.default_rng(0)
    print(f"# {cpu_name()}; {size} elements, {ARGS.rounds} rounds, {ARGS.threads} thread(s), ISA {c.isa()}; "
          "medians in ns per element")
    print(f"{'function':9} {'dtype':7} {'range':12} {'C':>7} {'torch':>7} {'NumPy':>8} {'C/torch':>8} {'NumPy/C':>8}")
    for name, ((low, high), reference) in FUNCTIONS.items():
        for dtype in (np.float64, np.float32):
            x = rng.uniform(low, high, size).astype(dtype)
            x_torch, torch_fn = torch.from_numpy(x), getattr(torch.special, name)
            numpy_size = min(size, 20_000)  # the reference is slow: fewer elements, same ns/element
            x_numpy = x[:numpy_size].astype(np.float64)
            candidates = {"C": (partial(c.special, name, x), size), "torch": (partial(torch_fn, x_torch), size),
                          "NumPy": (partial(reference, x_numpy), numpy_size)}
            times = {key: [] for key in candidates}
            for fn, _ in candidates.values():
                fn()  # warm-up
            for _ in range(ARGS.rounds):
                for key, (fn, n) in candidates.items():
                    times[key].append(_ns_per_element(fn, n))
            median = {key: float(np.median(values)) for key, values in times.items()}
            print(f"{name:9} {np.dtype(dtype).name:7} {f'({low:g}, {high:g})':12} {median['C']:7.2f} "
                  f"{median['torch']:7.2f} {median['NumPy']:8.1f} {median['C'] / median['torch']:8.2f} "
                  f"{median['NumPy'] / median['C']:8.0f}")


if __name__ == "__main__":
    main()
