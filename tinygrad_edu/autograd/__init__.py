"""``tg.autograd``: the engine's public face.

    Function                   base class of every op (subclass it for your own)
    grad(outputs, inputs, …)   gradients without touching .grad (create_graph for grad-of-grad)
    gradcheck, gradgradcheck   compare with central finite differences in float64
    no_grad, enable_grad, set_grad_enabled, is_grad_enabled
    trace, formulas            a step-by-step table of a backward pass; the formula cheat sheet
    functional                 jacobian, hessian, vjp, jvp, hvp, vhp of a function (torch.autograd.functional)
"""

from . import functional
from .engine import AccumulateGrad, backward, grad
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .trace import TraceStep, formulas, trace

__all__ = [
    "AccumulateGrad",
    "Function",
    "GradcheckError",
    "TraceStep",
    "backward",
    "enable_grad",
    "formulas",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "trace",
]
