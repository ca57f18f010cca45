"""Small dialogs: the input shape, the layer reference, the keyboard shortcuts, About, summary export."""

from __future__ import annotations

import html
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from netstudio import __version__
from netstudio.core.design.layers import CATEGORIES, LayerType, fmt_shape, layer_types
from netstudio.core.design.layers import Shape as ShapeType
from netstudio.core.design.templates import parse_input_shape
from netstudio.core.design.validation import Validation
from netstudio.core.fileio import atomic_write_text
from netstudio.ui import theme
from netstudio.ui.icons import app_icon, category_icon

_MEANINGS = {1: "features", 2: "time steps (or channels) × features (or length)", 3: "channels × height × width"}


class InputShapeDialog(QDialog):
    """Asks for one sample's shape, checking it as it is typed."""

    def __init__(self, shape: ShapeType, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Input Shape")
        self.edit = QLineEdit(", ".join(str(s) for s in shape), self)
        self.edit.setObjectName("inputShapeDialogEdit")
        self.edit.selectAll()
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel("The shape of one sample, without the batch dimension, e.g. <b>10</b> for ten "
                       "features, <b>1, 28, 28</b> for a grey 28×28 image, <b>30, 4</b> for 30 time steps "
                       "of 4 features.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.edit)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._on_text_changed)
        self._on_text_changed(self.edit.text())
        self.resize(420, self.sizeHint().height())

    def shape(self) -> ShapeType | None:
        """The shape typed, or ``None`` if it is not one."""
        try:
            return parse_input_shape(self.edit.text())
        except ValueError:
            return None

    def _on_text_changed(self, text: str) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            shape = parse_input_shape(text)
        except ValueError as exc:
            colour = theme.issue_colours(self.palette())["error"].name()
            self.hint.setText(f"<span style='color:{colour}'>{html.escape(str(exc))}</span>")
            ok.setEnabled(False)
            return
        self.hint.setText(f"{fmt_shape(shape)}: {_MEANINGS.get(len(shape), f'{len(shape)} dimensions')}")
        ok.setEnabled(True)


def layer_reference_html(layer_type: LayerType) -> str:
    """One layer's reference page: doc, PyTorch class and a table of its parameters."""
    rows = []
    for p in layer_type.params:
        default = "null" if p.default is None else html.escape(str(p.default))
        rows.append(f"<tr><td><b>{p.name}</b></td><td>{p.kind}</td><td>{default}</td>"
                    f"<td>{html.escape(p.expected())}</td><td>{html.escape(p.doc)}</td></tr>")
    table = ("<table cellspacing='0' cellpadding='4' border='1' style='border-collapse:collapse'>"
             "<tr><th align='left'>Parameter</th><th align='left'>Kind</th><th align='left'>Default</th>"
             "<th align='left'>Allowed</th><th align='left'>Meaning</th></tr>" + "".join(rows) + "</table>"
             if rows else "<p><i>No settings.</i></p>")
    return (f"<h2>{layer_type.name}</h2><p><code>{layer_type.torch_class}</code> · {layer_type.category}</p>"
            f"<p>{html.escape(layer_type.doc)}</p>{table}"
            "<p><i>Input sizes (in_features, in_channels, num_features, input_size…) are inferred from the "
            "previous layer and never typed.</i></p>")


class LayerReferenceDialog(QDialog):
    """Every layer of the catalog: a searchable list beside its documentation."""

    def __init__(self, parent: QWidget | None = None, layer: str | None = None):
        super().__init__(parent)
        self.setObjectName("layerReference")
        self.setWindowTitle("Layer Reference")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.text = QTextBrowser(self)
        self.text.setOpenExternalLinks(True)
        for category in CATEGORIES:
            for layer_type in (t for t in layer_types() if t.category == category):
                item = QListWidgetItem(category_icon(category), layer_type.name, self.list)
                item.setData(Qt.ItemDataRole.UserRole, layer_type)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.list)
        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(self.text)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([200, 560])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.list.currentItemChanged.connect(self._on_current_item_changed)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.resize(820, 560)
        self.show_layer(layer or self.list.item(0).text())

    def show_layer(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).text() == name:
                self.list.setCurrentRow(row)
                return

    def _on_current_item_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.text.setHtml(layer_reference_html(item.data(Qt.ItemDataRole.UserRole)))

    def _on_search_text_changed(self, text: str) -> None:
        words = text.lower().split()
        first = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            layer_type = item.data(Qt.ItemDataRole.UserRole)
            hay = f"{layer_type.name} {layer_type.category} {layer_type.doc}".lower()
            hidden = not all(w in hay for w in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        if first is not None and (self.list.currentItem() is None or self.list.currentItem().isHidden()):
            self.list.setCurrentItem(first)


class ShortcutsDialog(QDialog):
    """A table of the window's actions and their keyboard shortcuts (read from the actions themselves)."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = [(a.text().replace("&", ""), ", ".join(typable(a.shortcuts()))) for a in actions if typable(a.shortcuts())]
        rows += [("Search the palette", "Ctrl+F"), ("Append the chosen palette layer", "Enter / double-click"),
                 ("Change the input shape", "double-click the Input row"),
                 ("Diagram: walk the layers, across a Parallel's branches", "Up / Down, Left / Right"),
                 ("Diagram: open the inspector on the selected node", "Enter"),
                 ("Diagram: zoom, fit the design", "Ctrl+wheel, Ctrl+= / Ctrl+-, Ctrl+0"),
                 ("Diagram: move a layer", "drag its node onto an edge")]
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        for r, (name, keys) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(name.rstrip(".…")))
            self.table.setItem(r, 1, QTableWidgetItem(keys))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(440, 520)


def typable(sequences: list[QKeySequence]) -> list[str]:
    """The shortcuts typed on an ordinary keyboard (leaving out media keys such as "Save")."""
    return [s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences
            if s.count() and s[0].key().value < Qt.Key.Key_Back.value]


def export_summary(parent: QWidget, name: str, validation: Validation, folder: Path) -> str | None:
    """Ask where, then write the layer table as text (like ``netstudio summary``) or JSON.

    Returns the path written, or ``None`` if the user cancelled or the file could not be written
    (which is then said in a message box).
    """
    from netstudio.core.design.report import format_table

    path, chosen = QFileDialog.getSaveFileName(parent, "Export Summary", str(folder / f"{name}-summary.txt"),
                                               "Text (*.txt);;JSON (*.json)")
    if not path:
        return None
    as_json = path.endswith(".json") or (chosen.startswith("JSON") and not path.endswith(".txt"))
    text = json.dumps(validation.to_json(), indent=2) + "\n" if as_json else format_table(name, validation)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        QMessageBox.critical(parent, "Cannot Export Summary", f"{path}: {exc.strerror or exc}")
        return None
    return path


def show_about(parent: QWidget) -> None:
    """The About box: version, what NetStudio is, the licence."""
    box = QMessageBox(parent)
    box.setWindowTitle("About NetStudio")
    box.setIconPixmap(app_icon().pixmap(64, 64))
    box.setText(f"<h3>NetStudio {__version__}</h3>"
                "<p>Build neural networks visually with PyTorch: stack layers, see every layer's output "
                "shape and parameter count as you edit, train on your own data, and export a model that "
                "plain PyTorch or ONNX Runtime loads without NetStudio.</p><p>MIT licence.</p>")
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.exec()
