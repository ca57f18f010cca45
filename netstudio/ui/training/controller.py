"""The GUI-thread owner of training runs: one at a time, stoppable, pausable, joinable on close."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from netstudio.ui.tasks import ThreadOwner
from netstudio.ui.training.worker import PauseClock, TrainingWorker


class TrainingController(ThreadOwner):
    """Starts training sessions on a worker thread and relays what happens.

    Only one run exists at a time: :meth:`start` refuses while one is running (the Train button
    is disabled then, so this is a guard, not the user's path).

    Signals
    -------
    stage_changed(str), run_started(FitStart), progressed(RunProgress), fit_ended(RunFinished),
    run_finished(RunFinished), run_failed(str)
        Relayed from :class:`~netstudio.ui.training.worker.TrainingWorker`. Between ``fit_ended``
        and ``idle`` the run is saving (:attr:`is_saving`): no training goes on, the thread still runs.
    running_changed(bool), idle()
        See :class:`ThreadOwner`.
    paused_changed(bool)
    """

    stage_changed = Signal(str)
    run_started = Signal(object)
    progressed = Signal(object)
    fit_ended = Signal(object)
    run_finished = Signal(object)
    run_failed = Signal(str)
    paused_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.session = None
        self._clock = PauseClock()
        self._saving = False

    @property
    def is_saving(self) -> bool:
        """Training has ended and the run folder is being written."""
        return self.is_running and self._saving

    @property
    def is_training(self) -> bool:
        """A run is training (not merely saving what it trained)."""
        return self.is_running and not self._saving

    @property
    def is_paused(self) -> bool:
        return self.session is not None and self.session.trainer.paused

    def can_continue(self) -> bool:
        return not self.is_running and self.session is not None and self.session.summary is not None

    def start(self, session, out_dir: Callable[[], str] | None = None, callbacks: tuple = (),
              resume=None) -> bool:
        """Train *session* from scratch, or on from a saved run's state *resume* (a ``ResumePoint``:
        weights, optimizer, scheduler, generators); False if a run is already going.

        *callbacks* are extra trainer callbacks (probes) run in the worker thread.
        """
        if self.is_running:
            return False
        self.session = session
        return self._launch(TrainingWorker(session, out_dir=out_dir, clock=self._new_clock(), callbacks=callbacks,
                                           resume=resume))

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
        self._saving = False
        worker.stage_changed.connect(self.stage_changed)
        worker.run_started.connect(self.run_started)
        worker.progressed.connect(self.progressed)
        worker.fit_ended.connect(self._on_fit_ended)
        worker.run_finished.connect(self.run_finished)
        worker.run_failed.connect(self.run_failed)
        self._start_worker(worker)
        return True

    @Slot(object)
    def _on_fit_ended(self, result) -> None:
        self._saving = True
        self.fit_ended.emit(result)

    def _released(self) -> None:
        self._saving = False
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


