"""The module every export is made from: raw inputs in, probabilities or values out.

:class:`ExportedModel` chains the fitted preprocessing (NaN imputation, scaling and
standardisation as a ``torch.nn.Module``), the trained ``nn.Sequential`` and the output transform
(sigmoid/softmax/exp to probabilities, or the regression target's own units). Exported graphs
(torch.export, TorchScript, ONNX) are traced from it, and the Python export writes the same
computation as plain code. This module imports PyTorch at import time.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from netstudio.core.design.losses import OUTPUT_TRANSFORMS


class OutputTransform(nn.Module):
    """Raw network outputs -> what users see.

    Parameters
    ----------
    transform : str
        One of :data:`netstudio.core.design.losses.OUTPUT_TRANSFORMS`.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    target_mean, target_std : float
        Regression only: a prediction in the target's units is ``output * std + mean``.

    The constants are plain Python numbers, not buffers, so they become part of the graph and
    the state dict holds only the preprocessing statistics and the network's weights.
    """

    def __init__(self, transform: str, task: str, target_mean: float = 0.0, target_std: float = 1.0) -> None:
        super().__init__()
        if transform not in OUTPUT_TRANSFORMS:
            raise ValueError(f"unknown output transform {transform!r}")
        self.transform = transform
        self.task = task
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)

    def forward(self, output: torch.Tensor) -> torch.Tensor:
        if self.task == "regression":
            return output * self.target_std + self.target_mean
        if self.transform in ("sigmoid", "binary_identity"):
            p = torch.sigmoid(output) if self.transform == "sigmoid" else output.clamp(0, 1)
            return torch.cat([1 - p, p], dim=1)
        if self.transform == "softmax":
            return torch.softmax(output, dim=1)
        if self.transform == "exp":
            return torch.exp(output)
        return output

    def extra_repr(self) -> str:
        if self.task == "regression":
            return f"regression, * {self.target_std:g} + {self.target_mean:g}"
        return self.transform


class Unchanged(nn.Module):
    """Stands in for the preprocessing when a model has none: float32, nothing else."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32)


class ExportedModel(nn.Module):
    """Preprocessing + trained network + output transform, as one module.

    Parameters
    ----------
    net : torch.nn.Sequential
        The trained network (its modules named ``conv1``, ``relu1``... as the builder names them).
    preprocess : torch.nn.Module or None
        Raw inputs -> network inputs (:meth:`Preprocessor.as_module`); None for none.
    output : OutputTransform
    layer_types : list of str, optional
        The catalog type of each module of *net*, in order (for error messages).

    Attributes
    ----------
    input_shape : tuple of int
        One raw example's shape (no batch dimension), for example inputs.
    input_dtype : torch.dtype
        The raw input's type in exported graphs: ``torch.int64`` for token ids (a text model),
        else ``torch.float32``. :meth:`predict` takes either.
    """

    def __init__(self, net: nn.Sequential, preprocess: nn.Module | None, output: OutputTransform,
                 input_shape, layer_types: list[str] | None = None, input_dtype=torch.float32) -> None:
        super().__init__()
        self.preprocess = preprocess if preprocess is not None else Unchanged()
        self.net = net
        self.output = output
        self.input_shape = tuple(int(s) for s in input_shape)
        self.input_dtype = input_dtype
        self.layer_types = list(layer_types or [type(m).__name__ for m in net])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.net(self.preprocess(x)))

    def layers(self) -> list[tuple[str, str]]:
        """``(module name, layer type)`` for every layer of the network, in order."""
        return [(name, kind) for (name, _), kind in zip(self.net.named_children(), self.layer_types)]

    @torch.no_grad()
    def predict(self, raw: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Run raw inputs ``[N, ...]`` (N >= 1) through the model in chunks (by default as many rows
        as the memory guard allows: :func:`netstudio.core.training.metrics.chunk_rows`); float32
        numpy out."""
        from netstudio.core.training.metrics import chunk_rows

        raw = np.asarray(raw, dtype=np.float32)
        batch_size = batch_size or chunk_rows(self, torch.from_numpy(np.ascontiguousarray(raw[:1])))
        return np.concatenate([self(torch.from_numpy(np.ascontiguousarray(raw[i:i + batch_size]))).numpy()
                               for i in range(0, len(raw), batch_size)])


def build_exported_model(net: nn.Sequential, metadata: dict, preprocessor=None) -> ExportedModel:
    """An :class:`ExportedModel` on the CPU, in evaluation mode, from a trained network.

    Parameters
    ----------
    net : torch.nn.Sequential
        Copied (to the CPU); the original keeps training if it wants to.
    metadata : dict
        The run's model metadata (``task``, ``output_transform``, ``target_mean``...).
    preprocessor : netstudio.core.data.preprocess.Preprocessor, optional
    """
    net = copy.deepcopy(net).to("cpu").eval()
    for p in net.parameters():
        p.requires_grad_(False)
    task = metadata["task"]
    output = OutputTransform(metadata.get("output_transform") or ("identity" if task == "regression" else "softmax"),
                             task, metadata.get("target_mean") or 0.0, metadata.get("target_std") or 1.0)
    preprocess = preprocessor.as_module() if preprocessor is not None else None
    types = [layer["type"] for layer in metadata.get("layers") or []]
    if len(types) != len(net):
        types = None
    dtype = torch.int64 if getattr(preprocessor, "kind", None) == "text" else torch.float32
    model = ExportedModel(net, preprocess, output, metadata["input_shape"], types, input_dtype=dtype)
    return model.eval()
