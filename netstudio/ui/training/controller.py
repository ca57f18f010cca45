"""The GUI-thread owner of training runs: one at a time, stoppable, pausable, joinable on close."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from netstudio.ui.training.worker import (
    PauseClock,
    TaskWorker,
    TrainingWorker,
    Worker,
    release_worker,
    start_in_thread,
)


class _ThreadOwner(QObject):
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


class TrainingController(_ThreadOwner):
    """Starts training sessions on a worker thread and relays what happens.

    Only one run exists at a time: :meth:`start` refuses while one is running (the Train button
    is disabled then, so this is a guard, not the user's path).

    Signals
    -------
    run_started(dict), progressed(dict), run_finished(dict), run_failed(str)
        Relayed from :class:`~netstudio.ui.training.worker.TrainingWorker`.
    running_changed(bool), idle()
        See :class:`_ThreadOwner`.
    paused_changed(bool)
    """

    run_started = Signal(object)
    progressed = Signal(object)
    run_finished = Signal(object)
    run_failed = Signal(str)
    paused_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.session = None
        self._clock = PauseClock()
        self.last_result: dict | None = None

    @property
    def is_paused(self) -> bool:
        return self.session is not None and self.session.trainer.paused

    def can_continue(self) -> bool:
        return not self.is_running and self.session is not None and self.session.summary is not None

    def start(self, session, out_dir: Callable[[], str] | None = None, callbacks: tuple = ()) -> bool:
        """Train *session* from scratch; False if a run is already going.

        *callbacks* are extra trainer callbacks (probes) run in the worker thread.
        """
        if self.is_running:
            return False
        self.session = session
        return self._launch(TrainingWorker(session, out_dir=out_dir, clock=self._new_clock(), callbacks=callbacks))

    def continue_training(self, epochs: int, out_dir: Callable[[], str] | None = None, callbacks: tuple = ()) -> bool:
        """Train the last session *epochs* more epochs from where it ended."""
        if not self.can_continue():
            return False
        return self._launch(TrainingWorker(self.session, epochs=epochs, out_dir=out_dir, clock=self._new_clock(),
                                           callbacks=callbacks))

    def _new_clock(self) -> PauseClock:
        self._clock = PauseClock()
        return self._clock

    def _launch(self, worker: TrainingWorker) -> bool:
        worker.run_started.connect(self.run_started)
        worker.progressed.connect(self.progressed)
        worker.run_finished.connect(self._on_worker_finished)
        worker.run_failed.connect(self.run_failed)
        self._start_worker(worker)
        return True

    @Slot(object)
    def _on_worker_finished(self, result: dict) -> None:
        self.last_result = result
        self.run_finished.emit(result)

    def _released(self) -> None:
        self.paused_changed.emit(False)

    def pause(self) -> None:
        if self.is_running and not self.is_paused:
            self._clock.pause()
            self.session.trainer.pause()
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self.is_running and self.is_paused:
            self._clock.resume()
            self.session.trainer.resume()
            self.paused_changed.emit(False)

    def stop(self) -> None:
        """Stop the run after the current batch (it still saves a valid partial run)."""
        if self.is_running:
            self._clock.resume()
            self.session.trainer.request_stop()

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Stop and join the worker thread (closing the window); True if it ended in time."""
        return self._join(timeout_ms, self.stop)


class TaskRunner(_ThreadOwner):
    """Runs one background task at a time (load a dataset, export a model) with progress and cancel.

    Signals
    -------
    progressed(int, int), succeeded(object), task_failed(str)
        Relayed from :class:`~netstudio.ui.training.worker.TaskWorker`.
    running_changed(bool), idle()
        See :class:`_ThreadOwner`.
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
