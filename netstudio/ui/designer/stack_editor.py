"""The layer stack panel: the stack as a tree, a drop target, and a bar for the selected issue.

Rows show each layer's icon, type, settings summary, output shape and parameter count; a layer
with an error is red, one with a warning amber, and its one-click fix is a button in the last
column. A block's row opens onto its layers (a Parallel's onto its branches); blocks start open,
and the view remembers which ones were closed and what was selected across the model's resets.
Enter opens or closes a block (on a layer: its settings). Every edit made here goes through the
:class:`Design`, so it is undoable.
"""

from __future__ import annotations

import html

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
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

from netstudio.core.design import paths
from netstudio.core.design.blocks import BLOCK_TYPES
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
    LAYER_INDEX_ROLE,
    OUTPUT,
    PARAMETERS,
    SETTINGS,
    LayerStackModel,
    path_label,
)
from netstudio.ui.icons import category_icon, icon

#: Widest a fix button's text gets in the table (pixels), so the shapes and counts stay in view.
FIX_TEXT_WIDTH = 170
#: The fix column never gets narrower than this, nor the settings column (when room is short).
MIN_FIX_WIDTH = 90
MIN_SETTINGS_WIDTH = 90


class FixButtonDelegate(QStyledItemDelegate):
    """Draws a layer's fix as a small push button and reports clicks on it.

    Signals
    -------
    fix_clicked(QModelIndex)
        The fix button of a row was clicked; the payload is the row's index.
    """

    fix_clicked = Signal(object)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        fix = index.data(FIX_ROLE)
        if fix is None:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else QApplication.style()
        button = QStyleOptionButton()
        button.rect = self._button_rect(option.rect, option, fix.label)
        button.text = self._text(option, fix.label, option.rect)
        button.icon = icon("fix")
        button.iconSize = QSize(14, 14)
        button.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
        if option.state & QStyle.StateFlag.State_MouseOver:
            button.state |= QStyle.StateFlag.State_MouseOver
        button.palette = option.palette
        style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, option.widget)

    @staticmethod
    def _text(option: QStyleOptionViewItem, label: str, cell: QRect | None = None) -> str:
        """The label, elided to :data:`FIX_TEXT_WIDTH` and to the cell (a fix inside a block names
        its layer at length; the tooltip and the issue bar show it whole)."""
        width = FIX_TEXT_WIDTH if cell is None else max(16, min(FIX_TEXT_WIDTH, cell.width() - 48))
        return option.fontMetrics.elidedText(label, Qt.TextElideMode.ElideRight, width)

    def _button_rect(self, cell: QRect, option: QStyleOptionViewItem, label: str) -> QRect:
        width = min(option.fontMetrics.horizontalAdvance(self._text(option, label, cell)) + 40, cell.width() - 8)
        height = min(cell.height() - 4, option.fontMetrics.height() + 10)
        return QRect(cell.left() + 4, cell.top() + (cell.height() - height) // 2, width, height)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        fix = index.data(FIX_ROLE)
        size = super().sizeHint(option, index)
        if fix is None:
            return size
        return QSize(option.fontMetrics.horizontalAdvance(self._text(option, fix.label)) + 48, max(size.height(), option.fontMetrics.height() + 14))

    def editorEvent(self, event, model, option, index) -> bool:  # noqa: N802
        fix = index.data(FIX_ROLE)
        if fix is not None and event.type() == QEvent.Type.MouseButtonRelease:
            if self._button_rect(option.rect, option, fix.label).contains(event.position().toPoint()):
                self.fix_clicked.emit(QPersistentModelIndex(index))
                return True
        return super().editorEvent(event, model, option, index)


class StackView(QTreeView):
    """The tree view of the stack: rows drag to reorder or into and out of blocks, drops insert at
    the indicator; Enter opens or closes a block.

    Signals
    -------
    enter_pressed(QModelIndex)
        Enter (or Return) on the current row.
    """

    enter_pressed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerStackView")
        self.setRootIsDecorated(True)
        self.setItemsExpandable(True)
        self.setIndentation(18)
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

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enter_pressed.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)

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
        The current layer changed (or moved); the payload is its stack index, -1 for none (and
        for a row inside a block: see ``path_selected``).
    path_selected(object)
        The current row changed: the path of its layer or block (a branch row: its Parallel's),
        ``None`` for none (the input row says ``input_selected`` instead).
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
    path_selected = Signal(object)
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
        # what the user closed and had selected, by identity, kept across the model's resets
        self._collapsed: dict[tuple, object] = {}
        self._kept_selection: list = []
        self._kept_current: object = None
        self.view.collapsed.connect(self._on_collapsed)
        self.view.expanded.connect(self._on_expanded)
        self.view.enter_pressed.connect(self._on_enter)
        self.view.installEventFilter(self)
        self.view.setItemDelegateForColumn(FIX, self.fix_delegate)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(LAYER, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SETTINGS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(OUTPUT, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(PARAMETERS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(FIX, QHeaderView.ResizeMode.Fixed)  # sized by _fit_fix_column
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
        self.model.modelAboutToBeReset.connect(self._keep_selection)
        self.model.modelReset.connect(self._on_model_reset)
        design.validation_changed.connect(lambda _v: self._on_validation_changed())
        self._on_validation_changed()
        self._open_blocks()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.view and event.type() == QEvent.Type.Resize:
            self._fit_fix_column()
        return super().eventFilter(watched, event)

    def _fit_fix_column(self) -> None:
        """Give the fix buttons what they need, but never so much that the shapes and parameter
        counts scroll out of view: the settings keep at least :data:`MIN_SETTINGS_WIDTH`."""
        if self.view.isColumnHidden(FIX):
            return
        header = self.view.header()
        wanted = max(self.view.sizeHintForColumn(FIX), header.sectionSizeHint(FIX))
        others = sum(header.sectionSize(c) for c in (LAYER, OUTPUT, PARAMETERS))
        room = self.view.viewport().width() - others - MIN_SETTINGS_WIDTH
        header.resizeSection(FIX, max(MIN_FIX_WIDTH, min(wanted, room)))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch: recolour the issue bar
            self._update_issue_bar()
        super().changeEvent(event)

    # -- selection -------------------------------------------------------------------------------
    def selected_layers(self) -> list[int]:
        """Stack indices of the selected top-level layer rows, in order."""
        rows = {self.model.layer_index(i) for i in self.view.selectionModel().selectedRows()}
        return sorted(r for r in rows if r is not None)

    def selected_paths(self) -> list[paths.Path]:
        """Tree paths of the selected layer and block rows, in tree order (a row inside a selected
        block left out: it goes with the block)."""
        return paths.top_paths(p for p in (self.model.path(i) for i in self.view.selectionModel().selectedRows())
                               if p is not None)

    def current_path(self) -> paths.Path | None:
        """The path of the current layer or block row (``None`` on the input row or a branch row)."""
        return self.model.path(self.view.currentIndex())

    def current_branch(self) -> tuple[paths.Path, int] | None:
        """``(Parallel's path, branch number)`` when the current row is a branch row."""
        return self.model.branch(self.view.currentIndex())

    def current_parallel(self) -> paths.Path | None:
        """The Parallel the current row is, or is a branch of, or sits directly in a branch of."""
        branch = self.current_branch()
        if branch is not None:
            return branch[0]
        path = self.current_path()
        while path:
            if self.design.stack.node(path).type == "Parallel":
                return path
            path = path[:-2]
        return None

    def select_layers(self, indices: list[int], current: int | None = None) -> None:
        """Select the rows of *indices* and make *current* (default: the first) the current row."""
        self.select_paths([(i,) for i in indices], None if current is None else (current,))

    def select_paths(self, selected: list[paths.Path], current: paths.Path | None = None) -> None:
        """Select the rows at the paths of *selected* (inside blocks too, opening what holds them)
        and make *current* (default: the first) the current row."""
        selection = QItemSelection()
        for path in selected:
            index = self.model.index_of_path(path)
            if index.isValid():
                self._reveal(index)
                selection.select(index, self.model.index_of_path(path, FIX))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        current = selected[0] if current is None and selected else current
        if current is not None:
            index = self.model.index_of_path(current)
            if index.isValid():
                self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                self.view.scrollTo(index)
        self.view.selectionModel().select(selection, flags)

    def _reveal(self, index: QModelIndex) -> None:
        parent = index.parent()
        while parent.isValid():
            self.view.expand(parent)
            parent = parent.parent()

    def _emit_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid() and not index.parent().isValid() and index.row() == 0:
            self.input_selected.emit()
        else:
            layer = self.model.layer_index(index)
            self.layer_selected.emit(-1 if layer is None else layer)
            branch = self.model.branch(index)
            self.path_selected.emit(branch[0] if branch is not None else self.model.path(index))
        self._update_issue_bar()

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            return
        self._open_blocks()
        self.select_layers(list(range(first - 1, last)))

    # -- blocks open and closed --------------------------------------------------------------------
    def _key(self, index: QModelIndex) -> tuple | None:
        item = self.model._item(index)  # noqa: SLF001 - the model's item: (kind, spec, branch)
        return None if item is None else (item[0], id(item[1]), item[2])

    def _on_collapsed(self, index: QModelIndex) -> None:
        key = self._key(index)
        if key is not None:
            self._collapsed[key] = self.model._item(index)[1]  # noqa: SLF001 - kept so the id stays its own

    def _on_expanded(self, index: QModelIndex) -> None:
        key = self._key(index)
        if key is not None:
            self._collapsed.pop(key, None)

    def _open_blocks(self) -> None:
        """Open every block and branch row the user has not closed (new blocks start open)."""
        pending = [QModelIndex()]
        while pending:
            parent = pending.pop()
            for row in range(self.model.rowCount(parent)):
                index = self.model.index(row, 0, parent)
                if self.model.rowCount(index):
                    if self._key(index) not in self._collapsed and not self.view.isExpanded(index):
                        self.view.expand(index)
                    pending.append(index)

    def _keep_selection(self) -> None:
        specs = (self.model.spec(i) for i in self.view.selectionModel().selectedRows())
        self._kept_selection = [spec for spec in specs if spec is not None]
        self._kept_current = self.model.spec(self.view.currentIndex())

    def _on_model_reset(self) -> None:
        self._open_blocks()
        layers = self.design.stack.layers
        kept = [p for p in (paths.path_of(layers, spec) for spec in self._kept_selection) if p is not None]
        current = paths.path_of(layers, self._kept_current) if self._kept_current is not None else None
        self._kept_selection, self._kept_current = [], None
        if kept:
            self.select_paths(kept, current if current in kept else None)
        self._emit_current()

    def _on_enter(self, index: QModelIndex) -> None:
        """Enter: open or close a block (or branch); on a layer, its settings; on the input, its shape."""
        if self.model.rowCount(index.siblingAtColumn(0)):
            first = index.siblingAtColumn(0)
            self.view.setExpanded(first, not self.view.isExpanded(first))
            return
        self._on_view_double_clicked(index)

    # -- issues ----------------------------------------------------------------------------------
    def _on_validation_changed(self) -> None:
        has_fix = any(self.model.index(r, 0).data(FIX_ROLE) is not None for r in range(1, self.model.rowCount()))  # a block's row shows those inside it
        self.view.setColumnHidden(FIX, not has_fix)
        self._fit_fix_column()
        self._update_issue_bar()

    def _issue_to_show(self) -> tuple[int, object] | None:
        """The current row's first issue, else the design's first error: (layer index or -1, issue)."""
        if not len(self.design.stack):  # an empty design is not an error yet: the view says what to do
            return None
        current = self.view.currentIndex()
        if current.isValid():
            first = current.siblingAtColumn(0)
            issues = first.data(ISSUES_ROLE) or []
            if issues:
                issues = sorted(issues, key=lambda i: i.severity != "error")
                return (first.data(LAYER_INDEX_ROLE), issues[0], self._where(first))
        validation = self.design.validation
        for index, issue in validation.errors():
            where = "Model" if index is None else f"Layer {index + 1} ({self.design.stack[index].type})"
            return (-1 if index is None else index, issue, where)
        return None

    def _where(self, index: QModelIndex) -> str:
        """What the issue bar names: "Model", "Layer 3 (Conv2d)", "Layer 3 › branch 2 › 1. Conv2d"."""
        if not index.parent().isValid() and index.row() == 0:
            return "Model"
        branch = self.model.branch(index)
        if branch is not None:
            return f"Layer {path_label(self.design.stack, branch[0])} › branch {branch[1] + 1}"
        path = self.model.path(index)
        if path is None:
            return "Model"
        if len(path) == 1:
            return f"Layer {path[0] + 1} ({self.design.stack[path[0]].type})"
        return f"Layer {path_label(self.design.stack, path)}"

    def _update_issue_bar(self) -> None:
        shown = self._issue_to_show()
        if shown is None:
            self.issue_bar.hide()
            self._shown_fix = None
            return
        layer, issue, where = shown
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

    def _on_fix_clicked(self, index) -> None:
        index = QModelIndex(index)
        fix = index.data(FIX_ROLE)
        layer = index.data(LAYER_INDEX_ROLE)
        if fix is not None and layer is not None and layer >= 0:
            self.apply_fix(layer, fix)

    # -- interaction -----------------------------------------------------------------------------
    def _on_view_double_clicked(self, index: QModelIndex) -> None:
        if index.column() == FIX and index.data(FIX_ROLE) is not None:
            return
        if not index.parent().isValid() and index.row() == 0:
            self.input_shape_requested.emit()
            return
        path = self.model.path(index)
        if path is not None:
            self.layer_opened.emit(path[0])

    def _on_context_menu_requested(self, position) -> None:
        index = self.view.indexAt(position)
        menu = self.build_context_menu(index)
        menu.exec(self.view.viewport().mapToGlobal(position))
        menu.deleteLater()

    def build_context_menu(self, index: QModelIndex) -> QMenu:
        """The right-click menu for the row at *index* (or the empty area)."""
        menu = QMenu(self)
        index = index.siblingAtColumn(0) if index.isValid() else index
        path = self.model.path(index) if index.isValid() else None
        branch = self.model.branch(index) if index.isValid() else None
        layer = index.data(LAYER_INDEX_ROLE) if index.isValid() else None
        fix = index.data(FIX_ROLE) if path is not None or branch is not None else None
        if fix is not None:
            action = menu.addAction(icon("fix"), f"Fix: {fix.label}")
            action.triggered.connect(lambda: self.apply_fix(layer, fix))
            menu.addSeparator()
        if branch is not None:
            block, number = branch
            insert_at = block + (number, len(self.design.stack.node(block).children[number]))
            title = f"Add Layer to Branch {number + 1}"
        elif path is not None:
            insert_at, title = path[:-1] + (path[-1] + 1,), "Insert Layer Below"
        else:
            insert_at = (len(self.design.stack),) if not index.isValid() else (0,)
            title = "Insert Layer Below" if index.isValid() else "Add Layer"
        insert_menu = menu.addMenu(icon("new"), title)
        for category in (*CATEGORIES, "Blocks"):
            sub = insert_menu.addMenu(category_icon(category), category)
            kinds = list(BLOCK_TYPES.values()) if category == "Blocks" else [
                t for t in layer_types() if t.category == category]
            for layer_type in kinds:
                action = sub.addAction(layer_type.name)
                action.setStatusTip(layer_type.doc)
                action.triggered.connect(lambda _=False, n=layer_type.name: self._insert_new(insert_at, n))
        if index.isValid() and path is None and branch is None:
            menu.addAction(icon("input-shape"), "Input Shape…").triggered.connect(lambda: self.input_shape_requested.emit())
        menu.addSeparator()
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        if path is not None and self.design.stack.node(path).type not in BLOCK_TYPES:
            menu.addSeparator()
            type_name = self.design.stack.node(path).type
            menu.addAction(icon("reference"), f"About {type_name}…").triggered.connect(
                lambda: self.reference_requested.emit(type_name))
        return menu

    def _insert_new(self, path: paths.Path, type_name: str) -> None:
        """Insert a new *type_name* at *path* (one undo step) and select it."""
        spec = LayerSpec.create(type_name)
        if len(path) == 1:
            self.design.insert_layers(path[0], [spec])
        else:
            self.select_paths(self.design.insert_at(path, [spec]))
