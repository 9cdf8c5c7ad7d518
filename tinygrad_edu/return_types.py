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

__all__ = ["aminmax", "cummax", "cummin", "kthvalue", "max", "median", "min", "mode", "nanmedian", "sort", "topk"]
