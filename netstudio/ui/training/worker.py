"""A training run off the GUI thread: :class:`TrainingWorker` trains a session and saves the run.

It is a :class:`~netstudio.ui.tasks.Worker` (see :mod:`netstudio.ui.tasks` for the thread recipe),
owned by the :class:`~netstudio.ui.training.controller.TrainingController`.

Stopping never goes through a queued slot (it would not run while ``run()`` blocks): the controller
calls the trainer's thread-safe ``request_stop()`` directly. Progress is coalesced to at most
:data:`~netstudio.ui.tasks.EMIT_RATE` signals a second; what crosses the thread is a frozen dataclass
(:mod:`netstudio.ui.training.messages`) of floats, numpy arrays and the core's states, never tensors.
Training on the CPU leaves a core to the GUI thread (:func:`leave_a_core`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal, Slot

from netstudio.core.errors import NetStudioError, describe
from netstudio.core.training.states import Callback, EpochMetrics
from netstudio.ui.tasks import EMIT_RATE, Worker
from netstudio.ui.training.messages import Position, RunFinished, RunProgress


def available_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def leave_a_core(device):
    """While training on the CPU, PyTorch uses one core fewer than there are (at least one).

    The window's own thread needs a core too. When PyTorch's OpenMP workers hold every core, each
    repaint preempts one of them and the others wait for it at the next barrier: on a 2-core machine,
    or any busy one, training ran several times slower and the window stuttered
    (``benchmarks/responsiveness.py``). PyTorch's setting is restored afterwards.
    """
    import torch

    before = torch.get_num_threads()
    wanted = min(before, max(1, available_cores() - 1))
    if getattr(device, "type", str(device)) != "cpu" or wanted == before:
        yield
        return
    torch.set_num_threads(wanted)  # this thread's setting, and that of threads started later
    try:
        yield
    finally:
        torch.set_num_threads(before)


class PauseClock:
    """Seconds spent paused, shared between the GUI thread (which pauses) and the worker (ETA)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._total = 0.0
        self._since: float | None = None

    def pause(self) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.perf_counter()

    def resume(self) -> None:
        with self._lock:
            if self._since is not None:
                self._total += time.perf_counter() - self._since
                self._since = None

    def total(self) -> float:
        with self._lock:
            ongoing = time.perf_counter() - self._since if self._since is not None else 0.0
            return self._total + ongoing


class _Bridge(Callback):
    """Turns trainer callbacks (worker thread) into coalesced Qt signals.

    Step losses stay on the device until a flush reads them in one go; at each epoch's end the
    epoch's unsent losses move to a pending buffer (its list is replaced by the next epoch's), so
    even thousands of tiny epochs a second still make at most :data:`EMIT_RATE` signals.
    """

    def __init__(self, worker: TrainingWorker, clock: PauseClock):
        self.worker, self.clock = worker, clock
        self.last_emit = 0.0
        self.read = 0           # step losses of the current epoch already collected
        self.state = None       # the latest batch state of the running epoch (None between epochs)
        self.last_state = None
        self.pending_x: list[np.ndarray] = []
        self.pending_loss: list[np.ndarray] = []
        self.epochs: list[EpochMetrics] = []
        self.started = time.perf_counter()
        self.first_step = 0
        self.paused_at_start = 0.0

    def on_fit_start(self, start):
        self.started = time.perf_counter()
        self.paused_at_start = self.clock.total()
        self.first_step = (start.first_epoch - 1) * start.steps_per_epoch
        self.worker.run_started.emit(start)

    def on_batch_end(self, state):
        self.state = self.last_state = state
        if time.perf_counter() - self.last_emit >= 1.0 / EMIT_RATE:
            self.flush()

    def on_epoch_end(self, metrics):
        self._collect()
        self.state, self.read = None, 0
        self.epochs.append(metrics)
        if time.perf_counter() - self.last_emit >= 1.0 / EMIT_RATE:
            self.flush()

    def on_fit_end(self, summary):
        self.flush()

    def _collect(self) -> None:
        state = self.state
        if state is None or self.read >= state.step:
            return
        import torch

        new = state.step_losses[self.read:state.step]
        steps = np.arange(self.read + 1, state.step + 1)
        self.pending_x.append((state.epoch - 1) + steps / state.steps_per_epoch)
        self.pending_loss.append(torch.stack(new).float().cpu().numpy().astype(np.float64))
        self.read = state.step

    def flush(self) -> None:
        self._collect()
        now = time.perf_counter()
        steps = (np.concatenate(self.pending_x), np.concatenate(self.pending_loss)) if self.pending_x else (None, None)
        progress = RunProgress(tuple(self.epochs), *steps, self._position(now))
        self.epochs, self.pending_x, self.pending_loss = [], [], []
        self.last_emit = now
        self.worker.progressed.emit(progress)

    def _position(self, now: float) -> Position | None:
        state = self.last_state
        if state is None:
            return None
        done = state.global_step - self.first_step
        active = max(now - self.started - (self.clock.total() - self.paused_at_start), 1e-9)
        per_step = state.samples_seen / max(state.step, 1)
        return Position(state.epoch, state.step, state.steps_per_epoch, state.global_step, state.total_steps,
                        eta_seconds=(state.total_steps - state.global_step) * active / max(done, 1),
                        samples_per_second=done * per_step / active)


class TrainingWorker(Worker):
    """Runs one training (or continuation) of a session in a worker thread, then saves the run.

    Signals
    -------
    run_started(FitStart)
        The trainer's own start state: epochs, steps per epoch, sizes, device, parameters, loss.
    progressed(RunProgress)
        Coalesced: new epochs, new step losses, the position and ETA (:mod:`.messages`).
    stage_changed(str)
        What the run is doing before and after its epochs: "Preparing data…", "Saving the run…".
    fit_ended(RunFinished)
        Training is over (the folder is not written yet: ``run_dir`` is None); saving follows.
    run_finished(RunFinished)
        How the run ended, its summary.json document and its folder (None if saving failed).
    run_failed(str)
        A one-line message; nothing more happened.
    done()
        Always last; the thread quits on it.
    """

    stage_changed = Signal(str)
    run_started = Signal(object)
    progressed = Signal(object)
    fit_ended = Signal(object)
    run_finished = Signal(object)
    run_failed = Signal(str)

    def __init__(self, session, *, epochs: int | None = None, out_dir: Callable[[], str] | None = None,
                 clock: PauseClock | None = None, callbacks: tuple = (), resume=None):
        super().__init__()
        self.session = session
        self.resume = resume  # a ResumePoint: go on from a saved run (epochs: the session's own)
        self.callbacks = tuple(callbacks)  # more trainer callbacks, run in this thread (probes)
        self.epochs = epochs
        self.out_dir = out_dir
        self.clock = clock or PauseClock()

    @Slot()
    def run(self) -> None:
        try:
            callbacks = [_Bridge(self, self.clock), *self.callbacks]
            self.stage_changed.emit("Preparing data…")  # the tensors move to the device first
            with leave_a_core(self.session.trainer.device):
                if self.epochs is None:
                    summary = self.session.fit(callbacks, resume=self.resume)
                else:
                    summary = self.session.continue_fit(self.epochs, callbacks)
            # The window shows the run as finished and unlocks the design now; the folder follows.
            from netstudio.core.runs.folder import summary_doc

            self.fit_ended.emit(RunFinished(summary.status, summary.message, summary_doc(self.session, summary)))
            self.stage_changed.emit("Saving the run…")
            self.run_finished.emit(self._save(summary))
        except Exception as exc:  # the window must survive anything a run throws
            traceback.print_exc()
            self.run_failed.emit(describe(exc))
        finally:
            self.return_home()
            self.done.emit()

    def _save(self, summary) -> RunFinished:
        from netstudio.core.export.exporter import write_run_models
        from netstudio.core.runs.folder import save_run, summary_doc

        doc = summary_doc(self.session, summary)
        try:
            folder = save_run(self.session, summary, self.out_dir() if self.out_dir else None,
                              write_models=write_run_models)
        except NetStudioError as exc:
            return RunFinished(summary.status, summary.message, doc, save_error=str(exc))
        return RunFinished(summary.status, summary.message, doc, run_dir=str(folder))


