"""Background work off the GUI thread: training runs and other long tasks (loading data, exporting).

Both follow superqt's ``new_worker_qthread`` recipe: a QObject worker moved to a QThread,
``thread.started -> worker.run``, ``worker.done -> thread.quit``. A controller in the GUI thread
owns them, re-emits their signals and emits ``idle`` from a GUI-thread slot once the thread has
really finished — wait on that, never on ``thread.finished``.

A worker is destroyed in the GUI thread, never in its own (see :class:`Worker`).

Stopping never goes through a queued slot (it would not run while ``run()`` blocks): the controller
calls the trainer's thread-safe ``request_stop()`` directly. Progress is coalesced to at most
:data:`EMIT_RATE` signals a second and carries floats, dicts and numpy arrays, never tensors.
Training on the CPU leaves a core to the GUI thread (:func:`leave_a_core`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
import weakref
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from netstudio.core.errors import NetStudioError
from netstudio.core.training.trainer import Callback

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


def describe_error(exc: BaseException) -> str:
    """One line for the user: our own errors as they are, anything else as an internal error."""
    if isinstance(exc, NetStudioError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


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
        self.epochs: list[dict] = []
        self.started = time.perf_counter()
        self.first_step = 0
        self.paused_at_start = 0.0

    def on_fit_start(self, start):
        self.started = time.perf_counter()
        self.paused_at_start = self.clock.total()
        self.first_step = (start.first_epoch - 1) * start.steps_per_epoch
        self.worker.run_started.emit({
            "epochs": start.epochs, "first_epoch": start.first_epoch, "steps_per_epoch": start.steps_per_epoch,
            "n_train": start.n_train, "n_val": start.n_val, "device": start.device,
            "parameters": start.parameters, "loss": start.loss,
        })

    def on_batch_end(self, state):
        self.state = self.last_state = state
        if time.perf_counter() - self.last_emit >= 1.0 / EMIT_RATE:
            self.flush()

    def on_epoch_end(self, metrics):
        self._collect()
        self.state, self.read = None, 0
        row = metrics.row()
        row["best_epoch"] = metrics.best_epoch
        self.epochs.append(row)
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
        payload: dict = {"epochs": self.epochs}
        self.epochs = []
        if self.pending_x:
            payload["step_x"] = np.concatenate(self.pending_x)
            payload["step_loss"] = np.concatenate(self.pending_loss)
            self.pending_x, self.pending_loss = [], []
        state = self.last_state
        if state is not None:
            done = state.global_step - self.first_step
            active = max(now - self.started - (self.clock.total() - self.paused_at_start), 1e-9)
            per_step = state.samples_seen / max(state.step, 1)
            payload.update({
                "epoch": state.epoch, "step": state.step, "steps_per_epoch": state.steps_per_epoch,
                "global_step": state.global_step, "total_steps": state.total_steps,
                "eta_seconds": (state.total_steps - state.global_step) * active / max(done, 1),
                "samples_per_second": done * per_step / active,
            })
        self.last_emit = now
        self.worker.progressed.emit(payload)


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


class TrainingWorker(Worker):
    """Runs one training (or continuation) of a session in a worker thread, then saves the run.

    Signals
    -------
    run_started(dict)
        epochs, first_epoch, steps_per_epoch, n_train, n_val, device, parameters, loss.
    progressed(dict)
        Coalesced: new ``epochs`` rows, ``step_x``/``step_loss`` arrays, epoch, step, ETA, samples/s.
    run_finished(dict)
        ``summary`` (the summary.json document) and ``run_dir`` (a str, or None if saving failed).
    run_failed(str)
        A one-line message; nothing more happened.
    done()
        Always last; the thread quits on it.
    """

    run_started = Signal(object)
    progressed = Signal(object)
    run_finished = Signal(object)
    run_failed = Signal(str)

    def __init__(self, session, *, epochs: int | None = None, out_dir: Callable[[], str] | None = None,
                 clock: PauseClock | None = None, callbacks: tuple = ()):
        super().__init__()
        self.session = session
        self.callbacks = tuple(callbacks)  # more trainer callbacks, run in this thread (probes)
        self.epochs = epochs
        self.out_dir = out_dir
        self.clock = clock or PauseClock()

    @Slot()
    def run(self) -> None:
        try:
            callbacks = [_Bridge(self, self.clock), *self.callbacks]
            with leave_a_core(self.session.trainer.device):
                if self.epochs is None:
                    summary = self.session.fit(callbacks)
                else:
                    summary = self.session.continue_fit(self.epochs, callbacks)
            self.run_finished.emit(self._save(summary))
        except Exception as exc:  # the window must survive anything a run throws
            traceback.print_exc()
            self.run_failed.emit(describe_error(exc))
        finally:
            self.return_home()
            self.done.emit()

    def _save(self, summary) -> dict:
        from netstudio.core.runs.folder import summary_doc, write_run

        result = {"summary": summary_doc(self.session, summary), "run_dir": None, "save_error": None,
                  "status": summary.status, "message": summary.message}
        try:
            folder = write_run(self.session, summary, self.out_dir() if self.out_dir else None)
            result["run_dir"] = str(folder)
        except NetStudioError as exc:
            result["save_error"] = str(exc)
        return result


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
                self.task_failed.emit(describe_error(exc))
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
