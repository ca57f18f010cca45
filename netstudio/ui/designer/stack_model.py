"""A Qt item model that mirrors a design's LayerStack: an input row, then one row per layer.

The model never edits the stack itself: drops and fixes go through :class:`Design`, whose
commands change the core LayerStack; the stack's events (inserting/inserted, removing/removed,
moving/moved, resetting/reset) become Qt's begin/end row notifications here, as napari's
``_BaseEventedItemModel`` does for its evented lists. Row 0 is the input; layer *i* is row *i + 1*.
"""

from __future__ import annotations

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

from netstudio.core.design.layers import fmt_shape, get_layer_type
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
    """A flat, five-column model of a :class:`Design`: input row, then the layers.

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
        stack = design.stack
        links = [(stack.inserting, self._on_inserting), (stack.inserted, self._on_inserted),
                 (stack.removing, self._on_removing), (stack.removed, self._on_removed),
                 (stack.moving, self._on_moving), (stack.moved, self._on_moved),
                 (stack.resetting, self._on_resetting), (stack.reset, self._on_reset)]
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
        self.endMoveRows()
        self._structural = False
        self._refresh_all()

    def _on_inserted(self, *_args: Any) -> None:
        self.endInsertRows()
        self._structural = False
        self._refresh_all()

    def _on_removed(self, *_args: Any) -> None:
        self.endRemoveRows()
        self._structural = False
        self._refresh_all()

    def _on_resetting(self) -> None:
        self._structural = True
        self.beginResetModel()

    def _on_reset(self) -> None:
        self.endResetModel()
        self._structural = False

    def _on_validation_changed(self, _validation: object) -> None:
        if not self._structural:
            self._refresh_all()

    def _refresh_all(self) -> None:
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    # -- structure -------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.design.stack) + 1

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < self.rowCount() and 0 <= column < len(COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        return QModelIndex()

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
        if index.row() > 0:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        return flags

    @staticmethod
    def layer_row(layer_index: int) -> int:
        return layer_index + 1

    def layer_index(self, index: QModelIndex | QPersistentModelIndex) -> int | None:
        """The stack index of a model index, or ``None`` for the input row."""
        if not index.isValid() or index.row() == 0:
            return None
        return index.row() - 1

    # -- data ------------------------------------------------------------------------------------
    def result(self, layer_index: int) -> LayerResult | None:
        layers = self.design.validation.layers
        if 0 <= layer_index < len(layers) and layers[layer_index].type == self.design.stack[layer_index].type:
            return layers[layer_index]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if index.row() == 0:
            return self._input_data(index.column(), role)
        layer = index.row() - 1
        if layer >= len(self.design.stack):
            return None
        spec = self.design.stack[layer]
        result = self.result(layer)
        issues = self.design.validation.row_issues(layer) if result else []  # a block's: those inside it too
        severity = worst_severity(issues)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shorten(self._display(column, spec, result, issues))
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
            return layer
        if role == CONFIG_ROLE:
            return spec.get_config()
        return None

    def _display(self, column: int, spec: LayerSpec, result: LayerResult | None, issues: list[Issue]) -> str:
        if column == LAYER:
            return spec.type
        if column == SETTINGS:
            return describe(spec, self.design.output_width)
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
        rows = sorted({self.layer_index(i) for i in indexes if self.layer_index(i) is not None})
        mime = QMimeData()
        configs = [self.design.stack[r].get_config() for r in rows]
        mime.setData(LAYER_MIME, json.dumps(configs).encode("utf-8"))
        mime.setData(ROWS_MIME, json.dumps({"model": id(self), "rows": rows}).encode("utf-8"))
        mime.setText(", ".join(c["type"] for c in configs))
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                        parent: QModelIndex) -> bool:
        if data.hasFormat(LAYER_MIME) or data.hasFormat(ROWS_MIME):
            return action in (Qt.DropAction.CopyAction, Qt.DropAction.MoveAction)
        return bool(project_urls(data))

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                     parent: QModelIndex) -> bool:
        """Insert dropped layers (or move this view's own rows) before *row*; -1 means the end."""
        if action == Qt.DropAction.IgnoreAction:
            return True
        destination = self._drop_destination(row, parent)
        if action == Qt.DropAction.MoveAction and data.hasFormat(ROWS_MIME):
            payload = _json(data, ROWS_MIME)
            if isinstance(payload, dict) and payload.get("model") == id(self):
                self.design.move_layers([int(r) for r in payload.get("rows", [])], destination)
                return True
        if data.hasFormat(LAYER_MIME):
            try:
                specs = [LayerSpec.from_config(c) for c in _json(data, LAYER_MIME)]
            except (TypeError, ValueError):
                return False
            self.design.insert_layers(destination, specs)
            return True
        urls = project_urls(data)
        if urls:
            self.project_dropped.emit(urls[0])
            return True
        return False

    def _drop_destination(self, row: int, parent: QModelIndex) -> int:
        n = len(self.design.stack)
        if parent.isValid():  # dropped onto a row: before it
            row = parent.row()
        if row < 0:
            return n
        return max(0, min(row - 1, n))


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
        auto = [name for name, value in params.items() if value == "auto"]
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
