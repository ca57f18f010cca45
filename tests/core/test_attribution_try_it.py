"""Integrated Gradients over raw features and pixels, and Try it against `netstudio predict`."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from netstudio.core.errors import DataError
from netstudio.core.export.exporter import write_run_models
from netstudio.core.export.predict import predict_file
from netstudio.core.project import load_project
from netstudio.core.runs.folder import save_run
from netstudio.core.training.attribution import attribute
from netstudio.core.training.session import prepare_session
from netstudio.core.training.try_it import (
    input_columns,
    predict_sample,
    prepare_image,
    prepare_values,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    session = prepare_session(load_project(SAMPLES / "iris.nsproj"), device="cpu", epochs=20)
    summary = session.fit()
    run = save_run(session, summary, tmp_path_factory.mktemp("run") / "iris", write_models=write_run_models)
    return session, Path(run)


def test_try_it_predicts_what_netstudio_predict_does_on_the_same_row(iris, tmp_path):
    session, run = iris
    with open(SAMPLES / "iris.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = input_columns(session.dataset)
    assert columns == [c for c in rows[0] if c != "species"]
    for row in (rows[0], rows[70], rows[140]):
        one = tmp_path / "row.csv"
        one.write_text(",".join(columns) + "\n" + ",".join(row[c] for c in columns) + "\n", encoding="utf-8")
        table = predict_file(run / "model.pt2", one)
        mine = predict_sample(session.model, session.dataset, session.trainer.plan.output,
                              prepare_values(session.dataset, {c: row[c] for c in columns}))
        assert mine.prediction == table.rows[0][0]
        probs = [float(v) for v in table.rows[0][1:1 + len(session.dataset.classes)]]
        np.testing.assert_allclose(list(mine.probabilities.values()), probs, atol=1e-5)
    blank = prepare_values(session.dataset, {})  # nothing typed: every column imputed (the training mean)
    np.testing.assert_allclose(blank, 0.0, atol=1e-5)
    with pytest.raises(DataError):
        prepare_image(session.dataset, tmp_path / "x.png")


def test_integrated_gradients_over_the_raw_features_sum_to_the_output_change(iris):
    session, _run = iris
    model = session.model
    sample = session.dataset.X_val[0]
    grads_before = [p.grad for p in model.parameters()]
    result = attribute(model, session.dataset, sample, steps=64)
    assert result.names == tuple(input_columns(session.dataset)) and result.values.shape == (4,)
    with torch.no_grad():
        out = model(torch.as_tensor(sample[None]))[0, result.target] - model(torch.zeros(1, 4))[0, result.target]
    assert result.values.sum() == pytest.approx(float(out), rel=0.02, abs=0.05)  # completeness (ReLU kinks: not exact)
    assert result.target == int(model(torch.as_tensor(sample[None])).argmax())
    assert [p.grad for p in model.parameters()] == grads_before and model.training


def test_integrated_gradients_over_an_image_is_a_heatmap():
    session = prepare_session(load_project(SAMPLES / "shapes.nsproj"), device="cpu", epochs=1)
    result = attribute(session.model, session.dataset, session.dataset.X_val[0], steps=8)
    assert result.values.shape == session.dataset.input_shape[1:] and result.names == ()
    assert np.isfinite(result.values).all()
