"""Turn a validated :class:`~netstudio.core.design.stack.LayerStack` into a ``torch.nn.Sequential``.

Input sizes come from the shapes the validation inferred, never from the user; modules get
readable names (``conv1``, ``relu1``, ``fc2``; inside a block its own: ``res1.body.conv1``,
``parallel1.branches.0.conv1``, ``repeat1.copy2.conv1``) that the exported Python code reuses.
Blocks build to the modules of :mod:`netstudio.core.design.modules`, their inner layers in order,
then a Residual's shortcut, so that a seed gives the same weights as the exported ``model.py``.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from netstudio.core.design.blocks import concat_axis, is_block
from netstudio.core.design.layers import Shape, get_layer_type
from netstudio.core.design.results import LayerResult
from netstudio.core.design.stack import LayerStack
from netstudio.core.design.validation import Validation
from netstudio.core.errors import ConfigError


def module_names(specs) -> list[str]:
    """Readable, unique module names for a list of layers: ``conv1``, ``relu1``, ``conv2``..."""
    counts: Counter[str] = Counter()
    names = []
    for spec in specs:
        prefix = get_layer_type(spec.type).prefix
        counts[prefix] += 1
        names.append(f"{prefix}{counts[prefix]}")
    return names


def module_paths(specs) -> dict[tuple, str]:
    """The module name of every layer and block of *specs* in the model :func:`build_model` makes,
    by path: ``(1,)`` -> ``res1``, ``(1, 0, 2)`` -> ``res1.body.relu1``, ``(2, 1, 0)`` ->
    ``parallel1.branches.1.conv1``. A Repeat's layers are named in its first copy (``repeat1.copy1.fc1``)."""
    found: dict[tuple, str] = {}

    def walk(items, path: tuple, prefix: str) -> None:
        for index, (name, spec) in enumerate(zip(module_names(items), items)):
            here, full = path + (index,), prefix + name
            found[here] = full
            for child, layers in enumerate(getattr(spec, "children", None) or ()):
                inner = {"Residual": f"{full}.body.", "Parallel": f"{full}.branches.{child}.",
                         "Repeat": f"{full}.copy1."}[spec.type]
                walk(list(layers), here + (child,), inner)

    walk(list(specs), (), "")
    return found


def layer_params(result: LayerResult) -> dict:
    """A layer's parameters with ``"auto"`` replaced by its value and inferred sizes left out."""
    return {name: result.params[name] for name in get_layer_type(result.type).param_index}


def resolved_params(validation: Validation) -> list[dict]:
    """Each top-level layer's :func:`layer_params`."""
    return [layer_params(result) for result in validation.layers]


def build_model(stack: LayerStack, input_shape: Shape, output_width: int | None = None,
                seed: int | None = None, validation: Validation | None = None, vocabulary: int | None = None):
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
    vocabulary : int, optional
        The input is token ids of a tokenizer this large (see :meth:`LayerStack.validate`).

    Raises
    ------
    ConfigError
        If the stack has errors (the message names the first one).
    """
    import torch

    if validation is None:
        validation = stack.validate(input_shape, output_width, vocabulary=vocabulary)
    if not validation.valid:
        raise ConfigError(f"the model is not valid: {validation.first_error()}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return _build_list(list(stack), validation.layers)


def _build_list(specs, results: list[LayerResult]):
    from torch import nn

    modules = OrderedDict()
    for name, spec, result in zip(module_names(specs), specs, results):
        modules[name] = _build(spec, result)
    return nn.Sequential(modules)


def _build(spec, result: LayerResult):
    if not is_block(spec.type):
        return get_layer_type(result.type).build(result.input_shape, layer_params(result))
    from netstudio.core.design import modules

    if spec.type == "Residual":
        body = _build_list(spec.children[0], result.children[0])
        return modules.Residual(body, _shortcut(result))
    if spec.type == "Parallel":
        branches = [_build_list(branch, results) for branch, results in zip(spec.children, result.children)]
        dim = concat_axis(len(result.input_shape)) + 1  # after the batch dimension
        return modules.Parallel(*branches, merge=result.params["merge"], dim=dim if dim == 1 else -1)
    return modules.Repeat(*(_build_list(spec.children[0], copy) for copy in result.copies))


def _shortcut(result: LayerResult):
    from torch import nn

    plan = result.shortcut
    if plan is None:
        return nn.Identity()
    if plan.kind == "Linear":
        return nn.Linear(plan.in_size, plan.out_size)
    conv = getattr(nn, plan.kind)(plan.in_size, plan.out_size, kernel_size=1, stride=plan.stride, bias=False)
    return nn.Sequential(conv, getattr(nn, f"BatchNorm{plan.kind[-2:]}")(plan.out_size))
