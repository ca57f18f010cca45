"""The Inside view during and after a real run: snapshots, fixes as one undo step, Try it, Explain."""

import numpy as np
import torch
from PySide6.QtCore import Qt

from netstudio.core.design.layer_type import Fix
from netstudio.core.training.diagnoses import Diagnosis, Remedy
from netstudio.core.training.inspection import raw_sample
from netstudio.core.training.try_it import predict_sample, prepare_values
from netstudio.ui.plots.inside_view import (
    activation_image,
    describe_input,
    histogram_image,
    input_image,
)
from netstudio.ui.tasks import running_threads
from tests.ui.test_workflow import iris_project, open_with_data, train  # noqa: F401 - a fixture


def test_inside_view_follows_a_run_and_try_it_matches_the_model(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    view = workflow.inside
    snapshots = []
    workflow.inside_controller.signals.snapshot_ready.connect(snapshots.append)
    train(qtbot, workflow, epochs=3)
    assert snapshots and snapshots[-1].epoch == 3
    view.redraw()
    assert [view.layer.itemText(i) for i in range(view.layer.count())] == ["fc1", "fc2"]
    assert len(view._images) == len(snapshots[-1].layers) and view._images[0].image is not None
    assert "Step" in view.status.text()

    row = {"sepal_length": "6.1", "sepal_width": "2.8", "petal_length": "4.7", "petal_width": "1.2"}
    view.set_try_values(row)
    with qtbot.waitSignal(workflow.inside_controller.signals.try_ready, timeout=10000) as got:
        qtbot.mouseClick(view.try_button, Qt.MouseButton.LeftButton)
    session = workflow.controller.session
    expected = predict_sample(session.model, session.dataset, session.trainer.plan.output,
                              prepare_values(session.dataset, row))
    assert got.args[0].prediction == expected.prediction and got.args[0].prediction in view.try_result.text()

    # A sample double-clicked in the Evaluation view's cell list becomes the Inside view's sample.
    evaluation = workflow.evaluation
    assert evaluation.report is not None
    rows = evaluation.show_cell(1, 1)
    assert len(rows) > 1
    with qtbot.waitSignal(workflow.inside_controller.signals.snapshot_ready, timeout=10000) as shot:
        evaluation.samples_table.cellDoubleClicked.emit(1, 0)
    assert view.sample_index() == int(rows[1])
    with torch.no_grad():
        expected_fc1 = session.model.fc1(torch.as_tensor(session.dataset.X_val[rows[1]][None])).numpy()[0]
    np.testing.assert_allclose(shot.args[0].layer("fc1").activation, expected_fc1, rtol=1e-5, atol=1e-6)

    with qtbot.waitSignal(workflow.inside_controller.explainer.idle, timeout=30000):
        qtbot.mouseClick(view.explain, Qt.MouseButton.LeftButton)
    assert "Integrated" in view.attribution_plot.plotItem.titleLabel.text
    assert running_threads() == []


def test_a_diagnosis_fix_is_one_undo_step(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    view = workflow.inside
    remedy = Remedy("Replace relu1 with LeakyReLU and lower the rate",
                    edits=((1, Fix("Replace with LeakyReLU", "replace", layer={"type": "LeakyReLU", "params": {}})),),
                    settings=(("learning_rate", 0.002), ("early_stopping.patience", 4)))
    view.show_diagnoses((Diagnosis("dead_units", "70% of relu1's units never fire", "evidence", "relu1", (remedy,)),))
    card = view.diagnosis_cards()[0]
    undo = window.design.undo_stack
    before = undo.count()
    qtbot.mouseClick(card.buttons[0], Qt.MouseButton.LeftButton)
    assert undo.count() == before + 1
    assert [s.type for s in window.design.stack] == ["Linear", "LeakyReLU", "Linear"]
    assert window.project.training["learning_rate"] == 0.002 and workflow.training_panel.learning_rate.value() == 0.002
    assert window.project.training["early_stopping"]["patience"] == 4
    undo.undo()
    assert [s.type for s in window.design.stack] == ["Linear", "ReLU", "Linear"]
    assert window.project.training["learning_rate"] == 0.01 and workflow.training_panel.learning_rate.value() == 0.01
    assert window.project.training["early_stopping"]["patience"] is None


def test_pictures_of_activations_and_histograms():
    assert activation_image(np.arange(3.0)).shape == (1, 3)
    assert activation_image(np.zeros((5, 2))).shape == (5, 2)
    grid = activation_image(np.random.default_rng(0).normal(size=(4, 3, 3)))
    assert grid.shape == (7, 7) and np.isnan(grid[3, 3])

    class H:
        def __init__(self, low, high, counts):
            self.low, self.high, self.counts = low, high, np.asarray(counts)
            self.edges = np.linspace(low, high, len(counts) + 1)

    image, low, high = histogram_image([H(0, 1, [1, 1]), H(0, 2, [2, 0])])
    assert (low, high) == (0, 2) and image.shape == (2, 2)
    np.testing.assert_allclose(image.sum(axis=1), 1.0)


def test_try_it_and_explain_answer_while_a_run_trains(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    view, signals = workflow.inside, workflow.inside_controller.signals
    workflow.training_panel.epochs.setValue(5000)
    with qtbot.waitSignal(signals.snapshot_ready, timeout=60000):
        qtbot.mouseClick(workflow.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert workflow.is_running
    view.set_try_values({"sepal_length": "5.0", "sepal_width": "3.4", "petal_length": "1.5", "petal_width": "0.2"})
    with qtbot.waitSignal(signals.try_ready, timeout=30000) as got:
        qtbot.mouseClick(view.try_button, Qt.MouseButton.LeftButton)
    assert got.args[0].prediction in ("setosa", "versicolor", "virginica")
    with qtbot.waitSignal(signals.attribution_ready, timeout=30000) as explained:
        qtbot.mouseClick(view.explain, Qt.MouseButton.LeftButton)
    assert explained.args[0].names == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert workflow.is_running  # neither stopped the run
    with qtbot.waitSignal(workflow.controller.idle, timeout=60000):
        qtbot.mouseClick(workflow.training_panel.stop_button, Qt.MouseButton.LeftButton)
    # after the run, Try it answers at once
    with qtbot.waitSignal(signals.try_ready, timeout=10000):
        qtbot.mouseClick(view.try_button, Qt.MouseButton.LeftButton)
    assert running_threads() == []


def test_continue_keeps_the_inside_probe_history(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    train(qtbot, workflow, epochs=3)
    controller = workflow.inside_controller
    first = controller.probe
    assert [m.epoch for m in first.history.epochs] == [1, 2, 3]
    diagnosed = []
    controller.signals.diagnoses_ready.connect(diagnosed.append)
    with qtbot.waitSignal(workflow.controller.idle, timeout=120000):
        assert workflow.continue_training(2)
    assert controller.probe is not first and controller.probe.history is first.history
    assert [m.epoch for m in controller.probe.history.epochs] == [1, 2, 3, 4, 5]
    assert diagnosed  # the diagnoses ran over that whole history
    # a new run (Train) starts a new history
    train(qtbot, workflow, epochs=2)
    assert [m.epoch for m in controller.probe.history.epochs] == [1, 2]


def test_try_it_keeps_the_typed_values_when_a_run_starts_and_predicts_live(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    view, signals = workflow.inside, workflow.inside_controller.signals
    row = {"sepal_length": "6.3", "sepal_width": "3.3", "petal_length": "6.0", "petal_width": "2.5"}
    view.set_try_values(row)  # typed, Predict not pressed
    workflow.training_panel.epochs.setValue(5000)
    answers = []
    signals.try_ready.connect(answers.append)
    with qtbot.waitSignal(signals.try_ready, timeout=60000):
        qtbot.mouseClick(workflow.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert workflow.is_running
    assert view.try_values() == row  # Train rebuilt the fields from the run's dataset, keeping the text
    assert answers[0].prediction in ("setosa", "versicolor", "virginica") and "Prediction" in view.try_result.text()
    qtbot.waitUntil(lambda: len(answers) >= 3, timeout=60000)  # it follows the model while it learns
    with qtbot.waitSignal(workflow.controller.idle, timeout=60000):
        qtbot.mouseClick(workflow.training_panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not workflow.inside_controller._try_pending, timeout=10000)
    session = workflow.controller.session  # the last answer is the trained model's
    expected = predict_sample(session.model, session.dataset, session.trainer.plan.output,
                              prepare_values(session.dataset, row))
    assert answers[-1].prediction == expected.prediction
    np.testing.assert_allclose(list(answers[-1].probabilities.values()), list(expected.probabilities.values()), rtol=1e-5)
    assert view.try_values() == row
    assert running_threads() == []


def test_the_inside_view_shows_the_input_sample_first(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    view = workflow.inside
    train(qtbot, workflow, epochs=1)
    view.redraw()
    session = workflow.controller.session
    sample = session.dataset.X_val[view.sample_index()]
    np.testing.assert_array_equal(view._input_item.image, sample[None, :].T)  # the strip: the network's input
    row = {"sepal_length": "6.1", "sepal_width": "2.8", "petal_length": "4.7", "petal_width": "1.2"}
    raw = raw_sample(session.dataset.preprocessor, prepare_values(session.dataset, row))
    np.testing.assert_allclose(raw, [6.1, 2.8, 4.7, 1.2], rtol=1e-5)  # back in the CSV's units
    text = view.input_text()
    assert text.startswith("Input: sample 1 · sepal_length ")
    assert describe_input(raw_sample(session.dataset.preprocessor, sample), session.dataset.feature_names) in text
    axis = view.activations.ci.getItem(1, 0).getAxis("bottom")
    assert [name for _pos, name in axis._tickLevels[0]] == session.dataset.feature_names
    assert len(view._images) == len(view._snapshot.layers)  # the layers follow the input


def test_an_image_input_is_drawn_as_an_image_and_a_sequence_as_a_heatmap(qtbot):
    from torch import nn

    from netstudio.core.training.inspection import take_snapshot
    from netstudio.ui.plots.inside_view import InsideView

    view = InsideView()
    qtbot.addWidget(view)
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
    image = torch.rand(1, 3, 6, 6)
    view.show_snapshot(take_snapshot(model, image, None))
    view.redraw()
    picture, rgb = input_image(image[0].numpy())
    assert rgb and picture.shape == (6, 6, 3) and view._input_item.image.shape == (6, 6, 3)
    np.testing.assert_allclose(view._input_item.image, np.transpose(picture, (1, 0, 2)))
    lo, hi = image.min(), image.max()
    np.testing.assert_allclose(picture, ((image[0] - lo) / (hi - lo)).permute(1, 2, 0).numpy(), rtol=1e-5, atol=1e-6)
    assert len(view._images) == 4 and view.input_text() == "Input: sample 1 · 3×6×6"

    series = torch.arange(12.0).reshape(1, 4, 3)  # T=4 steps of F=3 features
    lstm = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    view.show_snapshot(take_snapshot(lstm, series, None))
    view.redraw()
    assert not input_image(series[0].numpy())[1]
    np.testing.assert_array_equal(view._input_item.image, series[0].numpy().T)  # T×F, drawn row-major
