"""The Recurrent layers: LSTM, GRU and RNN (each a Recurrent module that passes on a tensor)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netstudio.core.design.catalog.common import (
    need_rank,
    unflatten_fix,
)
from netstudio.core.design.layer_type import LayerType, Shape
from netstudio.core.design.params import Param

#: This module's layer types, in palette order.
LAYERS: list[LayerType] = []


# --------------------------------------------------------------------------------------------
# Recurrent


def _rnn_params() -> tuple[Param, ...]:
    return (
        Param("hidden_size", "int", 64, "Size of the hidden state.", minimum=1),
        Param("num_layers", "int", 1, "Number of stacked recurrent layers.", minimum=1),
        Param("bias", "bool", True, "Learn bias weights."),
        Param("dropout", "float", 0.0, "Dropout between stacked layers (needs num_layers > 1).", minimum=0.0, maximum=1.0, exclusive_maximum=True),
        Param("bidirectional", "bool", False, "Also read the sequence backwards (doubles the output)."),
        Param("return_sequences", "bool", False, "Pass on every time step; otherwise only the last one."),
    )


def _rnn_shape(name: str) -> Callable[[Shape, dict], Shape]:
    def rule(shape: Shape, p: dict) -> Shape:
        fix = unflatten_fix(shape, (shape[0], 1)) if len(shape) == 1 else None
        need_rank(name, shape, (2,), "a [time steps, features]", fix)
        width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
        return (shape[0], width) if p["return_sequences"] else (width,)
    return rule


def _rnn_count(gates: int) -> Callable[[Shape, dict], int]:
    def count(shape: Shape, p: dict) -> int:
        # Closed form: a loop over num_layers would hang validation on a project asking for 2**63 layers.
        h, dirs = p["hidden_size"], 2 if p["bidirectional"] else 1
        bias = 2 * gates * h if p["bias"] else 0
        first = gates * h * (shape[-1] + h) + bias
        later = gates * h * (h * dirs + h) + bias
        return dirs * (first + (p["num_layers"] - 1) * later)
    return count


def _rnn_warnings(shape: Shape, p: dict) -> list[str]:
    if p["dropout"] > 0 and p["num_layers"] == 1:
        return ["dropout only acts between stacked layers: it does nothing with num_layers = 1"]
    return []


def _rnn_build(name: str) -> Callable[[Shape, dict], Any]:
    def build(shape: Shape, p: dict):
        from netstudio.core.design.modules import Recurrent

        kwargs = {k: v for k, v in p.items() if k != "return_sequences"}
        return Recurrent(name, shape[-1], return_sequences=p["return_sequences"], **kwargs)
    return build


def _rnn_describe(p: dict) -> str:
    parts = [f"{p['hidden_size']} hidden"]
    if p["num_layers"] > 1:
        parts.append(f"{p['num_layers']} layers")
    if p["bidirectional"]:
        parts.append("bidirectional")
    parts.append("sequence" if p["return_sequences"] else "last step")
    return ", ".join(parts)


_NONLINEARITY = Param("nonlinearity", "choice", "tanh", "The non-linearity of each step.", choices=("tanh", "relu"))

for _name, _gates, _what in (("LSTM", 4, "Recurrent long short-term memory"), ("GRU", 3, "Recurrent gated recurrent unit"),
                             ("RNN", 1, "Plain (Elman) recurrent layer")):
    LAYERS.append(LayerType(
        name=_name, category="Recurrent", prefix=_name.lower(),
        doc=f"{_what} over a [time steps, features] sequence; passes on the last step or the whole sequence.",
        params=_rnn_params() + ((_NONLINEARITY,) if _name == "RNN" else ()),
        shape_fn=_rnn_shape(_name),
        count_fn=_rnn_count(_gates),
        infer_fn=lambda s, p: {"input_size": s[-1]},
        build_fn=_rnn_build(_name),
        warn_fn=_rnn_warnings,
        describe_fn=_rnn_describe,
    ))
