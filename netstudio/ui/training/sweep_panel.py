"""The Sweep panel: the project's sweep section (parameters and their ranges, trials, metric,
sampler, pruner), Run/Stop/Apply best, and the sweep as it goes: the running trial's curve, the
ranked trial table, parallel coordinates and the parameters' importance.

It edits a copy of the ``sweep`` section and says so with :attr:`SweepPanel.section_changed`;
the workflow stores it in the project and runs the sweep.
"""

from __future__ import annotations

import copy

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.config import (
    PRUNER_LABELS,
    SAMPLER_LABELS,
    SweepConfig,
    check_parameter,
    settings,
)
from netstudio.core.errors import NetStudioError
from netstudio.core.search.sweep import TrialResult
from netstudio.ui.plots.sweep_plots import ImportancePlot, ParallelCoordinates, short_name
from netstudio.ui.widgets import BoundedLabel, StackingSplitter

STATE_COLORS = {"COMPLETE": None, "PRUNED": QColor(150, 150, 150), "FAIL": QColor(200, 60, 60)}


def range_text(spec: dict) -> str:
    """A range as the table shows it: ``0.001 – 0.1 (log)``, ``4 – 32``, ``16, 32, 64``."""
    if spec["type"] == "categorical":
        return ", ".join(_json_text(c) for c in spec["choices"])
    text = f"{spec['low']:g} – {spec['high']:g}"
    if spec.get("step") and not (spec["type"] == "int" and spec["step"] == 1):
        text += f" step {spec['step']:g}"
    return text + (" (log)" if spec.get("log") else "")


def parse_range(text: str, old: dict) -> dict:
    """A range typed in the table, of the same type as *old* (ProjectError/ValueError when bad)."""
    import json

    if old["type"] == "categorical":
        choices = []
        for part in text.split(","):
            part = part.strip()
            try:
                choices.append(json.loads(part))
            except ValueError:
                choices.append(part)
        return {"type": "categorical", "choices": choices}
    body = text.replace("(log)", "").strip()
    step = None
    if " step " in body:
        body, step_text = body.split(" step ", 1)
        step = float(step_text)
    low_text, high_text = (p.strip() for p in body.replace("–", " - ", 1).split(" - ", 1))
    cast = int if old["type"] == "int" else float
    new = {"type": old["type"], "low": cast(float(low_text)), "high": cast(float(high_text)),
           "log": "(log)" in text}
    if step is not None:
        new["step"] = cast(step)
    return new


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else _json_text(value)


def _json_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


class SweepPanel(QWidget):
    """The sweep section's editor and the sweep's live view.

    Signals
    -------
    section_changed(dict)
        The sweep section after an edit.
    run_requested(), stop_requested(), apply_best_requested()
    """

    section_changed = Signal(object)
    run_requested = Signal()
    stop_requested = Signal()
    apply_best_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sweepPanel")
        self.section: dict = {}
        self.ranked: list[TrialResult] = []
        self._running = False
        self._ready_reason: str | None = "no data loaded"
        self._filling = False
        self._curve_x: list[int] = []
        self._curve_y: list[float] = []
        self._build()
        self.set_section({})

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        s = settings(SweepConfig)
        self.parameters = QTableWidget(0, 2)
        self.parameters.setObjectName("sweepParameters")
        self.parameters.setHorizontalHeaderLabels(["Setting", "Range"])
        self.parameters.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.parameters.horizontalHeader().setStretchLastSection(True)
        self.parameters.verticalHeader().hide()
        self.parameters.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.parameters.setToolTip("The settings the sweep varies. Right-click a training or layer setting and "
                                   "choose Sweep This to add one; double-click a range to change it")
        self.parameters.itemChanged.connect(self._on_range_edited)
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Stop sweeping the selected settings (Delete in the table)")
        self.remove.clicked.connect(self._remove_selected)
        # only while the table has the focus: Delete elsewhere removes layers
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.parameters)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._remove_selected)
        self.trials = QSpinBox()
        self.trials.setRange(int(s["trials"].minimum), int(s["trials"].maximum))
        self.trials.setToolTip(s["trials"].help)
        self.trials.setPrefix("Trials ")
        self.metric_box = QComboBox()
        self.metric_box.setToolTip(s["metric"].help)
        self.sampler = QComboBox()
        for key, label in SAMPLER_LABELS.items():
            self.sampler.addItem(label, key)
        self.sampler.setToolTip(s["sampler"].help)
        self.pruner = QComboBox()
        for key, label in PRUNER_LABELS.items():
            self.pruner.addItem(label, key)
        self.pruner.setToolTip(s["pruner"].help)
        for widget in (self.trials,):
            widget.valueChanged.connect(lambda _v: self._on_setting_edited())
        for widget in (self.metric_box, self.sampler, self.pruner):
            widget.currentIndexChanged.connect(lambda _i: self._on_setting_edited())
        self.run_button = QPushButton("Run Sweep")
        self.run_button.setObjectName("runSweepButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the running trial and start no other (the trials so far are kept)")
        self.apply_button = QPushButton("Apply Best")
        self.apply_button.setObjectName("applyBestButton")
        self.apply_button.setToolTip("Put the best trial's values into the design and training settings "
                                     "(one undo step)")
        self.run_button.clicked.connect(self.run_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.apply_button.clicked.connect(self.apply_best_requested)
        self.status = BoundedLabel("")  # an error's message may be of any length
        self.status.setObjectName("sweepStatus")
        self.status.setWordWrap(True)

        for combo in (self.metric_box, self.sampler, self.pruner):  # their longest item must not widen the window
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.parameters, 1)
        row = QHBoxLayout()  # Remove under the table it acts on; the rows stay narrow for a small window
        row.addStretch(1)
        row.addWidget(self.remove)
        column.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.trials)
        row.addWidget(self.metric_box, 1)
        column.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.sampler, 1)
        row.addWidget(self.pruner, 1)
        column.addLayout(row)
        row = QHBoxLayout()
        for button in (self.run_button, self.stop_button, self.apply_button):
            row.addWidget(button)
        column.addLayout(row)
        column.addWidget(self.status)

        self.table = QTableWidget(0, 0)
        self.table.setObjectName("sweepTrials")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setToolTip("The finished trials, best first; pruned trials in grey, failed ones in red "
                              "(hover for the reason)")

        self.curve = pg.PlotWidget()
        self.curve.setObjectName("sweepTrialCurve")
        self.curve.setMenuEnabled(False)
        self.curve.setLabel("bottom", "epoch")
        self.curve_line = self.curve.plot([], [], pen=pg.mkPen(QColor(70, 130, 200), width=2), symbol="o",
                                          symbolSize=4)
        self.parallel = ParallelCoordinates()
        self.importance = ImportancePlot()
        self.views = QTabWidget()
        self.views.setObjectName("sweepViews")
        self.views.setUsesScrollButtons(True)  # a narrow panel scrolls its tabs instead of widening the window
        self.views.setElideMode(Qt.TextElideMode.ElideRight)
        self.views.addTab(self.curve, "Running Trial")
        self.views.addTab(self.parallel, "Parallel Coordinates")
        self.views.addTab(self.importance, "Importance")

        splitter = StackingSplitter()  # one above the other in a narrow dock
        for widget, stretch in ((left, 3), (self.table, 4), (self.views, 4)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.indexOf(widget), stretch)
        splitter.setSizes([280, 420, 420])  # in proportion: the trial table needs its columns
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

    # -- the section -------------------------------------------------------------------------------
    def set_section(self, section: dict) -> None:
        """Show *section* (a project's sweep section, possibly empty)."""
        self.section = copy.deepcopy(section)
        config = SweepConfig.from_dict(self.section)
        self._filling = True
        try:
            self.trials.setValue(config.trials)
            self._select(self.metric_box, config.metric, add=True)
            self._select(self.sampler, config.sampler)
            self._select(self.pruner, config.pruner)
            self.parameters.setRowCount(0)
            for path, spec in config.parameters.items():
                row = self.parameters.rowCount()
                self.parameters.insertRow(row)
                name = QTableWidgetItem(path)
                name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
                name.setToolTip(path)
                value = QTableWidgetItem(range_text(spec))
                value.setData(Qt.ItemDataRole.UserRole, spec)
                value.setToolTip("Double-click to change: low – high (log), or choices separated by commas")
                self.parameters.setItem(row, 0, name)
                self.parameters.setItem(row, 1, value)
        finally:
            self._filling = False
        self._update_buttons()

    def set_metrics(self, metrics: list[str]) -> None:
        """The metrics the loaded data offers (val_loss first)."""
        current = self.metric_box.currentData() or self.section.get("metric", "val_loss")
        self._filling = True
        try:
            self.metric_box.clear()
            for name in metrics:
                self.metric_box.addItem(name, name)
            self._select(self.metric_box, current, add=True)
        finally:
            self._filling = False

    @staticmethod
    def _select(box: QComboBox, key, add: bool = False) -> None:
        index = box.findData(key)
        if index < 0 and add:
            box.addItem(key, key)
            index = box.count() - 1
        box.setCurrentIndex(max(index, 0))

    def _on_setting_edited(self) -> None:
        if self._filling:
            return
        self.section.update(trials=self.trials.value(), metric=self.metric_box.currentData(),
                            sampler=self.sampler.currentData(), pruner=self.pruner.currentData())
        self.section_changed.emit(copy.deepcopy(self.section))

    def _on_range_edited(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 1:
            return
        path = self.parameters.item(item.row(), 0).text()
        old = item.data(Qt.ItemDataRole.UserRole)
        try:
            spec = check_parameter(parse_range(item.text(), old), f"sweep.parameters.{path}")
        except (NetStudioError, ValueError) as exc:
            self.status.setText(f"Range not changed: {exc}")
            self.set_section(self.section)
            return
        self.section.setdefault("parameters", {})[path] = spec
        self.status.setText("")
        self.set_section(self.section)
        self.section_changed.emit(copy.deepcopy(self.section))

    def _remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.parameters.selectedIndexes()})
        if not rows or self._running:
            return
        parameters = self.section.get("parameters", {})
        for row in rows:
            parameters.pop(self.parameters.item(row, 0).text(), None)
        self.set_section(self.section)
        self.section_changed.emit(copy.deepcopy(self.section))

    # -- state -------------------------------------------------------------------------------------
    def set_ready(self, reason: str | None) -> None:
        """Why a sweep cannot start now (None: it can)."""
        self._ready_reason = reason
        self._update_buttons()

    def set_running(self, running: bool) -> None:
        self._running = running
        self._update_buttons()

    def _update_buttons(self) -> None:
        reason = self._ready_reason or (None if self.section.get("parameters") else
                                        "nothing to sweep: right-click a setting and choose Sweep This")
        self.run_button.setEnabled(not self._running and reason is None)
        self.run_button.setToolTip(f"Cannot sweep yet: {reason}" if reason else
                                   "Train one run per trial, one at a time; each appears in Runs")
        self.stop_button.setEnabled(self._running)
        self.apply_button.setEnabled(not self._running and any(r.state == "COMPLETE" for r in self.ranked))
        for widget in (self.parameters, self.remove, self.trials, self.metric_box, self.sampler, self.pruner):
            widget.setEnabled(not self._running)

    # -- the sweep as it goes ----------------------------------------------------------------------
    def sweep_started(self) -> None:
        self.ranked = []
        self.table.setRowCount(0)
        self.parallel.clear()
        self.importance.show_importance({})
        self.views.setCurrentWidget(self.curve)
        self.status.setText("Starting the sweep…")

    def trial_started(self, start) -> None:
        self._curve_x, self._curve_y = [], []
        self.curve_line.setData([], [])
        metric = self.section.get("metric", "val_loss")
        self.curve.setLabel("left", metric)
        self.curve.setTitle(f"trial {start.number}: " + "  ".join(
            f"{short_name(p)}={_json_text(v)}" for p, v in start.params.items()), size="9pt")
        self.status.setText(f"Trial {start.number} of {self.section.get('trials', 20)} training…")

    def add_epoch(self, number: int, metrics) -> None:
        from netstudio.core.search.sweep import metric_of

        value = metric_of(metrics, self.section.get("metric", "val_loss"))
        if value is None:
            return
        self._curve_x.append(metrics.epoch)
        self._curve_y.append(value)
        self.curve_line.setData(self._curve_x, self._curve_y)

    def show_update(self, update) -> None:
        """A trial ended: rank the table again, redraw parallel coordinates and importance."""
        self.ranked = list(update.ranked)
        config = SweepConfig.from_dict(self.section)
        paths = list(config.parameters)
        self.table.setColumnCount(4 + len(paths))
        self.table.setHorizontalHeaderLabels(["Rank", "Trial", "State", config.metric,
                                              *(short_name(p) for p in paths)])
        self.table.setRowCount(len(self.ranked))
        for row, r in enumerate(self.ranked):
            value = r.value if r.state == "COMPLETE" else r.last_value
            cells = [str(row + 1) if r.state == "COMPLETE" else "", str(r.number), r.state,
                     "" if value is None else f"{value:.4f}", *(_short(r.params.get(p, "")) for p in paths)]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if STATE_COLORS.get(r.state) is not None:
                    item.setForeground(STATE_COLORS[r.state])
                if r.reason:
                    item.setToolTip(r.reason)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.parallel.show_trials(self.ranked, config.parameters, config.metric)
        self.importance.show_importance(update.importance)
        result = update.result
        self.status.setText(f"Trial {result.number} {result.state.lower()}"
                            + (f" ({result.reason})" if result.reason and result.state != "COMPLETE" else ""))
        self._update_buttons()

    def sweep_ended(self, message: str) -> None:
        self.status.setText(message)
        if any(r.state != "FAIL" for r in self.ranked):
            self.views.setCurrentWidget(self.parallel)
        self._update_buttons()
