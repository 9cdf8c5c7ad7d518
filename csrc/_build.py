"""cffi build script for tinygrad_edu's C kernels (API mode, out-of-line).

Run by setup.py through ``cffi_modules``; or by hand, ``python csrc/_build.py``, which
builds ``tinygrad_edu/_kernels*.so`` in place. The extension is ``optional``: where no C
compiler is available the install still succeeds and the package runs on the NumPy backend.

No ``-march=native``: the library must run on any x86-64, so the kernels choose their
instruction set (AVX-512 / AVX2+FMA / portable) at run time.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
HEADER = HERE / "tg_kernels.h"
SOURCES = sorted(str(path.relative_to(HERE.parent)) for path in HERE.glob("*.c"))


def _cdef_text(header: Path) -> str:
    """The header without preprocessor lines, which cffi's cdef does not accept."""
    lines = header.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _compile_files_in_parallel() -> None:
    """Let distutils compile an extension's C files side by side, one per CPU.

    distutils compiles the files of one extension one after another; gemm's three
    instruction-set files take minutes each (their tiles are unrolled for every row count),
    so on two cores this halves the install. Each file is compiled by the unchanged method.
    """
    # setuptools first: `distutils` is then the copy that setuptools builds with
    # isort: off
    import setuptools  # noqa: F401
    from distutils import ccompiler

    # isort: on

    compile_serially = ccompiler.CCompiler.compile
    if getattr(compile_serially, "in_parallel", False):
        return

    def compile_in_parallel(self, sources, *args, **kwargs):
        if len(sources) < 2 or (os.cpu_count() or 1) < 2:
            return compile_serially(self, sources, *args, **kwargs)
        with ThreadPoolExecutor(os.cpu_count()) as pool:
            objects = pool.map(lambda source: compile_serially(self, [source], *args, **kwargs), sources)
        return [obj for one in objects for obj in one]

    compile_in_parallel.in_parallel = True
    ccompiler.CCompiler.compile = compile_in_parallel


# gemm's instruction-set levels take the longest: they start first, so that none starts last.
SLOWEST = ("csrc/gemm_avx2.c", "csrc/gemm_avx512.c", "csrc/gemm_portable.c")
SOURCES.sort(key=lambda source: source not in SLOWEST)
_compile_files_in_parallel()

ffibuilder = FFI()
ffibuilder.cdef(_cdef_text(HEADER))
ffibuilder.set_source(
    "tinygrad_edu._kernels",
    '#include "tg_kernels.h"',
    sources=SOURCES,
    include_dirs=[str(HERE.relative_to(HERE.parent))],
    # -fno-math-errno: sqrt is then one instruction the vectoriser can use (nothing here reads errno)
    extra_compile_args=["-O3", "-std=c11", "-pthread", "-fno-math-errno"],
    extra_link_args=["-pthread"],  # threads.c: a pool of pthreads
    optional=True,
)

if __name__ == "__main__":
    import os

    os.chdir(HERE.parent)
    ffibuilder.compile(tmpdir=".", verbose=True)
