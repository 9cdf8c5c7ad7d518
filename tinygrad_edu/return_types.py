"""The named tuples of the ops that return two tensors, named as PyTorch's ``torch.return_types``.

``x.max(dim)`` returns a ``return_types.max``, ``x.min(dim)`` a ``return_types.min``, ``x.kthvalue(k)`` a
``return_types.kthvalue``: each op its own type, as in PyTorch, so ``type(result).__name__`` says which op
made it. All but ``aminmax`` (fields ``min``, ``max``) have the fields ``values`` and ``indices``.
"""

from collections import namedtuple

max = namedtuple("max", ["values", "indices"], module=__name__)
min = namedtuple("min", ["values", "indices"], module=__name__)
sort = namedtuple("sort", ["values", "indices"], module=__name__)
topk = namedtuple("topk", ["values", "indices"], module=__name__)
kthvalue = namedtuple("kthvalue", ["values", "indices"], module=__name__)
median = namedtuple("median", ["values", "indices"], module=__name__)
mode = namedtuple("mode", ["values", "indices"], module=__name__)
aminmax = namedtuple("aminmax", ["min", "max"], module=__name__)
cummax = namedtuple("cummax", ["values", "indices"], module=__name__)
cummin = namedtuple("cummin", ["values", "indices"], module=__name__)
nanmedian = namedtuple("nanmedian", ["values", "indices"], module=__name__)

# the linear algebra results (other fields): torch.slogdet / Tensor.slogdet, and tg.linalg's as torch.linalg's
slogdet = namedtuple("slogdet", ["sign", "logabsdet"], module=__name__)
linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"], module=__name__)
linalg_qr = namedtuple("linalg_qr", ["Q", "R"], module=__name__)
linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"], module=__name__)
linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"], module=__name__)
linalg_lstsq = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"], module=__name__)
linalg_inv_ex = namedtuple("linalg_inv_ex", ["inverse", "info"], module=__name__)
linalg_lu_factor = namedtuple("linalg_lu_factor", ["LU", "pivots"], module=__name__)
linalg_lu_factor_ex = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"], module=__name__)
linalg_lu = namedtuple("linalg_lu", ["P", "L", "U"], module=__name__)
linalg_cholesky_ex = namedtuple("linalg_cholesky_ex", ["L", "info"], module=__name__)
linalg_solve_ex = namedtuple("linalg_solve_ex", ["result", "info"], module=__name__)
linalg_ldl_factor = namedtuple("linalg_ldl_factor", ["LD", "pivots"], module=__name__)
linalg_ldl_factor_ex = namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"], module=__name__)

__all__ = ["aminmax", "cummax", "cummin", "kthvalue", "linalg_cholesky_ex", "linalg_eigh", "linalg_inv_ex",
           "linalg_ldl_factor", "linalg_ldl_factor_ex", "linalg_lstsq", "linalg_lu", "linalg_lu_factor",
           "linalg_lu_factor_ex",
           "linalg_qr", "linalg_slogdet", "linalg_solve_ex",
           "linalg_svd", "max", "median", "min", "mode", "nanmedian", "slogdet", "sort", "topk"]
