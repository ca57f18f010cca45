"""The layer palette: every layer of the catalog by category, searchable, and a drag source.

Drag a layer into the stack, or double-click it (Enter on the keyboard) to append it. The drag
carries ``application/x-netstudio-layer``: a JSON list of layer configs with default settings.
"""

from __future__ import annotations

import json
import re

from PySide6.QtCore import QEvent, QMimeData, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from netstudio.core.design.blocks import BLOCK_CATEGORY, BLOCK_TYPES
from netstudio.core.design.layers import CATEGORIES, layer_types
from netstudio.core.design.stack import LayerSpec
from netstudio.ui.designer.stack_model import LAYER_MIME
from netstudio.ui.icons import category_icon, icon

#: Data role holding a layer item's type name (category items hold None).
TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
#: Data role holding the words the search matches (name, category, doc).
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2


class LayerPaletteModel(QStandardItemModel):
    """Categories with their layers as children; layer items drag as layer configs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHorizontalHeaderLabels(["Layer"])
        for category in (*CATEGORIES, BLOCK_CATEGORY):
            group = QStandardItem(category_icon(category), category)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            group.setData(None, TYPE_ROLE)
            group.setData(category.lower(), SEARCH_ROLE)
            kinds = list(BLOCK_TYPES.values()) if category == BLOCK_CATEGORY else [
                t for t in layer_types() if t.category == category]
            for layer_type in kinds:
                item = QStandardItem(category_icon(category), layer_type.name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                item.setData(layer_type.name, TYPE_ROLE)
                item.setData(f"{layer_type.name} {category} {layer_type.doc}".lower(), SEARCH_ROLE)
                item.setToolTip(
                    f"<b>{layer_type.name}</b> &nbsp;<span style='color:gray'>{layer_type.torch_class}</span>"
                    f"<p>{layer_type.doc}</p><p><i>Drag into the stack, or double-click to append.</i></p>")
                item.setStatusTip(f"{layer_type.name}: {layer_type.doc}")
                group.appendRow(item)
            self.appendRow(group)

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [LAYER_MIME]

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        names = [i.data(TYPE_ROLE) for i in indexes if i.isValid() and i.data(TYPE_ROLE)]
        mime = QMimeData()
        configs = [LayerSpec.create(name).get_config() for name in names]
        mime.setData(LAYER_MIME, json.dumps(configs).encode("utf-8"))
        mime.setText(", ".join(names))
        return mime

    def type_index(self, type_name: str) -> QModelIndex:
        """The model index of the layer called *type_name* (invalid if there is none)."""
        for row in range(self.rowCount()):
            group = self.item(row)
            for child in range(group.rowCount()):
                if group.child(child).data(TYPE_ROLE) == type_name:
                    return group.child(child).index()
        return QModelIndex()


class _SearchFilter(QSortFilterProxyModel):
    """Keeps layers whose name, category or description contains every typed word."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self._words = [w for w in re.split(r"\s+", text.lower().strip()) if w]
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words = [w for w in re.split(r"\s+", text.lower().strip()) if w]
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        haystack = self.sourceModel().index(row, 0, parent).data(SEARCH_ROLE) or ""
        return all(w in haystack for w in self._words)


class LayerPalette(QWidget):
    """The palette panel: a search field over a tree of categories and layers.

    Signals
    -------
    layer_activated(str)
        A layer was double-clicked or chosen with Enter; the payload is its type name.
    """

    layer_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerPalette")
        self.model = LayerPaletteModel(self)
        self.proxy = _SearchFilter(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit(self)
        self.search.setObjectName("layerSearch")
        self.search.setPlaceholderText("Search layers")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setToolTip("Filter the layers by name, category or description (Ctrl+F)")
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self._on_search_return_pressed)

        self.view = QTreeView(self)
        self.view.setObjectName("layerPaletteView")
        self.view.setModel(self.proxy)
        self.view.setHeaderHidden(True)
        self.view.setUniformRowHeights(True)
        self.view.setAnimated(True)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.expandAll()
        self.view.doubleClicked.connect(self._on_view_double_clicked)
        self.view.installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.view)

        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.setContext(Qt.ShortcutContext.WindowShortcut)
        find.activated.connect(self.focus_search)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def set_filter(self, text: str) -> None:
        self.search.setText(text)

    def visible_layers(self) -> list[str]:
        """Type names the filter currently shows, in order."""
        names = []
        for row in range(self.proxy.rowCount()):
            group = self.proxy.index(row, 0)
            names += [self.proxy.index(r, 0, group).data(TYPE_ROLE) for r in range(self.proxy.rowCount(group))]
        return names

    def _on_search_text_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self.view.expandAll()
        visible = self.visible_layers()
        if text and visible:
            first = self.proxy.mapFromSource(self.model.type_index(visible[0]))
            self.view.setCurrentIndex(first)

    def _on_search_return_pressed(self) -> None:
        """Enter in the search field appends the first match, so 'conv⏎' adds a Conv layer."""
        current = self.view.currentIndex()
        name = current.data(TYPE_ROLE) if current.isValid() else None
        visible = self.visible_layers()
        if name not in visible:
            name = visible[0] if visible else None
        if name:
            self.layer_activated.emit(name)

    def _on_view_double_clicked(self, index: QModelIndex) -> None:
        name = index.data(TYPE_ROLE)
        if name:
            self.layer_activated.emit(name)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        """Enter on a layer in the tree appends it, as a double-click does."""
        if watched is self.view and event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            name = self.view.currentIndex().data(TYPE_ROLE)
            if name:
                self.layer_activated.emit(name)
                return True
        return super().eventFilter(watched, event)
