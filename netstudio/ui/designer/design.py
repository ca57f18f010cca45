"""The design being edited: a layer stack, the input shape it is checked against, its undo history.

:class:`Design` is the one place edits go through. Its methods push QUndoCommands on its
QUndoStack; the commands change the core :class:`LayerStack`, whose events the Qt models mirror.
After every change it validates the stack again (pure Python, well under a millisecond for a
typical design) and tells observers.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from netstudio.core.design.layers import Fix, Shape, get_layer_type
from netstudio.core.design.losses import check_training
from netstudio.core.design.paths import Path
from netstudio.core.design.stack import LayerSpec, LayerStack, fixed_block
from netstudio.core.design.templates import DEFAULT_INPUT_SHAPE, check_input_shape
from netstudio.core.design.validation import Validation
from netstudio.ui.designer import undo_commands
from netstudio.ui.designer.undo_commands import (
    InsertAt,
    InsertLayers,
    RemoveAt,
    RemoveLayers,
    ReorderLayers,
    ReplaceLayer,
    SetInputShape,
    SetParam,
    SetParamAt,
)


class Design(QObject):
    """A layer stack being edited, with its input shape, validation and undo stack.

    Parameters
    ----------
    stack : LayerStack, optional
        The stack to edit (kept for the design's lifetime: :meth:`load` replaces its layers).
    input_shape : tuple of int
        One sample's shape, without the batch dimension.

    Signals
    -------
    validation_changed(Validation)
        After any change of the layers, their parameters, the input shape or the output width.
    input_shape_changed(tuple)
        The input shape changed (by the user, by undo, or from the data).
    modified_changed(bool)
        The design started or stopped differing from what was last saved.
    """

    validation_changed = Signal(object)
    input_shape_changed = Signal(object)
    modified_changed = Signal(bool)

    def __init__(self, stack: LayerStack | None = None, input_shape: Shape = DEFAULT_INPUT_SHAPE,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.stack = stack if stack is not None else LayerStack()
        self.undo_stack = QUndoStack(self)
        self._input_shape: Shape = check_input_shape(input_shape)
        self._output_width: int | None = None
        self._batch_size = 32
        self._context: tuple | None = None  # (task, classes, loss) once data is loaded
        self._vocabulary: int | None = None  # a text input's tokenizer size
        self._dirty = False
        self._was_modified = False
        # Connected before any Qt model, so a model's endInsertRows already sees the new validation.
        events = (self.stack.inserted, self.stack.removed, self.stack.moved, self.stack.changed, self.stack.reset)
        for event in events:
            event.connect(self._revalidate)
        self.destroyed.connect(lambda: [e.disconnect(self._revalidate, missing_ok=True) for e in events])
        self.undo_stack.cleanChanged.connect(self._update_modified)
        self.validation: Validation = self._validate()

    # -- state -----------------------------------------------------------------------------------
    @property
    def input_shape(self) -> Shape:
        return self._input_shape

    @property
    def output_width(self) -> int | None:
        """What ``out_features: "auto"`` becomes; ``None`` until the data says (counts as 1)."""
        return self._output_width

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def modified(self) -> bool:
        """Whether the design differs from what was last saved or opened."""
        return self._dirty or not self.undo_stack.isClean()

    def mark_modified(self) -> None:
        """Record a change made outside the undo stack (a setting of a later panel)."""
        self._dirty = True
        self._update_modified()

    def mark_saved(self) -> None:
        self._dirty = False
        self.undo_stack.setClean()
        self._update_modified()

    def load(self, layers: list[LayerSpec], input_shape: Shape, batch_size: int = 32) -> None:
        """Start over with *layers*: a new document, with an empty undo history."""
        self.undo_stack.clear()
        self._input_shape = check_input_shape(input_shape)
        self._batch_size = batch_size
        self._output_width = None
        self._context = None
        self.stack.set_layers(list(layers))  # revalidates
        self.input_shape_changed.emit(self._input_shape)
        self._dirty = False
        self._update_modified()

    # -- edits (each one undoable) -----------------------------------------------------------------
    def insert_layers(self, index: int, specs: list[LayerSpec], text: str | None = None) -> list[int]:
        """Insert *specs* at *index*; returns the indices they now have."""
        if not specs:
            return []
        command = InsertLayers(self.stack, index, specs, text)
        self.undo_stack.push(command)
        return list(range(command.index, command.index + len(specs)))

    def append_layer(self, type_name: str) -> int:
        """Append a new *type_name* layer with default settings; returns its index."""
        return self.insert_layers(len(self.stack), [LayerSpec.create(type_name)])[0]

    def remove_layers(self, indices: list[int]) -> None:
        indices = [i for i in indices if 0 <= i < len(self.stack)]
        if indices:
            self.undo_stack.push(RemoveLayers(self.stack, indices))

    def duplicate_layers(self, indices: list[int]) -> list[int]:
        """Insert copies of the layers at *indices* after the last of them; returns the copies' indices."""
        indices = sorted(i for i in set(indices) if 0 <= i < len(self.stack))
        if not indices:
            return []
        copies = [self.stack[i].copy() for i in indices]
        return self.insert_layers(indices[-1] + 1, copies, f"Duplicate {copies[0].type if len(copies) == 1 else f'{len(copies)} Layers'}")

    def move_layers(self, indices: list[int], destination: int) -> list[int]:
        """Move the layers at *indices*, in order, to just before the layer now at *destination*.

        *destination* counts in the stack as it is before the move (``len(stack)`` = the end),
        as a drop position does. Returns the moved layers' new indices.
        """
        n = len(self.stack)
        moving = sorted(i for i in set(indices) if 0 <= i < n)
        if not moving:
            return []
        destination = max(0, min(destination, n))
        staying = [i for i in range(n) if i not in moving]
        at = sum(1 for i in staying if i < destination)
        order = staying[:at] + moving + staying[at:]
        new_indices = list(range(at, at + len(moving)))
        if order != list(range(n)):
            what = self.stack[moving[0]].type if len(moving) == 1 else f"{len(moving)} Layers"
            self.undo_stack.push(ReorderLayers(self.stack, order, f"Move {what}"))
        return new_indices

    def move_up(self, indices: list[int]) -> list[int]:
        indices = sorted(indices)
        if not indices or indices[0] == 0:
            return indices
        return self.move_layers(indices, indices[0] - 1)

    def move_down(self, indices: list[int]) -> list[int]:
        indices = sorted(indices)
        if not indices or indices[-1] >= len(self.stack) - 1:
            return indices
        return self.move_layers(indices, indices[-1] + 2)

    def set_param(self, index: int, name: str, value: Any, merge_key: Any = None) -> None:
        """Set one parameter; edits with the same non-None *merge_key* merge into one undo step."""
        if self.stack[index].params.get(name) == value and type(self.stack[index].params.get(name)) is type(value):
            return
        self.undo_stack.push(SetParam(self.stack, index, name, value, merge_key))

    def replace_layer(self, index: int, spec: LayerSpec, text: str | None = None) -> None:
        self.undo_stack.push(ReplaceLayer(self.stack, index, spec, text))

    def apply_fix(self, index: int, fix: Fix) -> None:
        """Apply a validation issue's one-click *fix* to the layer at *index*, as one undo step."""
        text = f"Fix: {fix.label}"
        if fix.path:  # aimed at a layer inside the block at *index*
            self.replace_layer(index, fixed_block(self.stack[index], fix), text)
        elif fix.op == "insert":
            self.insert_layers(index, [LayerSpec.from_config(fix.layer)], text)
        elif fix.op == "replace":
            self.replace_layer(index, carry_over(self.stack[index], LayerSpec.from_config(fix.layer)), text)
        elif fix.op == "set_param":
            self.undo_stack.push(SetParam(self.stack, index, fix.param, fix.value, text=text))
        elif fix.op == "remove":
            self.undo_stack.push(RemoveLayers(self.stack, [index], text))
        else:
            raise ValueError(f"unknown fix operation {fix.op!r}")

    # -- edits of the tree (paths: netstudio.core.design.paths), one undo step each -----------------
    def insert_at(self, path: Path, specs: list[LayerSpec], text: str | None = None) -> list[Path]:
        """Insert *specs* so that the first ends up at *path* (inside blocks too); returns their paths."""
        if not specs:
            return []
        command = InsertAt(self.stack, tuple(path), specs, text)
        self.undo_stack.push(command)
        return command.paths

    def remove_at(self, selection: list[Path]) -> None:
        """Remove the layers and blocks at the paths of *selection*."""
        selection = [tuple(p) for p in selection if self._exists(tuple(p))]
        if selection:
            self.undo_stack.push(RemoveAt(self.stack, selection))

    def move_to(self, sources: list[Path], destination: Path) -> list[Path]:
        """Move the layers at *sources* to *destination* (a place in the tree before the move, as a
        drop names it: into or out of blocks, between branches); returns their new paths.
        ``ValueError`` if a block would move into itself."""
        sources = [tuple(p) for p in sources if self._exists(tuple(p))]
        if not sources:
            return []
        destination = tuple(destination)
        if all(len(p) == 1 for p in sources) and len(destination) == 1:
            return [(i,) for i in self.move_layers([p[0] for p in sources], destination[0])]
        command = undo_commands.move_nodes(self.stack, sources, destination)
        self.undo_stack.push(command)
        return command.result

    def set_param_at(self, path: Path, name: str, value: Any, merge_key: Any = None) -> None:
        """Set one parameter of the layer or block at *path* (a block's shortcut, merge, times)."""
        path = tuple(path)
        if len(path) == 1:
            return self.set_param(path[0], name, value, merge_key)
        current = self.stack.node(path).params.get(name)
        if current == value and type(current) is type(value):
            return None
        self.undo_stack.push(SetParamAt(self.stack, path, name, value, merge_key))
        return None

    def wrap(self, selection: list[Path], type_name: str) -> Path:
        """Put the selected siblings inside a new *type_name* block; returns its path.
        ``ValueError`` says why a selection cannot be wrapped."""
        command = undo_commands.wrap_nodes(self.stack, [tuple(p) for p in selection], type_name)
        self.undo_stack.push(command)
        return command.result

    def unwrap(self, path: Path) -> list[Path]:
        """Replace the block at *path* by the layers it holds; returns their paths."""
        command = undo_commands.unwrap_node(self.stack, tuple(path))
        self.undo_stack.push(command)
        return command.result

    def add_branch(self, path: Path, index: int | None = None) -> int:
        """Add an empty branch to the Parallel at *path*; returns its number (from 0)."""
        command = undo_commands.add_branch(self.stack, tuple(path), index)
        self.undo_stack.push(command)
        return command.result

    def remove_branch(self, path: Path, index: int) -> None:
        self.undo_stack.push(undo_commands.remove_branch(self.stack, tuple(path), index))

    def _exists(self, path: Path) -> bool:
        try:
            self.stack.node(path)
        except IndexError:
            return False
        return True

    def set_input_shape(self, shape: Shape, output_width: int | None = None, undoable: bool = False) -> None:
        """Check the design against *shape* (and *output_width* for ``"auto"``) from now on.

        A later data panel calls this with the dataset's sample shape and output width; the
        designer's own "Input Shape…" action passes ``undoable=True``.
        """
        shape = check_input_shape(shape)
        width_changed = output_width != self._output_width
        self._output_width = output_width
        if shape == self._input_shape:
            if width_changed:
                self._revalidate()
            return
        if undoable:
            self.undo_stack.push(SetInputShape(self, shape))
        else:
            self.apply_input_shape(shape)

    def apply_input_shape(self, shape: Shape) -> None:
        """Set the input shape without recording an undo step (commands call this)."""
        self._input_shape = tuple(shape)
        self._revalidate()
        self.input_shape_changed.emit(self._input_shape)

    def set_vocabulary(self, vocabulary: int | None) -> None:
        """The data is token ids of this many tokens (a text column), or not (None): the first layer
        must then be an Embedding, whose vocabulary is inferred (not an undo step)."""
        if vocabulary != self._vocabulary:
            self._vocabulary = vocabulary
            self._revalidate()

    def set_batch_size(self, batch_size: int) -> None:
        """The batch size the memory estimate assumes."""
        if batch_size != self._batch_size:
            self._batch_size = batch_size
            self._revalidate()

    def set_training_context(self, task: str | None, classes: list[str] | None = None, loss: str = "auto") -> None:
        """Also check the loss against the task and the last layer (``task=None``: no data, no check)."""
        context = (task, tuple(classes) if classes else None, loss) if task else None
        if context != self._context:
            self._context = context
            self._revalidate()

    # -- internals -------------------------------------------------------------------------------
    def _validate(self) -> Validation:
        validation = self.stack.validate(self._input_shape, self._output_width, batch_size=self._batch_size,
                                         vocabulary=self._vocabulary)
        if self._context is not None:
            task, classes, loss = self._context
            validation = check_training(validation, self.stack, task, list(classes) if classes else None, loss)
        return validation

    def _revalidate(self, *_args: Any) -> None:
        self.validation = self._validate()
        self.validation_changed.emit(self.validation)

    def _update_modified(self, *_args: Any) -> None:
        modified = self.modified
        if modified != self._was_modified:
            self._was_modified = modified
            self.modified_changed.emit(modified)


def carry_over(old: LayerSpec, new: LayerSpec) -> LayerSpec:
    """*new* with every setting of *old* that it also has and accepts (Conv2d -> Conv1d keeps channels)."""
    layer_type = get_layer_type(new.type)
    params = dict(new.params)
    for name, value in old.params.items():
        param = layer_type.param_index.get(name)
        if param is not None and param.check(value) is None:
            params[name] = value
    return LayerSpec(new.type, params, dict(new.extra), new.children)
