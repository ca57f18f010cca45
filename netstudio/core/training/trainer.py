"""The trainer: pure PyTorch, fast, stoppable, pausable and deterministic.

``Trainer(config).fit(model, data, callbacks)`` trains a model on a prepared
:class:`~netstudio.core.data.dataset.Dataset`. Tensors go to the device once; each epoch draws one
random permutation and slices batches from it (no per-sample DataLoader); step losses stay on the
device and are read back only when someone reports them. ``request_stop()``, ``pause()`` and
``resume()`` are thread-safe and take effect at the next batch, so a GUI worker thread can drive it.

Under ``torchrun`` the same loop runs on every process with a
:class:`~netstudio.core.training.distributed.Distributed` context: the model is wrapped in
DistributedDataParallel, each rank trains on its shard of the epoch's permutation, and the ranks
agree on every decision (stop, divergence, best epoch) from values they share at each epoch's end
and every :data:`DIVERGENCE_CHECK_STEPS` steps, never from values only one of them has.

Callbacks (subclass :class:`Callback`, override what you need) receive small read-only states:
``on_fit_start(FitStart)``, ``on_batch_end(BatchState)``, ``on_epoch_end(EpochMetrics)``,
``on_fit_end(FitSummary)`` and ``on_exception(exc)``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from netstudio.core.config import TrainConfig
from netstudio.core.data.dataset import Dataset
from netstudio.core.design.losses import LossPlan, plan_loss
from netstudio.core.errors import ConfigError, TrainingError
from netstudio.core.training.augment import make_augmenter
from netstudio.core.training.class_weights import training_loss
from netstudio.core.training.distributed import SINGLE_PROCESS
from netstudio.core.training.failures import (
    first_bad_loss,
    first_non_finite,
    is_out_of_memory,
    loss_text,
)
from netstudio.core.training.metrics import evaluate
from netstudio.core.training.optimizers import make_optimizer, make_scheduler
from netstudio.core.training.states import (
    BatchState,
    Callback,
    EpochMetrics,
    FitStart,
    FitStatus,
    FitSummary,
)

#: Check for a NaN/inf loss every this many steps (and at each epoch's end). Under torchrun the
#: ranks also agree on stop requests at these points.
DIVERGENCE_CHECK_STEPS = 64


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


class Trainer:
    """Trains one model on one dataset; keeps optimizer state so that training can continue.

    Parameters
    ----------
    config : TrainConfig
    device : torch.device, optional
        Overrides ``config.device`` (already resolved).
    distributed : Distributed, optional
        This process's place in a torchrun job (already joined, ``device`` is its device).
    """

    def __init__(self, config: TrainConfig, device=None, distributed=None, augment: dict | None = None,
                 memory_bytes: int = 0):
        self.config = config
        #: The memory guard's estimate of one training step (validation's chunks are sized from it).
        self.memory_bytes = memory_bytes
        self.augment = augment  # data.augment: applied to training batches of images only
        self._device = device
        self.dist = distributed if distributed is not None else SINGLE_PROCESS
        self._stop = threading.Event()
        self._stop_requested = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.model = None
        self.data: Dataset | None = None
        self.plan: LossPlan | None = None
        self.optimizer = None
        self.scheduler = None
        self.history: list[EpochMetrics] = []
        self.best_epoch: int | None = None
        self._best_score = math.inf
        self._best_state: dict | None = None
        self._tensors: dict[str, Any] = {}
        self._since_best = 0
        self._diverged_on: int | None = None
        self._training_model = None
        self.class_weights = None  # per class, when training.class_weights is "auto"
        self.augmenter = None

    # -- control (thread-safe) -------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop at the next batch; fit returns a valid partial result.

        Under torchrun every rank stops at the same point: the next one where they agree (every
        :data:`DIVERGENCE_CHECK_STEPS` steps, or the epoch's end).
        """
        self._stop_requested.set()
        if self.dist.world_size == 1:
            self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        self._unpaused.clear()

    def resume(self) -> None:
        self._unpaused.set()

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    @property
    def device(self):
        if self._device is None:
            from netstudio.core.training.devices import resolve_device

            self._device = resolve_device(self.config.device)
        return self._device

    # -- training --------------------------------------------------------------------------------
    def fit(self, model, data: Dataset, callbacks: Sequence[Callback] = (), stack=None, resume=None) -> FitSummary:
        """Train *model* on *data* for ``config.epochs`` epochs.

        *resume* (a :class:`~netstudio.core.training.resume.ResumePoint`) continues a saved run:
        its weights, optimizer, scheduler, generators and history, then ``config.epochs`` more.

        *stack* (the LayerStack the model was built from) lets ``loss: auto`` see the last layer.
        Returns a :class:`FitSummary`; a diverged or out-of-memory run returns ``status`` diverged
        or failed with a message (the best weights are kept). Other exceptions propagate after
        ``on_exception``.
        """
        import torch

        self.model, self.data = model, data
        self.history, self.best_epoch, self._best_score, self._best_state = [], None, math.inf, None
        self._since_best = 0
        # Ranks draw different dropout masks, as successive batches of one process do; the
        # permutation's generator below stays the same on every rank (they share one epoch order).
        torch.manual_seed(self.config.seed + self.dist.rank)
        self._generator = torch.Generator().manual_seed(self.config.seed)
        from netstudio.core.design.stack import LayerStack

        self.plan = plan_loss(self.config.loss, data.task, stack if stack is not None else LayerStack(),
                              data.output_width)
        self.model.to(self.device)
        self._best_state = self._snapshot()  # a run that fails before any epoch ends falls back to these
        self._move_data()
        self.optimizer = make_optimizer(self.config, self.model)
        self.scheduler = self._make_scheduler(self.config.epochs)
        # Training steps go through the wrapper (DDP averages gradients); everything else
        # (validation, snapshots, saving) uses the plain module.
        if resume is not None:
            from netstudio.core.training.resume import apply_resume

            apply_resume(self, resume)
        self._training_model = self.dist.wrap(self.model)
        return self._run(self.config.epochs, callbacks)

    def continue_fit(self, epochs: int, callbacks: Sequence[Callback] = ()) -> FitSummary:
        """Train *epochs* more epochs from the current weights and optimizer state."""
        if self.model is None or self.optimizer is None:
            raise ConfigError("nothing to continue: this trainer has not trained yet")
        if epochs < 1:
            raise ConfigError("continue needs at least one more epoch")
        self._stop.clear()
        self._stop_requested.clear()
        self._unpaused.set()
        self._since_best = 0
        if self.config.scheduler in ("cosine", "onecycle"):  # a finished schedule restarts for the new epochs
            self.scheduler = self._make_scheduler(epochs)
        return self._run(epochs, callbacks)

    def _move_data(self) -> None:
        import torch

        d, dev = self.data, self.device
        ytype = torch.float32 if self.plan.target == "float" else torch.int64

        def target(y):
            t = torch.as_tensor(y).to(ytype)
            return t.reshape(-1, 1) if self.plan.target == "float" else t.reshape(-1)

        self._tensors = {
            "X": torch.as_tensor(d.X_train, dtype=torch.float32).to(dev),
            "y": target(d.y_train).to(dev),
            "Xv": torch.as_tensor(d.X_val, dtype=torch.float32).to(dev),
            "yv": target(d.y_val).to(dev),
        }
        self.loss_fn, self.class_weights = training_loss(self.plan, self.config, self.data, dev)
        # Its own generator, so augmenting leaves the batch order and initial weights unchanged.
        self.augmenter = make_augmenter(self.augment, d, dev, self.config.seed + 7919 * (self.dist.rank + 1))

    def _steps_per_epoch(self) -> int:
        n = self.dist.shard_size(self.data.n_train)
        return max(1, math.ceil(n / self.config.batch_size))

    def _make_scheduler(self, epochs: int):
        return make_scheduler(self.config, self.optimizer, epochs, self._steps_per_epoch())

    def _run(self, epochs: int, callbacks: Sequence[Callback]) -> FitSummary:
        first = len(self.history) + 1
        steps = self._steps_per_epoch()
        parameters = sum(p.numel() for p in self.model.parameters())
        start = FitStart(epochs, steps, self.data.n_train, self.data.n_val, str(self.device), parameters,
                         self.plan.name, first)
        for cb in callbacks:
            cb.on_fit_start(start)
        self._diverged_on = None
        try:
            status, message, train_seconds = self._epochs(first, epochs, steps, callbacks)
        except Exception as exc:
            status, message, train_seconds = self._failed(exc, first, callbacks)
        if status in (FitStatus.EARLY_STOPPED, FitStatus.DIVERGED, FitStatus.FAILED):
            self.model.load_state_dict(self._best_state)
            if status == FitStatus.DIVERGED and self.best_epoch is None:
                message += "; no epoch ended well, so the weights were reset to their initial values"
        samples = sum(m.samples_per_second * m.seconds for m in self.history)
        seconds = sum(m.seconds for m in self.history)
        summary = FitSummary(status, message, len(self.history), self.best_epoch, list(self.history),
                             samples / seconds if seconds else 0.0, str(self.device), parameters, self.plan.name,
                             self.plan.output, train_seconds, self.dist.world_size,
                             self._score_test() if status.ok else {})
        for cb in callbacks:
            cb.on_fit_end(summary)
        return summary

    def _epochs(self, first: int, epochs: int, steps: int, callbacks: Sequence[Callback]):
        """Train epochs *first*... until done or a reason to end; ``(status, message, train seconds)``."""
        patience = self.config.early_stopping.patience
        train_seconds = 0.0
        for epoch in range(first, first + epochs):
            outcome = self._epoch(epoch, first + epochs - 1, steps, callbacks)
            if outcome is None:  # stopped part-way through the epoch
                return FitStatus.STOPPED, f"stopped by the user during epoch {epoch}", train_seconds
            metrics, diverged = outcome
            train_seconds += metrics.seconds
            self.history.append(metrics)
            for cb in callbacks:
                cb.on_epoch_end(metrics)
            if diverged is not None:
                where = f"rank {self._diverged_on}: " if self._diverged_on is not None else ""
                return FitStatus.DIVERGED, (f"{where}training diverged at epoch {epoch} (loss {diverged}): lower the "
                                            f"learning rate (now {self.config.learning_rate:g})"), train_seconds
            if self._stop.is_set():
                return FitStatus.STOPPED, f"stopped by the user after epoch {epoch}", train_seconds
            if patience is not None and self._since_best >= patience:
                return FitStatus.EARLY_STOPPED, (f"early stopping after epoch {epoch}: no improvement for {patience} "
                                                 f"epochs; restored the best weights (epoch {self.best_epoch})"), \
                    train_seconds
        return FitStatus.COMPLETED, "", train_seconds

    def _score_test(self) -> dict:
        """The final weights' scores on the test split (``test_loss``, ``test_accuracy``...), once."""
        import torch

        d = self.data
        if not d.n_test:
            return {}
        ytype = torch.float32 if self.plan.target == "float" else torch.int64
        y = torch.as_tensor(d.y_test).to(ytype)
        y = (y.reshape(-1, 1) if self.plan.target == "float" else y.reshape(-1)).to(self.device)
        X = torch.as_tensor(d.X_test, dtype=torch.float32).to(self.device)
        values, loss = evaluate(self.model, X, y, self.loss_fn, self.plan, d, self.memory_bytes)
        return {"test_loss": loss, **{"test_" + k.removeprefix("val_"): v for k, v in values.items()}}

    def _failed(self, exc: Exception, first: int, callbacks: Sequence[Callback]):
        """An out-of-memory error on one process ends the fit as failed; anything else propagates
        (called while *exc* is being handled)."""
        oom = is_out_of_memory(exc)
        if not oom or self.dist.world_size > 1:
            for cb in callbacks:
                cb.on_exception(exc)
            if not oom:
                raise
            # The other ranks are inside a step, waiting for this one: no collective can follow,
            # so there is no partial result to agree on; this process can only report and leave.
            self._release_memory()
            raise TrainingError(self._out_of_memory_message()) from exc
        self._release_memory()
        return FitStatus.FAILED, self._out_of_memory_message(), sum(m.seconds for m in self.history[first - 1:])

    def _out_of_memory_message(self) -> str:
        return (f"out of memory on {self.device} with batch size {self.config.batch_size}: "
                "try a smaller batch size or a smaller model")

    def _release_memory(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _epoch(self, epoch: int, last_epoch: int, steps: int, callbacks: Sequence[Callback]):
        """Train one epoch; returns ``(metrics, diverged_loss_or_None)``, or None if stopped mid-epoch."""
        import torch

        model, opt, loss_fn, cfg = self._training_model, self.optimizer, self.loss_fn, self.config
        X, y = self._tensors["X"], self._tensors["y"]
        bs = cfg.batch_size
        batch_hooks = [cb for cb in callbacks if _overrides(cb, "on_batch_end")]
        onecycle = cfg.scheduler == "onecycle"
        clip = cfg.gradient_clip
        augmenter = self.augmenter
        stop, unpaused = self._stop, self._unpaused
        perm = self.dist.shard(torch.randperm(X.shape[0], generator=self._generator)).to(self.device)
        n = perm.shape[0]
        Xp, yp = X.index_select(0, perm), y.index_select(0, perm)  # one gather, then cheap views
        step_losses: list = []
        model.train()
        paused_seconds = hook_seconds = 0.0
        total_steps = steps * last_epoch
        started = time.perf_counter()
        for step in range(steps):
            lo = step * bs
            xb, yb = Xp[lo:lo + bs], yp[lo:lo + bs]
            if augmenter is not None:
                xb = augmenter(xb)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            if onecycle and self.scheduler.last_epoch + 1 < self.scheduler.total_steps:
                self.scheduler.step()
            step_losses.append(loss.detach())
            if (step + 1) % DIVERGENCE_CHECK_STEPS == 0 and (bad := self._check_window(step_losses)) is not None:
                return self._finish_epoch(epoch, step_losses, started, paused_seconds, hook_seconds, n_done=lo + len(xb)), \
                    bad
            if batch_hooks:
                t0 = time.perf_counter()
                state = BatchState(epoch, step + 1, steps, (epoch - 1) * steps + step + 1, total_steps,
                                   min(n, lo + bs), step_losses)
                for cb in batch_hooks:
                    cb.on_batch_end(state)
                hook_seconds += time.perf_counter() - t0
            if not unpaused.is_set():
                t0 = time.perf_counter()
                unpaused.wait()
                paused_seconds += time.perf_counter() - t0
            if stop.is_set():
                if step + 1 < steps:
                    return None
        metrics = self._finish_epoch(epoch, step_losses, started, paused_seconds, hook_seconds, n_done=n)
        if not math.isfinite(metrics.train_loss) or (metrics.val_loss is not None and not math.isfinite(metrics.val_loss)):
            return metrics, loss_text(metrics.train_loss if not math.isfinite(metrics.train_loss) else metrics.val_loss)
        return metrics, None

    def _finish_epoch(self, epoch, step_losses, started, paused_seconds, hook_seconds, n_done) -> EpochMetrics:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = max(time.perf_counter() - started - paused_seconds - hook_seconds, 1e-9)
        bs = self.config.batch_size
        losses = torch.stack(step_losses)
        sizes = torch.full((len(step_losses),), float(bs), device=losses.device)
        sizes[-1] = n_done - bs * (len(step_losses) - 1)
        values, val_loss = evaluate(self.model, self._tensors["Xv"], self._tensors["yv"], self.loss_fn, self.plan,
                                    self.data, self.memory_bytes) if self.data.n_val else ({}, None)
        train_loss, samples, val_loss, values = self._agree_epoch(losses, sizes, n_done, val_loss, values)
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None and self.config.scheduler != "onecycle":
            if self.config.scheduler == "plateau":
                self.scheduler.step(val_loss if val_loss is not None else train_loss)
            else:
                self.scheduler.step()
        score = val_loss if val_loss is not None else train_loss
        if math.isfinite(score) and score < self._best_score - self.config.early_stopping.min_delta:
            self._best_score, self.best_epoch, self._since_best = score, epoch, 0
            self._best_state = self._snapshot()
        else:
            self._since_best += 1
        return EpochMetrics(epoch, train_loss, val_loss, values, lr, samples / seconds, seconds,
                            self.best_epoch if self.best_epoch is not None else epoch)

    # -- agreement between ranks (torchrun); one process keeps its own values ------------------------
    def _check_window(self, step_losses: list) -> str | None:
        """The text of a non-finite loss ('nan', 'inf') among the last DIVERGENCE_CHECK_STEPS steps,
        or None. Under torchrun: of any rank, and any rank's stop request is applied on all."""
        import torch

        window = torch.stack(step_losses[-DIVERGENCE_CHECK_STEPS:])
        if self.dist.world_size == 1:
            return None if torch.isfinite(window).all() else first_bad_loss(step_losses)
        first, value = first_non_finite(window)
        step = first + len(step_losses) - len(window) if first >= 0 else -1
        return self._agree(self.dist.gather([self._stop_requested.is_set(), step, value]), 0)

    def _agree_epoch(self, losses, sizes, n_done, val_loss, values):
        """``(train_loss, samples, val_loss, values)`` of the epoch as every rank sees it.

        One process: its own. Under torchrun: loss and samples summed over the ranks (padding
        included: it is work done), and rank 0's validation results, since rank 0's model is the one
        saved (BatchNorm statistics may differ between ranks). Every rank then decides on the same
        numbers: best epoch, early stopping, the plateau scheduler, divergence.
        """
        if self.dist.world_size == 1:
            return float((losses * sizes).sum() / sizes.sum()), n_done, val_loss, values
        keys = list(values)
        rows = self.dist.gather([(losses * sizes).sum(), sizes.sum(), self._stop_requested.is_set(),
                                 *first_non_finite(losses), 0.0 if val_loss is None else val_loss,
                                 *(values[k] for k in keys)])
        self._agree(rows, 2)
        loss_sum, samples = sum(r[0] for r in rows), sum(r[1] for r in rows)
        main = rows[0]
        return (loss_sum / samples, int(samples), None if val_loss is None else main[5],
                {k: main[6 + i] for i, k in enumerate(keys)})

    def _agree(self, rows: list[list[float]], col: int) -> str | None:
        """From every rank's ``[..., stop requested, first bad step, its loss, ...]`` (from *col*):
        apply any stop request, note the rank whose loss went non-finite first, return that loss."""
        if any(r[col] for r in rows):
            self._stop.set()
        bad = [(r[col + 1], rank) for rank, r in enumerate(rows) if r[col + 1] >= 0]
        if not bad:
            return None
        step = min(bad)[0]
        first = [rank for s, rank in bad if s == step]
        # One rank first is worth naming (its shard); all at once is the learning rate.
        self._diverged_on = first[0] if len(first) == 1 else None
        return loss_text(rows[first[0]][col + 2])


    def _snapshot(self) -> dict:
        """A CPU copy of the model's state (weights and buffers)."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}


