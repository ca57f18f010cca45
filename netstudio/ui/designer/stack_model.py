"""A Qt item model that mirrors a design's LayerStack as a tree: an input row, then one row per
layer; a block's row holds its inner layers (a Residual's or Repeat's body) or one "Branch N"
row per branch of a Parallel, which holds that branch's layers.

The model never edits the stack itself: drops and fixes go through :class:`Design`, whose
commands change the core LayerStack; the stack's events (inserting/inserted, removing/removed,
moving/moved, resetting/reset) become Qt's begin/end row notifications here, as napari's
``_BaseEventedItemModel`` does for its evented lists. Row 0 is the input; layer *i* is row *i + 1*.
An edit inside a block (the core says ``changed(i)``) that changes the tree's shape resets the
model; the view keeps what was collapsed and selected (:mod:`netstudio.ui.designer.stack_editor`).

Items are known by the very spec they show (``internalId`` names a spec, or a spec and a branch
number), so rows moving at the top level keep their inner rows. Drags carry paths
(:mod:`netstudio.core.design.paths`) and drops go to a path: into a block, out of it, between
branches; each is one undo step.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from netstudio.core.design import paths as paths_module
from netstudio.core.design.blocks import holds_branches, is_block
from netstudio.core.design.layers import fmt_shape, get_layer_type
from netstudio.core.design.paths import Path
from netstudio.core.design.stack import LayerSpec
from netstudio.core.design.validation import Issue, LayerResult
from netstudio.core.strings import shorten, tooltip_text
from netstudio.ui import theme
from netstudio.ui.designer.design import Design
from netstudio.ui.icons import category_icon, icon

#: Layers as JSON configs (``[{"type": ..., "params": {...}}]``): what the palette drags.
LAYER_MIME = "application/x-netstudio-layer"
#: Rows dragged inside a stack view, so that a drop there moves instead of copying.
ROWS_MIME = "application/x-netstudio-stack-rows"

COLUMNS = ("Layer", "Settings", "Output", "Parameters", "Fix")
LAYER, SETTINGS, OUTPUT, PARAMETERS, FIX = range(len(COLUMNS))

#: Custom data roles.
ISSUES_ROLE = Qt.ItemDataRole.UserRole + 1     #: list[Issue] of the layer (or of the stack, on the input row)
FIX_ROLE = Qt.ItemDataRole.UserRole + 2        #: the first issue's Fix, or None
SEVERITY_ROLE = Qt.ItemDataRole.UserRole + 3   #: "error", "warning" or None
LAYER_INDEX_ROLE = Qt.ItemDataRole.UserRole + 4  #: the layer's index in the stack; -1 on the input row
CONFIG_ROLE = Qt.ItemDataRole.UserRole + 5     #: the layer's config dict
PATH_ROLE = Qt.ItemDataRole.UserRole + 6       #: the layer's path in the tree; a branch row: its block's
BRANCH_ROLE = Qt.ItemDataRole.UserRole + 7     #: a branch row's number (from 0); None on other rows

#: What an item is: the input row, a layer (or block), or one branch of a Parallel.
INPUT, NODE, BRANCH = "input", "node", "branch"


def worst_severity(issues: list[Issue]) -> str | None:
    if any(i.severity == "error" for i in issues):
        return "error"
    return "warning" if issues else None


def first_fix(issues: list[Issue]):
    for issue in sorted(issues, key=lambda i: i.severity != "error"):
        if issue.fix is not None:
            return issue.fix
    return None


class LayerStackModel(QAbstractItemModel):
    """A five-column tree model of a :class:`Design`: input row, then the layers, blocks holding
    their inner layers (a Parallel: its branches, each holding its layers).

    Signals
    -------
    project_dropped(str)
        A ``.nsproj`` file was dropped on the view; the payload is its path.
    """

    project_dropped = Signal(str)

    def __init__(self, design: Design, parent=None):
        super().__init__(parent)
        self.design = design
        self._structural = False
        # internalId -> (kind, spec, branch); the spec objects are kept so their ids stay unique
        self._items: dict[int, tuple[str, Any, int]] = {}
        self._ids: dict[tuple, int] = {}
        self._paths: dict[int, Path] | None = None  # id(spec) -> path, rebuilt after a change
        self._shape = self._tree_shape()
        stack = design.stack
        links = [(stack.inserting, self._on_inserting), (stack.inserted, self._on_inserted),
                 (stack.removing, self._on_removing), (stack.removed, self._on_removed),
                 (stack.moving, self._on_moving), (stack.moved, self._on_moved),
                 (stack.resetting, self._on_resetting), (stack.reset, self._on_reset),
                 (stack.changed, self._on_changed)]
        for event, slot in links:
            event.connect(slot)
        # The core stack may outlive this model: stop listening when the model goes.
        self.destroyed.connect(lambda: [event.disconnect(slot, missing_ok=True) for event, slot in links])
        design.validation_changed.connect(self._on_validation_changed)

    # -- mirroring the core stack --------------------------------------------------------------
    def _on_inserting(self, index: int) -> None:
        self._structural = True
        self.beginInsertRows(QModelIndex(), index + 1, index + 1)

    def _on_removing(self, index: int) -> None:
        self._structural = True
        self.beginRemoveRows(QModelIndex(), index + 1, index + 1)

    def _on_moving(self, source: int, destination: int) -> None:
        self._structural = True
        # Qt counts the destination before the row is taken out; the core counts after.
        target = destination + 1 if destination > source else destination
        self.beginMoveRows(QModelIndex(), source + 1, source + 1, QModelIndex(), target + 1)

    def _on_moved(self, *_args: Any) -> None:
        self._paths = None
        self.endMoveRows()
        self._end_structural()

    def _on_inserted(self, *_args: Any) -> None:
        self._paths = None
        self.endInsertRows()
        self._end_structural()

    def _on_removed(self, *_args: Any) -> None:
        self._paths = None
        self.endRemoveRows()
        self._end_structural()

    def _end_structural(self) -> None:
        self._structural = False
        self._shape = self._tree_shape()
        self._refresh_all()

    def _on_resetting(self) -> None:
        self._structural = True
        self.beginResetModel()

    def _on_reset(self) -> None:
        self._forget()
        self.endResetModel()
        self._structural = False

    def _forget(self) -> None:
        self._paths = None
        self._items.clear()
        self._ids.clear()
        self._shape = self._tree_shape()

    def _on_changed(self, _index: int) -> None:
        if not self._structural:
            self._sync()

    def _on_validation_changed(self, _validation: object) -> None:
        if not self._structural:
            self._sync()

    def _sync(self) -> None:
        """After a change: a reset if the tree's shape changed (an edit inside a block, a replaced
        row), else new values for every row."""
        if self._tree_shape() != self._shape:
            self._paths = None
            self.beginResetModel()
            self._forget()
            self.endResetModel()
        else:
            self._refresh_all()

    def _tree_shape(self) -> tuple:
        """Which specs sit where, blocks' inner lists included (identity, not value)."""
        def shape(specs) -> tuple:
            return tuple((id(s), tuple(shape(child) for child in s.children)) for s in specs)
        return shape(self.design.stack.layers)

    def _refresh_all(self) -> None:
        pending = [QModelIndex()]
        while pending:
            parent = pending.pop()
            rows = self.rowCount(parent)
            if rows:
                self.dataChanged.emit(self.index(0, 0, parent), self.index(rows - 1, len(COLUMNS) - 1, parent))
                pending.extend(self.index(r, 0, parent) for r in range(rows) if self.rowCount(self.index(r, 0, parent)))

    # -- items -----------------------------------------------------------------------------------
    def _item_id(self, kind: str, spec: Any = None, branch: int = -1) -> int:
        key = (kind, id(spec), branch)
        number = self._ids.get(key)
        if number is None:
            number = len(self._ids) + 1
            self._ids[key] = number
            self._items[number] = (kind, spec, branch)
        return number

    def _item(self, index: QModelIndex | QPersistentModelIndex) -> tuple[str, Any, int] | None:
        if not index.isValid():
            return None
        return self._items.get(int(index.internalId()))

    def _path_of_spec(self, spec: Any) -> Path | None:
        if self._paths is None:
            found: dict[int, Path] = {}
            pending = [(self.design.stack.layers, ())]
            while pending:
                layers, prefix = pending.pop()
                for i, node in enumerate(layers):
                    found[id(node)] = prefix + (i,)
                    pending.extend((child, prefix + (i, n)) for n, child in enumerate(node.children))
            self._paths = found
        return self._paths.get(id(spec))

    def _node_index(self, path: Path, column: int = 0) -> QModelIndex:
        spec = self.design.stack.node(path)
        row = path[0] + 1 if len(path) == 1 else path[-1]
        return self.createIndex(row, column, self._item_id(NODE, spec))

    def spec(self, index: QModelIndex | QPersistentModelIndex) -> LayerSpec | None:
        """The spec a layer or block row shows (``None`` for the input row and branch rows)."""
        item = self._item(index)
        return item[1] if item is not None and item[0] == NODE else None

    def path(self, index: QModelIndex | QPersistentModelIndex) -> Path | None:
        """The tree path of a layer or block row; ``None`` for the input row and branch rows."""
        item = self._item(index)
        return self._path_of_spec(item[1]) if item is not None and item[0] == NODE else None

    def branch(self, index: QModelIndex | QPersistentModelIndex) -> tuple[Path, int] | None:
        """``(the Parallel's path, branch number)`` of a branch row, else ``None``."""
        item = self._item(index)
        if item is None or item[0] != BRANCH:
            return None
        path = self._path_of_spec(item[1])
        return None if path is None else (path, item[2])

    def index_of_path(self, path: Path, column: int = 0) -> QModelIndex:
        """The row of the layer or block at *path* (invalid if there is none)."""
        try:
            return self._node_index(tuple(path), column)
        except IndexError:
            return QModelIndex()

    def branch_index(self, path: Path, branch: int, column: int = 0) -> QModelIndex:
        """The row of branch *branch* of the Parallel at *path* (invalid if there is none)."""
        try:
            spec = self.design.stack.node(tuple(path))
        except IndexError:
            return QModelIndex()
        if not (spec.is_block and holds_branches(spec.type) and 0 <= branch < len(spec.children)):
            return QModelIndex()
        return self.createIndex(branch, column, self._item_id(BRANCH, spec, branch))

    def _inner(self, index: QModelIndex) -> tuple[list, Any, Path | None]:
        """What the rows under *index* show: (the list, its holder's kind, the list's path)."""
        if not index.isValid():
            return [], INPUT, None
        item = self._item(index)
        if item is None:
            return [], INPUT, None
        kind, spec, branch = item
        path = self._path_of_spec(spec)
        if path is None or kind == INPUT:
            return [], INPUT, None
        if kind == BRANCH:
            return (spec.children[branch] if branch < len(spec.children) else []), BRANCH, path + (branch,)
        if not is_block(spec.type) or not spec.children:
            return [], NODE, None
        if holds_branches(spec.type):
            return spec.children, "branches", path
        return spec.children[0], NODE, path + (0,)

    # -- structure -------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        if not parent.isValid():
            return len(self.design.stack) + 1
        if parent.column() != 0:
            return 0
        return len(self._inner(parent)[0])

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return len(COLUMNS)

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not 0 <= column < len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            if row == 0:
                return self.createIndex(0, column, self._item_id(INPUT))
            if row <= len(self.design.stack):
                return self.createIndex(row, column, self._item_id(NODE, self.design.stack[row - 1]))
            return QModelIndex()
        if parent.column() != 0:
            return QModelIndex()
        layers, holder, _list_path = self._inner(parent)
        if not 0 <= row < len(layers):
            return QModelIndex()
        if holder == "branches":
            return self.createIndex(row, column, self._item_id(BRANCH, self._item(parent)[1], row))
        return self.createIndex(row, column, self._item_id(NODE, layers[row]))

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        item = self._item(index)
        if item is None or item[0] == INPUT:
            return QModelIndex()
        kind, spec, _branch = item
        path = self._path_of_spec(spec)
        if path is None:
            return QModelIndex()
        if kind == BRANCH:
            return self._node_index(path)
        if len(path) == 1:
            return QModelIndex()
        holder = path[:-2]
        block = self.design.stack.node(holder)
        if holds_branches(block.type):
            return self.branch_index(holder, path[-2])
        return self._node_index(holder)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: N802, B008
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return "" if section == FIX else COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole and section == PARAMETERS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        item = self._item(index)
        if item is not None and item[0] == NODE:
            flags |= Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        elif item is not None and item[0] == BRANCH:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    @staticmethod
    def layer_row(layer_index: int) -> int:
        return layer_index + 1

    def layer_index(self, index: QModelIndex | QPersistentModelIndex) -> int | None:
        """The stack index of a top-level layer row; ``None`` for the input row and inner rows."""
        path = self.path(index)
        return path[0] if path is not None and len(path) == 1 else None

    # -- data ------------------------------------------------------------------------------------
    def result(self, layer_index: int) -> LayerResult | None:
        return self.result_at((layer_index,))

    def result_at(self, path: Path) -> LayerResult | None:
        """The validation of the layer or block at *path* (a Repeat's: its first copy's), or None."""
        return result_at(self.design, path)

    @staticmethod
    def _issues(path: Path, result: LayerResult | None) -> list[Issue]:
        return aimed_issues(path, result)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self._item(index)
        if item is None:
            return None
        if item[0] == INPUT:
            return self._input_data(index.column(), role)
        if item[0] == BRANCH:
            return self._branch_data(item[1], item[2], index.column(), role)
        spec = item[1]
        path = self._path_of_spec(spec)
        if path is None:
            return None
        result = self.result_at(path)
        issues = self._issues(path, result)  # a block's: those inside it too
        severity = worst_severity(issues)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shorten(self._display(column, spec, result, issues, len(path) == 1))
        if role == Qt.ItemDataRole.DecorationRole and column == LAYER:
            return icon(severity) if severity else category_icon(_category(spec.type))
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_text(self._tooltip(spec, result, issues))
        if role == Qt.ItemDataRole.ForegroundRole and severity and column != FIX:
            return theme.issue_colours(QApplication.palette())[severity]
        if role == Qt.ItemDataRole.BackgroundRole and severity:
            return theme.issue_colours(QApplication.palette())[severity + "_bg"]
        if role == Qt.ItemDataRole.ForegroundRole and column in (SETTINGS, PARAMETERS):
            return theme.muted(QApplication.palette())
        if role == Qt.ItemDataRole.FontRole and column == LAYER:
            font = QFont(QApplication.font())
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column == PARAMETERS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ISSUES_ROLE:
            return list(issues)
        if role == FIX_ROLE:
            return first_fix(issues)
        if role == SEVERITY_ROLE:
            return severity
        if role == LAYER_INDEX_ROLE:
            return path[0]
        if role == PATH_ROLE:
            return path
        if role == CONFIG_ROLE:
            return spec.get_config()
        return None

    def _branch_data(self, spec: LayerSpec, branch: int, column: int, role: int) -> Any:
        path = self._path_of_spec(spec)
        if path is None or branch >= len(spec.children):
            return None
        layers = spec.children[branch]
        results = [self.result_at(path + (branch, i)) for i in range(len(layers))]
        issues = [i for number, r in enumerate(results) for i in self._issues(path + (branch, number), r)]
        severity = worst_severity(issues)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == LAYER:
                return f"Branch {branch + 1}"
            if column == SETTINGS:
                return "empty: passes the input on" if not layers else f"{len(layers)} layer{'s' * (len(layers) != 1)}"
            if column == OUTPUT:
                block = self.result_at(path)
                shape = (results[-1].output_shape if results[-1] is not None else None) if results else (
                    block.input_shape if block is not None else None)
                return "?" if shape is None else shorten(fmt_shape(shape))
            if column == PARAMETERS:
                return f"{sum(r.parameters for r in results if r is not None):,}" if all(results) else ""
            fix = first_fix(issues)
            return fix.label if fix and column == FIX else ""
        if role == Qt.ItemDataRole.DecorationRole and column == LAYER:
            return icon(severity) if severity else category_icon("Blocks")
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{i.severity.capitalize()}: {i.message}" for i in issues]
            return tooltip_text("\n".join(lines + [f"Branch {branch + 1} of the Parallel: its layers see the block's "
                                                   "input; drop layers here to add them to this branch."]))
        if role == Qt.ItemDataRole.ForegroundRole and severity and column != FIX:
            return theme.issue_colours(QApplication.palette())[severity]
        if role == Qt.ItemDataRole.ForegroundRole:
            return theme.muted(QApplication.palette())
        if role == Qt.ItemDataRole.TextAlignmentRole and column == PARAMETERS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ISSUES_ROLE:
            return issues
        if role == FIX_ROLE:
            return first_fix(issues)
        if role == SEVERITY_ROLE:
            return severity
        if role == LAYER_INDEX_ROLE:
            return path[0]
        if role == PATH_ROLE:
            return path
        if role == BRANCH_ROLE:
            return branch
        return None

    def _display(self, column: int, spec: LayerSpec, result: LayerResult | None, issues: list[Issue],
                 top: bool = True) -> str:
        if column == LAYER:
            return spec.type
        if column == SETTINGS:
            return describe(spec, self.design.output_width if top else None)
        if column == OUTPUT:
            if result is None or result.output_shape is None:
                return "?"
            return fmt_shape(result.output_shape)
        if column == PARAMETERS:
            return f"{result.parameters:,}" if result is not None and result.output_shape is not None else ""
        fix = first_fix(issues)
        return fix.label if fix else ""
    def _tooltip(self, spec: LayerSpec, result: LayerResult | None, issues: list[Issue]) -> str:
        lines = []
        for issue in issues:
            lines.append(f"{issue.severity.capitalize()}: {issue.message}")
            if issue.fix is not None:
                lines.append(f"Fix: {issue.fix.label} (click the fix button, or right-click the layer)")
        if lines:
            return "\n".join(lines)
        layer_type = get_layer_type(spec.type)
        text = f"{spec.type} ({layer_type.torch_class}): {layer_type.doc}"
        if result is not None:
            inferred = {k: v for k, v in result.params.items() if k not in layer_type.param_index}
            if inferred:
                text += "\nInferred: " + ", ".join(f"{k} = {v}" for k, v in inferred.items())
        return text

    def _input_data(self, column: int, role: int) -> Any:
        validation = self.design.validation
        issues = list(validation.issues)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == LAYER:
                return "Input"
            if column == SETTINGS:
                return "one sample, without the batch"
            if column == OUTPUT:
                return shorten(fmt_shape(self.design.input_shape))
            return ""
        if role == Qt.ItemDataRole.DecorationRole and column == LAYER:
            return icon("input")
        if role == Qt.ItemDataRole.FontRole and column == LAYER:
            font = QFont(QApplication.font())
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and column == SETTINGS:
            return theme.muted(QApplication.palette())
        if role == Qt.ItemDataRole.ToolTipRole:
            text = ("The shape of one sample flowing into the first layer (the batch dimension is left out).\n"
                    "Double-click to change it.")
            return tooltip_text("\n".join([f"{i.severity.capitalize()}: {i.message}" for i in issues] + [text]))
        if role == ISSUES_ROLE:
            return issues
        if role == SEVERITY_ROLE:
            return worst_severity(issues)
        if role == LAYER_INDEX_ROLE:
            return -1
        return None

    # -- drag and drop -----------------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [LAYER_MIME, ROWS_MIME, "text/uri-list"]

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        """The dragged layers' configs (a block's with what it holds) and their paths; a row inside
        a dragged block goes with it."""
        chosen = paths_module.top_paths(p for p in (self.path(i) for i in indexes) if p is not None)
        mime = QMimeData()
        configs = [self.design.stack.node(p).get_config() for p in chosen]
        mime.setData(LAYER_MIME, json.dumps(configs).encode("utf-8"))
        mime.setData(ROWS_MIME, json.dumps({"model": id(self), "paths": [list(p) for p in chosen]}).encode("utf-8"))
        mime.setText(", ".join(c["type"] for c in configs))
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                        parent: QModelIndex) -> bool:
        if data.hasFormat(LAYER_MIME) or data.hasFormat(ROWS_MIME):
            if action == Qt.DropAction.MoveAction and data.hasFormat(ROWS_MIME):
                sources = self._own_paths(data)
                destination = self.drop_path(row, parent)
                if sources and any(destination[:len(p)] == p and len(destination) > len(p) for p in sources):
                    return False  # a block cannot go into itself
            return action in (Qt.DropAction.CopyAction, Qt.DropAction.MoveAction)
        return bool(project_urls(data))

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                     parent: QModelIndex) -> bool:
        """Insert dropped layers (or move this view's own rows) at the place *row* and *parent*
        name (:meth:`drop_path`): into a block, out of it, between branches; one undo step."""
        if action == Qt.DropAction.IgnoreAction:
            return True
        destination = self.drop_path(row, parent)
        if action == Qt.DropAction.MoveAction and data.hasFormat(ROWS_MIME):
            sources = self._own_paths(data)
            if sources is not None:
                try:
                    self.design.move_to(sources, destination)
                except (ValueError, IndexError):
                    return False
                return True
        if data.hasFormat(LAYER_MIME):
            try:
                specs = [LayerSpec.from_config(c) for c in _json(data, LAYER_MIME)]
            except (TypeError, ValueError):
                return False
            if len(destination) == 1:
                self.design.insert_layers(destination[0], specs)
            else:
                self.design.insert_at(destination, specs)
            return True
        urls = project_urls(data)
        if urls:
            self.project_dropped.emit(urls[0])
            return True
        return False

    def _own_paths(self, data: QMimeData) -> list[Path] | None:
        """The paths a drag from this very model carries, else None (a drag from elsewhere copies)."""
        payload = _json(data, ROWS_MIME)
        if not isinstance(payload, dict) or payload.get("model") != id(self):
            return None
        try:
            return [tuple(int(i) for i in p) for p in payload.get("paths", [])]
        except (TypeError, ValueError):
            return None

    def drop_path(self, row: int, parent: QModelIndex) -> Path:
        """Where a drop at *row* under *parent* puts layers, as a path in the tree before the drop.

        On the top level, before row *row* (the input row counts as the first layer; -1: the end).
        On a layer: before it. On a Residual or Repeat: the end of its layers (between its rows:
        there). On a Parallel: the end of branch 1 (between its branch rows: the end of the branch
        above). On a branch row: the end of that branch (between its rows: there).
        """
        n = len(self.design.stack)
        if not parent.isValid():
            return (n if row < 0 else max(0, min(row - 1, n)),)
        item = self._item(parent)
        if item is None or item[0] == INPUT:
            return (0,)
        kind, spec, branch = item
        path = self._path_of_spec(spec)
        if path is None:
            return (n,)
        if kind == BRANCH:
            layers = spec.children[branch]
            return path + (branch, len(layers) if row < 0 else min(row, len(layers)))
        if is_block(spec.type) and spec.children:
            if holds_branches(spec.type):
                number = 0 if row <= 0 else min(row - 1, len(spec.children) - 1)
                return path + (number, len(spec.children[number]))
            layers = spec.children[0]
            return path + (0, len(layers) if row < 0 else min(row, len(layers)))
        return path  # onto a layer: before it


def result_at(design: Design, path: Path) -> LayerResult | None:
    """The validation of the layer or block at *path* of *design* (a Repeat's: its first copy's),
    or None when there is none (or it is of a spec no longer there)."""
    layers = design.validation.layers
    if not path or not 0 <= path[0] < len(layers):
        return None
    result = layers[path[0]]
    for list_index, index in zip(path[1::2], path[2::2]):
        if not (0 <= list_index < len(result.children) and 0 <= index < len(result.children[list_index])):
            return None
        result = result.children[list_index][index]
    try:
        spec = design.stack.node(tuple(path))
    except IndexError:
        return None
    return result if result.type == spec.type else None


def aimed_issues(path: Path, result: LayerResult | None) -> list[Issue]:
    """The issues of the row at *path* with those inside it, each fix aimed from its top-level row
    (what :meth:`Design.apply_fix` takes with ``path[0]``)."""
    if result is None:
        return []
    issues = result.tree_issues()
    if len(path) == 1:
        return issues
    return [dataclasses.replace(i, fix=dataclasses.replace(i.fix, path=tuple(path[1:]) + tuple(i.fix.path)))
            if i.fix is not None else i for i in issues]


def path_label(stack, path: Path) -> str:
    """Where a layer sits, for titles: ``3. Conv2d`` at the top, ``3 › branch 2 › 1. Conv2d`` inside."""
    steps, node = [str(path[0] + 1)], stack.node(path[:1])
    for list_index, index in zip(path[1::2], path[2::2]):
        if holds_branches(node.type):
            steps.append(f"branch {list_index + 1}")
        node = node.children[list_index][index]
        steps.append(str(index + 1))
    return " › ".join(steps) + f". {node.type}"


def _category(type_name: str) -> str:
    try:
        return get_layer_type(type_name).category
    except KeyError:
        return "Core"


def describe(spec: LayerSpec, output_width: int | None = None) -> str:
    """The layer's short summary ("3×3, 16 ch"); empty if its settings are too broken to say.

    An ``"auto"`` size is described with the value it takes (the data's output width, else 1)
    and marked "(auto)": ``"3 units (auto)"``.
    """
    try:
        layer_type = get_layer_type(spec.type)
        params = layer_type.defaults()
        params.update(spec.params)
        sizes = {p.name for p in layer_type.params if p.allow_auto}
        auto = [name for name, value in params.items() if value == "auto" and name in sizes]  # not a choice "auto"
        params.update({name: output_width or 1 for name in auto})
        return layer_type.describe(params) + (" (auto)" if auto else "")
    except (KeyError, TypeError, ValueError, IndexError):
        return ""


def _json(data: QMimeData, mime: str) -> Any:
    try:
        return json.loads(bytes(data.data(mime).data()).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def project_urls(data: QMimeData) -> list[str]:
    """Local ``.nsproj`` files among the dropped URLs."""
    if not data.hasUrls():
        return []
    return [u.toLocalFile() for u in data.urls() if u.isLocalFile() and u.toLocalFile().endswith(".nsproj")]
