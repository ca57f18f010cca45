"""The layer catalog: every layer NetStudio offers, with its parameters and shape rule.

Each :class:`~netstudio.core.design.layer_type.LayerType` is named after its PyTorch class
(``Conv2d``) and knows, in pure Python, its parameter schema, the output shape it gives for an
input shape, how many trainable parameters it has and which input sizes it infers
(``in_features``, ``in_channels``...). Only ``build`` imports PyTorch. Shapes leave out the batch
dimension: an RGB image batch is ``(3, 32, 32)``.

The entries live in :mod:`netstudio.core.design.catalog` (a module per group of categories);
this module registers them, in palette order, and is where everything else looks a type up
(:func:`get_layer_type`, :func:`layer_types`). A new layer type is one ``LayerType`` appended to
the ``LAYERS`` of its catalog module. The types of the catalog (``LayerType``, ``Fix``,
``ShapeError``, ``Shape``, ``CATEGORIES``, ``fmt_shape``) are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from netstudio.core.design.blocks import BLOCK_TYPES
from netstudio.core.design.catalog import (
    convolution,
    core,
    normalization,
    recurrent,
    reshape,
    sequence,
)
from netstudio.core.design.layer_type import (
    CATEGORIES,
    Fix,
    LayerType,
    Shape,
    ShapeError,
    fmt_shape,
)

__all__ = ["CATEGORIES", "Fix", "LayerType", "Shape", "ShapeError", "fmt_shape", "get_layer_type", "layer_names",
           "layer_types", "register", "unknown_layer_message"]

_CATALOG: dict[str, LayerType] = {}


def register(layer_type: LayerType) -> LayerType:
    """Add *layer_type* to the catalog; a second type with the same name is refused."""
    if layer_type.name in _CATALOG or layer_type.name in BLOCK_TYPES:
        raise ValueError(f"layer type {layer_type.name!r} is already registered")
    if layer_type.category not in CATEGORIES:
        raise ValueError(f"unknown category {layer_type.category!r}")
    _CATALOG[layer_type.name] = layer_type
    return layer_type


def get_layer_type(name: str) -> LayerType:
    """The catalog entry named *name*, or the block type (:mod:`~netstudio.core.design.blocks`:
    its settings, doc and description); ``KeyError`` with close matches if there is neither."""
    try:
        return _CATALOG[name]
    except KeyError:
        if name in BLOCK_TYPES:
            return BLOCK_TYPES[name]
        raise KeyError(unknown_layer_message(name)) from None


def unknown_layer_message(name: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [*_CATALOG, *BLOCK_TYPES], n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown layer type {name!r}{hint}"


def layer_types() -> Iterator[LayerType]:
    """Every registered layer type, by category then in registration order."""
    for category in CATEGORIES:
        yield from (t for t in _CATALOG.values() if t.category == category)


def layer_names() -> list[str]:
    return [t.name for t in layer_types()]


for _module in (core, convolution, normalization, recurrent, sequence, reshape):
    for _layer_type in _module.LAYERS:
        register(_layer_type)
