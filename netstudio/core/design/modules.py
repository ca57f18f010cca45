"""Small ``torch.nn`` modules that the catalog builds where PyTorch has no ready-made layer.

This module imports PyTorch at import time; the catalog imports it only inside ``build``.
"""

from __future__ import annotations

import torch
from torch import nn


class Recurrent(nn.Module):
    """An LSTM or GRU (batch first) that passes on a tensor, not a tuple.

    The output is the whole sequence ``[N, T, H]`` when ``return_sequences`` is true, otherwise
    the last time step ``[N, H]`` (``H`` doubles when bidirectional), so it stacks like any layer.
    """

    def __init__(self, kind: str, input_size: int, *, return_sequences: bool = False, **kwargs):
        super().__init__()
        self.return_sequences = return_sequences
        self.rnn = getattr(nn, kind)(input_size, batch_first=True, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        if self.return_sequences:
            return out
        return out[:, -1]
