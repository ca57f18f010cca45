"""The first minutes in the window: the default layout at 1280x800 with the run toolbar in sight
and no panel scrolling sideways; the run shown finished before its folder is written; a reopened
project's runs shown and exported from the Runs panel; runs of an unsaved project moved on save."""

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QDockWidget, QScrollArea

from netstudio.ui.training import past_runs
from netstudio.ui.window.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def iris_project(tmp_path):
    """The iris sample copied to a temporary folder (its runs must not land in samples/)."""
    for name in ("iris.nsproj", "iris.csv"):
        shutil.copy(REPO / "samples" / name, tmp_path / name)
    return tmp_path / "iris.nsproj"


def open_with_data(qtbot, window, path):
    with qtbot.waitSignal(window.workflow.data_panel.dataset_loaded, timeout=60000):
        assert window.open_project(path)
    return window.workflow


def train(qtbot, workflow, epochs=2):
    workflow.training_panel.epochs.setValue(epochs)
    with qtbot.waitSignal(workflow.controller.idle, timeout=120000):
        assert workflow.start_training()


def reopen(qtbot, settings, path):
    """*path* opened in a second window, as after a restart: its latest run shown and evaluated."""
    again = MainWindow(settings=settings)
    qtbot.addWidget(again, before_close_func=lambda w: w.design.mark_saved())
    again.show()
    with qtbot.waitSignal(again.workflow.past_runs.evaluator.succeeded, timeout=60000):
        assert again.open_project(path)
    return again.workflow


@pytest.mark.parametrize("size", [(1280, 800), (1152, 720)], ids=["1280x800", "1152x720"])
def test_default_layout_shows_the_run_toolbar_and_no_sideways_scrolling(qtbot, settings, iris_project, size):
    """At the smallest supported size too, with a run's evaluation shown (the confusion matrix beside
    its samples needed 478 px in a 439 px dock at 1152x720; Data, Training and Sweep scrolled too)."""
    window = MainWindow(settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    workflow = open_with_data(qtbot, window, iris_project)
    toolbar = workflow.run_toolbar
    for action in (workflow.start, workflow.pause, workflow.stop):
        button = toolbar.widgetForAction(action)
        assert button is not None and button.isVisible(), action.text()
        assert button.geometry().right() <= toolbar.width(), f"{action.text()} is cut off"
    assert workflow.start.isEnabled() and toolbar.device.isVisible() and toolbar.progress.isVisible()
    assert workflow.start.shortcut().toString() == "F5" and workflow.stop.shortcut().toString() == "Shift+F5"
    central = window.centralWidget().width()
    assert central >= max(window.palette_dock.width(), window.inspector_dock.width()), "the design is the widest"
    docks = [d for d in window.findChildren(QDockWidget) if isinstance(d.widget(), QScrollArea)]
    assert len(docks) >= 5

    def assert_no_sideways_scrolling(when):
        for dock in docks:  # tabbed docks are laid out once raised
            dock.raise_()
            QCoreApplication.processEvents()
            bar = dock.widget().horizontalScrollBar()
            assert not bar.isVisible(), f"{when}: {dock.objectName()} scrolls sideways by {bar.maximum()} px"

    assert_no_sideways_scrolling("data loaded")
    train(qtbot, workflow, epochs=1)
    assert workflow.evaluation.report is not None
    workflow.evaluation_dock.raise_()
    workflow.evaluation.tabs.setCurrentIndex(0)
    assert_no_sideways_scrolling("a run evaluated")


def test_a_stacking_splitter_stacks_its_widgets_where_they_do_not_fit_side_by_side(qtbot):
    from PySide6.QtWidgets import QWidget

    from netstudio.ui.widgets import StackingSplitter, scrollable

    splitter = StackingSplitter()
    for _ in range(2):
        part = QWidget()
        part.setMinimumSize(300, 100)
        splitter.addWidget(part)
    area = scrollable(splitter)
    qtbot.addWidget(area)
    area.resize(800, 400)
    area.show()
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Horizontal and splitter.width() > 600)
    area.resize(450, 400)
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Vertical)
    QCoreApplication.processEvents()
    assert not area.horizontalScrollBar().isVisible()
    assert splitter.widget(1).y() >= splitter.widget(0).height()
    area.resize(800, 400)
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Horizontal)


def test_the_run_shows_finished_and_the_design_unlocks_before_its_folder_is_written(qtbot, window, iris_project):
    workflow = open_with_data(qtbot, window, iris_project)
    seen = []
    workflow.controller.fit_ended.connect(lambda result: seen.append(
        ("fit_ended", result.run_dir, window.stack_editor.view.isEnabled(), workflow.controller.is_saving,
         workflow.stop.isEnabled(), workflow.start.isEnabled())))
    workflow.controller.stage_changed.connect(lambda text: seen.append(("stage", text)))
    workflow.controller.run_finished.connect(lambda result: seen.append(("finished", result.run_dir)))
    train(qtbot, workflow, epochs=2)
    ended = next(i for i, s in enumerate(seen) if s[0] == "fit_ended")
    finished = next(i for i, s in enumerate(seen) if s[0] == "finished")
    assert ("stage", "Preparing data…") in seen[:ended]
    assert ended < seen.index(("stage", "Saving the run…")) < finished
    assert seen[ended][1:] == (None, True, True, False, False), "unlocked, saving, nothing to stop, no new run yet"
    assert seen[finished][1] and (Path(seen[finished][1]) / "model.pt2").is_file()
    assert workflow.run_toolbar.state.text().startswith("Done in ")
    assert "after 2 epochs" in workflow.run_toolbar.progress.format()
    assert workflow.start.isEnabled() and not workflow.controller.is_running


def test_a_reopened_project_shows_its_latest_run_and_exports_it_from_the_runs_panel(qtbot, window, iris_project,
                                                                                     settings, monkeypatch):
    workflow = open_with_data(qtbot, window, iris_project)
    train(qtbot, workflow, epochs=2)
    run_dir = Path(workflow.last_run_dir)
    window.design.mark_saved()

    reopened = reopen(qtbot, settings, iris_project)
    assert reopened.last_run_dir == str(run_dir) and reopened.export.isEnabled()
    assert [row["epoch"] for row in reopened.loss_plot.epochs] == [1, 2]
    assert reopened.evaluation.report is not None, "the run's evaluation is shown"
    panel = reopened.runs_panel
    assert [r.path for r in panel.selected_runs()] == [run_dir]
    assert panel.export_button.isEnabled() and panel.predict_button.isEnabled()
    assert panel.continue_button.isEnabled(), "a run of an earlier session goes on from its resume files"
    menu = panel.context_menu()
    assert [a.text() for a in menu.actions() if not a.isSeparator()][:3] == ["Export…", "Continue…", "Predict…"]

    shown = []
    monkeypatch.setattr(past_runs, "run_modal", shown.append)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    dialog = shown[0]
    qtbot.addWidget(dialog)
    assert Path(dialog.run_dir) == run_dir
    for i in range(dialog.formats.count()):
        item = dialog.formats.item(i)
        wanted = item.data(Qt.ItemDataRole.UserRole) == "safetensors"
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
    with qtbot.waitSignal(dialog.runner.idle, timeout=120000):
        assert dialog.start()
    written = {name: result for name, result, error in dialog.results if error is None}
    assert set(written) == {"safetensors"} and Path(written["safetensors"].path).is_file()


def test_runs_of_an_unsaved_project_move_beside_it_when_it_is_first_saved(qtbot, window, tmp_path):
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        workflow.data_panel.use_synthetic("moons", 200, 0.1)
    window.design.set_param(window.design.append_layer("Linear"), "out_features", 1)
    qtbot.waitUntil(lambda: workflow.ready_reason() is None, timeout=10000)
    train(qtbot, workflow, epochs=1)
    scratch = Path(workflow.last_run_dir)
    assert scratch.is_dir() and tmp_path / "moved" not in scratch.parents
    (tmp_path / "moved").mkdir()
    assert window._write(tmp_path / "moved" / "first.nsproj")  # what Save As does once a file is chosen
    moved = tmp_path / "moved" / "runs" / scratch.name
    assert (moved / "model.pt2").is_file() and not scratch.exists()
    assert workflow.last_run_dir == str(moved) and workflow.export.isEnabled()
    assert [r.path for r in workflow.runs_panel.model.runs] == [moved]


def test_ctrl_z_in_the_inspector_undoes_the_committed_edit(qtbot, window):
    window.design.append_layer("Linear")
    window.stack_editor.select_layers([0])
    spin = window.inspector.editors["out_features"].spin
    before = window.design.stack[0].params["out_features"]
    window.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=5000)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "77")
    qtbot.keyClick(spin, Qt.Key.Key_Return)  # committed: the design has it
    assert window.design.stack[0].params["out_features"] == 77
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.design.stack[0].params["out_features"] == before, "Ctrl+Z reached the design's undo"
    assert spin.value() == before and spin.hasFocus()
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.design.stack[0].params["out_features"] == 77, "Ctrl+Shift+Z redid it"


def test_selecting_a_layer_brings_the_inspector_forward(qtbot, window):
    window.workflow.training_dock.raise_()
    QCoreApplication.processEvents()
    assert window.inspector_dock.visibleRegion().isEmpty()
    window.add_layer("ReLU")
    QCoreApplication.processEvents()
    assert not window.inspector_dock.visibleRegion().isEmpty(), "the inspector shows the new layer"


def test_the_start_page_gets_from_a_sample_to_a_trained_run_in_two_clicks(qtbot, window):
    window.show_start_page()
    page = window.start_page
    assert window.centre.currentWidget() is page
    assert {"iris", "spiral"} <= set(page.samples) and "mlp-classifier" in page.templates
    assert all(button.description() for button in (*page.samples.values(), *page.templates.values()))
    assert not page.findChild(QScrollArea).horizontalScrollBar().isVisible()
    with qtbot.waitSignal(window.workflow.data_panel.dataset_loaded, timeout=60000):
        qtbot.mouseClick(page.samples["iris"], Qt.MouseButton.LeftButton)
    assert window.centre.currentWidget() is window.design_tabs and window.project.path is None
    assert window.project.data == {"source": "sample", "name": "iris"} and len(window.design.stack) == 3
    workflow = window.workflow
    workflow.training_panel.epochs.setValue(1)
    with qtbot.waitSignal(workflow.controller.idle, timeout=120000):
        qtbot.mouseClick(workflow.run_toolbar.widgetForAction(workflow.start), Qt.MouseButton.LeftButton)
    assert workflow.last_run_dir and (Path(workflow.last_run_dir) / "model.pt2").is_file()
    assert workflow.loss_plot.point_count() > 0


def test_the_first_samples_show_unscrolled_at_the_smallest_window_size(qtbot, settings):
    """At 1152x720 (the window's first size on a 1280x800 screen) only energy-load and first-network
    showed: the alphabetical list and the Open box above it pushed iris below the fold."""
    window = MainWindow(settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    window.resize(1152, 720)
    window.show_start_page()
    window.show()
    qtbot.waitExposed(window)
    page = window.start_page
    assert list(page.samples)[:2] == ["iris", "spiral"]
    viewport = page.findChild(QScrollArea).viewport()
    qtbot.waitUntil(lambda: page.samples["iris"].isVisible())
    for name in ("iris", "spiral"):
        button = page.samples[name]
        bottom = button.mapTo(viewport, button.rect().bottomLeft()).y()
        assert bottom <= viewport.height(), f"{name} is below the fold ({bottom} > {viewport.height()} px)"


def test_a_template_from_the_start_page_replaces_it_with_the_design(qtbot, window):
    window.show_start_page()
    qtbot.mouseClick(window.start_page.templates["mlp-classifier"], Qt.MouseButton.LeftButton)
    assert window.centre.currentWidget() is window.design_tabs and len(window.design.stack) == 6


def test_the_decision_boundary_view_is_the_datas_range_and_plots_have_no_negative_epochs(qtbot, window):
    workflow = window.workflow
    with qtbot.waitSignal(workflow.data_panel.dataset_loaded, timeout=60000):
        workflow.data_panel.use_synthetic("moons", 200, 0.1)
    evaluation = workflow.evaluation
    (x0, x1), (y0, y1) = evaluation.boundary.getViewBox().viewRange()
    grid = evaluation.grid
    assert x0 == pytest.approx(grid.xs[0], abs=1e-3) and x1 == pytest.approx(grid.xs[-1], abs=1e-3)
    assert y0 == pytest.approx(grid.ys[0], abs=1e-3) and y1 == pytest.approx(grid.ys[-1], abs=1e-3)
    for plot in (workflow.loss_plot.loss_plot, workflow.loss_plot.metric_plot):
        assert plot.getViewBox().state["limits"]["xLimits"][0] == 0


def test_continue_on_a_run_of_an_earlier_session_resumes_it_into_a_new_run(qtbot, window, iris_project, settings):
    workflow = open_with_data(qtbot, window, iris_project)
    train(qtbot, workflow, epochs=2)
    run_dir = Path(workflow.last_run_dir)
    window.design.mark_saved()

    reopened = reopen(qtbot, settings, iris_project)
    assert not reopened.controller.can_continue(), "nothing of the earlier session is in memory"
    panel = reopened.runs_panel
    assert [r.path for r in panel.selected_runs()] == [run_dir] and panel.continue_button.isEnabled()
    reopened.training_panel.continue_epochs.setValue(3)
    with qtbot.waitSignal(reopened.controller.idle, timeout=120000):
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
    resumed = Path(reopened.last_run_dir)
    assert resumed != run_dir and resumed.parent == run_dir.parent
    rows = (resumed / "metrics.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == [1, 2, 3, 4, 5], "the epochs go on from the saved run"
    assert rows[:2] == (run_dir / "metrics.csv").read_text().splitlines()[1:], "the saved run's epochs kept"


def test_the_training_panels_progress_text_fits_its_bar_at_the_smallest_size(qtbot, settings):
    """At 1152x720 "Epoch 530/20000 · step 3/8 · ETA 1:47 · 23,245 samples/s" wrapped in the panel's
    bar and its second line was cut off; the toolbar's bar already shows the throughput."""
    from netstudio.ui.training.messages import Position, RunProgress

    window = MainWindow(settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.design.mark_saved())
    window.resize(1152, 720)
    window.show()
    qtbot.waitExposed(window)
    window.workflow.training_dock.raise_()
    panel = window.workflow.training_panel
    at = Position(epoch=19999, step=12, steps_per_epoch=16, global_step=319_996, total_steps=320_000,
                  eta_seconds=36_000.0, samples_per_second=53_671.0)
    panel.show_progress(RunProgress(position=at))
    bar = panel.progress
    qtbot.waitUntil(lambda: bar.width() > 0)
    panel.set_paused(True)  # the longest text: " · paused" added
    assert bar.fontMetrics().horizontalAdvance(bar.text()) <= bar.contentsRect().width() - 8, bar.text()
    assert "samples/s" in bar.toolTip()
