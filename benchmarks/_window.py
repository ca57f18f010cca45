"""Training in the real window, for the benchmarks: a MainWindow offscreen with its live plot.

:class:`WindowBench` opens a project (an ``.npz`` dataset and a layer stack written into a
temporary folder) in a real :class:`~netstudio.ui.window.main_window.MainWindow`, waits for the data
panel to load it, then trains through the window's own path (``TrainingWorkflow.start_training``:
the worker thread, the controller, the training panel's progress and log, the loss plot's paced
redraws) inside a running Qt event loop, and reports how long the trainer's ``fit`` took.

:class:`LatenessProbe` is the event-loop probe: a precise 10 ms single-shot timer, re-armed each
time it fires, that records how late it came.

Settings go to an INI file in the temporary folder, so that nothing touches the user's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QObject, QSettings, Qt, QTimer, Slot, qInstallMessageHandler  # noqa: E402


def _quiet(mode, context, message) -> None:
    """Drop the offscreen platform's chatter; let everything else through."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


qInstallMessageHandler(_quiet)


class LatenessProbe(QObject):
    """A 10 ms timer in the GUI thread that records how late each of its ticks fires (seconds)."""

    def __init__(self, interval_ms: int = 10):
        super().__init__()
        self.interval = interval_ms / 1000
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timeout)
        self.lateness: list[float] = []
        self.fired: list[float] = []
        self._armed = 0.0

    def start(self) -> None:
        self.lateness, self.fired = [], []
        self._arm()

    def stop(self) -> None:
        self.timer.stop()

    def _arm(self) -> None:
        self._armed = time.perf_counter()
        self.timer.start()

    @Slot()
    def _on_timeout(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self._armed - self.interval))
        self.fired.append(now)
        self._arm()

    def summary(self, start: float = -np.inf, end: float = np.inf) -> dict:
        """Ticks, p50, p99 and max lateness in ms, of the ticks that fired between *start* and *end*."""
        fired = np.asarray(self.fired)
        late = np.asarray(self.lateness)[(fired >= start) & (fired <= end)] * 1000
        if not len(late):
            return {"ticks": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
        return {"ticks": len(late), "p50": float(np.percentile(late, 50)), "p99": float(np.percentile(late, 99)),
                "max": float(late.max())}


class WindowBench:
    """A real main window, offscreen, that trains projects and times the trainer's ``fit``."""

    def __init__(self, size=(1280, 800)):
        from netstudio.core.training import session as session_module
        from netstudio.ui.app import create_application
        from netstudio.ui.settings import Settings
        from netstudio.ui.window.main_window import MainWindow

        self.folder = tempfile.TemporaryDirectory(prefix="netstudio-bench-")
        root = Path(self.folder.name)
        self.app = create_application()
        self.window = MainWindow(settings=Settings(QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)))
        self.window.resize(*size)
        self.window.show()
        self.workflow = self.window.workflow
        self.fit_seconds: list[float] = []
        self.fit_spans: list[tuple[float, float]] = []
        self.results: list[dict] = []
        self.workflow.controller.run_finished.connect(self._on_run_finished)
        self._count = 0
        # Time the trainer's fit where it runs (the worker thread), as the other loops are timed.
        original = session_module.TrainingSession.fit
        bench = self

        def timed_fit(session, callbacks=(), **kwargs):
            start = time.perf_counter()
            try:
                return original(session, callbacks, **kwargs)
            finally:
                end = time.perf_counter()
                bench.fit_seconds.append(end - start)
                bench.fit_spans.append((start, end))

        session_module.TrainingSession.fit = timed_fit
        self.spin(0.3)

    def _on_run_finished(self, result) -> None:
        self.results.append(result)

    def spin(self, seconds: float) -> None:
        """Run the event loop for *seconds*."""
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def open(self, layers, x, y, *, task: str, batch_size: int, optimizer: str, epochs: int,
             learning_rate: float = 0.01, validation_split: float = 0.0, normalize: bool = False,
             device: str = "cpu") -> None:
        """Open a project training *layers* on ``(x, y)`` and wait until the window has loaded the data."""
        from netstudio.core.design.stack import LayerStack
        from netstudio.core.project import Project

        self._count += 1
        folder = Path(self.folder.name) / f"project{self._count}"
        folder.mkdir()
        np.savez(folder / "data.npz", X=x, y=y)
        training = {"optimizer": optimizer, "learning_rate": learning_rate, "momentum": 0.9, "batch_size": batch_size,
                    "epochs": epochs, "device": device, "seed": 0}
        project = Project(name=f"bench{self._count}", stack=LayerStack([s.copy() for s in layers]),
                          data={"source": "npz", "path": str(folder / "data.npz"), "task": task, "validation_split": validation_split,
                                "normalize": normalize, "seed": 0},
                          training=training)
        path = project.save(folder / "bench.nsproj")
        panel = self.workflow.data_panel
        if not self.window.open_project(path):
            raise RuntimeError(f"the window could not open {path}")
        deadline = time.perf_counter() + 120
        while panel.is_loading and time.perf_counter() < deadline:
            self.spin(0.05)
        if panel.dataset is None:
            raise RuntimeError(f"the window could not load the data: {panel.source_label.text()}")
        reason = self.workflow.ready_reason()
        if reason:
            raise RuntimeError(f"the window cannot train: {reason}")

    def train(self, probe: LatenessProbe | None = None, epochs: int | None = None) -> float:
        """Click Train and run the event loop until the run has ended; returns the fit's seconds."""
        if epochs is not None:
            self.workflow.training_panel.epochs.setValue(epochs)
        controller = self.workflow.controller
        loop = QEventLoop()
        controller.idle.connect(loop.quit)
        before = len(self.fit_seconds)
        if probe is not None:
            probe.start()
        if not self.workflow.start_training():
            controller.idle.disconnect(loop.quit)
            raise RuntimeError("training did not start")
        loop.exec()
        if probe is not None:
            probe.stop()
        controller.idle.disconnect(loop.quit)
        if len(self.fit_seconds) != before + 1:
            raise RuntimeError("the run ended without a fit")
        result = self.results[-1]
        if result.status != "completed":
            raise RuntimeError(f"the run ended {result.status}: {result.message}")
        return self.fit_seconds[-1]

    def close(self) -> None:
        self.window.design.mark_saved()  # no "save changes?" question
        self.window.close()
        self.window.deleteLater()
        self.spin(0.1)
        self.folder.cleanup()
