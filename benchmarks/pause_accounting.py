"""Paused time is not training time: an epoch's seconds (and so samples/s) leave a pause out.

Trains the same small MLP twice per round, once straight through and once paused for
``--pause`` seconds in the middle of its first epoch, and prints the first epoch's seconds of
both, their ratio (about 1.0 when the pause is left out; well above when it is counted) and what
the pause would have added. ``tests/core/test_training.py`` checks the accounting itself with a
fake clock; this measures it on the real one, so it belongs here, not in a test.

    python benchmarks/pause_accounting.py [--rounds 5] [--pause 0.5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netstudio.core.config import TrainConfig  # noqa: E402
from netstudio.core.data.dataset import Dataset, DataSummary  # noqa: E402
from netstudio.core.design.builder import build_model  # noqa: E402
from netstudio.core.design.stack import LayerSpec, LayerStack  # noqa: E402
from netstudio.core.training.states import Callback  # noqa: E402
from netstudio.core.training.trainer import Trainer  # noqa: E402


def dataset(n: int = 4000, features: int = 8) -> Dataset:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, features)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    cut = n * 4 // 5
    return Dataset("bench", "binary", X[:cut], y[:cut], X[cut:], y[cut:], ["0", "1"],
                   [f"x{i}" for i in range(features)], None,
                   DataSummary("bench", n, features, (features,), "binary"))


class PauseOnce(Callback):
    """Pauses the trainer at *step* of the first epoch and resumes it *seconds* later."""

    def __init__(self, trainer: Trainer, step: int, seconds: float):
        self.trainer, self.step, self.seconds = trainer, step, seconds

    def on_batch_end(self, state):
        if state.epoch == 1 and state.step == self.step:
            self.trainer.pause()
            threading.Timer(self.seconds, self.trainer.resume).start()


def first_epoch_seconds(data: Dataset, pause: float | None) -> float:
    stack = LayerStack([LayerSpec.create("Linear", out_features=64), LayerSpec.create("ReLU"),
                        LayerSpec.create("Linear", out_features=1)])
    trainer = Trainer(TrainConfig(device="cpu", epochs=1, batch_size=16, seed=0))
    steps = data.n_train // 16
    callbacks = [PauseOnce(trainer, steps // 2, pause)] if pause else []
    summary = trainer.fit(build_model(stack, data.input_shape, 1, seed=0), data, callbacks, stack=stack)
    return summary.history[0].seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds the paused run waits")
    args = parser.parse_args()
    data = dataset()
    first_epoch_seconds(data, None)  # warm up
    plain, paused = [], []
    for _ in range(args.rounds):  # interleaved: machine noise hits both alike
        plain.append(first_epoch_seconds(data, None))
        paused.append(first_epoch_seconds(data, args.pause))
    p, q = statistics.median(plain), statistics.median(paused)
    print(f"load average {os.getloadavg()[0]:.2f}, {args.rounds} rounds, pause {args.pause:g} s")
    print(f"first epoch, straight through: {p * 1000:8.1f} ms (median)")
    print(f"first epoch, paused mid-way:   {q * 1000:8.1f} ms (median)")
    print(f"ratio paused / straight: {q / p:.2f} (with the pause counted it would be {(p + args.pause) / p:.1f})")


if __name__ == "__main__":
    main()
