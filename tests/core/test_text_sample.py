"""The bundled reviews sample and the text templates: the sample loads as text, both templates fit
its vocabulary, and a short training beats the majority class."""

from __future__ import annotations

import pytest

from netstudio.core.data.load import load_dataset, samples_dir
from netstudio.core.design.templates import get_template
from netstudio.core.project import load_project, project_from_template
from netstudio.core.training.session import prepare_session


def test_the_reviews_sample_is_text_with_a_known_rule():
    data = load_dataset({"source": "sample", "name": "reviews"}, samples_dir())
    assert data.preprocessor.kind == "text" and data.input_shape == (32,)
    assert data.summary.text["lengths"]["max"] <= 32  # no review is cut
    assert data.summary.class_counts == {"negative": 285, "positive": 315}
    project = load_project(samples_dir() / "reviews.nsproj")
    assert project.stack.validate(data.input_shape, data.output_width, vocabulary=data.vocabulary).valid


@pytest.mark.parametrize("key", ["transformer-text", "lstm-text"])
def test_text_templates_fit_the_sample(key):
    data = load_dataset({"source": "sample", "name": "reviews"}, samples_dir())
    validation = get_template(key).stack().validate(data.input_shape, data.output_width, vocabulary=data.vocabulary)
    assert validation.valid, validation.first_error()
    assert validation.layers[0].params["num_embeddings"] == data.vocabulary


def test_a_short_training_beats_the_majority_class(tmp_path):
    project = project_from_template(get_template("lstm-text"))
    project.data = {"source": "sample", "name": "reviews"}
    project.training["epochs"] = 6
    path = project.save(tmp_path / "reviews.nsproj")
    session = prepare_session(load_project(path))
    summary = session.fit()
    majority = max(session.dataset.summary.class_counts.values()) / 600
    assert summary.ok and summary.history[-1].values["val_accuracy"] > majority + 0.1


def test_try_it_and_attributions_speak_tokens(tmp_path):
    from netstudio.core.training.attribution import attribute
    from netstudio.core.training.try_it import input_columns, predict_sample, prepare_values

    project = project_from_template(get_template("lstm-text"))
    project.data = {"source": "sample", "name": "reviews"}
    project.training["epochs"] = 1
    session = prepare_session(load_project(project.save(tmp_path / "reviews.nsproj")))
    assert session.fit().ok
    data = session.dataset
    assert input_columns(data) == ["review"]
    sample = prepare_values(data, {"review": "The plot was not brilliant"})
    assert (sample == data.preprocessor.encoder.encode(["the plot was not brilliant"])[0]).all()
    result = predict_sample(session.model, data, "sigmoid", sample)
    assert result.prediction in data.classes and abs(sum(result.probabilities.values()) - 1) < 1e-6
    found = attribute(session.model, data, sample, steps=16)
    assert found.names == ("1: the", "2: plot", "3: was", "4: not", "5: brilliant")
    assert found.values.shape == (5,) and found.delta < 0.05
