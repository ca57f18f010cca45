"""Templates are valid designs, and the design's input shape round-trips through the project file."""

import numpy as np
import pytest

from netstudio.core.config import TrainConfig
from netstudio.core.data.dataset import Dataset, DataSummary
from netstudio.core.design.builder import build_model
from netstudio.core.design.stack import LayerStack
from netstudio.core.design.templates import (
    TEMPLATES,
    get_template,
    parse_input_shape,
    suggest_input_shape,
)
from netstudio.core.project import (
    load_project,
    project_from_template,
    read_input_shape,
    store_input_shape,
)

DESIGNS = [t for t in TEMPLATES if t.key != "blank"]


@pytest.mark.parametrize("template", DESIGNS, ids=lambda t: t.key)
def test_every_template_validates_on_its_input_shape(template):
    validation = template.stack().validate(template.input_shape)
    assert validation.valid, validation.first_error()
    assert not [i for r in validation.layers for i in r.issues], "templates should not even warn"
    assert validation.total_parameters > 0


@pytest.mark.parametrize("template", DESIGNS, ids=lambda t: t.key)
def test_template_projects_round_trip(template, tmp_path):
    project = project_from_template(template)
    path = project.save(tmp_path / f"{template.key}.nsproj")
    again = load_project(path)
    assert again.stack.to_config() == template.stack().to_config()
    assert read_input_shape(again) == template.input_shape
    assert again.name == template.key


def test_the_expected_templates_exist():
    keys = [t.key for t in TEMPLATES]
    assert keys[:5] == ["blank", "first-network", "mlp-classifier", "lenet-cnn", "small-rnn"]
    assert keys[5:8] == ["small-resnet", "inception-block", "cnn1d-sequence"]
    assert {"lstm-forecaster", "cnn1d-forecaster"} <= set(keys)
    assert {"transformer-text", "lstm-text"} <= set(keys)
    first = get_template("first-network")
    assert [s.type for s in first.stack()] == ["Linear", "ReLU", "Linear"]
    shapes = [r.output_shape for r in first.stack().validate(first.input_shape).layers]
    assert shapes == [(5,), (5,), (1,)]
    lenet = get_template("lenet-cnn").stack().validate((1, 28, 28))
    assert lenet.layers[6].output_shape == (400,)  # 16 × 5 × 5 after the second pooling
    assert len(get_template("blank").stack()) == 0
    with pytest.raises(KeyError, match="first-network"):
        get_template("nope")


def test_each_call_gives_an_independent_stack():
    template = get_template("mlp-classifier")
    a, b = template.stack(), template.stack()
    a.set_param(0, "out_features", 7)
    assert b[0].params["out_features"] == 64


@pytest.mark.parametrize("text, shape", [("1, 28, 28", (1, 28, 28)), ("3x32x32", (3, 32, 32)),
                                         ("[10]", (10,)), ("30 4", (30, 4)), ("1×28×28", (1, 28, 28))])
def test_parse_input_shape(text, shape):
    assert parse_input_shape(text) == shape


@pytest.mark.parametrize("text", ["", "a, b", "0, 3", "-1", "1,2,3,4,5", "1.5", "99999999", "2, x", "x2"])
def test_parse_input_shape_rejects_nonsense(text):
    with pytest.raises(ValueError):
        parse_input_shape(text)


def test_a_malformed_stored_input_shape_is_reported():
    project = project_from_template(get_template("blank"))
    project.model_extra["input_shape"] = "big"
    with pytest.raises(ValueError, match="model.input_shape"):
        read_input_shape(project)
    store_input_shape(project, (3, 8, 8))
    assert project.to_json()["model"]["input_shape"] == [3, 8, 8]


def test_suggested_input_shape_fits_the_first_layer():
    for template in DESIGNS:
        stack = template.stack()
        assert stack.validate(suggest_input_shape(stack)).valid, template.key
    assert suggest_input_shape(LayerStack()) == (10,)


BLOCK_TEMPLATES = ["small-resnet", "inception-block", "cnn1d-sequence"]


@pytest.mark.parametrize("key", BLOCK_TEMPLATES)
def test_block_templates_train_a_few_steps_on_tiny_data(key):
    """Real training on 48 random samples of the template's shape, three classes told apart by the
    mean of the input: the loss is finite and goes down."""
    from netstudio.core.training.trainer import Trainer

    template = get_template(key)
    shape = template.input_shape
    rng = np.random.default_rng(0)
    y = (np.arange(48) % 3).astype(np.int64)
    X = (rng.normal(size=(48, *shape)) + (y - 1).reshape(-1, *[1] * len(shape))).astype(np.float32)
    data = Dataset(key, "multiclass", X[:36], y[:36], X[36:], y[36:], ["a", "b", "c"], [], None,
                   DataSummary(key, 48, int(np.prod(shape)), shape, "multiclass"), 0.0, 1.0)
    stack = template.stack()
    model = build_model(stack, shape, 3, seed=0)
    config = TrainConfig(**{**template.training, "device": "cpu", "epochs": 4, "batch_size": 12, "seed": 0})
    summary = Trainer(config).fit(model, data, (), stack=stack)
    losses = [m.train_loss for m in summary.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_the_small_resnet_uses_a_projection_where_it_halves_the_size():
    validation = get_template("small-resnet").stack().validate((3, 32, 32), 3)
    shapes = [r.output_shape for r in validation.layers]
    assert shapes[3] == (16, 32, 32) and shapes[5] == (32, 16, 16) and shapes[7] == (64, 8, 8)
    assert validation.layers[-1].output_shape == (3,)
    inception = get_template("inception-block").stack().validate((3, 32, 32), 3)
    assert inception.layers[3].output_shape == (8 + 16 + 8 + 8, 16, 16)  # the four branches' channels
