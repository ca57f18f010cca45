"""Find Learning Rate… in the window: the range test on a copy, its curve, "Use" as one undo step."""

from PySide6.QtCore import Qt

from netstudio.ui.tasks import running_threads
from netstudio.ui.training.lr_finder_dialog import LearningRateDialog
from tests.ui.test_workflow import iris_project, open_with_data  # noqa: F401 - a fixture


def test_the_range_test_dialog_sets_the_rate_as_one_undo_step(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    dialog = LearningRateDialog(window.project, workflow.data_panel.dataset, window)
    dialog.rate_chosen.connect(workflow._use_learning_rate)
    with qtbot.waitSignal(dialog.runner.idle, timeout=60000):
        assert dialog.start()
    assert dialog.range_test is not None and dialog.use.isEnabled()
    rate = dialog.range_test.suggestion
    assert f"{rate:g}" in dialog.use.text() and dialog.marker.isVisible()
    assert len(dialog.smooth.getData()[0]) > 10
    undo = window.design.undo_stack
    before = undo.count()
    qtbot.mouseClick(dialog.use, Qt.MouseButton.LeftButton)
    assert undo.count() == before + 1
    assert window.project.training["learning_rate"] == rate
    assert workflow.training_panel.learning_rate.value() == rate
    undo.undo()
    assert window.project.training["learning_rate"] == 0.01
    assert workflow.training_panel.learning_rate.value() == 0.01
    dialog.deleteLater()


def test_the_panel_button_runs_the_test_and_use_applies_it(qtbot, window, iris_project, monkeypatch):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    button = workflow.training_panel.find_rate
    assert button.isEnabled() and workflow.find_rate.isEnabled()
    shown = []

    def exec_(dialog):  # what the user does in the modal dialog: wait for the curve, press Use
        shown.append(dialog)
        qtbot.waitUntil(lambda: dialog.range_test is not None, timeout=60000)
        qtbot.mouseClick(dialog.use, Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(LearningRateDialog, "exec", exec_)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert len(shown) == 1
    assert window.project.training["learning_rate"] == shown[0].range_test.suggestion != 0.01
    assert window.design.undo_stack.undoText().startswith("Learning Rate")
    qtbot.waitUntil(lambda: running_threads() == [], timeout=10000)


def test_closing_the_dialog_mid_test_cancels_it_and_changes_nothing(qtbot, window, iris_project):  # noqa: F811
    workflow = open_with_data(qtbot, window, iris_project)
    dialog = LearningRateDialog(window.project, workflow.data_panel.dataset, window)
    dialog.rate_chosen.connect(workflow._use_learning_rate)
    assert dialog.start()
    dialog.reject()
    assert running_threads() == []
    assert window.project.training["learning_rate"] == 0.01 and not dialog.use.isEnabled()
    dialog.deleteLater()
