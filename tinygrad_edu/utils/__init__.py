"""``tg.utils``: PyTorch's ``torch.utils`` names.

    tg.utils.data         the ``tg.data`` package under PyTorch's name (``torch.utils.data``)
    tg.utils.checkpoint   activation checkpointing: checkpoint, checkpoint_sequential
"""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
