"""Small ``torch.nn`` modules that the catalog builds where PyTorch has no ready-made layer
(NetStudio's own layers, and torch layers that need a tensor-in, tensor-out wrapper).

The blocks (:mod:`netstudio.core.design.blocks`) build to :class:`Residual`, :class:`Parallel` and
:class:`Repeat`, whose source the python export copies into ``model.py``. This module imports
PyTorch at import time; the catalog and the builder import it only inside ``build``.
"""

from __future__ import annotations

from collections import OrderedDict

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


class Residual(nn.Module):
    """``body(x) + shortcut(x)``: a skip connection around ``body`` (identity, or a learned projection)."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class Parallel(nn.Module):
    """Every branch gets the input; their outputs are joined along ``dim`` (concat) or summed (add)."""

    def __init__(self, *branches: nn.Module, merge: str = "concat", dim: int = 1) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.merge = merge
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self.branches]
        if self.merge == "add":
            total = outputs[0]
            for output in outputs[1:]:
                total = total + output
            return total
        return torch.cat(outputs, dim=self.dim)


class Repeat(nn.Sequential):
    """The same layers several times in a row, each copy (``copy1``, ``copy2``...) with its own weights."""

    def __init__(self, *copies: nn.Module) -> None:
        super().__init__(OrderedDict((f"copy{number}", layers) for number, layers in enumerate(copies, start=1)))
