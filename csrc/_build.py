"""cffi build script for tinygrad_edu's C kernels (API mode, out-of-line).

Run by setup.py through ``cffi_modules``; or by hand, ``python csrc/_build.py``, which
builds ``tinygrad_edu/_kernels*.so`` in place. The extension is ``optional``: where no C
compiler is available the install still succeeds and the package runs on the NumPy backend.

No ``-march=native``: the library must run on any x86-64, so the kernels choose their
instruction set (AVX-512 / AVX2+FMA / portable) at run time.
"""

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
HEADER = HERE / "tg_kernels.h"
SOURCES = sorted(str(path.relative_to(HERE.parent)) for path in HERE.glob("*.c"))


def _cdef_text(header: Path) -> str:
    """The header without preprocessor lines, which cffi's cdef does not accept."""
    lines = header.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


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
