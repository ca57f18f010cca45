"""The training panel: settings form, device choice, Start/Pause/Stop/Continue, progress and log."""

from __future__ import annotations

import copy
import math

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from netstudio.core.project import (
    default_training,
    validate_training,
)

OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
SCHEDULER_LABELS = {"none": "None", "step": "Step decay", "cosine": "Cosine", "onecycle": "One-cycle",
                    "plateau": "Reduce on plateau"}
LOSS_LABELS = {"auto": "Auto (from the task)", "mse": "MSE", "l1": "L1 (MAE)", "smooth_l1": "Smooth L1",
               "huber": "Huber", "bce": "BCE (after Sigmoid)", "bce_with_logits": "BCE with logits",
               "cross_entropy": "Cross-entropy", "nll": "NLL (after LogSoftmax)"}


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _combo(options: dict, tooltip: str) -> QComboBox:
    combo = QComboBox()
    for key, label in options.items():
        combo.addItem(label, key)
    combo.setToolTip(tooltip)
    return combo


class TrainingPanel(QWidget):
    """Training settings and run control.

    Signals
    -------
    config_changed(dict)
        The training section after an edit (every default filled in).
    start_requested(), stop_requested(), pause_requested(bool), continue_requested(int)
        The user asked to start, stop, pause (True) or resume (False), or continue N epochs.
    """

    config_changed = Signal(object)
    start_requested = Signal()
    stop_requested = Signal()
    pause_requested = Signal(bool)
    continue_requested = Signal(int)

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
        self.optimizer = _combo(OPTIMIZER_LABELS, "How the weights are updated from the gradients")
        self.learning_rate = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=10.0, singleStep=0.0005)
        self.learning_rate.setToolTip("Step size of each update: lower it if the loss jumps around or diverges")
        self.batch_size = QSpinBox(minimum=1, maximum=1 << 20)
        self.batch_size.setToolTip("Samples per update step")
        self.epochs = QSpinBox(minimum=1, maximum=1_000_000)
        self.epochs.setToolTip("Passes over the training data")
        self.scheduler = _combo(SCHEDULER_LABELS, "How the learning rate changes during training")
        self.momentum = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=0.999, singleStep=0.05)
        self.momentum.setToolTip("SGD momentum")
        self.weight_decay = QDoubleSpinBox(decimals=6, minimum=0.0, maximum=1.0, singleStep=0.0001)
        self.weight_decay.setToolTip("L2 penalty on the weights")
        self.loss = _combo(LOSS_LABELS, "The loss function; Auto picks it from the task and the last layer")
        self.early = QCheckBox("Stop after")
        self.early.setToolTip("Stop when the validation loss has not improved for this many epochs, "
                              "and keep the best weights")
        self.patience = QSpinBox(minimum=1, maximum=10000, suffix=" epochs without improvement")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setToolTip("Same seed, device and settings: the same run")
        self.device = QComboBox()
        self.device.setToolTip("Where to train; Auto takes a CUDA GPU, then Apple's MPS, then the CPU")
        self.device.addItem("Auto", "auto")
        self.device.addItem("CPU", "cpu")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Momentum", self.momentum)
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Epochs", self.epochs)
        form.addRow("Scheduler", self.scheduler)
        form.addRow("Loss", self.loss)
        early_row = QHBoxLayout()
        early_row.addWidget(self.early)
        early_row.addWidget(self.patience, 1)
        form.addRow("Early stopping", early_row)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)
        settings = QGroupBox("Settings")
        settings.setLayout(form)

        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setShortcut(QKeySequence("F5"))
        self.train_button.setToolTip("Start training (F5)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause or resume the run (F6)")
        self.pause_button.setShortcut(QKeySequence("F6"))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop after the current batch and keep the run (Shift+F5)")
        self.stop_button.setShortcut(QKeySequence("Shift+F5"))
        self.continue_epochs = QSpinBox(minimum=1, maximum=1_000_000, value=10, suffix=" more epochs")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip("Train more epochs from where the last run ended")
        buttons = QHBoxLayout()
        for w in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(w)
        more = QHBoxLayout()
        more.addWidget(self.continue_button)
        more.addWidget(self.continue_epochs, 1)

        self.status = QLabel()
        self.status.setWordWrap(True)
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

        layout = QVBoxLayout(self)
        layout.addWidget(settings)
        layout.addLayout(buttons)
        layout.addLayout(more)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.log, 1)

        for widget in (self.optimizer, self.scheduler, self.loss, self.device):
            widget.currentIndexChanged.connect(self._on_form_edited)
        for widget in (self.learning_rate, self.momentum, self.weight_decay, self.batch_size, self.epochs,
                       self.patience, self.seed):
            widget.valueChanged.connect(self._on_form_edited)
        self.early.toggled.connect(self._on_form_edited)
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
            self._select(self.optimizer, c["optimizer"])
            self.learning_rate.setValue(c["learning_rate"])
            self.momentum.setValue(c["momentum"])
            self.weight_decay.setValue(c["weight_decay"])
            self.batch_size.setValue(c["batch_size"])
            self.epochs.setValue(c["epochs"])
            self._select(self.scheduler, c["scheduler"])
            self._select(self.loss, c["loss"])
            patience = c["early_stopping"].get("patience")
            self.early.setChecked(patience is not None)
            self.patience.setValue(patience or 5)
            self.seed.setValue(c["seed"])
            if self.device.findData(c["device"]) < 0:
                self.device.addItem(f"{c['device']} (not found here)", c["device"])
            self._select(self.device, c["device"])
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
            self._select(self.device, current)
        finally:
            self._loading = False

    @staticmethod
    def _select(combo: QComboBox, value) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))

    @Slot()
    def _on_form_edited(self, *args) -> None:
        if self._loading:
            return
        c = copy.deepcopy(self._config)
        c.update(optimizer=self.optimizer.currentData(), learning_rate=self.learning_rate.value(),
                 momentum=self.momentum.value(), weight_decay=self.weight_decay.value(),
                 batch_size=self.batch_size.value(), epochs=self.epochs.value(),
                 scheduler=self.scheduler.currentData(), loss=self.loss.currentData(),
                 seed=self.seed.value(), device=self.device.currentData())
        c["early_stopping"] = dict(c["early_stopping"], patience=self.patience.value() if self.early.isChecked() else None)
        if c["optimizer"] != "sgd" or c["momentum"] == 0:
            c["nesterov"] = False
        self._config = validate_training(c)
        self._update_enabled_fields()
        self.config_changed.emit(self.config())

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
        for widget in (self.optimizer, self.learning_rate, self.momentum, self.weight_decay, self.batch_size,
                       self.epochs, self.scheduler, self.loss, self.early, self.patience, self.seed, self.device):
            widget.setEnabled(not running)
        if not running:
            self._update_enabled_fields()
            if self._ready_reason and not self._can_continue:
                self.status.setText(f"Cannot train yet: {self._ready_reason}.")
            elif self.status.text().startswith("Cannot train yet"):
                self.status.clear()

    # -- run feedback ------------------------------------------------------------------------------
    def run_started(self, info: dict) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.status.setText(f"Training on {info['device']}: {info['n_train']:,} training and {info['n_val']:,} "
                            f"validation samples, {info['parameters']:,} parameters, {info['loss']} loss.")
        self.append_log(f"— run started on {info['device']} ({info['loss']} loss)")

    def show_progress(self, payload: dict) -> None:
        for row in payload.get("epochs", []):
            self.append_log(format_epoch_row(row))
        if "global_step" not in payload:
            return
        total = max(payload["total_steps"], 1)
        self.progress.setValue(int(1000 * payload["global_step"] / total))
        last_epoch = math.ceil(total / max(payload["steps_per_epoch"], 1))
        text = (f"Epoch {payload['epoch']}/{last_epoch} · step {payload['step']}/{payload['steps_per_epoch']} · "
                f"ETA {format_duration(payload['eta_seconds'])} · {payload['samples_per_second']:,.0f} samples/s")
        self.progress.setFormat(text + (" · paused" if self._paused else ""))

    def run_finished(self, result: dict) -> None:
        summary = result["summary"]
        self.progress.setValue(self.progress.maximum())
        status = result["status"]
        words = {"completed": "Finished", "stopped": "Stopped", "early_stopped": "Stopped early",
                 "diverged": "Diverged", "failed": "Failed"}.get(status, status)
        self.progress.setFormat(f"{words} after {summary['epochs_run']} epochs")
        if result.get("message"):
            self.append_log(result["message"])
        if result.get("run_dir"):
            self.append_log(f"run saved to {result['run_dir']}")
        if result.get("save_error"):
            self.append_log(f"warning: the run could not be saved: {result['save_error']}")
        metric = next((k for k in ("val_accuracy", "val_r2") if summary.get(k) is not None), None)
        best = f"best epoch {summary['best_epoch']}" if summary.get("best_epoch") else "no best epoch"
        if metric:
            best += f": {metric.replace('val_', 'validation ')} {summary[metric]:.4f}"
        self.status.setText(f"{words}. {best}.")

    def run_failed(self, message: str) -> None:
        self.progress.setFormat("Failed")
        self.status.setText(f"Training failed: {message}")
        self.append_log(f"error: {message}")

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(line)


def format_epoch_row(row: dict) -> str:
    parts = [f"epoch {row['epoch']:>4}", f"loss {_fmt(row.get('train_loss'))}", f"val {_fmt(row.get('val_loss'))}"]
    for key in ("val_accuracy", "val_r2", "val_mae"):
        if row.get(key) is not None:
            parts.append(f"{key[4:]} {_fmt(row[key])}")
    parts.append(f"{row.get('samples_per_second', 0):,.0f}/s")
    return "  ".join(parts)


def _fmt(value) -> str:
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
