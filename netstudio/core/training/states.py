"""What the trainer tells its callbacks: small frozen states, never the trainer itself.

``on_fit_start(FitStart)``, ``on_batch_end(BatchState)``, ``on_epoch_end(EpochMetrics)``,
``on_fit_end(FitSummary)`` and ``on_exception(exc)``; a :class:`FitSummary` says how the fit
ended with a :class:`FitStatus`. The window's worker sends these across threads as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FitStatus(str, Enum):
    """How a fit ended; the value is what ``summary.json`` says (``"completed"``...)."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    EARLY_STOPPED = "early_stopped"
    DIVERGED = "diverged"
    FAILED = "failed"

    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def ok(self) -> bool:
        """The run ended with weights worth keeping (not diverged, not failed)."""
        return self in (FitStatus.COMPLETED, FitStatus.STOPPED, FitStatus.EARLY_STOPPED)

    @property
    def label(self) -> str:
        """One or two words for the user ("Stopped early")."""
        return {"completed": "Finished", "stopped": "Stopped", "early_stopped": "Stopped early",
                "diverged": "Diverged", "failed": "Failed"}[self.value]


@dataclass(frozen=True)
class FitStart:
    epochs: int
    steps_per_epoch: int
    n_train: int
    n_val: int
    device: str
    parameters: int
    loss: str
    first_epoch: int


@dataclass(frozen=True)
class BatchState:
    """After each training step. ``step_losses`` is this epoch's list of device loss tensors so far:
    read new entries with ``torch.stack(...).tolist()`` at your own pace (one sync per read)."""

    epoch: int
    step: int
    steps_per_epoch: int
    global_step: int
    total_steps: int
    samples_seen: int
    step_losses: list = field(repr=False, compare=False)


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch's results; ``values`` holds the task's validation metrics (``val_accuracy`` or
    ``val_r2`` and ``val_mae``)."""

    epoch: int
    train_loss: float
    val_loss: float | None
    values: dict
    learning_rate: float
    samples_per_second: float
    seconds: float
    best_epoch: int

    def row(self) -> dict:
        """The metrics.csv row: epoch, train_loss, val_loss, metrics, learning rate, samples/s, seconds."""
        return {"epoch": self.epoch, "train_loss": self.train_loss, "val_loss": self.val_loss, **self.values,
                "learning_rate": self.learning_rate, "samples_per_second": self.samples_per_second,
                "seconds": self.seconds}


@dataclass(frozen=True)
class FitSummary:
    """How a fit ended. ``world_size`` is the number of processes that trained together (1
    without torchrun). ``test`` holds the test split's scores of the final weights
    (``test_loss``, ``test_accuracy``...), computed once after training; empty without a test
    split or when the fit diverged or failed."""

    status: FitStatus
    message: str
    epochs_run: int
    best_epoch: int | None
    history: list[EpochMetrics]
    samples_per_second: float
    device: str
    parameters: int
    loss: str
    output_transform: str
    train_seconds: float
    world_size: int = 1
    test: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status.ok

    def best(self) -> EpochMetrics | None:
        for m in self.history:
            if m.epoch == self.best_epoch:
                return m
        return None


class Callback:
    """Base class for training callbacks; every hook is optional."""

    def on_fit_start(self, start: FitStart) -> None: ...
    def on_batch_end(self, state: BatchState) -> None: ...
    def on_epoch_end(self, metrics: EpochMetrics) -> None: ...
    def on_fit_end(self, summary: FitSummary) -> None: ...
    def on_exception(self, exc: BaseException) -> None: ...
