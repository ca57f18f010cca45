"""What the training thread sends the window: frozen dataclasses, never dicts with string keys.

The worker emits, in this order: ``stage_changed(str)`` ("Preparing data…"), ``run_started(FitStart)``
(the core's own state), any number of ``progressed(RunProgress)`` (coalesced), then
``fit_ended(RunFinished)`` (training is over, no folder yet) and ``stage_changed("Saving the run…")``,
then ``run_finished(RunFinished)`` once the run folder is written, or ``run_failed(str)``.
They hold floats, numpy arrays and the core's frozen states, never tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netstudio.core.training.states import EpochMetrics, FitStatus


@dataclass(frozen=True)
class Position:
    """Where the running epoch is, and how long the rest of the run should take."""

    epoch: int
    step: int
    steps_per_epoch: int
    global_step: int
    total_steps: int
    eta_seconds: float
    samples_per_second: float


@dataclass(frozen=True)
class RunProgress:
    """What happened since the last report: finished epochs, new step losses, the position.

    ``step_x`` is each new step's place in epochs (2.5 = half-way through epoch 3) and
    ``step_loss`` its loss; both are None when no step ended since the last report, as
    ``position`` is before the first step.
    """

    epochs: tuple[EpochMetrics, ...] = ()
    step_x: np.ndarray | None = None
    step_loss: np.ndarray | None = None
    position: Position | None = None


@dataclass(frozen=True)
class RunFinished:
    """A run that ended (completed, stopped, diverged...) and how its saving went.

    ``summary`` is the ``summary.json`` document; ``run_dir`` is the run folder, or None when
    saving failed (``save_error`` says why).
    """

    status: FitStatus
    message: str
    summary: dict
    run_dir: str | None = None
    save_error: str | None = None
