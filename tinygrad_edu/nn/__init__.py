"""``tg.nn``: layers, losses and the Module machinery, with PyTorch's names and state dicts.

    module.py         Module, Parameter, Sequential, ModuleList
    linear.py         Identity, Linear, Flatten            conv.py      Conv1d, Conv2d
    pooling.py        MaxPool2d, AvgPool2d                 dropout.py   Dropout
    embedding.py      Embedding                            recurrent.py RNN, LSTM, GRU
    normalization.py  BatchNorm1d, BatchNorm2d, LayerNorm  activation.py ReLU Sigmoid Tanh ...
    loss.py           MSELoss ... MultiMarginLoss          functional.py  F.* of all of these
    init.py           weight initialisation                utils.py     clipping, L1/L2 penalties
"""

from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .conv import Conv1d, Conv2d
from .dropout import Dropout
from .embedding import Embedding
from .linear import Flatten, Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
)
from .module import IncompatibleKeys, Module, ModuleList, Parameter, RemovableHandle, Sequential
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import AvgPool2d, MaxPool2d
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "GELU", "GRU", "LSTM", "RNN", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d",
    "Conv1d", "Conv2d", "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "Identity", "IncompatibleKeys",
    "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module",
    "ModuleList", "MultiMarginLoss", "NLLLoss", "Parameter", "ReLU", "RemovableHandle", "Sequential", "Sigmoid",
    "Softmax", "Tanh", "functional", "init", "utils",
]
