"""The trainer on real (small) PyTorch training: learning, control, failures, determinism."""

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from netstudio.core.config import EarlyStopping, TrainConfig, settings
from netstudio.core.data.dataset import Dataset, DataSummary
from netstudio.core.design.builder import build_model
from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import ConfigError
from netstudio.core.training import trainer as trainer_module
from netstudio.core.training.devices import available_devices, resolve_device
from netstudio.core.training.states import Callback
from netstudio.core.training.trainer import Trainer
from tests.pausing import watch_pause

S = LayerSpec.create


def make_data(task="binary", n=600, features=6, seed=0, val=0.25, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype(np.float32)
    if task == "binary":
        y = (X @ rng.normal(size=features) > 0).astype(np.int64)
        names = ["no", "yes"]
    elif task == "multiclass":
        centers = rng.normal(scale=3, size=(classes, features))
        y = rng.integers(0, classes, size=n)
        X = (X + centers[y]).astype(np.float32)
        names = [f"c{i}" for i in range(classes)]
    else:
        y = (X @ rng.normal(size=features) + 0.1 * rng.normal(size=n)).astype(np.float32)
        names = None
    cut = int(n * (1 - val))
    mean, std = (float(y[:cut].mean()), float(y[:cut].std())) if task == "regression" else (0.0, 1.0)
    if task == "regression":
        y = ((y - mean) / std).astype(np.float32)
    return Dataset("test", task, X[:cut], y[:cut], X[cut:], y[cut:], names, [f"f{i}" for i in range(features)],
                   None, DataSummary("test", n, features, (features,), task), mean, std)


def mlp(hidden=16):
    return LayerStack([S("Linear", out_features=hidden), S("ReLU"), S("Linear", out_features="auto")])


def fit(data, stack=None, callbacks=(), **config):
    stack = stack or mlp()
    config = {"device": "cpu", "epochs": 8, "learning_rate": 0.01, **config}
    model = build_model(stack, data.input_shape, data.output_width, seed=config.get("seed", 0))
    trainer = Trainer(TrainConfig(**config))
    return trainer, trainer.fit(model, data, callbacks, stack=stack)


def test_learning_happens_on_separable_data():
    trainer, summary = fit(make_data("binary"), epochs=15)
    losses = [m.train_loss for m in summary.history]
    assert summary.status == "completed" and summary.epochs_run == 15
    assert losses[-1] < 0.5 * losses[0]
    assert summary.history[-1].values["val_accuracy"] >= 0.9
    assert summary.loss == "bce_with_logits" and summary.output_transform == "sigmoid"


def test_multiclass_and_regression_metrics():
    _, cls = fit(make_data("multiclass"), epochs=10)
    assert cls.loss == "cross_entropy" and cls.history[-1].values["val_accuracy"] >= 0.9
    data = make_data("regression")
    _, reg = fit(data, epochs=30)
    last = reg.history[-1]
    assert reg.loss == "mse" and last.values["val_r2"] > 0.9
    # MAE is reported in the target's own units, not the standardised ones.
    trainer, _ = fit(data, epochs=1)
    with torch.no_grad():
        pred = trainer.model(torch.as_tensor(data.X_val)).reshape(-1).numpy()
    mae_units = np.mean(np.abs(pred - data.y_val)) * data.target_std
    _, one = fit(data, epochs=1)
    assert one.history[0].values["val_mae"] == pytest.approx(mae_units, rel=1e-4)


@pytest.mark.parametrize("optimizer", list(settings(TrainConfig)["optimizer"].choices))
@pytest.mark.parametrize("scheduler", list(settings(TrainConfig)["scheduler"].choices))
def test_every_optimizer_and_scheduler_trains(optimizer, scheduler):
    lr = 0.05 if optimizer in ("sgd", "adagrad") else 0.01
    _, summary = fit(make_data("binary", n=300), epochs=6, optimizer=optimizer, scheduler=scheduler,
                     learning_rate=lr, step_size=2, gamma=0.5)
    losses = [m.train_loss for m in summary.history]
    assert summary.status == "completed" and losses[-1] < losses[0]
    if scheduler == "step":
        # The rate used during each epoch: epochs 1-2 at lr, 3-4 at lr/2, 5-6 at lr/4.
        assert [m.learning_rate for m in summary.history] == pytest.approx([lr, lr, lr / 2, lr / 2, lr / 4, lr / 4])
    if scheduler == "cosine":
        assert summary.history[-1].learning_rate < summary.history[0].learning_rate


def test_determinism_same_seed_same_losses():
    data = make_data("binary")
    _, a = fit(data, seed=3)
    _, b = fit(data, seed=3)
    _, c = fit(data, seed=4)
    rows = lambda s: [(m.epoch, m.train_loss, m.val_loss) for m in s.history]  # noqa: E731
    assert rows(a) == rows(b)
    assert rows(a) != rows(c)


class Recorder(Callback):
    def __init__(self, stop_at=None, trainer=None):
        self.events, self.stop_at, self.trainer = [], stop_at, trainer

    def on_fit_start(self, start):
        self.events.append(("start", start.epochs, start.steps_per_epoch))

    def on_batch_end(self, state):
        self.events.append(("batch", state.epoch, state.step))
        if self.stop_at == (state.epoch, state.step):
            self.trainer.request_stop()

    def on_epoch_end(self, metrics):
        self.events.append(("epoch", metrics.epoch))

    def on_fit_end(self, summary):
        self.events.append(("end", summary.status))


def test_callback_order_and_step_losses():
    data = make_data("binary", n=100, val=0.2)
    rec = Recorder()
    _, summary = fit(data, callbacks=[rec], epochs=2, batch_size=40)
    assert rec.events == [("start", 2, 2), ("batch", 1, 1), ("batch", 1, 2), ("epoch", 1),
                          ("batch", 2, 1), ("batch", 2, 2), ("epoch", 2), ("end", "completed")]


def test_stop_mid_epoch_returns_a_valid_partial_result():
    data = make_data("binary")
    stack = mlp()
    model = build_model(stack, data.input_shape, 1, seed=0)
    trainer = Trainer(TrainConfig(device="cpu", epochs=50, batch_size=16))
    rec = Recorder(stop_at=(3, 5), trainer=trainer)
    summary = trainer.fit(model, data, [rec], stack=stack)
    assert summary.status == "stopped" and "epoch 3" in summary.message
    assert summary.epochs_run == 2 and [m.epoch for m in summary.history] == [1, 2]
    assert rec.events[-1] == ("end", "stopped")
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_pause_holds_training_and_resume_finishes(monkeypatch):
    data = make_data("binary", n=2000)
    stack = mlp()
    model = build_model(stack, data.input_shape, 1, seed=0)
    trainer = Trainer(TrainConfig(device="cpu", epochs=3, batch_size=8))
    # The trainer's clock jumps 100 s while the pause holds it: paused time must not count.
    offset = [0.0]
    monkeypatch.setattr(trainer_module, "time", SimpleNamespace(perf_counter=lambda: time.perf_counter() + offset[0]))
    held = watch_pause(trainer, on_hold=lambda: offset.__setitem__(0, offset[0] + 100.0))
    steps = []

    class Count(Callback):
        def on_batch_end(self, state):
            steps.append(state.global_step)
            if state.global_step == 10:
                trainer.pause()

    result = {}
    thread = threading.Thread(target=lambda: result.update(summary=trainer.fit(model, data, [Count()], stack=stack)))
    thread.start()
    assert held.wait(30), "the pause never held the training thread"
    assert trainer.paused and len(steps) == 10, "no step may run while paused"
    trainer.resume()
    thread.join(30)
    assert not thread.is_alive() and result["summary"].status == "completed"
    assert len(steps) == 3 * 188
    # Paused time is not training time: samples/s stays a training throughput.
    assert result["summary"].history[0].seconds < 100


def test_stop_while_paused_ends_the_run():
    data = make_data("binary", n=2000)
    stack = mlp()
    trainer = Trainer(TrainConfig(device="cpu", epochs=5, batch_size=8))
    held = watch_pause(trainer)
    trainer.pause()
    result = {}
    thread = threading.Thread(target=lambda: result.update(s=trainer.fit(build_model(stack, (6,), 1), data, stack=stack)))
    thread.start()
    assert held.wait(30), "the pause never held the training thread"
    trainer.request_stop()
    thread.join(10)
    assert not thread.is_alive() and result["s"].status == "stopped"


def test_continue_keeps_weights_and_optimizer_state():
    data = make_data("binary")
    trainer, first = fit(data, epochs=3, optimizer="adam")
    steps_before = next(iter(trainer.optimizer.state.values()))["step"].item()
    second = trainer.continue_fit(2)
    assert [m.epoch for m in second.history] == [1, 2, 3, 4, 5]
    assert next(iter(trainer.optimizer.state.values()))["step"].item() == steps_before + 2 * 15
    assert second.history[3].train_loss < first.history[0].train_loss


@pytest.mark.parametrize("scheduler", ["cosine", "onecycle"])
def test_continue_restarts_a_finished_schedule_from_the_configured_rate(scheduler):
    trainer, first = fit(make_data("binary"), epochs=3, optimizer="adam", scheduler=scheduler, learning_rate=0.01)
    assert first.history[-1].learning_rate < 0.005  # the schedule has run down
    weights = [p.detach().clone() for p in trainer.model.parameters()]
    second = trainer.continue_fit(3)
    rates = [m.learning_rate for m in second.history[3:]]
    if scheduler == "cosine":  # the rate each epoch trains at: the configured one, then falling again
        assert rates[0] == pytest.approx(0.01) and rates[0] > rates[1] > rates[2] > 0
    else:
        assert max(rates) > 0.005
    assert any(not torch.equal(a, b) for a, b in zip(weights, trainer.model.parameters()))


def test_early_stopping_restores_the_best_weights():
    # Few samples, random labels, a big network: validation loss rises quickly.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 6)).astype(np.float32)
    y = rng.integers(0, 2, size=80)
    data = Dataset("noise", "binary", X[:40], y[:40], X[40:], y[40:], ["a", "b"], [], None,
                   DataSummary("noise", 80, 6, (6,), "binary"))
    trainer, summary = fit(data, stack=mlp(256), epochs=200, learning_rate=0.01,
                           early_stopping=EarlyStopping(patience=3))
    assert summary.status == "early_stopped" and summary.epochs_run < 200
    assert summary.epochs_run == summary.best_epoch + 3
    best = summary.best()
    from netstudio.core.design.losses import make_loss
    from netstudio.core.training.metrics import evaluate

    yv = torch.as_tensor(data.y_val, dtype=torch.float32).reshape(-1, 1)
    _, val_loss = evaluate(trainer.model, torch.as_tensor(data.X_val), yv, make_loss(trainer.plan), trainer.plan, data)
    assert val_loss == pytest.approx(best.val_loss, rel=1e-5)


def test_divergence_stops_with_a_clear_message_and_keeps_good_weights():
    data = make_data("regression")
    trainer, summary = fit(data, optimizer="sgd", learning_rate=5.0, momentum=0.9, epochs=20)
    assert summary.status == "diverged"
    assert summary.message.startswith("training diverged at epoch") and "lower the learning rate" in summary.message
    assert "(loss nan)" in summary.message or "(loss inf)" in summary.message
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_divergence_after_good_epochs_keeps_the_best_ones():
    data = make_data("regression")
    stack = mlp()
    model = build_model(stack, data.input_shape, 1, seed=0)
    trainer = Trainer(TrainConfig(device="cpu", epochs=10, optimizer="sgd", learning_rate=0.01, momentum=0.0))

    class Sabotage(Callback):
        def on_epoch_end(self, metrics):
            if metrics.epoch == 3:
                for group in trainer.optimizer.param_groups:
                    group["lr"] = 1e6

    summary = trainer.fit(model, data, [Sabotage()], stack=stack)
    assert summary.status == "diverged" and summary.message.startswith("training diverged at epoch 4")
    assert summary.best_epoch == 3
    with torch.no_grad():
        restored = torch.nn.functional.mse_loss(model(torch.as_tensor(data.X_val)).reshape(-1), torch.as_tensor(data.y_val))
    assert restored.item() == pytest.approx(summary.best().val_loss, rel=1e-5)


class Explode(torch.nn.Module):
    """Raises an out-of-memory error on the n-th forward pass."""

    def __init__(self, after):
        super().__init__()
        self.after, self.calls = after, 0

    def forward(self, x):
        self.calls += 1
        if self.calls > self.after:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return x


def test_out_of_memory_is_reported_with_a_suggestion():
    data = make_data("binary")
    stack = mlp()
    model = torch.nn.Sequential(build_model(stack, (6,), 1, seed=0), Explode(after=20))
    trainer = Trainer(TrainConfig(device="cpu", epochs=5, batch_size=32))
    summary = trainer.fit(model, data, stack=stack)
    assert summary.status == "failed" and not summary.ok
    assert "out of memory" in summary.message and "smaller batch size" in summary.message
    assert summary.epochs_run == 1


def test_other_exceptions_reach_on_exception_and_propagate():
    seen = []

    class Watch(Callback):
        def on_exception(self, exc):
            seen.append(exc)

    class Broken(torch.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    data = make_data("binary")
    trainer = Trainer(TrainConfig(device="cpu"))
    with pytest.raises(ValueError, match="boom"):
        trainer.fit(torch.nn.Sequential(torch.nn.Linear(6, 1), Broken()), data, [Watch()])
    assert len(seen) == 1


def test_no_validation_split_uses_training_loss_for_best_epoch():
    data = make_data("binary", val=0.0)
    _, summary = fit(data, epochs=4)
    assert summary.history[-1].val_loss is None and summary.history[-1].values == {}
    assert summary.best_epoch is not None


def test_gradient_clipping_and_weight_decay_run():
    _, summary = fit(make_data("binary"), gradient_clip=0.5, weight_decay=0.01, epochs=3)
    assert summary.status == "completed"


def test_unavailable_device_is_refused_listing_the_available_ones():
    with pytest.raises(ConfigError, match=r"device cuda:7 is not available on this machine \(available: cpu"):
        resolve_device("cuda:7")
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert available_devices()[0].name == "cpu"


def test_continue_without_training_is_refused():
    with pytest.raises(ConfigError):
        Trainer(TrainConfig(device="cpu")).continue_fit(3)
