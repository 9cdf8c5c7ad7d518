"""Build hook for the optional C kernels; all metadata lives in pyproject.toml.

`cffi_modules` compiles csrc/ into `tinygrad_edu._kernels`. The extension is marked
optional in csrc/_build.py, so a machine without a C compiler still installs the
package, which then runs on the NumPy backend.
"""

from setuptools import setup

setup(cffi_modules=["csrc/_build.py:ffibuilder"])
