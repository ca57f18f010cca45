"""Small ``torch.nn`` modules that the catalog builds where PyTorch has no ready-made layer
(NetStudio's own layers, and torch layers that need a tensor-in, tensor-out wrapper).

This module imports PyTorch at import time; the catalog imports it only inside ``build``.
"""

from __future__ import annotations

import torch
from torch import nn


class Recurrent(nn.Module):
    """An LSTM, GRU or RNN (batch first) that passes on a tensor, not a tuple.

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


class TokenEmbedding(nn.Embedding):
    """``nn.Embedding`` that takes token ids in any dtype: ``[N, T]`` ids -> ``[N, T, E]``.

    Models get float32 inputs; ids are whole numbers, exact in float32 up to 2**24.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.long())


class PositionalEmbedding(nn.Module):
    """A learned position vector added to each time step: ``[N, T, E]`` -> ``[N, T, E]``."""

    def __init__(self, num_positions: int, embedding_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_positions, embedding_dim))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention`` (batch first) as self-attention: ``[N, T, E]`` -> ``[N, T, E]``."""

    def __init__(self, embed_dim: int, num_heads: int, **kwargs):
        super().__init__()
        self.attention = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.attention(x, x, x, need_weights=False)
        return out


class SequencePool(nn.Module):
    """Pools a sequence over time: ``[N, T, E]`` -> ``[N, E]`` (mean, max, last or first step)."""

    def __init__(self, mode: str = "mean"):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "mean":
            return x.mean(dim=1)
        if self.mode == "max":
            return x.amax(dim=1)
        if self.mode == "last":
            return x[:, -1]
        return x[:, 0]


class Permute(nn.Module):
    """Reorders the dimensions, the batch's included: ``Permute([0, 2, 1])`` swaps the last two."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = [int(d) for d in dims]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)
