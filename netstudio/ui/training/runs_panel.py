"""Run history: every run of the project in a table, curves of the selected runs overlaid, two
runs' settings compared side by side, a run's design restored, runs deleted; any run exported,
continued or used to predict (buttons and the table's context menu)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.errors import NetStudioError
from netstudio.core.strings import plural
from netstudio.ui.widgets import StackingSplitter

#: Curve colours; a run keeps its colour whatever else is selected (chosen from its name).
RUN_COLORS = [QColor(c) for c in ("#3478f6", "#eb6e14", "#28a05a", "#c0392b", "#8e44ad", "#16a085", "#d4ac0d",
                                   "#e84393", "#2d3436", "#00b894")]
COLUMNS = ["Started", "Layers", "Parameters", "Optimizer", "Learning rate", "Best", "Test", "Epochs", "Duration", "Status"]
CURVES = {"val_loss": "validation loss", "train_loss": "training loss", "val_accuracy": "validation accuracy",
          "val_auc": "validation ROC AUC", "val_r2": "validation R²"}


def run_color(name: str) -> QColor:
    return RUN_COLORS[zlib.crc32(name.encode()) % len(RUN_COLORS)]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}" if minutes else f"{seconds:.1f} s"


class RunsModel(QAbstractTableModel):
    """One row a run (newest first), over :func:`netstudio.core.runs.history.run_row` values."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs: list = []
        self.rows: list = []

    def set_runs(self, runs: list) -> None:
        from netstudio.core.runs.history import run_row

        self.beginResetModel()
        self.runs = runs
        self.rows = [run_row(r) for r in runs]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            best = "–" if row.best_metric is None else f"{row.metric_name.replace('val_', '')} {row.best_metric:.4g}"
            values = [row.started, row.layers, f"{row.parameters:,}" if row.parameters is not None else "–",
                      row.optimizer, f"{row.learning_rate:g}" if row.learning_rate is not None else "–", best,
                      "–" if row.test_metric is None else f"{row.test_metric:.4g}",
                      str(row.epochs_run or "–"), _duration(row.duration_seconds), row.status.replace("_", " ")]
            return values[index.column()]
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            return run_color(row.name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.path}\n{row.layers}"
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None


class RunsPanel(QWidget):
    """The runs of the open project.

    Signals
    -------
    restore_design_requested(object), restore_settings_requested(object)
        The user wants a run's layers (or training settings) back in the editor (a ``Run``).
    export_requested(object), continue_requested(object), predict_requested(object)
        The user wants to export a run's model, train it further, or predict with it (a ``Run``).
    """

    restore_design_requested = Signal(object)
    restore_settings_requested = Signal(object)
    export_requested = Signal(object)
    continue_requested = Signal(object)
    predict_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.folder: Path | None = None
        self.model = RunsModel(self)
        self.table = QTableView()
        self.table.setObjectName("runsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection_changed())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.doubleClicked.connect(lambda _i: self._emit_selected(self.export_requested))
        self.curve = QComboBox()
        for key, label in CURVES.items():
            self.curve.addItem(label, key)
        self.curve.currentIndexChanged.connect(lambda _i: self.redraw())
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("runsPlot")
        self.plot.setLabel("bottom", "epoch")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(-10, 10))
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Show the settings that differ between the two selected runs")
        self.restore_button = QPushButton("Restore Design")
        self.restore_button.setToolTip("Put the selected run's layers back into the editor (undoable)")
        self.settings_button = QPushButton("Restore Settings")
        self.settings_button.setToolTip("Use the selected run's training settings")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Delete the selected runs' folders")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the runs folder again")
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("runExportButton")
        self.export_button.setToolTip("Write the selected run's model as .pt2, TorchScript, ONNX, safetensors or code")
        self.continue_button = QPushButton("Continue…")
        self.continue_button.setObjectName("runContinueButton")
        self.continue_button.setToolTip("Train the selected run more epochs from where it ended")
        self.predict_button = QPushButton("Predict…")
        self.predict_button.setObjectName("runPredictButton")
        self.predict_button.setToolTip("Predict a CSV file or images with the selected run's model")
        self.export_button.clicked.connect(lambda: self._emit_selected(self.export_requested))
        self.continue_button.clicked.connect(lambda: self._emit_selected(self.continue_requested))
        self.predict_button.clicked.connect(lambda: self._emit_selected(self.predict_requested))
        self.can_continue = lambda run: False  # the workflow says which runs it can train further
        self.compare_button.clicked.connect(lambda: self.compare_selected())
        self.restore_button.clicked.connect(lambda: self._emit_selected(self.restore_design_requested))
        self.settings_button.clicked.connect(lambda: self._emit_selected(self.restore_settings_requested))
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.refresh_button.clicked.connect(lambda: self.refresh())
        buttons = QHBoxLayout()  # two rows: the dock under the design stays narrow
        for w in (self.export_button, self.continue_button, self.predict_button, self.compare_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        more = QHBoxLayout()
        for w in (self.restore_button, self.settings_button, self.delete_button):
            more.addWidget(w)
        more.addStretch(1)
        more.addWidget(self.refresh_button)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        curve_row = QHBoxLayout()
        curve_row.setContentsMargins(0, 0, 0, 0)
        curve_row.addWidget(QLabel("Curve"))
        curve_row.addWidget(self.curve, 1)
        curves = QWidget()
        curves_layout = QVBoxLayout(curves)
        curves_layout.setContentsMargins(0, 0, 0, 0)
        curves_layout.addLayout(curve_row)
        curves_layout.addWidget(self.plot, 1)
        split = StackingSplitter()  # one above the other in a narrow dock
        split.addWidget(self.table)
        split.addWidget(curves)
        split.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addLayout(more)
        layout.addWidget(self.empty)
        layout.addWidget(split, 1)
        self._on_selection_changed()

    # -- content -----------------------------------------------------------------------------------
    def set_folder(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder else None
        self.refresh()

    def refresh(self, select: str | Path | None = None) -> None:
        """Read the runs folder again; *select* a run folder (the one just written)."""
        from netstudio.core.runs.history import list_runs

        runs = list_runs(self.folder) if self.folder else []
        self.model.set_runs(runs)
        self.table.resizeColumnsToContents()
        self.empty.setText("" if runs else "No runs yet: each training run is kept here, beside the project.")
        self.empty.setVisible(not runs)
        if select is not None:
            for row, run in enumerate(runs):
                if run.path == Path(select):
                    self.table.selectionModel().select(
                        self.model.index(row, 0),
                        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self._on_selection_changed()

    def selected_runs(self) -> list:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.runs[r] for r in rows]

    def select_rows(self, rows: list[int]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        for row in rows:
            selection.select(self.model.index(row, 0),
                             QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)

    @Slot()
    def _on_selection_changed(self) -> None:
        runs = self.selected_runs()
        self.compare_button.setEnabled(len(runs) == 2)
        self.restore_button.setEnabled(len(runs) == 1)
        self.settings_button.setEnabled(len(runs) == 1)
        self.delete_button.setEnabled(bool(runs))
        for button in (self.export_button, self.predict_button):
            button.setEnabled(len(runs) == 1)
        self.continue_button.setEnabled(len(runs) == 1 and bool(self.can_continue(runs[0])))
        self.redraw()

    def update_buttons(self) -> None:
        """Check again which buttons apply (a run started or ended)."""
        self._on_selection_changed()

    @Slot(object)
    def _show_context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if index.isValid() and index.row() not in {i.row() for i in self.table.selectionModel().selectedRows()}:
            self.select_rows([index.row()])
        menu = self.context_menu()
        if not menu.isEmpty():
            menu.popup(self.table.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """The table's right-click menu: what the buttons do, for the selected runs."""
        menu = QMenu(self)
        for button in (self.export_button, self.continue_button, self.predict_button, None, self.restore_button,
                       self.settings_button, self.compare_button, None, self.delete_button):
            if button is None:
                menu.addSeparator()
                continue
            action = menu.addAction(button.text())
            action.setEnabled(button.isEnabled())
            action.setToolTip(button.toolTip())
            action.triggered.connect(lambda _=False, b=button: b.click())
        return menu

    def redraw(self) -> None:
        """Overlay the chosen curve of every selected run, each in its own colour."""
        key = self.curve.currentData()
        self.plot.clear()
        self.plot.setLabel("left", CURVES[key])
        for run in self.selected_runs():
            points = [(m["epoch"], m.get(key)) for m in run.metrics if m.get(key) is not None]
            if points:
                x, y = zip(*points)
                self.plot.plot(x, y, pen=pg.mkPen(run_color(run.path.name), width=2), symbol="o", symbolSize=4,
                               symbolBrush=run_color(run.path.name), symbolPen=None, name=run.path.name)

    def curves_shown(self) -> dict[str, QColor]:
        """Name -> pen colour of the curves now drawn (for tests and the legend)."""
        return {item.name(): item.opts["pen"].color() for item in self.plot.getPlotItem().listDataItems()}

    def _emit_selected(self, signal) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            signal.emit(runs[0])

    # -- compare, delete ---------------------------------------------------------------------------
    def compare_selected(self) -> QDialog | None:
        runs = self.selected_runs()
        if len(runs) != 2:
            return None
        dialog = CompareDialog(runs[0], runs[1], self)
        dialog.open()
        return dialog

    def delete_selected(self, confirm: bool = True) -> int:
        """Delete the selected runs (after asking); returns how many were deleted."""
        from netstudio.core.runs.history import delete_run

        runs = self.selected_runs()
        if not runs:
            return 0
        if confirm:
            names = "\n".join(r.path.name for r in runs[:10]) + ("\n…" if len(runs) > 10 else "")
            answer = QMessageBox.question(self, "Delete Runs",
                                          f"Delete {plural(len(runs), 'run folder')} for good?\n\n{names}")
            if answer != QMessageBox.StandardButton.Yes:
                return 0
        deleted = 0
        for run in runs:
            try:
                delete_run(run.path)
                deleted += 1
            except (NetStudioError, OSError) as exc:
                QMessageBox.warning(self, "Cannot Delete Run", str(exc))
        self.refresh()
        return deleted


class CompareDialog(QDialog):
    """Two runs' differing settings side by side, with their best results on top."""

    def __init__(self, a, b, parent: QWidget | None = None):
        super().__init__(parent)
        from netstudio.core.runs.history import config_diff, run_row

        self.setWindowTitle("Compare Runs")
        self.setObjectName("compareDialog")
        self.diff = config_diff(a, b)
        ra, rb = run_row(a), run_row(b)
        rows = [("best " + ra.metric_name.replace("val_", ""), ra.best_metric, rb.best_metric),
                ("parameters", ra.parameters, rb.parameters), ("epochs run", ra.epochs_run, rb.epochs_run)]
        rows += self.diff
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Setting", a.path.name, b.path.name])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        for r, (key, va, vb) in enumerate(rows):
            for c, value in enumerate((key, va, vb)):
                text = "–" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
                item = QTableWidgetItem(text)
                if r < 3:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        note = QLabel(f"{plural(len(self.diff), 'setting')} differ." if self.diff
                      else "The two runs used the same settings.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(720, 420)
