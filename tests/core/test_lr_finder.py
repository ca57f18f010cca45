"""The learning-rate range test on real small training."""

from pathlib import Path

import pytest
import torch

from netstudio.core.errors import ConfigError
from netstudio.core.project import load_project
from netstudio.core.training.lr_finder import find_learning_rate
from netstudio.core.training.session import prepare_session

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def iris_session(**overrides):
    return prepare_session(load_project(SAMPLES / "iris.nsproj"), device="cpu", **overrides)


def test_the_suggestion_on_iris_trains_to_ninety_percent_and_leaves_the_model_alone():
    session = iris_session()
    before = {k: v.clone() for k, v in session.model.state_dict().items()}
    rng = torch.get_rng_state()
    test = find_learning_rate(session)
    assert torch.equal(rng, torch.get_rng_state())
    for key, value in session.model.state_dict().items():
        assert torch.equal(value, before[key])
    assert len(test.rates) == len(test.losses) == len(test.smoothed) > 20
    assert all(b > a for a, b in zip(test.rates, test.rates[1:]))
    assert test.rates[0] <= test.suggestion <= test.best_rate
    assert test.to_csv().splitlines()[0] == "rate,loss,smoothed_loss"
    project = load_project(SAMPLES / "iris.nsproj")
    project.training["learning_rate"] = test.suggestion
    trained = prepare_session(project, device="cpu")  # the sample's own 60 epochs
    summary = trained.fit()
    assert summary.best().values["val_accuracy"] >= 0.9


def test_the_same_session_gives_the_same_curve_and_cancel_keeps_what_it_has():
    assert find_learning_rate(iris_session(), steps=20).losses == find_learning_rate(iris_session(), steps=20).losses
    calls = []
    test = find_learning_rate(iris_session(), steps=50, progress=lambda i, n: calls.append(i),
                              cancelled=lambda: len(calls) >= 5)
    assert len(test.rates) == 5 and test.stopped_early


def test_bad_bounds_are_refused():
    with pytest.raises(ConfigError):
        find_learning_rate(iris_session(), start=1.0, end=0.1)
