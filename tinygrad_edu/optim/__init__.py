"""``tg.optim``: optimisers and learning-rate schedules, step for step equal to ``torch.optim``.

    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

Where to read what:
    optimizer.py     the shared loop: param_groups, state, zero_grad, step, state_dict
    sgd.py           SGD (momentum, dampening, Nesterov, weight decay)
    adam.py          Adam (amsgrad) and AdamW (decoupled weight decay)
    rmsprop.py       RMSprop (momentum, centered)
    adagrad.py       Adagrad (lr_decay)
    adadelta.py      Adadelta                     adamax.py  Adamax (infinity norm)
    nadam.py         NAdam (Nesterov momentum)    radam.py   RAdam (rectified adaptive rate)
    rprop.py         Rprop (sign-based steps)     asgd.py    ASGD (averaged SGD)
    lbfgs.py         L-BFGS (closure, strong-Wolfe line search; NumPy only)
    swa_utils.py     AveragedModel (SWA / EMA weights), SWALR, update_bn
    lr_scheduler.py  StepLR, MultiStepLR, ExponentialLR, LambdaLR, LinearLR, CosineAnnealingLR,
                     ReduceLROnPlateau, ConstantLR, MultiplicativeLR, PolynomialLR,
                     CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SequentialLR,
                     ChainedScheduler; time_based_decay
Each algorithm's class docstring is its update rule; its ``_update`` follows it line by line.
"""

from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["ASGD", "LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "Rprop", "lr_scheduler", "swa_utils"]
