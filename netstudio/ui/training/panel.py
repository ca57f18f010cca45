"""The training panel: settings form, device choice, Start/Pause/Stop/Continue, progress and log."""

from __future__ import annotations

import copy
import math

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.config import (
    EarlyStopping,
    TrainConfig,
    default_training,
    settings,
    validate_training,
)
from netstudio.core.strings import shorten
from netstudio.core.training.states import EpochMetrics, FitStart
from netstudio.ui.training.messages import RunFinished, RunProgress
from netstudio.ui.widgets import (
    BoundedLabel,
    check_box,
    choice_box,
    double_spin_box,
    offer_sweep,
    select,
    spin_box,
)

#: The most characters one line of the run's log holds (a message may be of any length).
LOG_LINE_CHARS = 1000
#: What the patience spin box offers when early stopping is switched on.
SUGGESTED_PATIENCE = 5


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _button(text: str, name: str, tooltip: str, shortcut: str | None = None) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tooltip)
    if shortcut:
        button.setShortcut(QKeySequence(shortcut))
    return button


class TrainingPanel(QWidget):
    """Training settings and run control.

    Signals
    -------
    config_changed(dict)
        The training section after an edit (every default filled in).
    start_requested(), stop_requested(), pause_requested(bool), continue_requested(int)
        The user asked to start, stop, pause (True) or resume (False), or continue N epochs.
    find_rate_requested()
        The user asked for the learning-rate range test.
    """

    config_changed = Signal(object)
    start_requested = Signal()
    stop_requested = Signal()
    pause_requested = Signal(bool)
    continue_requested = Signal(int)
    find_rate_requested = Signal()
    sweep_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._config = default_training()
        self._loading = False
        self._running = False
        self._paused = False
        self._can_continue = False
        self._ready_reason: str | None = "no data loaded"
        self._build()
        self.set_config(self._config)
        self._update_buttons()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_settings())
        buttons, more = self._build_run_buttons()
        layout.addLayout(buttons)
        layout.addLayout(more)
        for widget in self._build_feedback():
            layout.addWidget(widget, 1 if widget is self.log else 0)
        self._connect_widgets()

    def _build_settings(self) -> QGroupBox:
        """The settings form: one widget per key of the training section, as the schema describes it."""
        s, stop = settings(TrainConfig), settings(EarlyStopping)
        self.optimizer = choice_box(s["optimizer"])
        self.learning_rate = double_spin_box(s["learning_rate"], 6, singleStep=0.0005)
        self.momentum = double_spin_box(s["momentum"], 3, singleStep=0.05)
        self.weight_decay = double_spin_box(s["weight_decay"], 6, singleStep=0.0001)
        self.batch_size = spin_box(s["batch_size"])
        self.epochs = spin_box(s["epochs"])
        self.scheduler = choice_box(s["scheduler"])
        self.loss = choice_box(s["loss"])
        self.balance = check_box(s["class_weights"], "Inverse frequency")  # the row says "Class weights"
        self.early = QCheckBox("Stop after")
        self.early.setToolTip("Stop when the validation loss has not improved for this many epochs, "
                              "and keep the best weights")
        self.patience = spin_box(stop["patience"], suffix=" epochs")
        self.patience.setToolTip("Epochs without a better validation loss before the run stops")
        self.patience.setMaximum(int(s["epochs"].maximum))  # more than a run's epochs can never stop it
        self.seed = spin_box(s["seed"])
        self.device = QComboBox()
        self.device.setToolTip(s["device"].help)
        self.device.addItem("Auto", "auto")
        self.device.addItem("CPU", "cpu")
        self.find_rate = QPushButton("Find…")
        self.find_rate.setToolTip("Find a good learning rate: a short range test on a copy of the model")
        self.find_rate.clicked.connect(lambda _=False: self.find_rate_requested.emit())
        rate_row = QHBoxLayout()
        rate_row.addWidget(self.learning_rate, 1)
        rate_row.addWidget(self.find_rate)
        for combo in (self.optimizer, self.scheduler, self.loss, self.device):  # a long label is elided, not
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)  # the width of the dock (the form's fields grow to fill it)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, widget in (("Optimizer", self.optimizer), ("Learning rate", rate_row),
                              ("Momentum", self.momentum), ("Weight decay", self.weight_decay),
                              ("Batch size", self.batch_size), ("Epochs", self.epochs),
                              ("Scheduler", self.scheduler), ("Loss", self.loss)):
            form.addRow(label, widget)
        form.addRow("Class weights", self.balance)
        form.addRow("Early stopping", self.early)  # "Stop after / N epochs / without improvement", a line
        form.addRow("", self.patience)  # each: the dock stays narrow, nothing is cut off
        without = QLabel("without improvement")
        without.setEnabled(False)
        form.addRow("", without)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)
        box = QGroupBox("Settings")
        box.setLayout(form)
        for key in ("optimizer", "learning_rate", "momentum", "weight_decay", "batch_size", "epochs", "scheduler"):
            offer_sweep(getattr(self, key), f"training.{key}", self.sweep_requested.emit)
        return box

    def _build_run_buttons(self) -> tuple[QHBoxLayout, QHBoxLayout]:
        """Train, Pause, Stop; Continue with its number of epochs."""
        # F5, F6 and Shift+F5 belong to the window's Train menu (one owner: a second would make
        # each key ambiguous, and then neither fires)
        self.train_button = _button("Train", "trainButton", "Start training (F5)")
        self.pause_button = _button("Pause", "pauseButton", "Pause or resume the run (F6)")
        self.pause_button.setCheckable(True)
        self.stop_button = _button("Stop", "stopButton", "Stop after the current batch and keep the run (Shift+F5)")
        self.continue_epochs = spin_box(settings(TrainConfig)["epochs"], value=10, suffix=" more epochs")
        self.continue_epochs.setToolTip("How many more epochs Continue trains")
        self.continue_button = _button("Continue", "continueButton", "Train more epochs from where the last run ended")
        buttons = QHBoxLayout()
        for w in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(w)
        more = QHBoxLayout()
        more.addWidget(self.continue_button)
        more.addWidget(self.continue_epochs, 1)
        return buttons, more

    def _build_feedback(self) -> tuple[QWidget, ...]:
        """The status line, the progress bar and the log of the run."""
        self.status = BoundedLabel()  # a failure's message may be of any length
        self.progress = QProgressBar()
        self.progress.setObjectName("trainingProgress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("Idle")
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setObjectName("trainingLog")
        self.log.setMaximumBlockCount(10000)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.log.setFont(mono)
        self.log.setPlaceholderText("Per-epoch results and messages appear here.")
        return self.status, self.progress, self.log

    def _connect_widgets(self) -> None:
        for widget in (self.optimizer, self.scheduler, self.loss, self.device):
            widget.currentIndexChanged.connect(self._on_form_edited)
        for widget in (self.learning_rate, self.momentum, self.weight_decay, self.batch_size, self.epochs,
                       self.patience, self.seed):
            widget.valueChanged.connect(self._on_form_edited)
        self.early.toggled.connect(self._on_form_edited)
        self.balance.toggled.connect(self._on_form_edited)
        self.train_button.clicked.connect(lambda: self.start_requested.emit())
        self.stop_button.clicked.connect(lambda: self.stop_requested.emit())
        self.pause_button.clicked.connect(lambda checked: self.pause_requested.emit(bool(checked)))
        self.continue_button.clicked.connect(lambda: self.continue_requested.emit(self.continue_epochs.value()))

    # -- configuration -----------------------------------------------------------------------------
    def config(self) -> dict:
        return copy.deepcopy(self._config)

    def set_config(self, training: dict) -> None:
        """Show a training section (validated; unknown keys are kept)."""
        self._config = validate_training(training)
        c = self._config
        self._loading = True
        try:
            select(self.optimizer, c["optimizer"])
            self.learning_rate.setValue(c["learning_rate"])
            self.momentum.setValue(c["momentum"])
            self.weight_decay.setValue(c["weight_decay"])
            self.batch_size.setValue(c["batch_size"])
            self.epochs.setValue(c["epochs"])
            select(self.scheduler, c["scheduler"])
            select(self.loss, c["loss"])
            self.balance.setChecked(c["class_weights"] == "auto")
            patience = c["early_stopping"].get("patience")
            self.early.setChecked(patience is not None)
            self.patience.setValue(patience or SUGGESTED_PATIENCE)
            self.seed.setValue(c["seed"])
            if self.device.findData(c["device"]) < 0:
                self.device.addItem(f"{c['device']} (not found here)", c["device"])
            select(self.device, c["device"])
        finally:
            self._loading = False
        self._update_enabled_fields()

    def set_devices(self, devices) -> None:
        """List the devices PyTorch found (DeviceInfo objects), keeping the current choice."""
        current = self.device.currentData()
        self._loading = True
        try:
            self.device.clear()
            self.device.addItem("Auto", "auto")
            for info in devices:
                self.device.addItem(info.label, info.name)
            if self.device.findData(current) < 0:
                self.device.addItem(f"{current} (not found here)", current)
            select(self.device, current)
        finally:
            self._loading = False

    @Slot()
    def _on_form_edited(self, *args) -> None:
        if self._loading:
            return
        c = copy.deepcopy(self._config)
        c.update(optimizer=self.optimizer.currentData(), learning_rate=self.learning_rate.value(),
                 momentum=self.momentum.value(), weight_decay=self.weight_decay.value(),
                 batch_size=self.batch_size.value(), epochs=self.epochs.value(),
                 scheduler=self.scheduler.currentData(), loss=self.loss.currentData(),
                 seed=self.seed.value(), device=self.device.currentData(),
                 class_weights="auto" if self.balance.isChecked() else None)
        c["early_stopping"] = dict(c["early_stopping"], patience=self.patience.value() if self.early.isChecked() else None)
        if c["optimizer"] != "sgd" or c["momentum"] == 0:
            c["nesterov"] = False
        self._config = validate_training(c)
        self._update_enabled_fields()
        self.config_changed.emit(self.config())

    def use_class_weights(self, on: bool) -> None:
        """Weight the classes in the loss (the Data panel's fix for imbalanced classes)."""
        self.balance.setChecked(on)  # an edit of the form: config_changed follows

    def _update_enabled_fields(self) -> None:
        self.momentum.setEnabled(self._config["optimizer"] == "sgd")
        self.patience.setEnabled(self.early.isChecked())

    # -- run state ---------------------------------------------------------------------------------
    def set_ready(self, reason: str | None) -> None:
        """``None`` when a run can start, else why not ("no data loaded", "the design has errors")."""
        self._ready_reason = reason
        self._update_buttons()

    def set_running(self, running: bool) -> None:
        self._running = running
        if not running:
            self._paused = False
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
        self._update_buttons()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.progress.setFormat(self.progress.format().split(" · paused")[0] + " · paused")

    def set_can_continue(self, possible: bool) -> None:
        self._can_continue = possible
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self._running
        self.train_button.setEnabled(not running and self._ready_reason is None)
        self.train_button.setToolTip("Start training (F5)" if self._ready_reason is None
                                     else f"Cannot train yet: {self._ready_reason}")
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.continue_button.setEnabled(not running and self._can_continue)
        self.continue_epochs.setEnabled(not running and self._can_continue)
        self.find_rate.setEnabled(not running and self._ready_reason is None)
        for widget in (self.optimizer, self.learning_rate, self.momentum, self.weight_decay, self.batch_size,
                       self.epochs, self.scheduler, self.loss, self.balance, self.early, self.patience, self.seed,
                       self.device):
            widget.setEnabled(not running)
        if not running:
            self._update_enabled_fields()
            if self._ready_reason and not self._can_continue:
                self.status.setText(f"Cannot train yet: {self._ready_reason}.")
            elif self.status.text().startswith("Cannot train yet"):
                self.status.clear()

    # -- run feedback ------------------------------------------------------------------------------
    def run_started(self, start: FitStart) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.status.setText(f"Training on {start.device}: {start.n_train:,} training and {start.n_val:,} "
                            f"validation samples, {start.parameters:,} parameters, {start.loss} loss.")
        self.append_log(f"— run started on {start.device} ({start.loss} loss)")

    def show_progress(self, progress: RunProgress) -> None:
        for metrics in progress.epochs:
            self.append_log(format_epoch_row(metrics))
        at = progress.position
        if at is None:
            return
        total = max(at.total_steps, 1)
        self.progress.setValue(int(1000 * at.global_step / total))
        last_epoch = math.ceil(total / max(at.steps_per_epoch, 1))
        # The bar is ~300 px at the smallest window: the step and the throughput (also in the run
        # toolbar) go to its tooltip, or the text wraps and its second line is cut off.
        text = f"Epoch {at.epoch}/{last_epoch} · ETA {format_duration(at.eta_seconds)}"
        self.progress.setToolTip(f"{text} · step {at.step}/{at.steps_per_epoch} · "
                                 f"{at.samples_per_second:,.0f} samples/s")
        self.progress.setFormat(text + (" · paused" if self._paused else ""))

    def clear_run(self) -> None:
        """Forget the last run's progress, status and log (another project was opened)."""
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Idle")
        self.status.clear()
        self.log.clear()
        self._update_buttons()

    def show_saving(self, result: RunFinished) -> None:
        """Training is over and the run folder is being written."""
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(f"{result.status.label} after {result.summary['epochs_run']} epochs")
        self.status.setText("Saving the run…")

    def run_finished(self, result: RunFinished) -> None:
        summary = result.summary
        self.progress.setValue(self.progress.maximum())
        words = result.status.label
        self.progress.setFormat(f"{words} after {summary['epochs_run']} epochs")
        if result.message:
            self.append_log(result.message)
        if result.run_dir:
            self.append_log(f"run saved to {result.run_dir}")
        if result.save_error:
            self.append_log(f"warning: the run could not be saved: {result.save_error}")
        metric = next((k for k in ("val_accuracy", "val_r2") if summary.get(k) is not None), None)
        best = f"best epoch {summary['best_epoch']}" if summary.get("best_epoch") else "no best epoch"
        if metric:
            best += f": {metric.replace('val_', 'validation ')} {summary[metric]:.4f}"
        tested = next((k for k in ("test_accuracy", "test_r2") if summary.get(k) is not None), None)
        if tested:  # the held-out test split, scored once at the end
            best += f"; {tested.replace('test_', 'test ')} {summary[tested]:.4f} on {summary.get('n_test', 0):,} rows"
            self.append_log(f"test split ({summary.get('n_test', 0):,} rows): {tested.replace('_', ' ')} "
                            f"{summary[tested]:.4f}")
        self.status.setText(f"{words}. {best}.")

    def run_failed(self, message: str) -> None:
        self.progress.setFormat("Failed")
        self.status.setText(f"Training failed: {message}")
        self.append_log(f"error: {message}")

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(shorten(line, LOG_LINE_CHARS))


def format_epoch_row(metrics: EpochMetrics) -> str:
    """One line of the log for a finished epoch."""
    parts = [f"epoch {metrics.epoch:>4}", f"loss {_fmt(metrics.train_loss)}", f"val {_fmt(metrics.val_loss)}"]
    for key in ("val_accuracy", "val_auc", "val_r2", "val_mae"):
        if metrics.values.get(key) is not None:
            parts.append(f"{key[4:]} {_fmt(metrics.values[key])}")
    parts.append(f"{metrics.samples_per_second:,.0f}/s")
    return "  ".join(parts)


def _fmt(value) -> str:
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
