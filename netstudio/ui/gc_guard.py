"""Python's cycle collector runs in the GUI thread only.

Python collects reference cycles in whichever thread happens to allocate when a threshold is
crossed. In NetStudio that is often a worker thread (training; saving a run, whose torch.export
tracing allocates heavily), and the garbage often holds Qt objects: pyqtgraph's menus and plot items
of a view that is gone keep themselves alive in cycles. Destroying a Qt object in a worker thread
takes Qt's locks and then needs the GIL, while the GUI thread holds the GIL and waits for one of
those locks to delete the widgets PySide hands it from that same garbage: the window froze for good
(caught with py-spy in ``tests/ui/test_window_stress.py``, about one run in ten).

So :func:`install` switches automatic collection off and a timer in the GUI thread collects
instead, generation by generation, with Python's own thresholds (pyqtgraph's ``GarbageCollector``
recipe). Garbage then waits at most :data:`INTERVAL_MS` before it is freed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Slot

#: How often the GUI thread looks whether a collection is due.
INTERVAL_MS = 500

_installed: GuiThreadCollector | None = None


class GuiThreadCollector(QObject):
    """Collects reference cycles from a timer in the thread it lives in (the GUI thread)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.collections = [0, 0, 0]
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        gc.disable()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()

    @Slot()
    def check(self) -> None:
        """Collect the oldest generation whose count passed its threshold, as Python would."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                self.collections[generation] += 1
                return


def install() -> GuiThreadCollector:
    """Collect garbage in the GUI thread only, from now on (for the running QCoreApplication)."""
    global _installed
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("install the collector from the GUI thread of a running application")
    if _installed is None:
        _installed = GuiThreadCollector(app)
        _installed.start()
        app.aboutToQuit.connect(_installed.stop)
    elif not _installed.timer.isActive():  # stopped by an earlier quit of this same application
        _installed.start()
    return _installed


def installed() -> GuiThreadCollector | None:
    return _installed
