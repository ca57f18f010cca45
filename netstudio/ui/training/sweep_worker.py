"""A hyper-parameter sweep off the GUI thread: :class:`SweepWorker` runs a core
:class:`~netstudio.core.search.sweep.Sweep`, one trial at a time; :class:`SweepController` owns it.

Like a training run (:mod:`netstudio.ui.training.worker`): stopping goes straight to the sweep's
thread-safe ``request_stop(now=True)`` (the running trial stops after its current batch, and no
new one starts), closing the window joins the thread, and what crosses threads is frozen data.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from netstudio.core.errors import describe
from netstudio.core.search.sweep import SweepListener, TrialResult
from netstudio.core.training.states import Callback
from netstudio.ui.tasks import ThreadOwner, Worker
from netstudio.ui.training.worker import leave_a_core


@dataclass(frozen=True)
class SweepUpdate:
    """After a trial: that trial, every finished trial ranked (best first) and the importances."""

    result: TrialResult
    ranked: tuple[TrialResult, ...]
    importance: dict


class _Epochs(Callback):
    def __init__(self, worker: SweepWorker, number: int):
        self.worker, self.number = worker, number

    def on_epoch_end(self, metrics):
        self.worker.epoch_ended.emit(self.number, metrics)


class _Relay(SweepListener):
    def __init__(self, worker: SweepWorker):
        self.worker = worker
        self.number = -1

    def on_trial_start(self, start):
        self.number = start.number
        self.worker.trial_started.emit(start)

    def training_callbacks(self):
        return (_Epochs(self.worker, self.number),)

    def on_trial_end(self, result):
        sweep = self.worker.sweep
        self.worker.trial_finished.emit(SweepUpdate(result, tuple(sweep.results()), sweep.importance()))


class SweepWorker(Worker):
    """Runs a sweep's trials in a worker thread.

    Signals
    -------
    trial_started(TrialStart), epoch_ended(int, EpochMetrics), trial_finished(SweepUpdate)
    sweep_finished(bool)
        The sweep ended; True when it was stopped.
    sweep_failed(str)
        A one-line message (the sweep could not run at all).
    done()
        Always last.
    """

    trial_started = Signal(object)
    epoch_ended = Signal(int, object)
    trial_finished = Signal(object)
    sweep_finished = Signal(bool)
    sweep_failed = Signal(str)

    def __init__(self, sweep, trials: int | None = None):
        super().__init__()
        self.sweep = sweep
        self.trials = trials

    @Slot()
    def run(self) -> None:
        try:
            with leave_a_core("cpu"):
                self.sweep.run(trials=self.trials, listeners=[_Relay(self)])
            self.sweep_finished.emit(self.sweep.stopped)
        except Exception as exc:  # the window must survive anything a sweep throws
            traceback.print_exc()
            self.sweep_failed.emit(describe(exc))
        finally:
            self.return_home()
            self.done.emit()


class SweepController(ThreadOwner):
    """Starts one sweep at a time on a worker thread and relays its signals (see :class:`SweepWorker`)."""

    trial_started = Signal(object)
    epoch_ended = Signal(int, object)
    trial_finished = Signal(object)
    sweep_finished = Signal(bool)
    sweep_failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.sweep = None

    def start(self, project, dataset, run_dir: Callable[[int], Path] | None = None) -> bool:
        """Sweep *project* (a copy the window no longer edits) on *dataset*; False if one is running.

        Raises
        ------
        NetStudioError
            A bad sweep section (no parameters, a path the project lacks, a metric the task lacks).
        """
        if self.is_running:
            return False
        from netstudio.core.search.sweep import Sweep

        # trials keep their weights (all Export needs), not model files: a sweep is many runs
        sweep = Sweep(project, dataset=dataset, run_dir=run_dir)
        sweep.prepare()
        self.sweep = sweep
        worker = SweepWorker(sweep)
        for name in ("trial_started", "epoch_ended", "trial_finished", "sweep_finished", "sweep_failed"):
            getattr(worker, name).connect(getattr(self, name))
        self._start_worker(worker)
        return True

    def stop(self) -> None:
        """Stop the running trial after its current batch and start no other."""
        if self.is_running and self.sweep is not None:
            self.sweep.request_stop(now=True)

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Stop and join the worker thread (closing the window); True if it ended in time."""
        return self._join(timeout_ms, self.stop)
