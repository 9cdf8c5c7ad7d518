"""``tg.nn``: layers, losses and the Module machinery, with PyTorch's names and state dicts.

    module.py         Module, Parameter, Sequential, ModuleList
    linear.py         Identity, Linear, Flatten            conv.py      Conv1d, Conv2d
    pooling.py        Max/AvgPool1d/2d                     dropout.py   Dropout, Dropout1d, Dropout2d
    embedding.py      Embedding                            recurrent.py RNN, LSTM, GRU
    normalization.py  BatchNorm1d, BatchNorm2d, LayerNorm  activation.py ReLU Sigmoid Tanh ...
    loss.py           MSELoss ... MultiMarginLoss          functional.py  F.* of all of these
    init.py           weight initialisation                utils.py     clipping, L1/L2 penalties
    padding.py        ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad (1d/2d)
"""

from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .conv import Conv1d, Conv2d
from .dropout import Dropout, Dropout1d, Dropout2d
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
from .padding import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .pooling import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "GELU", "GRU", "LSTM", "RNN", "AvgPool1d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "Conv1d", "Conv2d", "CrossEntropyLoss", "Dropout", "Dropout1d", "Dropout2d", "Embedding",
    "Flatten", "Identity", "IncompatibleKeys", "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d", "Module", "ModuleList", "MultiMarginLoss", "NLLLoss",
    "Parameter", "ReLU", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "RemovableHandle",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "functional", "init", "utils",
]
