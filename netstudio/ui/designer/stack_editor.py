"""The layer stack panel: the stack as a table, a drop target, and a bar for the selected issue.

Rows show each layer's icon, type, settings summary, output shape and parameter count; a layer
with an error is red, one with a warning amber, and its one-click fix is a button in the last
column. Every edit made here goes through the :class:`Design`, so it is undoable.
"""

from __future__ import annotations

import html

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.design.layers import CATEGORIES, layer_types
from netstudio.core.design.stack import LayerSpec
from netstudio.core.strings import shorten, tooltip_text
from netstudio.ui import theme
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.stack_model import (
    FIX,
    FIX_ROLE,
    ISSUES_ROLE,
    LAYER,
    OUTPUT,
    PARAMETERS,
    SETTINGS,
    LayerStackModel,
)
from netstudio.ui.icons import category_icon, icon


class FixButtonDelegate(QStyledItemDelegate):
    """Draws a layer's fix as a small push button and reports clicks on it.

    Signals
    -------
    fix_clicked(int)
        The fix button of a row was clicked; the payload is the model row.
    """

    fix_clicked = Signal(int)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        fix = index.data(FIX_ROLE)
        if fix is None:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else QApplication.style()
        button = QStyleOptionButton()
        button.rect = self._button_rect(option.rect, option, fix.label)
        button.text = fix.label
        button.icon = icon("fix")
        button.iconSize = QSize(14, 14)
        button.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
        if option.state & QStyle.StateFlag.State_MouseOver:
            button.state |= QStyle.StateFlag.State_MouseOver
        button.palette = option.palette
        style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, option.widget)

    def _button_rect(self, cell: QRect, option: QStyleOptionViewItem, label: str) -> QRect:
        width = option.fontMetrics.horizontalAdvance(label) + 40
        height = min(cell.height() - 4, option.fontMetrics.height() + 10)
        return QRect(cell.left() + 4, cell.top() + (cell.height() - height) // 2, width, height)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        fix = index.data(FIX_ROLE)
        size = super().sizeHint(option, index)
        if fix is None:
            return size
        return QSize(option.fontMetrics.horizontalAdvance(fix.label) + 48, max(size.height(), option.fontMetrics.height() + 14))

    def editorEvent(self, event, model, option, index) -> bool:  # noqa: N802
        fix = index.data(FIX_ROLE)
        if fix is not None and event.type() == QEvent.Type.MouseButtonRelease:
            if self._button_rect(option.rect, option, fix.label).contains(event.position().toPoint()):
                self.fix_clicked.emit(index.row())
                return True
        return super().editorEvent(event, model, option, index)


class StackView(QTreeView):
    """A flat tree view of the stack: rows drag to reorder, drops insert at the indicator."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerStackView")
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setAllColumnsShowFocus(True)
        self.setMouseTracking(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(False)
        self.setDropIndicatorShown(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setIconSize(QSize(18, 18))

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() <= 1:  # only the input row: say what to do
            painter = QPainter(self.viewport())
            painter.setPen(theme.muted(self.palette()))
            area = self.viewport().rect().adjusted(24, self.sizeHintForRow(0) * 2 + 24, -24, -24)
            painter.drawText(area, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                             "Drag layers here from the palette, or double-click them there.\n"
                             "Or start from a template: File › New from Template.")
            painter.end()


class StackEditor(QWidget):
    """The layer stack panel: the table and, below it, the selected layer's issue with its fix.

    Signals
    -------
    layer_selected(int)
        The current layer changed (or moved); the payload is its stack index, -1 for none.
    input_selected()
        The input row became current.
    input_shape_requested()
        The user asked to change the input shape (double-click on the input row).
    layer_opened(int)
        A layer row was double-clicked: show its settings.
    reference_requested(str)
        "Layer Reference" was chosen on a row; the payload is the layer type.
    """

    layer_selected = Signal(int)
    input_selected = Signal()
    input_shape_requested = Signal()
    layer_opened = Signal(int)
    reference_requested = Signal(str)

    def __init__(self, design: Design, parent=None):
        super().__init__(parent)
        self.setObjectName("layerStack")
        self.design = design
        self.model = LayerStackModel(design, self)
        self.context_actions: list[QAction | None] = []

        self.view = StackView(self)
        self.view.setModel(self.model)
        self.fix_delegate = FixButtonDelegate(self.view)
        self.fix_delegate.fix_clicked.connect(self._on_fix_clicked)
        self.view.setItemDelegateForColumn(FIX, self.fix_delegate)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(LAYER, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SETTINGS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(OUTPUT, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(PARAMETERS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(FIX, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(60)

        self.issue_bar = QWidget(self)
        self.issue_bar.setObjectName("issueBar")
        self.issue_icon = QLabel(self.issue_bar)
        self.issue_text = QLabel(self.issue_bar)
        self.issue_text.setWordWrap(True)
        self.issue_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.issue_button = QPushButton(icon("fix"), "", self.issue_bar)
        self.issue_button.setObjectName("issueFixButton")
        self.issue_button.clicked.connect(lambda: self._apply_shown_fix())
        bar = QHBoxLayout(self.issue_bar)
        bar.setContentsMargins(8, 6, 8, 6)
        bar.addWidget(self.issue_icon, 0, Qt.AlignmentFlag.AlignTop)
        bar.addWidget(self.issue_text, 1)
        bar.addWidget(self.issue_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.issue_bar.setAutoFillBackground(True)
        self.issue_bar.hide()
        self._shown_fix: tuple[int, object] | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.issue_bar)

        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._emit_current())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_issue_bar())
        self.view.doubleClicked.connect(self._on_view_double_clicked)
        self.view.customContextMenuRequested.connect(self._on_context_menu_requested)
        self.model.rowsInserted.connect(self._on_rows_inserted)
        self.model.rowsRemoved.connect(lambda *_: self._emit_current())
        self.model.rowsMoved.connect(lambda *_: self._emit_current())
        self.model.modelReset.connect(lambda: self._emit_current())
        design.validation_changed.connect(lambda _v: self._on_validation_changed())
        self._on_validation_changed()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch: recolour the issue bar
            self._update_issue_bar()
        super().changeEvent(event)

    # -- selection -------------------------------------------------------------------------------
    def selected_layers(self) -> list[int]:
        """Stack indices of the selected layer rows, in order."""
        rows = {self.model.layer_index(i) for i in self.view.selectionModel().selectedRows()}
        return sorted(r for r in rows if r is not None)

    def select_layers(self, indices: list[int], current: int | None = None) -> None:
        """Select the rows of *indices* and make *current* (default: the first) the current row."""
        selection = QItemSelection()
        for i in indices:
            row = self.model.layer_row(i)
            selection.select(self.model.index(row, 0), self.model.index(row, FIX))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        current = indices[0] if current is None and indices else current
        if current is not None:
            self.view.selectionModel().setCurrentIndex(self.model.index(self.model.layer_row(current), 0),
                                                       QItemSelectionModel.SelectionFlag.NoUpdate)
            self.view.scrollTo(self.model.index(self.model.layer_row(current), 0))
        self.view.selectionModel().select(selection, flags)

    def _emit_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid() and index.row() == 0:
            self.input_selected.emit()
        else:
            layer = self.model.layer_index(index)
            self.layer_selected.emit(-1 if layer is None else layer)
        self._update_issue_bar()

    def _on_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        self.select_layers(list(range(first - 1, last)))

    # -- issues ----------------------------------------------------------------------------------
    def _on_validation_changed(self) -> None:
        has_fix = any(self.model.index(r, 0).data(FIX_ROLE) is not None for r in range(1, self.model.rowCount()))
        self.view.setColumnHidden(FIX, not has_fix)
        self._update_issue_bar()

    def _issue_to_show(self) -> tuple[int, object] | None:
        """The current row's first issue, else the design's first error: (layer index or -1, issue)."""
        if not len(self.design.stack):  # an empty design is not an error yet: the view says what to do
            return None
        current = self.view.currentIndex()
        if current.isValid():
            issues = self.model.index(current.row(), 0).data(ISSUES_ROLE) or []
            if issues:
                issues = sorted(issues, key=lambda i: i.severity != "error")
                return (current.row() - 1, issues[0])
        validation = self.design.validation
        for index, issue in validation.errors():
            return (-1 if index is None else index, issue)
        return None

    def _update_issue_bar(self) -> None:
        shown = self._issue_to_show()
        if shown is None:
            self.issue_bar.hide()
            self._shown_fix = None
            return
        layer, issue = shown
        where = "Model" if layer < 0 else f"Layer {layer + 1} ({self.design.stack[layer].type})"
        self.issue_icon.setPixmap(icon(issue.severity).pixmap(18, 18))
        # escaped (a message quotes the user's values) and bounded, the whole of it in the tooltip
        self.issue_text.setText(f"<b>{html.escape(where)}:</b> {html.escape(shorten(issue.message, 400))}")
        self.issue_text.setToolTip(tooltip_text(issue.message))
        colours = theme.issue_colours(self.palette())
        palette = self.issue_bar.palette()
        base = self.palette().color(palette.ColorRole.Base)
        palette.setColor(palette.ColorRole.Window, theme.blend(colours[issue.severity + "_bg"], base))
        self.issue_bar.setPalette(palette)
        self._shown_fix = (layer, issue.fix) if issue.fix is not None and layer >= 0 else None
        self.issue_button.setVisible(self._shown_fix is not None)
        if self._shown_fix:
            self.issue_button.setText(issue.fix.label)
        self.issue_bar.show()

    def _apply_shown_fix(self) -> None:
        if self._shown_fix is not None:
            layer, fix = self._shown_fix
            self.apply_fix(layer, fix)

    def apply_fix(self, layer: int, fix) -> None:
        """Apply *fix* to *layer* (undoable) and keep the repaired layer selected."""
        self.design.apply_fix(layer, fix)
        if fix.op == "insert":
            self.select_layers([layer + 1])
        elif fix.op != "remove" and layer < len(self.design.stack):
            self.select_layers([layer])

    def _on_fix_clicked(self, row: int) -> None:
        fix = self.model.index(row, 0).data(FIX_ROLE)
        if fix is not None:
            self.apply_fix(row - 1, fix)

    # -- interaction -----------------------------------------------------------------------------
    def _on_view_double_clicked(self, index: QModelIndex) -> None:
        if index.column() == FIX and index.data(FIX_ROLE) is not None:
            return
        layer = self.model.layer_index(index)
        if layer is None:
            self.input_shape_requested.emit()
        else:
            self.layer_opened.emit(layer)

    def _on_context_menu_requested(self, position) -> None:
        index = self.view.indexAt(position)
        menu = self.build_context_menu(index)
        menu.exec(self.view.viewport().mapToGlobal(position))
        menu.deleteLater()

    def build_context_menu(self, index: QModelIndex) -> QMenu:
        """The right-click menu for the row at *index* (or the empty area)."""
        menu = QMenu(self)
        layer = self.model.layer_index(index) if index.isValid() else None
        fix = self.model.index(index.row(), 0).data(FIX_ROLE) if layer is not None else None
        if fix is not None:
            action = menu.addAction(icon("fix"), f"Fix: {fix.label}")
            action.triggered.connect(lambda: self.apply_fix(layer, fix))
            menu.addSeparator()
        insert_at = len(self.design.stack) if not index.isValid() else (0 if layer is None else layer + 1)
        insert_menu = menu.addMenu(icon("new"), "Insert Layer Below" if index.isValid() else "Add Layer")
        for category in CATEGORIES:
            sub = insert_menu.addMenu(category_icon(category), category)
            for layer_type in (t for t in layer_types() if t.category == category):
                action = sub.addAction(layer_type.name)
                action.setStatusTip(layer_type.doc)
                action.triggered.connect(lambda _=False, n=layer_type.name: self.design.insert_layers(insert_at, [LayerSpec.create(n)]))
        if index.isValid() and layer is None:
            menu.addAction(icon("input-shape"), "Input Shape…").triggered.connect(lambda: self.input_shape_requested.emit())
        menu.addSeparator()
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        if layer is not None:
            menu.addSeparator()
            type_name = self.design.stack[layer].type
            menu.addAction(icon("reference"), f"About {type_name}…").triggered.connect(
                lambda: self.reference_requested.emit(type_name))
        return menu
