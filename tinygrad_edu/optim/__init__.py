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
    lr_scheduler.py  StepLR, MultiStepLR, ExponentialLR, LambdaLR, LinearLR, CosineAnnealingLR,
                     ReduceLROnPlateau; time_based_decay
Each algorithm's class docstring is its update rule; its ``_update`` follows it line by line.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
