"""The inspector: the selected layer's settings as a form built from its params schema.

Every edit is applied at once through the :class:`Design` (so it is undoable and validated
live: the output shape, parameter count and issues below the form follow each change). Sizes
the layer takes from its input (``in_features``...) are shown, read-only, as "inferred".
"""

from __future__ import annotations

import html
import itertools
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.design import paths
from netstudio.core.design.layers import fmt_shape, get_layer_type
from netstudio.core.design.stack import LayerSpec
from netstudio.core.design.templates import parse_input_shape
from netstudio.core.strings import breakable, shorten, tooltip_text
from netstudio.ui import theme
from netstudio.ui.designer.design import Design
from netstudio.ui.designer.param_editors import IntEditor, ParamEditor, make_editor
from netstudio.ui.designer.stack_model import aimed_issues, path_label, result_at
from netstudio.ui.icons import category_icon, icon
from netstudio.ui.widgets import offer_sweep

#: Gives every editor a distinct merge key, so edits in a rebuilt form never merge with older ones.
_EDITOR_SERIALS = itertools.count()


def _label(text: str, parent: QWidget, *, bold: bool = False, muted: bool = False, size: float = 0) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    font = QFont(label.font())
    if bold:
        font.setBold(True)
    if size:
        font.setPointSizeF(font.pointSizeF() * size)
    label.setFont(font)
    if muted:
        palette = label.palette()
        palette.setColor(palette.ColorRole.WindowText, theme.muted(label.palette()))
        label.setPalette(palette)
    return label


#: Kinds of layer setting "Sweep This" is offered on.
SWEEPABLE = ("int", "float", "choice", "bool")


class Inspector(QWidget):
    """The settings of the current layer, or of the input, or a hint when nothing is selected.

    Signals
    -------
    fix_applied(int)
        A fix button was clicked and applied to the layer at this index.
    sweep_requested(str)
        "Sweep This" on a setting: its path in the project file (``model.layers[0].params.p``).
    """

    fix_applied = Signal(int)
    sweep_requested = Signal(str)

    def __init__(self, design: Design, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.design = design
        self.editors: dict[str, ParamEditor] = {}
        self._index: int | None = None
        self._path: paths.Path | None = None
        self._spec: LayerSpec | None = None
        self._showing_input = False

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        self._page: QWidget | None = None
        design.validation_changed.connect(lambda _v: self.refresh())
        self.show_layer(None)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.PaletteChange and self._page is not None:
            self._rebuild()  # issue boxes and muted labels carry colours of the old theme
        super().changeEvent(event)

    # -- what is shown ---------------------------------------------------------------------------
    @property
    def layer_index(self) -> int | None:
        """The stack index of the top-level layer shown (or of the block holding it), or ``None``."""
        return self._index

    @property
    def path(self) -> paths.Path | None:
        """The tree path of the layer or block shown, or ``None``."""
        return self._path

    def show_layer(self, index: int | None) -> None:
        """Show the settings of the layer at *index* (``None`` or -1: nothing)."""
        self.show_path(None if index is None or index < 0 else (index,))

    def show_path(self, path: paths.Path | None) -> None:
        """Show the settings of the layer or block at *path*, inside blocks too (``None``: nothing);
        a block's own settings (shortcut, merge, times) edit like a layer's."""
        spec = None
        if path is not None:
            try:
                spec = self.design.stack.node(tuple(path))
            except IndexError:
                path = None
        path = tuple(path) if path is not None else None
        index = path[0] if path is not None else None
        same = (not self._showing_input and path == self._path and spec is self._spec and self._page is not None)
        self._index, self._path, self._spec, self._showing_input = index, path, spec, False
        if same:
            self._update_values()
        else:
            self._rebuild()

    def show_input(self) -> None:
        """Show the input shape editor."""
        if not self._showing_input:
            self._index, self._path, self._spec, self._showing_input = None, None, None, True
            self._rebuild()

    def refresh(self) -> None:
        """Follow a change of the design: the shown layer may have moved, changed or gone."""
        if self._showing_input:
            self.shape_edit.setText(", ".join(str(s) for s in self.design.input_shape))
            self._fill_issues(-1)
            return
        if self._spec is not None:
            found = paths.path_of(self.design.stack.layers, self._spec)
            if found is not None:
                self.show_path(found)
                return
            self.show_path(self._path)  # replaced or removed: whatever is there now
            return
        self.show_layer(None)

    # -- pages -----------------------------------------------------------------------------------
    def _new_page(self) -> QVBoxLayout:
        if self._page is not None:
            self._page.deleteLater()  # not delete: a button on it may be emitting right now
        self._page = QWidget()
        self._page.setObjectName("inspectorPage")
        page = QVBoxLayout(self._page)
        page.setContentsMargins(10, 10, 10, 10)
        page.setSpacing(8)
        self.scroll.setWidget(self._page)
        self.editors = {}
        self.form: QFormLayout | None = None
        return page

    def _rebuild(self) -> None:
        page = self._new_page()
        if self._showing_input:
            self._build_input(page)
        elif self._spec is None:
            self._build_empty(page)
        else:
            self._build_layer(page, self._path, self._spec)
        page.addStretch(1)

    def _header(self, page: QVBoxLayout, pixmap_icon, title: str, subtitle: str, doc: str) -> None:
        row = QHBoxLayout()
        picture = QLabel(self._page)
        picture.setPixmap(pixmap_icon.pixmap(28, 28))
        row.addWidget(picture, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.title_label = _label(title, self._page, bold=True, size=1.25)
        self.title_label.setObjectName("inspectorTitle")
        titles.addWidget(self.title_label)
        if subtitle:
            titles.addWidget(_label(subtitle, self._page, muted=True))
        row.addLayout(titles, 1)
        page.addLayout(row)
        if doc:
            page.addWidget(_label(doc, self._page))

    def _build_empty(self, page: QVBoxLayout) -> None:
        hint = _label("Select a layer in the stack to see and change its settings.\n\n"
                      "Add layers by dragging them from the palette, or double-click one there.",
                      self._page, muted=True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        page.addSpacing(24)
        page.addWidget(hint)

    def _build_input(self, page: QVBoxLayout) -> None:
        self._header(page, icon("input"), "Input", "one sample, without the batch dimension",
                     "The shape of the data flowing into the first layer: [features] for a table, "
                     "[channels, height, width] for images, [time steps, features] for sequences. "
                     "It is set from the dataset once one is loaded.")
        form = QFormLayout()
        self.shape_edit = QLineEdit(", ".join(str(s) for s in self.design.input_shape), self._page)
        self.shape_edit.setObjectName("inputShapeEdit")
        self.shape_edit.setToolTip("Sizes separated by commas, e.g. 1, 28, 28; press Enter to apply")
        self.shape_error = _label("", self._page)
        self.shape_edit.editingFinished.connect(self._on_shape_edited)
        form.addRow("Shape", self.shape_edit)
        page.addLayout(form)
        page.addWidget(self.shape_error)
        self._issues_box(page)
        self._fill_issues(-1)

    def _build_layer(self, page: QVBoxLayout, path: paths.Path, spec: LayerSpec) -> None:
        layer_type = get_layer_type(spec.type)
        index = path[0] if len(path) == 1 else None  # "auto" sizes and sweeps: top-level layers only
        self._header(page, category_icon(layer_type.category), path_label(self.design.stack, path),
                     f"{layer_type.torch_class} · {layer_type.category}", layer_type.doc)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a wide editor goes under its name
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form = form
        last_linear = self.design.stack.last_linear_index()
        for param in layer_type.params:
            value = spec.params.get(param.name, param.default)
            show_auto = param.allow_auto and (index == last_linear or value == "auto")
            editor = make_editor(param, show_auto, self._page)
            editor.setObjectName(f"param_{param.name}")
            editor.serial = next(_EDITOR_SERIALS)
            editor.set_value(value)
            editor.value_edited.connect(lambda v, merge, n=param.name, e=editor: self._on_value_edited(n, v, merge, e))
            label = QLabel(param.name, self._page)
            label.setToolTip(param.doc)
            label.setBuddy(editor)
            if param.kind in SWEEPABLE and index is not None:
                label.setToolTip(f"{param.doc}\nRight-click: Sweep This")
                offer_sweep(label, f"model.layers[{index}].params.{param.name}", self.sweep_requested.emit)
            form.addRow(label, editor)
            self.editors[param.name] = editor
        page.addLayout(form)
        self.inferred_label = _label("", self._page, muted=True)
        self.output_label = _label("", self._page)
        self.output_label.setObjectName("inspectorOutput")
        page.addWidget(self.inferred_label)
        page.addWidget(self.output_label)
        self._issues_box(page)
        self._update_values()

    def _issues_box(self, page: QVBoxLayout) -> None:
        self.issues_widget = QWidget(self._page)
        self.issues_layout = QVBoxLayout(self.issues_widget)
        self.issues_layout.setContentsMargins(0, 4, 0, 0)
        self.issues_layout.setSpacing(6)
        page.addWidget(self.issues_widget)

    # -- values ----------------------------------------------------------------------------------
    def _update_values(self) -> None:
        index, path, spec = self._index, self._path, self._spec
        if index is None or path is None or spec is None:
            return
        self.title_label.setText(path_label(self.design.stack, path))
        layer_type = get_layer_type(spec.type)
        last_linear = self.design.stack.last_linear_index() if len(path) == 1 else None
        for name, editor in self.editors.items():
            value = spec.params.get(name, layer_type.param_index[name].default)
            editor.set_value(value)
            if isinstance(editor, IntEditor) and editor.param.allow_auto:
                editor.auto.setVisible(index == last_linear or value == "auto")
        result = result_at(self.design, path)
        inferred = {k: v for k, v in (result.params if result else {}).items() if k not in layer_type.param_index}
        self.inferred_label.setText("Inferred from the input: " + ", ".join(f"{k} = {v}" for k, v in inferred.items())
                                    if inferred else "")
        self.inferred_label.setVisible(bool(inferred))
        if result is not None and result.output_shape is not None:
            self.output_label.setText(f"<b>Input</b> {fmt_shape(result.input_shape)} → <b>Output</b> "
                                      f"{fmt_shape(result.output_shape)} · <b>{result.parameters:,}</b> parameters")
        else:
            blocker = next((r for r in self.design.validation.layers[:index] if r.has_error), None)
            if result is not None and result.has_error:
                where = "the issue below is fixed"
            elif blocker is not None:
                where = f"the error in layer {blocker.index + 1} ({blocker.type}) is fixed"
            else:
                where = "the input shape is valid"
            self.output_label.setText(f"<b>Output</b> unknown until {where}")
        self._fill_issues(index, path)

    def _fill_issues(self, index: int, path: paths.Path | None = None) -> None:
        while self.issues_layout.count():
            widget = self.issues_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        validation = self.design.validation
        if index < 0:
            issues = list(validation.issues)
        else:
            path = path or (index,)
            issues = aimed_issues(path, result_at(self.design, path)) if index < len(validation.layers) else []
        colours = theme.issue_colours(self.palette())
        flagged = {i.fix.param for i in issues if i.fix is not None and i.fix.op == "set_param"}
        for name, editor in self.editors.items():
            label = self.form.labelForField(editor) if self.form is not None else None
            if label is not None:
                label.setStyleSheet(f"color: {colours['error'].name()}; font-weight: bold;" if name in flagged else "")
        for issue in issues:
            box = QFrame(self.issues_widget)
            box.setObjectName(f"{issue.severity}Issue")
            row = QVBoxLayout(box)
            row.setContentsMargins(8, 6, 8, 6)
            message = shorten(issue.message, 400)  # escaped, bounded and breakable: a setting's value
            text = _label(f"<b>{issue.severity.capitalize()}:</b> {html.escape(breakable(message))}", box)
            if message != issue.message:  # in it may be of any length
                text.setToolTip(tooltip_text(issue.message))
            text.setStyleSheet(f"color: {colours[issue.severity].name()};")
            row.addWidget(text)
            if issue.fix is not None and index >= 0:
                button = QPushButton(icon("fix"), issue.fix.label, box)
                button.setObjectName("inspectorFixButton")
                button.setToolTip("Apply this fix (undo with Ctrl+Z)")
                button.clicked.connect(lambda _=False, f=issue.fix, i=index: self._on_fix_clicked(i, f))
                row.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
            box.setAutoFillBackground(True)
            palette = box.palette()
            palette.setColor(palette.ColorRole.Window, theme.blend(colours[issue.severity + "_bg"],
                                                                   self.palette().color(palette.ColorRole.Window)))
            box.setPalette(palette)
            self.issues_layout.addWidget(box)

    # -- edits -----------------------------------------------------------------------------------
    def _on_value_edited(self, name: str, value: Any, merge: bool, editor: ParamEditor) -> None:
        if self._path is None:
            return
        key = (editor.serial, editor.session) if merge else None
        self.design.set_param_at(self._path, name, value, merge_key=key)

    def _on_fix_clicked(self, index: int, fix) -> None:
        self.design.apply_fix(index, fix)
        self.fix_applied.emit(index)

    def _on_shape_edited(self) -> None:
        try:
            shape = parse_input_shape(self.shape_edit.text())
        except ValueError as exc:
            self.shape_error.setText(f"<span style='color:{theme.issue_colours(self.palette())['error'].name()}'>"
                                     f"{html.escape(breakable(shorten(str(exc), 400)))}</span>")
            return
        self.shape_error.setText("")
        self.design.set_input_shape(shape, self.design.output_width, undoable=True)
