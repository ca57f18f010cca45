"""The numeric part of a fitted preprocessor as a ``torch.nn.Module``.

Imported only by :meth:`netstudio.core.data.preprocess.Preprocessor.as_module`, so loading data does not
pay for importing PyTorch. The operations and their order mirror
:meth:`~netstudio.core.data.preprocess.Preprocessor.transform_array` exactly (float32 throughout), which
is what makes the exported graph agree with the training data to rounding.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class RawInputs(nn.Module):
    """Raw inputs -> network inputs: impute non-finite values, divide by a scale, standardise.

    Parameters
    ----------
    fill, mean, std : numpy.ndarray
        float32 statistics broadcastable to one example (``(F,)``, ``(C, 1, 1)``...).
    divide_by : float
        Raw values are divided by it first (255 for pixels, 1 otherwise).
    """

    def __init__(self, fill: np.ndarray, mean: np.ndarray, std: np.ndarray, divide_by: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("fill", torch.from_numpy(np.array(fill, dtype=np.float32)))
        self.register_buffer("mean", torch.from_numpy(np.array(mean, dtype=np.float32)))
        self.register_buffer("std", torch.from_numpy(np.array(std, dtype=np.float32)))
        self.register_buffer("divide_by", torch.tensor(float(divide_by), dtype=torch.float32))
        self.scaled = float(divide_by) != 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float32)
        x = torch.where(torch.isnan(x) | torch.isinf(x), self.fill, x)
        if self.scaled:
            x = x / self.divide_by
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"stats={tuple(self.mean.shape)}, divide_by={float(self.divide_by):g}"
