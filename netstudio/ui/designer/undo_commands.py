"""The undoable edits of a design, one QUndoCommand each.

Every change to the layer stack or the input shape goes through one of these on the design's
QUndoStack, so that undo and redo restore the exact stack. Commands keep the very LayerSpec
objects they remove and re-insert, so a layer keeps its identity across undo and redo.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from PySide6.QtGui import QUndoCommand

from netstudio.core.design import paths
from netstudio.core.design.blocks import BLOCK_TYPES, is_block
from netstudio.core.design.layers import Shape, fmt_shape, get_layer_type
from netstudio.core.design.paths import Path
from netstudio.core.design.stack import LayerSpec, LayerStack


class ShapedDesign(Protocol):
    """What :class:`SetInputShape` needs of the design (:class:`~netstudio.ui.designer.design.Design`)."""

    input_shape: Shape

    def apply_input_shape(self, shape: Shape) -> None: ...


#: QUndoCommand.id() of parameter edits that may merge (consecutive spin-box steps).
SET_PARAM_ID = 1001


def _layers_text(specs: list[LayerSpec]) -> str:
    if len(specs) == 1:
        return specs[0].type
    return f"{len(specs)} Layers"


class InsertLayers(QUndoCommand):
    """Insert *specs* so that the first one ends up at *index*."""

    def __init__(self, stack: LayerStack, index: int, specs: list[LayerSpec], text: str | None = None):
        super().__init__(text or f"Add {_layers_text(specs)}")
        self.stack, self.specs = stack, list(specs)
        self.index = max(0, min(index, len(stack)))

    def redo(self) -> None:
        for offset, spec in enumerate(self.specs):
            self.stack.insert(self.index + offset, spec)

    def undo(self) -> None:
        for _ in self.specs:
            self.stack.remove(self.index)


class RemoveLayers(QUndoCommand):
    """Remove the layers at *indices*."""

    def __init__(self, stack: LayerStack, indices: list[int], text: str | None = None):
        self.stack = stack
        self.indices = sorted(set(indices))
        self.specs = [stack[i] for i in self.indices]
        super().__init__(text or f"Delete {_layers_text(self.specs)}")

    def redo(self) -> None:
        for index in reversed(self.indices):
            self.stack.remove(index)

    def undo(self) -> None:
        for index, spec in zip(self.indices, self.specs):
            self.stack.insert(index, spec)


class ReorderLayers(QUndoCommand):
    """Move layers one at a time so that the stack ends up in *order* (old indices, new order)."""

    def __init__(self, stack: LayerStack, order: list[int], text: str = "Move Layers"):
        super().__init__(text)
        self.stack = stack
        current = list(range(len(stack)))
        self.moves: list[tuple[int, int]] = []
        for target, old in enumerate(order):
            source = current.index(old)
            if source != target:
                current.insert(target, current.pop(source))
                self.moves.append((source, target))

    def redo(self) -> None:
        for source, target in self.moves:
            self.stack.move(source, target)

    def undo(self) -> None:
        for source, target in reversed(self.moves):
            self.stack.move(target, source)


class ReplaceLayer(QUndoCommand):
    """Put *spec* in place of the layer at *index*."""

    def __init__(self, stack: LayerStack, index: int, spec: LayerSpec, text: str | None = None):
        super().__init__(text or f"Replace {stack[index].type} with {spec.type}")
        self.stack, self.index, self.new, self.old = stack, index, spec, stack[index]

    def redo(self) -> None:
        self.stack.replace(self.index, self.new)

    def undo(self) -> None:
        self.stack.replace(self.index, self.old)


class SetParam(QUndoCommand):
    """Set one parameter of one layer.

    Edits with the same *merge_key* (an editor's id and focus session) on the same parameter
    merge into one undo step, so that ten clicks on a spin box's arrow undo at once.
    """

    def __init__(self, stack: LayerStack, index: int, name: str, value: Any, merge_key: Any = None,
                 text: str | None = None):
        spec = stack[index]
        super().__init__(text or f"Set {spec.type} {name} to {_value_text(value)}")
        self.stack, self.index, self.name, self.merge_key = stack, index, name, merge_key
        self.value = copy.deepcopy(value)
        self.old = copy.deepcopy(spec.params.get(name, get_layer_type(spec.type).param_index[name].default))

    def id(self) -> int:  # noqa: A003 - Qt's name
        return SET_PARAM_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not (isinstance(other, SetParam) and other.merge_key == self.merge_key
                and other.index == self.index and other.name == self.name and other.stack is self.stack):
            return False
        self.value = copy.deepcopy(other.value)
        self.setText(other.text())
        if self.value == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self.stack.set_param(self.index, self.name, self.value)

    def undo(self) -> None:
        self.stack.set_param(self.index, self.name, self.old)


# -- edits of the tree (paths: netstudio.core.design.paths) ------------------------------------------


class InsertAt(QUndoCommand):
    """Insert *specs* one after the other so that the first ends up at *path* (inside blocks too)."""

    def __init__(self, stack: LayerStack, path: Path, specs: list[LayerSpec], text: str | None = None):
        super().__init__(text or f"Add {_layers_text(specs)}")
        self.stack, self.specs = stack, list(specs)
        layers = paths.list_at(stack.layers, tuple(path[:-1]))  # IndexError if there is no such list
        self.path = tuple(path[:-1]) + (max(0, min(path[-1], len(layers))),)

    @property
    def paths(self) -> list[Path]:
        return [self.path[:-1] + (self.path[-1] + offset,) for offset in range(len(self.specs))]

    def redo(self) -> None:
        for path, spec in zip(self.paths, self.specs):
            self.stack.insert_at(path, spec)

    def undo(self) -> None:
        for _ in self.specs:
            self.stack.remove_at(self.path)


class RemoveAt(QUndoCommand):
    """Remove the layers and blocks at *selection* (a path inside a selected block goes with it)."""

    def __init__(self, stack: LayerStack, selection: list[Path], text: str | None = None):
        self.stack = stack
        self.paths = paths.top_paths(selection)
        self.specs = [stack.node(p) for p in self.paths]  # IndexError if one is not there
        super().__init__(text or f"Delete {_layers_text(self.specs)}")

    def redo(self) -> None:
        for path in reversed(self.paths):  # later paths first: earlier ones keep their place
            self.stack.remove_at(path)

    def undo(self) -> None:
        for path, spec in zip(self.paths, self.specs):
            self.stack.insert_at(path, spec)


class TreeEdit(QUndoCommand):
    """A change of the tree's structure, made once by *edit* and then undone and redone by
    putting the very same specs back where they were (:meth:`LayerStack.restore`), so that undo
    restores the exact tree. *edit(layers)* changes the raw list in place and returns a result
    (kept in :attr:`result`); it raises ``ValueError``/``IndexError`` before changing anything
    when the edit is impossible."""

    def __init__(self, stack: LayerStack, text: str, edit):
        super().__init__(text)
        self.stack, self.edit = stack, edit
        self.before: list | None = None
        self.after: list | None = None
        self.result: Any = None

    def redo(self) -> None:
        if self.after is None:
            self.before = self.stack.structure()
            self.result = self.stack.edit_tree(self.edit)
            self.after = self.stack.structure()
        else:
            self.stack.restore(self.after)

    def undo(self) -> None:
        self.stack.restore(self.before)


def move_nodes(stack: LayerStack, sources: list[Path], destination: Path, text: str | None = None) -> TreeEdit:
    """Move the layers at *sources* (in tree order) to *destination*, a place in the tree as it
    is before the move (as a drop names it), into or out of blocks and between branches. The
    command's ``result`` is their new paths. ``ValueError`` if a block would move into itself."""
    moving = paths.top_paths(sources)
    destination = tuple(destination)
    specs = [stack.node(p) for p in moving]
    for source in moving:
        if destination[:len(source)] == source and len(destination) > len(source):
            raise ValueError("a block cannot move into itself")
    paths.list_at(stack.layers, destination[:-1])

    def edit(layers: list) -> list[Path]:
        marker = LayerSpec("")  # holds the drop place while the sources come out
        paths.insert_node(layers, destination, marker)
        for source in reversed(moving):
            spec = specs[moving.index(source)]
            paths.remove_node(layers, paths.path_of(layers, spec))
        at = paths.path_of(layers, marker)
        inner = paths.list_at(layers, at[:-1])
        inner[at[-1]:at[-1] + 1] = specs
        return [at[:-1] + (at[-1] + offset,) for offset in range(len(specs))]

    return TreeEdit(stack, text or f"Move {_layers_text(specs)}", edit)


def wrap_nodes(stack: LayerStack, selection: list[Path], type_name: str) -> TreeEdit:
    """Put the selected siblings (next to each other, in one list) inside a new *type_name* block;
    the command's ``result`` is the block's path. ``ValueError`` names why a selection cannot be wrapped."""
    if not is_block(type_name):
        raise ValueError(f"{type_name} is not a block (blocks: {', '.join(BLOCK_TYPES)})")
    chosen = paths.top_paths(selection)
    if not chosen:
        raise ValueError("select the layers to wrap first")
    parent = chosen[0][:-1]
    indices = [p[-1] for p in chosen]
    if any(p[:-1] != parent for p in chosen) or indices != list(range(indices[0], indices[0] + len(indices))):
        raise ValueError("only layers next to each other in one list can be wrapped together")
    specs = [stack.node(p) for p in chosen]
    block = LayerSpec.create(type_name)

    def edit(layers: list) -> Path:
        return paths.wrap_nodes(layers, chosen[0], len(chosen), block)

    return TreeEdit(stack, f"Wrap {_layers_text(specs)} in {type_name}", edit)


def unwrap_node(stack: LayerStack, path: Path) -> TreeEdit:
    """Replace the block at *path* by the layers it holds; ``result``: their paths."""
    block = stack.node(tuple(path))
    if not is_block(block.type):
        raise ValueError(f"{block.type} is not a block: only Residual, Parallel and Repeat unwrap")
    return TreeEdit(stack, f"Unwrap {block.type}", lambda layers: paths.unwrap_node(layers, tuple(path)))


def add_branch(stack: LayerStack, path: Path, index: int | None = None) -> TreeEdit:
    """Add an empty branch to the Parallel at *path*; ``result``: its number."""
    block = stack.node(tuple(path))
    if block.type != "Parallel":
        raise ValueError(f"{block.type} has no branches: only a Parallel does")
    return TreeEdit(stack, "Add Branch", lambda layers: paths.add_branch(layers, tuple(path), index))


def remove_branch(stack: LayerStack, path: Path, index: int) -> TreeEdit:
    """Remove branch *index* (and its layers) of the Parallel at *path*."""
    block = stack.node(tuple(path))
    if block.type != "Parallel":
        raise ValueError(f"{block.type} has no branches: only a Parallel does")
    if not 0 <= index < len(block.children):
        raise IndexError(f"the Parallel has no branch {index + 1}")
    return TreeEdit(stack, f"Remove Branch {index + 1}", lambda layers: paths.remove_branch(layers, tuple(path), index))


class SetParamAt(QUndoCommand):
    """Set one parameter of the layer or block at *path*; merges like :class:`SetParam`."""

    def __init__(self, stack: LayerStack, path: Path, name: str, value: Any, merge_key: Any = None,
                 text: str | None = None):
        spec = stack.node(tuple(path))
        super().__init__(text or f"Set {spec.type} {name} to {_value_text(value)}")
        self.stack, self.path, self.name, self.merge_key = stack, tuple(path), name, merge_key
        self.value = copy.deepcopy(value)
        self.old = copy.deepcopy(spec.params.get(name, get_layer_type(spec.type).param_index[name].default))

    def id(self) -> int:  # noqa: A003 - Qt's name
        return SET_PARAM_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not (isinstance(other, SetParamAt) and other.merge_key == self.merge_key
                and other.path == self.path and other.name == self.name and other.stack is self.stack):
            return False
        self.value = copy.deepcopy(other.value)
        self.setText(other.text())
        if self.value == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self.stack.set_param_at(self.path, self.name, self.value)

    def undo(self) -> None:
        self.stack.set_param_at(self.path, self.name, self.old)


class SetInputShape(QUndoCommand):
    """Change the shape the design is checked against."""

    def __init__(self, design: ShapedDesign, shape: Shape):
        super().__init__(f"Set Input Shape to {fmt_shape(shape)}")
        self.design, self.new, self.old = design, tuple(shape), design.input_shape

    def redo(self) -> None:
        self.design.apply_input_shape(self.new)

    def undo(self) -> None:
        self.design.apply_input_shape(self.old)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
