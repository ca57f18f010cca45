"""Find Learning Rate…: the range test off the GUI thread, its curve, and one click to use the rate.

Signals
-------
rate_chosen(float)
    The user pressed "Use" (the workflow applies it as one undo step).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from netstudio.ui.tasks import TaskRunner


class LearningRateDialog(QDialog):
    """Runs :func:`~netstudio.core.training.lr_finder.find_learning_rate` on a fresh session of the project."""

    rate_chosen = Signal(float)

    def __init__(self, project, dataset, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Find Learning Rate")
        self.resize(640, 460)
        self.project, self.dataset = project.copy(), dataset
        self.range_test = None
        self.runner = TaskRunner(self)
        self.plot = pg.PlotWidget()
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "loss")
        self.raw = self.plot.plot(pen=pg.mkPen((150, 150, 150), width=1))
        self.smooth = self.plot.plot(pen=pg.mkPen("#2a9d8f", width=2))
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#e76f51", width=2))
        self.marker.hide()
        self.plot.addItem(self.marker)
        self.label = QLabel("Training a copy of the model with a rising learning rate…")
        self.label.setWordWrap(True)
        self.progress = QProgressBar()
        self.use = QPushButton("Use This Rate")
        self.use.setEnabled(False)
        self.use.setToolTip("Set the training's learning rate to the suggestion (Undo takes it back)")
        self.use.clicked.connect(lambda _=False: self._use())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.use, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.plot, self.label, self.progress, buttons):
            layout.addWidget(widget)
        self.runner.progressed.connect(lambda done, total: (self.progress.setMaximum(total), self.progress.setValue(done)))
        self.runner.succeeded.connect(self._on_done)
        self.runner.task_failed.connect(lambda message: self.label.setText(f"The range test failed: {message}"))

    def start(self) -> bool:
        project, dataset = self.project, self.dataset

        def work(progress, cancelled):
            from netstudio.core.training.lr_finder import find_learning_rate
            from netstudio.core.training.session import prepare_session

            session = prepare_session(project, dataset=dataset)
            return find_learning_rate(session, progress=progress, cancelled=cancelled)

        return self.runner.start(work)

    @Slot(object)
    def _on_done(self, result) -> None:
        self.range_test = result
        rates = np.log10(np.asarray(result.rates))  # log mode draws log10(x)
        losses = np.asarray(result.losses)
        keep = np.isfinite(losses)
        self.raw.setData(10 ** rates[keep], losses[keep])
        self.smooth.setData(10 ** rates[keep], np.asarray(result.smoothed)[keep])
        self.marker.setValue(np.log10(result.suggestion))
        self.marker.show()
        self.label.setText(f"Lowest loss at {result.best_rate:.3g}; suggested learning rate "
                           f"<b>{result.suggestion:g}</b> (a tenth of it).")
        self.use.setText(f"Use {result.suggestion:g}")
        self.use.setEnabled(True)
        self.progress.setValue(self.progress.maximum())

    def _use(self) -> None:
        if self.range_test is not None:
            self.rate_chosen.emit(self.range_test.suggestion)
            self.accept()

    def done(self, code: int) -> None:  # closing cancels the test and joins its thread
        self.runner.shutdown()
        super().done(code)
