"""Values that reached torch or Qt unchecked, and designs whose size only showed at export time.

The review's projects: an ``Unflatten`` of 10,000 sizes (it trained, then the model export ran
past 300 s and the weights were lost), one of a million sizes (the window asked Qt for an
8-million-pixel label), a seed of 2**64 (an internal error in ``train``) or 2**31 (the window's
spin box showed 0), and a LeakyReLU ``negative_slope`` or ELU ``alpha`` of 1e308 ("Valid" in
``summary``, an internal error in ``train``). Each is now refused where the project is read, with
the JSON path in one line, or shown exactly as the project holds it.
"""

from __future__ import annotations

import pytest

from netstudio.core.errors import ProjectError
from netstudio.core.project import load_project
from tests.reliability.catalogue import project_doc, write_project
from tests.reliability.conftest import netstudio, one_error_line, tally


@pytest.fixture(autouse=True)
def count():
    tally("inputs")


def _unflatten(sizes: list[int]) -> list[dict]:
    return [{"type": "Unflatten", "params": {"dim": 1, "unflattened_size": sizes}}, {"type": "Flatten"},
            {"type": "Linear", "params": {"out_features": "auto"}}]


@pytest.mark.parametrize("length", [9, 10_000, 1_000_000])
def test_an_unflatten_of_many_sizes_is_refused_when_the_project_is_read(tmp_path, length):
    sizes = [2] + [1] * (length - 1)  # the moons' 2 features, split into `length` dimensions
    write_project(tmp_path, project_doc(layers=_unflatten(sizes)))
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path / "p.nsproj")
    message = str(info.value)
    assert "model.layers[0].params.unflattened_size: must hold at most 8 sizes" in message, message
    assert len(message) < 300


def test_an_unflatten_of_many_sizes_is_refused_by_summary_and_train(tmp_path):
    write_project(tmp_path, project_doc(layers=_unflatten([2] + [1] * 9_999)))
    for command in ("summary", "train"):
        line = one_error_line(netstudio(command, "p.nsproj", cwd=tmp_path), 2)
        assert "must hold at most 8 sizes (it holds 10,000)" in line, line


def test_shapes_of_more_than_eight_dimensions_are_a_validation_error(tmp_path):
    """Unflattens of allowed lengths, chained, still may not reach a rank no export handles."""
    from netstudio.core.design.stack import LayerSpec, LayerStack

    S = LayerSpec.create
    stack = LayerStack([S("Unflatten", dim=1, unflattened_size=[1] * 7 + [2]),
                        S("Unflatten", dim=1, unflattened_size=[1] * 4)])
    validation = stack.validate((2,))
    assert not validation.valid
    assert "would output 11 dimensions per sample, more than the 8 NetStudio handles" in validation.first_error()
    deep_input = LayerStack([S("Flatten")]).validate((1,) * 9)
    assert "the input has 9 dimensions per sample" in deep_input.first_error()


@pytest.mark.parametrize("layer, param", [("LeakyReLU", "negative_slope"), ("ELU", "alpha")])
@pytest.mark.parametrize("value", [1e308, -1e300, 1e7])
def test_float_layer_settings_torch_cannot_train_with_are_refused(tmp_path, layer, param, value):
    layers = [{"type": "Linear", "params": {"out_features": 8}}, {"type": layer, "params": {param: value}},
              {"type": "Linear", "params": {"out_features": "auto"}}]
    write_project(tmp_path, project_doc(layers=layers))
    for command in ("summary", "train"):
        line = one_error_line(netstudio(command, "p.nsproj", cwd=tmp_path), 2)
        assert f"model.layers[1].params.{param}" in line and "internal error" not in line, line


def test_every_unbounded_float_layer_setting_is_bounded():
    """The bound holds for the whole catalog: a new layer's float setting gets it too."""
    from netstudio.core.design.layers import layer_types
    from netstudio.core.design.params import MAX_FLOAT

    for layer_type in layer_types():
        for param in layer_type.params:
            if param.kind == "float":
                assert param.check(MAX_FLOAT * 10) is not None, (layer_type.name, param.name)
                assert param.check(-MAX_FLOAT * 10) is not None, (layer_type.name, param.name)
            if param.kind == "ints":
                assert param.check([1] * 9) is not None, (layer_type.name, param.name)


@pytest.mark.parametrize("where, value", [("training", 2**64), ("training", 2**31), ("data", 2**64),
                                          ("data", 10**30)])
def test_a_seed_beyond_what_torch_and_qt_hold_is_refused(tmp_path, where, value):
    doc = project_doc()
    doc[where]["seed"] = value
    write_project(tmp_path, doc)
    line = one_error_line(netstudio("train", "p.nsproj", cwd=tmp_path), 2)
    assert f"{where}.seed: must be at most 2,147,483,647" in line, line


@pytest.mark.parametrize("value", [str(2**64), str(2**31)])
def test_a_seed_flag_beyond_the_bound_is_refused(tmp_path, value):
    write_project(tmp_path, project_doc())
    line = one_error_line(netstudio("train", "p.nsproj", "--seed", value, cwd=tmp_path), 2)
    assert "seed: must be at most 2,147,483,647" in line, line


def test_the_window_shows_the_largest_seed_exactly(qtbot):
    """The spin boxes take their range from the schema, so every seed a project may hold shows."""
    from netstudio.core.config import MAX_SEED, DataConfig, TrainConfig, settings, validate_training
    from netstudio.ui.training.panel import TrainingPanel

    assert settings(TrainConfig)["seed"].maximum == MAX_SEED == settings(DataConfig)["seed"].maximum
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_config(validate_training({"seed": MAX_SEED}))
    assert panel.seed.value() == MAX_SEED and panel.seed.maximum() == MAX_SEED
    assert panel.config()["seed"] == MAX_SEED


def test_the_float_editor_range_is_the_schema_bound(qtbot):
    from netstudio.core.design.layers import get_layer_type
    from netstudio.core.design.params import MAX_FLOAT
    from netstudio.ui.designer.param_editors import FloatEditor

    param = get_layer_type("LeakyReLU").param_index["negative_slope"]
    editor = FloatEditor(param)
    qtbot.addWidget(editor)
    assert editor.spin.maximum() == MAX_FLOAT and editor.spin.minimum() == -MAX_FLOAT
