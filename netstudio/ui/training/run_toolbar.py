"""The run toolbar: device, Train, Pause/Resume, Stop, and what the run is doing, always in sight.

It holds no state of its own: the device box shows the training panel's device list (one model
for both, the panel's choice is what trains), the buttons are the workflow's actions (F5, F6,
Shift+F5), and the workflow tells it the stage ("Preparing data…", "Training", "Paused",
"Saving the run…", "Done in 7.0 s") and the progress of the epochs.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QToolBar, QWidget

from netstudio.ui.training.messages import Position
from netstudio.ui.training.panel import format_duration


def progress_text(at: Position) -> str:
    """"Epoch 3/30 · ETA 0:04 · 1,234 samples/s" for the position of a running run."""
    last_epoch = math.ceil(max(at.total_steps, 1) / max(at.steps_per_epoch, 1))
    return (f"Epoch {at.epoch}/{last_epoch} · ETA {format_duration(at.eta_seconds)} · "
            f"{at.samples_per_second:,.0f} samples/s")


class RunToolbar(QToolBar):
    """Device, Train (F5), Pause/Resume (F6), Stop (Shift+F5), the stage and the progress.

    Parameters
    ----------
    start, pause, stop : QAction
        The workflow's actions (their shortcuts and enabled states are theirs).
    device : QComboBox
        The training panel's device box: this toolbar's box shares its model and choice.
    """

    def __init__(self, start: QAction, pause: QAction, stop: QAction, device: QComboBox,
                 parent: QWidget | None = None):
        super().__init__("Run Toolbar", parent)
        self.setObjectName("runToolbar")
        self.setIconSize(QSize(20, 20))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._panel_device = device
        self.device = QComboBox()
        self.device.setObjectName("runDevice")
        self.device.setModel(device.model())
        self.device.setCurrentIndex(device.currentIndex())
        self.device.setToolTip(device.toolTip())
        self.device.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.device.currentIndexChanged.connect(self._on_device_chosen)
        device.currentIndexChanged.connect(self._on_panel_device_changed)
        device_label = QLabel("Device ")
        device_label.setBuddy(self.device)
        self.addWidget(device_label)
        self.addWidget(self.device)
        self.addSeparator()
        self.addActions([start, pause, stop])
        for action in (start, pause, stop):
            self.widgetForAction(action).setObjectName(f"run_{action.objectName()}")
        self.addSeparator()
        self.state = QLabel("Ready")
        self.state.setObjectName("runState")
        self.state.setMinimumWidth(120)
        self.state.setToolTip("What the run is doing")
        self.progress = QProgressBar()
        self.progress.setObjectName("runProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("No run yet")
        self.progress.setMinimumWidth(300)
        self.progress.setMaximumWidth(420)
        self.progress.setToolTip("Epoch, time left and training throughput of the run")
        self.addWidget(self.state)
        self.addWidget(self.progress)

    # -- the device: one list, two boxes --------------------------------------------------------------
    @Slot(int)
    def _on_device_chosen(self, index: int) -> None:
        if index >= 0 and self._panel_device.currentIndex() != index:
            self._panel_device.setCurrentIndex(index)  # the panel's edit is the one that counts

    @Slot(int)
    def _on_panel_device_changed(self, index: int) -> None:
        if self.device.currentIndex() != index:
            self.device.blockSignals(True)
            self.device.setCurrentIndex(index)
            self.device.blockSignals(False)

    # -- what the run is doing ------------------------------------------------------------------------
    def set_stage(self, text: str) -> None:
        """Say what is happening: "Preparing data…", "Training", "Paused", "Saving the run…"."""
        self.state.setText(text)

    def show_started(self) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")

    def show_position(self, at: Position | None) -> None:
        if at is None:
            return
        self.progress.setValue(int(1000 * at.global_step / max(at.total_steps, 1)))
        self.progress.setFormat(progress_text(at))

    def clear_run(self) -> None:
        """Another project: no run yet."""
        self.state.setText("Ready")
        self.progress.setValue(0)
        self.progress.setFormat("No run yet")

    def show_ended(self, words: str, epochs: int) -> None:
        """Training is over ("Finished", "Stopped"...) after *epochs* epochs."""
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(f"{words} after {epochs} epoch{'s' if epochs != 1 else ''}")
