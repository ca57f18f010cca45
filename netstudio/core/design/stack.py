"""The layer stack: an ordered, evented list of layer specs, and its validation.

:class:`LayerStack` is the model the designer edits and the project file stores. Every change goes
through its methods, which emit events a Qt model mirrors (napari's evented-list pattern).
:meth:`LayerStack.validate` checks the stack against an input shape and returns a value (shapes,
parameter counts, issues with suggested fixes, a memory estimate; :mod:`netstudio.core.design.validation`);
it never raises on a bad stack.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

from netstudio.core.design import paths
from netstudio.core.design.blocks import (
    BLOCK_TYPES,
    MAX_LAYERS,
    MAX_NESTING,
    count_layers,
    holds_branches,
    is_block,
)
from netstudio.core.design.layers import (
    Fix,
    Shape,
    get_layer_type,
    unknown_layer_message,
)
from netstudio.core.design.validation import Validation, last_linear_index, validate_layers


@dataclass
class LayerSpec:
    """One layer of a stack: its type name, its parameter values and any extra keys from a file.

    A block (:mod:`netstudio.core.design.blocks`) also holds ``children``: one list of layers
    (Residual, Repeat) or one per branch (Parallel); a layer holds none.
    """

    type: str
    params: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    children: list[list[LayerSpec]] = field(default_factory=list)

    @classmethod
    def create(cls, type_name: str, **params: Any) -> LayerSpec:
        """A new layer of *type_name* with defaults, overridden by *params* (a block: empty)."""
        values = get_layer_type(type_name).defaults()
        values.update(params)
        children = BLOCK_TYPES[type_name].new_children() if is_block(type_name) else []
        return cls(type_name, values, {}, children)

    @classmethod
    def from_config(cls, config: dict, depth: int = 0) -> LayerSpec:
        """Rebuild a spec from :meth:`get_config` output, filling in missing defaults.

        Raises ``ValueError`` with a message naming the problem (unknown type or parameter, a
        value out of bounds, blocks nested past :data:`~netstudio.core.design.blocks.MAX_NESTING`);
        the project loader prefixes it with the JSON path. *depth* is how many blocks hold this one.
        """
        if not isinstance(config, dict):
            raise ValueError("must be an object with \"type\" and \"params\"")
        type_name = config.get("type")
        if not isinstance(type_name, str):
            raise ValueError("type: must be a layer type name")
        try:
            layer_type = get_layer_type(type_name)
        except KeyError:
            raise ValueError("type: " + unknown_layer_message(type_name)) from None
        params = config.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ValueError("params: must be an object")
        values = layer_type.defaults()
        for name, value in params.items():
            param = layer_type.param_index.get(name)
            if param is None:
                known = ", ".join(layer_type.param_index) or "none"
                raise ValueError(f"params.{json_key(name)}: {type_name} has no parameter {name!r} (it has: {known})")
            problem = param.check(value)
            if problem:
                raise ValueError(f"params.{name}: {problem}")
            values[name] = param.normalise(value)
        children: list[list[LayerSpec]] = []
        if is_block(type_name):
            children = _children_from_config(type_name, config, depth + 1)
        held = ("layers", "branches") if is_block(type_name) else ()
        extra = {k: copy.deepcopy(v) for k, v in config.items() if k not in ("type", "params", *held)}
        return cls(type_name, values, extra, children)

    def get_config(self) -> dict:
        """Plain JSON types: ``{"type": ..., "params": {...}}``, a block's ``layers`` or
        ``branches``, plus any extra keys."""
        config = {"type": self.type, "params": copy.deepcopy(self.params)}
        if is_block(self.type):
            if holds_branches(self.type):
                config["branches"] = [[spec.get_config() for spec in branch] for branch in self.children]
            else:
                config["layers"] = [spec.get_config() for spec in (self.children[0] if self.children else [])]
        config.update(copy.deepcopy(self.extra))
        return config

    def copy(self) -> LayerSpec:
        return LayerSpec(self.type, copy.deepcopy(self.params), copy.deepcopy(self.extra),
                         [[spec.copy() for spec in child] for child in self.children])

    @property
    def is_block(self) -> bool:
        return is_block(self.type)


def _children_from_config(type_name: str, config: dict, depth: int) -> list[list[LayerSpec]]:
    """A block's inner lists from its config; errors name the JSON path below the block."""
    if depth > MAX_NESTING:
        raise ValueError(f"blocks are nested more than {MAX_NESTING} levels deep: unwrap some")
    if holds_branches(type_name):
        branches = config.get("branches", [[], []])
        if not isinstance(branches, list) or not all(isinstance(b, list) for b in branches):
            raise ValueError("branches: must be a list of branches, each a list of layers")
        where = [(f"branches[{b}][{i}]", c) for b, branch in enumerate(branches) for i, c in enumerate(branch)]
        shape = [len(b) for b in branches]
    else:
        layers = config.get("layers", [])
        if not isinstance(layers, list):
            raise ValueError("layers: must be a list of layers")
        where = [(f"layers[{i}]", c) for i, c in enumerate(layers)]
        shape = [len(layers)]
    specs = []
    for step, child in where:
        try:
            specs.append(LayerSpec.from_config(child, depth))
        except ValueError as exc:
            raise ValueError(f"{step}.{exc}" if str(exc).startswith(LOCATED) else f"{step}: {exc}") from None
    children, start = [], 0
    for n in shape:
        children.append(specs[start:start + n])
        start += n
    return children


#: How a ``ValueError`` of :meth:`LayerSpec.from_config` starts when it names a key (so that a
#: caller prefixes it with ``.``, not ``: ``).
LOCATED = ("type", "params", "layers", "branches")


def _structure(spec: LayerSpec) -> tuple:
    return spec, [[_structure(child) for child in inner] for inner in spec.children]


def _restore(entry: tuple) -> LayerSpec:
    spec, children = entry
    spec.children = [[_restore(child) for child in inner] for inner in children]
    return spec


def carry_over(old: LayerSpec, new: LayerSpec) -> LayerSpec:
    """*new* with every setting of *old* that it also has and accepts (Conv2d -> Conv1d keeps channels)."""
    layer_type = get_layer_type(new.type)
    params = dict(new.params)
    for name, value in old.params.items():
        param = layer_type.param_index.get(name)
        if param is not None and param.check(value) is None:
            params[name] = value
    return LayerSpec(new.type, params, dict(new.extra), new.children)


def fixed_block(spec: LayerSpec, fix: Fix) -> LayerSpec:
    """A copy of the block *spec* with *fix* applied to the layer at ``fix.path`` inside it."""
    block = spec.copy()
    inner = block.children[fix.path[0]]
    at = tuple(fix.path[1:])
    target = paths.node_at(inner, at)
    if fix.op == "set_param":
        target.params[fix.param] = copy.deepcopy(fix.value)
    elif fix.op == "insert":
        paths.insert_node(inner, at, LayerSpec.from_config(fix.layer))
    elif fix.op == "replace":
        paths.replace_node(inner, at, carry_over(target, LayerSpec.from_config(fix.layer)))
    elif fix.op == "remove":
        paths.remove_node(inner, at)
    else:
        raise ValueError(f"unknown fix operation {fix.op!r}")
    return block


def check_tree(specs: list[LayerSpec]) -> None:
    """``ValueError`` if *specs* hold more than :data:`MAX_LAYERS` layers, those inside blocks
    counted (a Repeat's copies are the validation's to count: an edit may make too many)."""
    if count_layers(specs, copies=False) > MAX_LAYERS:
        raise ValueError(f"the model holds more than {MAX_LAYERS:,} layers (counting those inside blocks): use fewer")


def json_key(key: str) -> str:
    """*key* as a step of a JSON path in a message: as is when it is a plain name, else quoted
    (a key may hold a line break, which would break the one-line rule of error messages)."""
    return key if key.isidentifier() else repr(key)


class LayerStack:
    """An ordered list of :class:`LayerSpec` that tells observers about every change.

    Events
    ------
    inserting(index) / inserted(index, spec)
        Before and after a layer is inserted at *index*.
    removing(index) / removed(index, spec)
        Before and after the layer at *index* is removed.
    moving(source, destination) / moved(source, destination)
        Before and after a layer moves; *destination* is its index after the move.
    changed(index)
        A layer's parameters changed, or it was replaced by another layer, or anything inside
        the block at *index* changed (the path edits below).
    resetting() / reset()
        Before and after every layer is replaced at once.
    """

    inserting = Signal(int)
    inserted = Signal(int, object)
    removing = Signal(int)
    removed = Signal(int, object)
    moving = Signal(int, int)
    moved = Signal(int, int)
    changed = Signal(int)
    resetting = Signal()
    reset = Signal()

    def __init__(self, layers: list[LayerSpec] | None = None):
        self._layers: list[LayerSpec] = list(layers or [])

    # -- reading ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, index: int) -> LayerSpec:
        return self._layers[index]

    def __iter__(self):
        return iter(self._layers)

    def __repr__(self) -> str:
        return f"LayerStack([{', '.join(s.type for s in self._layers)}])"

    @property
    def layers(self) -> list[LayerSpec]:
        """A shallow copy of the layer list."""
        return list(self._layers)

    # -- editing ---------------------------------------------------------------------------------
    def insert(self, index: int, spec: LayerSpec) -> None:
        index = max(0, min(index, len(self._layers)))
        self.inserting.emit(index)
        self._layers.insert(index, spec)
        self.inserted.emit(index, spec)

    def append(self, spec: LayerSpec) -> None:
        self.insert(len(self._layers), spec)

    def remove(self, index: int) -> LayerSpec:
        self._check_index(index)
        self.removing.emit(index)
        spec = self._layers.pop(index)
        self.removed.emit(index, spec)
        return spec

    def move(self, source: int, destination: int) -> None:
        """Move the layer at *source* so that it ends up at index *destination*."""
        self._check_index(source)
        self._check_index(destination)
        if source == destination:
            return
        self.moving.emit(source, destination)
        spec = self._layers.pop(source)
        self._layers.insert(destination, spec)
        self.moved.emit(source, destination)

    def replace(self, index: int, spec: LayerSpec) -> LayerSpec:
        self._check_index(index)
        old = self._layers[index]
        self._layers[index] = spec
        self.changed.emit(index)
        return old

    def set_param(self, index: int, name: str, value: Any) -> Any:
        """Set one parameter of the layer at *index*; returns the previous value."""
        self._check_index(index)
        spec = self._layers[index]
        old = spec.params.get(name)
        spec.params[name] = copy.deepcopy(value)
        self.changed.emit(index)
        return old

    def set_layers(self, layers: list[LayerSpec]) -> None:
        self.resetting.emit()
        self._layers = list(layers)
        self.reset.emit()

    # -- editing the tree (paths: netstudio.core.design.paths) -------------------------------------
    def node(self, path: paths.Path) -> LayerSpec:
        """The layer or block at *path* (``(2,)``, ``(2, 1, 0)``...)."""
        return paths.node_at(self._layers, tuple(path))

    def path_text(self, path: paths.Path) -> str:
        """*path* as the project file's JSON path: ``model.layers[2].branches[1][0]``."""
        return paths.path_text(self._layers, tuple(path))

    def insert_at(self, path: paths.Path, spec: LayerSpec) -> None:
        """Insert *spec* so that it ends up at *path*, inside blocks or at the top level."""
        path = tuple(path)
        if len(path) == 1:
            return self.insert(path[0], spec)
        paths.insert_node(self._layers, path, spec)
        self.changed.emit(path[0])

    def remove_at(self, path: paths.Path) -> LayerSpec:
        path = tuple(path)
        if len(path) == 1:
            return self.remove(path[0])
        spec = paths.remove_node(self._layers, path)
        self.changed.emit(path[0])
        return spec

    def replace_at(self, path: paths.Path, spec: LayerSpec) -> LayerSpec:
        path = tuple(path)
        old = paths.replace_node(self._layers, path, spec)
        self.changed.emit(path[0])
        return old

    def set_param_at(self, path: paths.Path, name: str, value: Any) -> Any:
        """Set one parameter of the layer or block at *path*; returns the previous value."""
        path = tuple(path)
        spec = self.node(path)
        old = spec.params.get(name)
        spec.params[name] = copy.deepcopy(value)
        self.changed.emit(path[0])
        return old

    def move_to(self, source: paths.Path, destination: paths.Path) -> paths.Path:
        """Move the layer at *source* to *destination* (a place in the tree before the move, as a
        drop names it); returns where it ends up. Within the top level this is :meth:`move`."""
        source, destination = tuple(source), tuple(destination)
        if len(source) == 1 and len(destination) == 1:
            target = min(destination[0] - (source[0] < destination[0]), len(self._layers) - 1)
            self.move(source[0], target)
            return (target,)
        self.resetting.emit()
        try:
            return paths.move_node(self._layers, source, destination)
        finally:
            self.reset.emit()

    def wrap(self, path: paths.Path, count: int, type_name: str) -> paths.Path:
        """Put *count* siblings from *path* inside a new *type_name* block; returns its path."""
        block = LayerSpec.create(type_name)
        return self._restructure(tuple(path), lambda: paths.wrap_nodes(self._layers, tuple(path), count, block))

    def unwrap(self, path: paths.Path) -> list[paths.Path]:
        """Replace the block at *path* by the layers it holds; returns their paths."""
        return self._restructure(tuple(path), lambda: paths.unwrap_node(self._layers, tuple(path)))

    def _restructure(self, path: paths.Path, edit):
        """Run *edit*: a reset when it changes the top level's rows, else a change of one row."""
        if len(path) > 1:
            result = edit()
            self.changed.emit(path[0])
            return result
        self.resetting.emit()
        try:
            return edit()
        finally:
            self.reset.emit()

    def add_branch(self, path: paths.Path, index: int | None = None) -> int:
        """Add an empty branch to the Parallel at *path*; returns its number."""
        number = paths.add_branch(self._layers, tuple(path), index)
        self.changed.emit(path[0])
        return number

    def remove_branch(self, path: paths.Path, index: int) -> list[LayerSpec]:
        branch = paths.remove_branch(self._layers, tuple(path), index)
        self.changed.emit(path[0])
        return branch

    def edit_tree(self, edit):
        """Run ``edit(layers)`` on the tree itself (the list, and blocks' inner lists, in place)
        as one reset; returns what it returns. For edits that move layers across blocks at once."""
        self.resetting.emit()
        try:
            return edit(self._layers)
        finally:
            self.reset.emit()

    def structure(self) -> list:
        """The shape of the tree: every spec with its inner lists, by identity (not a copy).
        :meth:`restore` puts the very same objects back in those places."""
        return [_structure(spec) for spec in self._layers]

    def restore(self, structure: list) -> None:
        """Put the tree back as :meth:`structure` saw it, as one reset."""
        self.resetting.emit()
        self._layers = [_restore(entry) for entry in structure]
        self.reset.emit()

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self._layers):
            raise IndexError(f"layer index {index} out of range for {len(self._layers)} layers")

    # -- serialisation ---------------------------------------------------------------------------
    def to_config(self) -> list[dict]:
        return [spec.get_config() for spec in self._layers]

    @classmethod
    def from_config(cls, layers: list[dict]) -> LayerStack:
        specs = [LayerSpec.from_config(c) for c in layers]
        check_tree(specs)
        return cls(specs)

    # -- validation ------------------------------------------------------------------------------
    def last_linear_index(self) -> int | None:
        return last_linear_index(self._layers)

    def validate(self, input_shape: Shape, output_width: int | None = None, batch_size: int = 32,
                 memory_limit: int | None = None, vocabulary: int | None = None) -> Validation:
        """Check every layer against the shape flowing into it.

        Parameters
        ----------
        input_shape : tuple of int
            One sample's shape, without the batch dimension.
        output_width : int, optional
            What ``out_features: "auto"`` becomes (the data's classes, or 1). Unknown: 1.
        batch_size : int
            Batch size for the activation memory estimate.
        memory_limit : int, optional
            Bytes above which the stack is an error (cannot be allocated). Default: this
            machine's RAM.

        Returns
        -------
        Validation
            Never raises for a bad stack: every problem is an :class:`Issue`.
        """
        return validate_layers(self._layers, input_shape, output_width, batch_size, memory_limit, vocabulary)
