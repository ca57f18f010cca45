"""Turn a validated :class:`~netstudio.core.design.stack.LayerStack` into a ``torch.nn.Sequential``.

Input sizes come from the shapes the validation inferred, never from the user; modules get
readable names (``conv1``, ``relu1``, ``fc2``) that the exported Python code reuses.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from netstudio.core.design.layers import Shape, get_layer_type
from netstudio.core.design.stack import LayerStack
from netstudio.core.design.validation import Validation
from netstudio.core.errors import ConfigError


def module_names(stack: LayerStack) -> list[str]:
    """Readable, unique module names for the layers of *stack*: ``conv1``, ``relu1``, ``conv2``..."""
    counts: Counter[str] = Counter()
    names = []
    for spec in stack:
        prefix = get_layer_type(spec.type).prefix
        counts[prefix] += 1
        names.append(f"{prefix}{counts[prefix]}")
    return names


def resolved_params(validation: Validation) -> list[dict]:
    """Each layer's parameters with ``"auto"`` replaced by its value and inferred sizes left out."""
    params = []
    for result in validation.layers:
        layer_type = get_layer_type(result.type)
        params.append({name: result.params[name] for name in layer_type.param_index})
    return params


def build_model(stack: LayerStack, input_shape: Shape, output_width: int | None = None,
                seed: int | None = None, validation: Validation | None = None):
    """Build the ``torch.nn.Sequential`` for *stack*.

    Parameters
    ----------
    stack : LayerStack
    input_shape : tuple of int
        One sample's shape (no batch dimension).
    output_width : int, optional
        What ``out_features: "auto"`` becomes.
    seed : int, optional
        Seed for the weight initialisation; the global RNG state is left untouched.
    validation : Validation, optional
        A validation of this very stack, to avoid doing it twice.

    Raises
    ------
    ConfigError
        If the stack has errors (the message names the first one).
    """
    import torch
    from torch import nn

    if validation is None:
        validation = stack.validate(input_shape, output_width)
    if not validation.valid:
        raise ConfigError(f"the model is not valid: {validation.first_error()}")
    modules = OrderedDict()
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        for name, result, params in zip(module_names(stack), validation.layers, resolved_params(validation)):
            modules[name] = get_layer_type(result.type).build(result.input_shape, params)
    return nn.Sequential(modules)
