"""Ready-made designs to start from, and the design's input shape: checked, parsed, suggested.

A :class:`Template` is a layer list with the input shape it was drawn for and a few training
settings that suit it; :func:`netstudio.core.project.project_from_template` turns it into a new
project. Until a dataset says what one sample looks like, the designer checks the stack against an
input shape the user sets by hand (:func:`check_input_shape`, :func:`parse_input_shape`); the
project stores it (:func:`netstudio.core.project.read_input_shape`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from netstudio.core.design.layers import Shape
from netstudio.core.design.stack import LayerSpec, LayerStack

#: The input shape of a new, empty design: ten features.
DEFAULT_INPUT_SHAPE: Shape = (10,)
#: More dimensions than this is not a sample shape any layer here accepts.
MAX_INPUT_DIMS = 4
#: Largest single size accepted for an input dimension.
MAX_INPUT_SIZE = 1_000_000


@dataclass(frozen=True)
class Template:
    """A named starting design.

    Attributes
    ----------
    key : str
        Short identifier, also the new project's name (``lenet-cnn``).
    title : str
        What menus show ("LeNet-style CNN").
    description : str
        One sentence for tooltips and status bar hints.
    input_shape : tuple of int
        The sample shape the layers were drawn for (without the batch dimension).
    layers : tuple of dict
        Layer configs, as :meth:`LayerSpec.get_config` writes them.
    training : dict
        Training settings that differ from the defaults.
    """

    key: str
    title: str
    description: str
    input_shape: Shape
    layers: tuple[dict, ...] = ()
    training: dict = field(default_factory=dict)

    def stack(self) -> LayerStack:
        """A fresh :class:`LayerStack` of this template's layers (defaults filled in)."""
        return LayerStack([LayerSpec.from_config(copy.deepcopy(c)) for c in self.layers])


def _layer(type_name: str, **params: Any) -> dict:
    return {"type": type_name, "params": params}


def _block(type_name: str, params: dict, layers: list | None = None, branches: list | None = None) -> dict:
    config: dict = {"type": type_name, "params": params}
    if branches is not None:
        config["branches"] = branches
    else:
        config["layers"] = layers or []
    return config


def _residual(channels: int, stride: int = 1) -> dict:
    """A ResNet basic block: two 3×3 convolutions with batch norm (the first may stride), the sum
    taking the ``auto`` shortcut (a 1×1 projection when the shape changes)."""
    return _block("Residual", {"shortcut": "auto"}, layers=[
        _layer("Conv2d", out_channels=channels, kernel_size=3, stride=stride, padding=1, bias=False),
        _layer("BatchNorm2d"), _layer("ReLU"),
        _layer("Conv2d", out_channels=channels, kernel_size=3, padding=1, bias=False), _layer("BatchNorm2d")])


TEMPLATES: tuple[Template, ...] = (
    Template(
        "blank", "Blank", "An empty design: add layers from the palette.", DEFAULT_INPUT_SHAPE),
    Template(
        "first-network", "First Network (10 → 5 → 1)",
        "The classic first PyTorch network: 10 inputs, 5 hidden units, 1 output for a yes/no answer.",
        (10,),
        (_layer("Linear", out_features=5), _layer("ReLU"), _layer("Linear", out_features=1)),
        {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "epochs": 20},
    ),
    Template(
        "mlp-classifier", "MLP Classifier",
        "Two hidden layers with dropout, for tables of numbers; the last layer takes one unit per class.",
        (20,),
        (_layer("Linear", out_features=64), _layer("ReLU"), _layer("Dropout", p=0.2),
         _layer("Linear", out_features=32), _layer("ReLU"), _layer("Linear", out_features="auto")),
    ),
    Template(
        "lenet-cnn", "LeNet-style CNN",
        "Two convolution and pooling stages, then three fully connected layers, for 28×28 grey images.",
        (1, 28, 28),
        (_layer("Conv2d", out_channels=6, kernel_size=5, padding=2), _layer("ReLU"), _layer("MaxPool2d", kernel_size=2),
         _layer("Conv2d", out_channels=16, kernel_size=5), _layer("ReLU"), _layer("MaxPool2d", kernel_size=2),
         _layer("Flatten"), _layer("Linear", out_features=120), _layer("ReLU"),
         _layer("Linear", out_features=84), _layer("ReLU"), _layer("Linear", out_features="auto")),
        {"epochs": 10, "batch_size": 64},
    ),
    Template(
        "small-rnn", "Small Recurrent Network",
        "An LSTM reads a sequence of 30 time steps with 4 features each; a Linear layer answers from its last step.",
        (30, 4),
        (_layer("LSTM", hidden_size=32), _layer("Dropout", p=0.2), _layer("Linear", out_features="auto")),
        {"learning_rate": 0.005},
    ),
    # -- block templates (issue 19): small-resnet, inception-block, cnn1d-sequence -----------------
    Template(
        "small-resnet", "Small ResNet",
        "A convolution stem and three residual blocks (the last two halve the size through a projection "
        "shortcut), then global pooling and one Linear layer, for 32×32 colour images like the shapes sample.",
        (3, 32, 32),
        (_layer("Conv2d", out_channels=16, kernel_size=3, padding=1, bias=False), _layer("BatchNorm2d"),
         _layer("ReLU"),
         _residual(16), _layer("ReLU"),
         _residual(32, stride=2), _layer("ReLU"),
         _residual(64, stride=2), _layer("ReLU"),
         _layer("AdaptiveAvgPool2d", output_size=1), _layer("Flatten"), _layer("Linear", out_features="auto")),
        {"epochs": 12, "batch_size": 32, "learning_rate": 0.003},
    ),
    Template(
        "inception-block", "Inception Block",
        "A convolution stem, then one Inception-style block: 1×1, 3×3, 5×5 and pooling branches side by "
        "side, their channels joined; global pooling and a Linear layer answer. For 32×32 colour images.",
        (3, 32, 32),
        (_layer("Conv2d", out_channels=16, kernel_size=3, padding=1), _layer("ReLU"),
         _layer("MaxPool2d", kernel_size=2),
         _block("Parallel", {"merge": "concat"}, branches=[
             [_layer("Conv2d", out_channels=8, kernel_size=1), _layer("ReLU")],
             [_layer("Conv2d", out_channels=8, kernel_size=1), _layer("ReLU"),
              _layer("Conv2d", out_channels=16, kernel_size=3, padding=1), _layer("ReLU")],
             [_layer("Conv2d", out_channels=4, kernel_size=1), _layer("ReLU"),
              _layer("Conv2d", out_channels=8, kernel_size=5, padding=2), _layer("ReLU")],
             [_layer("MaxPool2d", kernel_size=3, stride=1, padding=1),
              _layer("Conv2d", out_channels=8, kernel_size=1), _layer("ReLU")],
         ]),
         _layer("MaxPool2d", kernel_size=2), _layer("AdaptiveAvgPool2d", output_size=1), _layer("Flatten"),
         _layer("Linear", out_features="auto")),
        {"epochs": 25, "batch_size": 32, "learning_rate": 0.003},
    ),
    Template(
        "cnn1d-sequence", "1-D CNN for Sequences",
        "Turns a sequence of 30 time steps with 4 features each into channels over time, two 1-D convolutions "
        "read it, pooling over time sums it up and a Linear layer answers.",
        (30, 4),
        (_layer("Permute", dims=[0, 2, 1]),
         _layer("Conv1d", out_channels=16, kernel_size=3, padding=1), _layer("ReLU"),
         _layer("MaxPool1d", kernel_size=2),
         _layer("Conv1d", out_channels=32, kernel_size=3, padding=1), _layer("ReLU"),
         _layer("AdaptiveAvgPool1d", output_size=1), _layer("Flatten"), _layer("Linear", out_features="auto")),
        {"learning_rate": 0.003},
    ),
    # -- end of block templates ---------------------------------------------------------------------
    # -- Time-series forecasters (data.sequence: [window, features] -> the target ahead) --------
    Template(
        "lstm-forecaster", "LSTM Forecaster",
        "An LSTM reads the last 24 rows of a series (2 features each) and forecasts the target a few rows ahead.",
        (24, 2),
        (_layer("LSTM", hidden_size=32), _layer("Linear", out_features=32), _layer("ReLU"),
         _layer("Linear", out_features="auto")),
        {"learning_rate": 0.003, "epochs": 40},
    ),
    Template(
        "cnn1d-forecaster", "1-D CNN Forecaster",
        "Convolutions over time on the last 24 rows of a series (2 features each), then a forecast of the target.",
        (24, 2),
        (_layer("Permute", dims=[0, 2, 1]), _layer("Conv1d", out_channels=16, kernel_size=5, padding=2),
         _layer("ReLU"), _layer("Conv1d", out_channels=16, kernel_size=5, padding=2), _layer("ReLU"),
         _layer("Flatten"), _layer("Linear", out_features=32), _layer("ReLU"), _layer("Linear", out_features="auto")),
        {"learning_rate": 0.003, "epochs": 40},
    ),
    # -- end of the time-series forecasters ------------------------------------------------------
    # ---- text classifiers (a CSV's text column as token ids; issue 22) ----------------------------
    Template(
        "transformer-text", "Transformer Text Classifier",
        "Token ids of a text column become vectors with their positions; two Transformer encoder layers "
        "read them and a Linear layer answers from their mean.",
        (32,),
        (_layer("Embedding", embedding_dim=32), _layer("PositionalEmbedding"),
         {"type": "Repeat", "params": {"times": 2}, "layers": [
             _layer("TransformerEncoderLayer", nhead=4, dim_feedforward=64, dropout=0.1)]},
         _layer("SequencePool", mode="mean"), _layer("Linear", out_features="auto")),
        {"learning_rate": 0.002, "epochs": 30},
    ),
    Template(
        "lstm-text", "LSTM Text Classifier",
        "Token ids of a text column become vectors; a bidirectional LSTM reads them both ways and a Linear "
        "layer answers from the strongest of its steps.",
        (32,),
        (_layer("Embedding", embedding_dim=32), _layer("LSTM", hidden_size=32, bidirectional=True,
                                                       return_sequences=True),
         _layer("SequencePool", mode="max"), _layer("Dropout", p=0.2), _layer("Linear", out_features="auto")),
        {"learning_rate": 0.005, "epochs": 30},
    ),
    # ---- end of the text classifiers ----------------------------------------------------------------
)


def get_template(key: str) -> Template:
    """The template called *key*; ``KeyError`` naming the known ones if there is none."""
    for template in TEMPLATES:
        if template.key == key:
            return template
    raise KeyError(f"unknown template {key!r} (known: {', '.join(t.key for t in TEMPLATES)})")


def check_input_shape(value: Any) -> Shape:
    """*value* as a shape tuple; ``ValueError`` saying what is wrong if it is not one."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError("must be a list of sizes like [1, 28, 28]")
    if len(value) > MAX_INPUT_DIMS:
        raise ValueError(f"must have at most {MAX_INPUT_DIMS} dimensions (the batch is left out)")
    for size in value:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError("sizes must be positive integers")
        if size > MAX_INPUT_SIZE:
            raise ValueError(f"sizes must be at most {MAX_INPUT_SIZE:,}")
    return tuple(value)


def parse_input_shape(text: str) -> Shape:
    """Read a shape typed by a user: ``"1, 28, 28"``, ``"1x28x28"``, ``"[3 32 32]"``."""
    return check_input_shape(parse_sizes(text))


def parse_sizes(text: str) -> list[int]:
    """Whole numbers separated by commas, spaces or ``×``/``x`` between digits; ``ValueError`` otherwise."""
    cleaned = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", ",", text.strip().strip("[]()"))
    parts = [p for p in re.split(r"[,\s]+", cleaned) if p]
    if not parts:
        raise ValueError("type sizes separated by commas, like 1, 28, 28")
    if not all(re.fullmatch(r"[+-]?\d+", p) for p in parts):
        raise ValueError(f"{text.strip()!r} is not a list of whole numbers like 1, 28, 28")
    return [int(p) for p in parts]


def suggest_input_shape(stack: LayerStack) -> Shape:
    """A sample shape the first layer of *stack* accepts, for designs saved without one."""
    if not len(stack):
        return DEFAULT_INPUT_SHAPE
    first = stack[0].type
    if first.endswith("2d"):
        return (1, 28, 28)
    if first.endswith("1d") and first != "BatchNorm1d":
        return (1, 100)
    if first in ("LSTM", "GRU") or (first == "Permute" and len(stack[0].params.get("dims", ())) == 3):
        return (30, 4)
    if first == "Permute":  # a sequence to convolve over time, or an image
        rank = len(stack[0].params.get("dims") or ()) - 1
        return {2: (30, 4), 3: (1, 28, 28)}.get(rank, DEFAULT_INPUT_SHAPE)
    if first == "Embedding":
        return (32,)  # token ids of a text
    return DEFAULT_INPUT_SHAPE
