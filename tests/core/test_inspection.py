"""Inspection and diagnoses on real small training runs: hooks, statistics, cards, remedies."""

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.project import load_project, new_project
from netstudio.core.training.diagnoses import apply_remedy, diagnoser
from netstudio.core.training.inspection import (
    InspectionProbe,
    activation_stats,
    histogram,
    layer_modules,
    probe_for_session,
    record_activations,
    take_snapshot,
)
from netstudio.core.training.session import prepare_session
from netstudio.core.training.states import Callback

S = LayerSpec.create
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
MOONS = {"source": "synthetic", "kind": "moons", "samples": 300, "noise": 0.2, "seed": 0}


def project(layers, data=None, **training):
    p = new_project("t")
    p.data = dict(data or MOONS)
    p.stack = LayerStack(layers)
    p.training.update({"epochs": 10, "device": "cpu", "batch_size": 32, **training})
    return p


def mlp(activation="ReLU", hidden=16):
    return [S("Linear", out_features=hidden), S(activation), S("Linear", out_features="auto")]


def inspected(p, **kwargs):
    session = prepare_session(p, device="cpu")
    probe = probe_for_session(session, **kwargs)
    summary = session.fit([probe])
    return session, probe, summary, probe.diagnose(probe.history)


def kinds(found):
    return {d.kind for d in found}


def test_recorded_activations_equal_a_forward_pass_hooked_by_hand():
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(
        res1=nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), relu1=nn.ReLU())),
        fc2=nn.Linear(8, 3), tanh1=nn.Tanh()))
    x = torch.randn(5, 4)
    by_hand = {}
    handles = [m.register_forward_hook(lambda _m, _i, out, n=n: by_hand.__setitem__(n, out.detach().clone()))
               for n, m in model.named_modules() if n]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    model.train()
    recorded = record_activations(model, x)
    assert list(recorded) == ["res1.fc1", "res1.relu1", "res1", "fc2", "tanh1"]  # the order they ran
    for name, out in recorded.items():
        torch.testing.assert_close(out, by_hand[name], rtol=0, atol=0)
    assert model.training  # the mode is put back
    assert [n for n, _ in layer_modules(model)] == ["res1", "res1.fc1", "res1.relu1", "fc2", "tanh1"]


def test_dead_fraction_is_one_on_a_layer_forced_dead_and_low_on_a_healthy_one():
    session, probe, _summary, _found = inspected(load_project(SAMPLES / "iris.nsproj"))
    model = session.model
    X = torch.as_tensor(session.dataset.X_val)
    healthy = activation_stats("relu1", "ReLU", record_activations(model, X)["relu1"])
    assert healthy.dead_fraction < 0.5
    with torch.no_grad():
        model.fc1.bias.fill_(-100.0)
    dead = activation_stats("relu1", "ReLU", record_activations(model, X)["relu1"])
    assert dead.dead_fraction == 1.0
    snapshot = take_snapshot(model, X[:1], X)
    assert snapshot.layer("relu1").stats.dead_fraction == 1.0
    found = diagnoser(session)(type(probe.history)(latest=snapshot))
    card = next(d for d in found if d.kind == "dead_units")
    assert card.title == "100% of relu1's units never fire" and card.layer == "relu1"
    stack, _training = apply_remedy(session.project.stack, session.project.training, card.remedies[0])
    assert [spec.type for spec in stack] == ["Linear", "LeakyReLU", "Linear"]


def test_saturation_and_histograms():
    out = torch.tensor([[0.999, 0.5], [0.001, 0.5]])
    assert activation_stats("s", "Sigmoid", out).saturated_fraction == 0.5
    h = histogram(torch.tensor([0.0, 1.0, 1.0, 2.0]), bins=4)
    assert (h.low, h.high, h.counts.tolist()) == (0.0, 2.0, [1, 0, 2, 1])
    assert histogram(torch.tensor([float("nan")])) is None


@pytest.mark.parametrize("name", ["iris", "spiral"])
def test_healthy_sample_runs_have_no_diagnoses(name):
    _session, probe, summary, found = inspected(load_project(SAMPLES / f"{name}.nsproj"))
    assert summary.ok and found == []
    latest = probe.history.latest
    assert latest.step > 0 and latest.epoch == summary.epochs_run
    assert latest.layer("fc1").weights is not None and latest.layer("fc1").gradients is not None
    assert probe.history.gradient_norms and all(np.isfinite(probe.history.gradient_norms))


CASES = {
    "learning_rate_low": (mlp(), None, {"optimizer": "sgd", "learning_rate": 1e-6, "momentum": 0.0}),
    "learning_rate_high": (mlp("Tanh"), None, {"optimizer": "sgd", "learning_rate": 5.0, "momentum": 0.9}),
    "vanishing_gradients": ([x for _ in range(8) for x in (S("Linear", out_features=32), S("Sigmoid"))]
                            + [S("Linear", out_features="auto")], None, {"optimizer": "sgd", "learning_rate": 0.01}),
    "exploding_gradients": ([S("Linear", out_features=64) for _ in range(3)] + [S("Linear", out_features="auto")], None,
                            {"optimizer": "sgd", "learning_rate": 0.5, "momentum": 0.9}),
    "overfitting": ([S("Linear", out_features=256), S("ReLU"), S("Linear", out_features=256), S("ReLU"),
                     S("Linear", out_features="auto")],
                    {"source": "synthetic", "kind": "gaussians", "samples": 80, "noise": 1.5, "seed": 0,
                     "validation_split": 0.5}, {"epochs": 60, "learning_rate": 0.01}),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_each_diagnosis_fires_on_a_run_built_to_show_it(kind):
    layers, data, training = CASES[kind]
    session, _probe, _summary, found = inspected(project(layers, data, **training))
    assert kind in kinds(found), found
    card = next(d for d in found if d.kind == kind)
    assert card.evidence and card.remedies
    for remedy in card.remedies:  # every remedy gives a design and settings that still validate
        stack, settings = apply_remedy(session.project.stack, session.project.training, remedy)
        assert stack.validate(session.dataset.input_shape, session.dataset.output_width).valid
        assert settings != session.project.training or stack.to_config() != session.project.stack.to_config()


def test_an_output_layer_that_does_not_fit_the_loss_is_a_card_with_its_fix():
    p = load_project(SAMPLES / "house-prices.nsproj")
    p.stack.append(S("Sigmoid"))
    p.training["epochs"] = 2
    session, _probe, _summary, found = inspected(p)
    card = next(d for d in found if d.kind == "design")
    assert "Sigmoid limits the outputs" in card.evidence
    stack, _ = apply_remedy(session.project.stack, session.project.training, card.remedies[0])
    assert stack.to_config() == load_project(SAMPLES / "house-prices.nsproj").stack.to_config()


def test_the_same_seed_gives_the_same_metrics_with_inspection_on_and_off():
    def rows(with_probe):
        layers = [S("Linear", out_features=16), S("ReLU"), S("Dropout", p=0.3), S("Linear", out_features=16),
                  S("BatchNorm1d"), S("Tanh"), S("Linear", out_features="auto")]
        session = prepare_session(project(layers, epochs=4), device="cpu")
        callbacks = [probe_for_session(session, rate=1e6, gradient_every=1)] if with_probe else []
        summary = session.fit(callbacks)
        return [(m.epoch, m.train_loss, m.val_loss, m.values) for m in summary.history]

    assert rows(True) == rows(False)


def test_set_sample_changes_what_the_next_snapshot_shows():
    session = prepare_session(project(mlp(), epochs=1), device="cpu")
    seen = []
    probe = InspectionProbe(session.model, session.dataset.X_val[0], session.dataset.X_val, on_snapshot=seen.append)
    session.fit([probe])
    first = seen[-1].layer("fc1").activation
    probe.set_sample(session.dataset.X_val[1])
    probe.on_fit_end(None)
    x = torch.as_tensor(session.dataset.X_val[1:2])
    np.testing.assert_allclose(seen[-1].layer("fc1").activation, session.model.fc1(x).detach().numpy()[0], rtol=1e-6)
    assert not np.array_equal(first, seen[-1].layer("fc1").activation)


def test_call_soon_runs_on_the_training_thread_between_steps():
    import threading

    session = prepare_session(project(mlp(), epochs=2), device="cpu")
    probe = probe_for_session(session)
    ran = []

    class Ask(Callback):  # asks during the first step, as the window does from its thread
        def on_batch_end(self, state):
            if state.global_step == 1:
                probe.call_soon(lambda: ran.append((threading.current_thread(), session.model.training)))

    session.fit([Ask(), probe])
    assert ran == [(threading.current_thread(), True)]
    assert probe.call_soon(lambda: ran.append("late")) is False  # the fit is over: the caller runs it itself
    assert len(ran) == 1


def test_a_probe_given_the_previous_history_sees_the_whole_continued_run():
    """Continue makes a new probe; handed the last probe's history it diagnoses all the epochs,
    so the over-fitting card measures the rise from the best epoch before the Continue."""
    layers, data, training = CASES["overfitting"]
    session = prepare_session(project(layers, data, **{**training, "epochs": 20}), device="cpu")
    first = probe_for_session(session)
    session.fit([first])
    steps = len(first.history.step_losses)  # 2 a epoch
    seen = []
    second = probe_for_session(session, history=first.history, on_diagnoses=seen.append)
    assert second.history is first.history
    session.continue_fit(40, [second])
    assert [m.epoch for m in second.history.epochs] == list(range(1, 61))
    assert len(second.history.step_losses) == second.history.latest.step == 3 * steps
    card = next(d for d in seen[-1] if d.kind == "overfitting")
    best = int(re.search(r"\(epochs (\d+)–", card.evidence).group(1))
    assert best <= 20, card.evidence  # the lowest validation loss came before the Continue
