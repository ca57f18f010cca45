"""Background work off the GUI thread: one task at a time, with progress, cancel and a clean join.

Every worker follows superqt's ``new_worker_qthread`` recipe: a QObject worker moved to a QThread,
``thread.started -> worker.run``, ``worker.done -> thread.quit``. An owner in the GUI thread
(:class:`ThreadOwner`) starts it, re-emits its signals and emits ``idle`` from a GUI-thread slot
once the thread has really finished — wait on that, never on ``thread.finished``. A worker is
destroyed in the GUI thread, never in its own (see :class:`Worker`).

:class:`TaskRunner` runs a plain function this way (loading data, exporting a model); training
has its own worker and owner (:mod:`netstudio.ui.training.worker`, :mod:`~netstudio.ui.training.controller`).
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from netstudio.core.errors import NetStudioError, describe

#: Progress signals per second, at most. Each one wakes the GUI thread, which then takes the GIL
#: from the training thread between two of its operations: at 30 a second, small models trained
#: about 5 % slower in the window than outside it (``benchmarks/training_throughput.py``).
EMIT_RATE = 15
_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Threads started here that are still running (tests assert there are none left)."""
    alive = []
    for thread in list(_threads):
        try:
            if thread.isRunning():
                alive.append(thread)
        except RuntimeError:  # the C++ object is already deleted: not running
            pass
    return alive


class Worker(QObject):
    """A QObject that runs in a worker thread and is destroyed in the GUI thread.

    Destroying a QObject in a worker thread deadlocked the window now and then (CI hung for good,
    caught with py-spy): ``~QObject`` holds Qt's signal-slot lock while it tells the senders still
    connected to it (its QThread's ``started``) that they lost a receiver, and PySide takes the GIL
    there to look for a Python override; the GUI thread, holding the GIL, waited for that same lock
    to connect the plot items of the run just finished. So :meth:`return_home` hands the worker
    back to the GUI thread as its last act, and its owner deletes it once the thread has been
    joined (:func:`release_worker`).
    """

    done = Signal()

    def __init__(self):
        super().__init__()
        app = QCoreApplication.instance()
        self._home = app.thread() if app is not None else QThread.currentThread()

    def return_home(self) -> None:
        """Move to the thread this worker was made in (called last, from the worker thread)."""
        if self.thread() is not self._home:
            self.moveToThread(self._home)


class TaskWorker(Worker):
    """Runs ``fn(progress, cancelled)`` in a worker thread: data loading, exports.

    Signals
    -------
    progressed(int, int)
        done, total (coalesced).
    succeeded(object)
        The function's return value.
    task_failed(str)
        A one-line message (cancelled tasks fail with "cancelled").
    done()
        Always last.
    """

    progressed = Signal(int, int)
    succeeded = Signal(object)
    task_failed = Signal(str)

    def __init__(self, fn: Callable):
        super().__init__()
        self.fn = fn
        self.cancel_event = threading.Event()
        self._last = 0.0

    def _progress(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._last >= 1.0 / EMIT_RATE or done >= total:
            self._last = now
            self.progressed.emit(int(done), int(total))

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self._progress, self.cancel_event.is_set)
            if self.cancel_event.is_set():
                self.task_failed.emit("cancelled")
            else:
                self.succeeded.emit(result)
        except Exception as exc:
            if self.cancel_event.is_set():
                self.task_failed.emit("cancelled")
            else:
                if not isinstance(exc, NetStudioError):
                    traceback.print_exc()
                self.task_failed.emit(describe(exc))
        finally:
            self.return_home()
            self.done.emit()


def start_in_thread(worker: Worker, owner: QObject, on_finished: Callable[[], None]) -> QThread:
    """Move *worker* to a new QThread and start it.

    *on_finished* must be a slot of a QObject living in the GUI thread (like *owner*'s): connected
    to ``thread.finished``, a plain function would run in the finishing thread instead. Once the
    thread has finished and been waited for, the owner calls :func:`release_worker`.
    """
    thread = QThread(owner)  # owned by Qt: deleteLater frees it, never a Python garbage collection
    _threads.add(thread)
    # A parentless QObject lives only as long as its Python wrapper: keep the worker referenced.
    thread.worker = worker
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: quit() is thread-safe, and a queued call would never arrive while the GUI thread
    # is blocked joining this thread (closing the window).
    worker.done.connect(thread.quit, Qt.DirectConnection)
    thread.finished.connect(on_finished)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread


def release_worker(thread: QThread) -> None:
    """Delete the worker of *thread*, which has finished and been waited for, in the GUI thread.

    Not sooner: until the thread has returned from ``worker.run``, Qt still refers to the worker
    there.
    """
    worker = getattr(thread, "worker", None)
    thread.worker = None
    if worker is not None:
        worker.deleteLater()  # (back in the GUI thread: see Worker)


class ThreadOwner(QObject):
    """Owns one worker thread at a time: starts it, hears in the GUI thread that it ended, joins it.

    Signals
    -------
    running_changed(bool)
        A worker began, or its thread has finished and been joined.
    idle()
        The worker thread has finished and been released (emitted in the GUI thread).
    """

    running_changed = Signal(bool)
    idle = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None

    def _start_worker(self, worker: Worker) -> None:
        self._thread = start_in_thread(worker, self, self._on_thread_finished)
        self.running_changed.emit(True)

    @Slot()
    def _on_thread_finished(self) -> None:
        if self.sender() is not self._thread:  # already released by _join()
            return
        self._release()

    def _release(self) -> None:
        # finished() is emitted just before the thread really ends: join it before letting go.
        self._thread.wait()
        release_worker(self._thread)
        self._thread = None
        self.running_changed.emit(False)
        self._released()
        self.idle.emit()

    def _released(self) -> None:
        """Subclasses' chance to reset their state once the thread is gone."""

    def _join(self, timeout_ms: int, stop: Callable[[], None]) -> bool:
        """Ask the worker to end with *stop*, wait for its thread; True if it ended in time."""
        thread = self._thread
        if thread is None:
            return True
        stop()
        if not thread.wait(timeout_ms):
            return False
        self._release()  # the queued finished() notice would only arrive after we return
        return True


class TaskRunner(ThreadOwner):
    """Runs one background task at a time (load a dataset, export a model) with progress and cancel.

    Signals
    -------
    progressed(int, int), succeeded(object), task_failed(str)
        Relayed from :class:`~netstudio.ui.tasks.TaskWorker`.
    running_changed(bool), idle()
        See :class:`ThreadOwner`.
    """

    progressed = Signal(int, int)
    succeeded = Signal(object)
    task_failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker: TaskWorker | None = None

    def start(self, fn: Callable) -> bool:
        """Run ``fn(progress, cancelled)``; False if a task is already running."""
        if self.is_running:
            return False
        worker = TaskWorker(fn)
        worker.progressed.connect(self.progressed)
        worker.succeeded.connect(self.succeeded)
        worker.task_failed.connect(self.task_failed)
        self._worker = worker
        self._start_worker(worker)
        return True

    def cancel(self) -> None:
        if self._worker is not None and self.is_running:
            self._worker.cancel_event.set()

    def _released(self) -> None:
        self._worker = None

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel the running task and join its thread; True if it ended in time."""
        return self._join(timeout_ms, self.cancel)
