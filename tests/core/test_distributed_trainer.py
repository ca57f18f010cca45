"""The trainer's agreement between ranks, with the ranks as threads of this process.

A :class:`ThreadJob` has the trainer-facing methods of ``Distributed``: ``gather`` is a real
rendezvous between the threads (each gets every rank's row), ``wrap`` adds no gradient averaging,
so the ranks' models drift apart — which is what shows that every decision is taken from shared
values. The real thing (DDP over gloo, torchrun) is tested in tests/cli/test_distributed.py.
"""

import math
import threading

import numpy as np
import pytest
import torch

from netstudio.core.config import TrainConfig
from netstudio.core.data.dataset import Dataset, DataSummary
from netstudio.core.design.builder import build_model
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import TrainingError
from netstudio.core.training.distributed import shard_indices
from netstudio.core.training.states import Callback
from netstudio.core.training.trainer import Trainer

S = LayerSpec.create
WORLD = 2


class ThreadJob:
    """Rank *rank* of a job whose ranks are threads sharing *table* and *barrier*."""

    def __init__(self, rank, table, barrier):
        self.rank, self.world_size, self.local_rank = rank, WORLD, rank
        self.table, self.barrier = table, barrier
        self.gathers = 0

    @property
    def is_main(self):
        return self.rank == 0

    def shard(self, perm):
        return shard_indices(perm, self.rank, self.world_size)

    def shard_size(self, n):
        return math.ceil(n / self.world_size)

    def wrap(self, model):
        return model

    def gather(self, row):
        self.gathers += 1
        self.table[self.rank] = [float(v) for v in row]
        self.barrier.wait()
        rows = [list(r) for r in self.table]
        self.barrier.wait()  # nobody writes the next row before everyone has read this one
        return rows


def make_data(n=600, features=4, val=0.2):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, features)).astype(np.float32)
    y = (X @ rng.normal(size=features) > 0).astype(np.int64)
    cut = int(n * (1 - val))
    return Dataset("t", "binary", X[:cut], y[:cut], X[cut:], y[cut:], ["no", "yes"],
                   [f"f{i}" for i in range(features)], None, DataSummary("t", n, features, (features,), "binary"))


class NaNAfter(torch.nn.Module):
    """Turns the output into NaN from the *after*-th forward pass in training mode on."""

    def __init__(self, after):
        super().__init__()
        self.after, self.calls = after, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls >= self.after:
                return x * float("nan")
        return x


class OOMAfter(NaNAfter):
    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls >= self.after:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return x


class StopAt(Callback):
    def __init__(self, trainer, epoch, step):
        self.trainer, self.at = trainer, (epoch, step)

    def on_batch_end(self, state):
        if (state.epoch, state.step) == self.at:
            self.trainer.request_stop()


def run_job(data, config, extra=None, callbacks=None):
    """Fit on WORLD threads; returns (summaries or exceptions, trainers, jobs) by rank."""
    table = [None] * WORLD
    barrier = threading.Barrier(WORLD, timeout=60)
    stack = LayerStack([S("Linear", out_features=8), S("ReLU"), S("Linear", out_features="auto")])
    jobs = [ThreadJob(r, table, barrier) for r in range(WORLD)]
    trainers = [Trainer(TrainConfig(device="cpu", **config), distributed=jobs[r]) for r in range(WORLD)]
    results = [None] * WORLD

    def work(rank):
        model = build_model(stack, data.input_shape, data.output_width, seed=0)
        if extra and rank in extra:
            model = torch.nn.Sequential(model, extra[rank])
        cbs = callbacks(trainers[rank], rank) if callbacks else []
        try:
            results[rank] = trainers[rank].fit(model, data, cbs, stack=stack)
        except BaseException as exc:  # like torchrun: a rank that dies releases the others
            results[rank] = exc
            barrier.abort()

    threads = [threading.Thread(target=work, args=(r,)) for r in range(WORLD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a rank hung"
    return results, trainers, jobs


def rows(summary):
    return [(m.epoch, m.train_loss, m.val_loss, m.values, m.best_epoch) for m in summary.history]


def test_ranks_share_losses_and_take_rank_zeros_validation():
    data = make_data()
    (a, b), _, jobs = run_job(data, {"epochs": 4, "batch_size": 32, "learning_rate": 0.01})
    assert a.status == b.status == "completed" and a.world_size == b.world_size == WORLD
    assert rows(a) == rows(b)  # every rank holds the same history
    assert a.best_epoch == b.best_epoch
    assert jobs[0].gathers == 4  # one collective per epoch: 240 samples / 32 = 8 steps, no 64-step window
    # samples/s counts both ranks: samples per epoch = 2 shards of 240.
    m = a.history[0]
    assert m.samples_per_second * m.seconds == pytest.approx(480)


def test_one_rank_own_values_alone_would_differ():
    # Without agreement the ranks' validation differs (their models drift apart in this fake):
    # the identical histories above come from sharing, not from luck.
    data = make_data()
    (a, _), trainers, _ = run_job(data, {"epochs": 3, "batch_size": 32, "learning_rate": 0.05})
    w0 = trainers[0].model.state_dict()
    w1 = trainers[1].model.state_dict()
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)


@pytest.mark.parametrize("batch_size, at, during", [(32, (2, 3), False), (2, (1, 10), True)])
def test_a_stop_on_one_rank_stops_every_rank_at_the_same_point(batch_size, at, during):
    data = make_data()
    stop_on_rank_1 = lambda trainer, rank: [StopAt(trainer, *at)] if rank == 1 else []  # noqa: E731
    (a, b), _, _ = run_job(data, {"epochs": 5, "batch_size": batch_size}, callbacks=stop_on_rank_1)
    assert a.status == b.status == "stopped"
    assert a.epochs_run == b.epochs_run and a.message == b.message
    if during:  # 120 steps per epoch: the ranks agree at step 64 and stop there, mid-epoch
        assert a.message == "stopped by the user during epoch 1" and a.epochs_run == 0
    else:  # 8 steps per epoch: they agree at the epoch's end
        assert a.message == "stopped by the user after epoch 2" and a.epochs_run == 2


@pytest.mark.parametrize("batch_size, after", [(32, 12), (2, 30)])
def test_nan_on_one_rank_ends_every_rank_naming_it(batch_size, after):
    data = make_data()
    (a, b), _, _ = run_job(data, {"epochs": 5, "batch_size": batch_size}, extra={1: NaNAfter(after)})
    assert a.status == b.status == "diverged" and a.message == b.message
    assert a.message.startswith("rank 1: training diverged at epoch ") and "(loss nan)" in a.message
    assert a.epochs_run == b.epochs_run


def test_out_of_memory_on_one_rank_is_an_error_not_a_partial_result():
    data = make_data()
    (a, b), _, _ = run_job(data, {"epochs": 3, "batch_size": 32}, extra={1: OOMAfter(5)})
    assert isinstance(b, TrainingError) and "out of memory on cpu with batch size 32" in str(b)
    assert isinstance(a, threading.BrokenBarrierError)  # rank 0 was released, not left waiting


def test_one_epoch_steps_follow_the_shard():
    data = make_data(n=250, val=0.2)  # 200 training samples: 100 per rank, 4 steps of 32
    steps = []

    class Start(Callback):
        def on_fit_start(self, start):
            steps.append(start.steps_per_epoch)

    (a, _), _, _ = run_job(data, {"epochs": 1, "batch_size": 32}, callbacks=lambda t, r: [Start()])
    assert steps == [4, 4] and a.status == "completed"
