"""The learning-rate range test: train a copy of the model for a few steps with an exponentially
rising learning rate, record the loss at each rate, and suggest a rate.

:func:`find_learning_rate` never touches the model it is given (it trains a deep copy) nor the
global random state. The loss is smoothed (an exponential moving average, bias-corrected); the
test stops early once the smoothed loss is :data:`DIVERGE_FACTOR` times its best, or not finite.
The suggestion is the rate at the smoothed loss's minimum divided by 10 (the usual rule of thumb:
the largest rate still well before the loss turns up), kept within the schema's bounds.
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from netstudio.core.config import TrainConfig, settings
from netstudio.core.errors import ConfigError

START_RATE = 1e-7
END_RATE = 10.0
STEPS = 100
SMOOTHING = 0.9
DIVERGE_FACTOR = 4.0


@dataclass(frozen=True)
class RangeTest:
    """The test's record: one rate and loss per step, the smoothed losses, the suggested rate."""

    rates: tuple
    losses: tuple
    smoothed: tuple
    suggestion: float
    stopped_early: bool

    @property
    def best_rate(self) -> float:
        """The rate at the smoothed loss's minimum."""
        finite = [(v, r) for v, r in zip(self.smoothed, self.rates) if math.isfinite(v)]
        return min(finite)[1] if finite else self.rates[0]

    def to_csv(self) -> str:
        """``rate,loss,smoothed_loss``, one row per step."""
        out = io.StringIO()
        out.write("rate,loss,smoothed_loss\n")
        for rate, loss, smooth in zip(self.rates, self.losses, self.smoothed):
            out.write(f"{rate:.6g},{loss:.6g},{smooth:.6g}\n")
        return out.getvalue()


def find_learning_rate(session, *, start: float = START_RATE, end: float = END_RATE, steps: int = STEPS,
                       progress: Callable[[int, int], None] | None = None,
                       cancelled: Callable[[], bool] | None = None) -> RangeTest:
    """Run the range test on a copy of a :class:`~netstudio.core.training.session.TrainingSession`'s model.

    Uses the session's optimizer, batch size, loss and seed. *progress(step, steps)* is told each
    step; *cancelled()* returning True ends the test with what it has.

    Raises
    ------
    ConfigError
        Bad bounds, or no training data.
    """
    import torch

    from netstudio.core.design.losses import make_loss, plan_loss
    from netstudio.core.training.optimizers import make_optimizer

    if not 0 < start < end or steps < 2:
        raise ConfigError(f"the range test needs 0 < start < end and at least 2 steps (got {start:g}, {end:g}, {steps})")
    data, config = session.dataset, session.config
    if not data.n_train:
        raise ConfigError("the range test needs training data")
    device = session.trainer.device
    plan = plan_loss(config.loss, data.task, session.project.stack, data.output_width)
    loss_fn = make_loss(plan)
    X = torch.as_tensor(data.X_train, dtype=torch.float32).to(device)
    ytype = torch.float32 if plan.target == "float" else torch.int64
    y = torch.as_tensor(data.y_train).to(ytype)
    y = (y.reshape(-1, 1) if plan.target == "float" else y.reshape(-1)).to(device)
    factor = (end / start) ** (1.0 / (steps - 1))
    rates, losses, smoothed = [], [], []
    stopped = False
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        model = copy.deepcopy(session.model).to(device)
        model.train()
        optimizer = make_optimizer(config, model)
        average, best = 0.0, math.inf
        order = torch.randperm(len(X), generator=generator)
        at = 0
        for step in range(steps):
            if cancelled is not None and cancelled():
                stopped = True
                break
            rate = start * factor ** step
            for group in optimizer.param_groups:
                group["lr"] = rate
            if at >= len(order):
                order, at = torch.randperm(len(X), generator=generator), 0
            index = order[at:at + config.batch_size].to(device)
            at += config.batch_size
            loss = loss_fn(model(X[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            average = SMOOTHING * average + (1 - SMOOTHING) * value
            smooth = average / (1 - SMOOTHING ** (step + 1))
            rates.append(rate)
            losses.append(value)
            smoothed.append(smooth)
            if progress is not None:
                progress(step + 1, steps)
            if not math.isfinite(smooth) or (step > 5 and smooth > DIVERGE_FACTOR * best):
                stopped = True
                break
            best = min(best, smooth)
    if not rates:
        raise ConfigError("the range test was cancelled before its first step")
    result = RangeTest(tuple(rates), tuple(losses), tuple(smoothed), 0.0, stopped)
    return RangeTest(result.rates, result.losses, result.smoothed, suggest(result), stopped)


def suggest(test: RangeTest) -> float:
    """A tenth of the rate at the smoothed loss's minimum, within the learning rate's bounds."""
    spec = settings(TrainConfig)["learning_rate"]
    rate = test.best_rate / 10
    rate = min(rate, spec.maximum)
    rate = max(rate, test.rates[0])
    return float(f"{rate:.2g}")
