"""A time series in the window: the Data panel draws it with its split marked, the Evaluation view
draws the forecast against the truth over the validation and test periods (real training)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netstudio.ui.data.panel import DataPanel
from netstudio.ui.plots.evaluation_view import EvaluationView


@pytest.fixture
def panel(qtbot):
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def test_the_data_panel_previews_the_series_with_its_split_marked(qtbot, panel):
    with qtbot.waitSignal(panel.dataset_loaded, timeout=60000) as blocker:
        panel.use_sample("energy-load")
    data = blocker.args[0]
    preview = panel.preview
    assert data.series is not None and preview.currentWidget() is preview.series
    x, y = preview.series.line.getData()
    assert len(x) == 1008 and x[0] == 1 and x[-1] == 1008
    np.testing.assert_allclose(y, data.series.target)
    # 20 % validation, no test split: the last 202 rows are shaded, in time order
    assert preview.series.periods == {"validation": (807, 1008)}
    assert "training rows 1–806" in preview.series.toolTip()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The bundled series with a test split, an LSTM trained 3 epochs, and both splits' reports."""
    from netstudio.core.design.templates import get_template
    from netstudio.core.project import load_project
    from netstudio.core.training.evaluation import evaluate_model
    from netstudio.core.training.session import prepare_session

    folder = tmp_path_factory.mktemp("series-ui")
    doc = {"format": "netstudio-project", "version": 2, "name": "s",
           "data": {"source": "sample", "name": "energy-load", "test_split": 0.1},
           "model": {"layers": list(get_template("lstm-forecaster").layers)}, "training": {"epochs": 3}}
    (folder / "s.nsproj").write_text(json.dumps(doc))
    session = prepare_session(load_project(folder / "s.nsproj"))
    summary = session.fit()
    assert summary.ok, summary.message
    reports = {split: evaluate_model(session.model, session.dataset, summary.output_transform, split)
               for split in ("val", "test")}
    return session.dataset, reports


def test_the_evaluation_view_plots_forecast_against_truth_over_the_validation_period(qtbot, trained):
    dataset, reports = trained
    view = EvaluationView()
    qtbot.addWidget(view)
    view.set_dataset(dataset)
    assert view.tabs.isTabEnabled(view.forecast_tab) and view.tabs.currentIndex() == view.forecast_tab
    view.show_report(reports["val"])
    rows = dataset.series.target_rows(1)
    x, truth = view.forecast_plot.truth.getData()
    np.testing.assert_array_equal(x, rows + 1)
    assert x[0] > dataset.series.bounds[0]  # the validation period only: after every training row
    np.testing.assert_allclose(truth, dataset.series.target[rows])  # the load in MW, not standardised
    _, forecast = view.forecast_plot.forecast.getData()
    np.testing.assert_allclose(forecast, reports["val"].predicted)
    assert 300 < float(np.median(forecast)) < 700
    # the test period, once scored, is the last rows
    view.show_report(reports["test"])
    view.split_choice.setCurrentIndex(1)
    x, _ = view.forecast_plot.forecast.getData()
    assert x[-1] == 1008 and x[0] > dataset.series.bounds[1]


def test_a_table_dataset_has_no_forecast_tab(qtbot, tmp_path):
    from netstudio.core.data.load import load_dataset

    view = EvaluationView()
    qtbot.addWidget(view)
    view.set_dataset(load_dataset({"source": "sample", "name": "house-prices"}, tmp_path))
    assert not view.tabs.isTabEnabled(view.forecast_tab) and view.tabs.currentIndex() == 1


def test_the_series_sample_trains_in_the_window_and_its_forecast_is_shown(qtbot, window, tmp_path):
    import shutil
    from pathlib import Path

    samples = Path(__file__).resolve().parents[2] / "samples"
    for name in ("energy-load.nsproj", "energy-load.csv"):
        shutil.copy(samples / name, tmp_path / name)
    with qtbot.waitSignal(window.workflow.data_panel.dataset_loaded, timeout=60000):
        assert window.open_project(tmp_path / "energy-load.nsproj")
    workflow = window.workflow
    preview = workflow.data_panel.preview
    assert preview.currentWidget() is preview.series and set(preview.series.periods) == {"validation", "test"}
    workflow.training_panel.epochs.setValue(2)
    view = workflow.evaluation
    with qtbot.waitSignal(workflow.controller.idle, timeout=120000):
        assert workflow.start_training()
    qtbot.waitUntil(lambda: view.forecast_plot.forecast is not None, timeout=30000)
    assert view.tabs.isTabEnabled(view.forecast_tab)
    x, y = view.forecast_plot.forecast.getData()
    assert len(x) == 202 - 24 and np.isfinite(y).all()  # the validation period's windows


def test_the_time_series_group_turns_a_csv_into_windows_and_back(qtbot, panel, tmp_path):
    rows = 200
    t = np.arange(rows)
    lines = ["date,temp,load"] + [f"2024-02-{1 + i // 24:02d} {i % 24:02d}:00,{10 + np.sin(i / 4):.3f},"
                                  f"{400 + 30 * np.sin(i / 3.8):.2f}" for i in t[::-1]]  # newest first
    (tmp_path / "load.csv").write_text("\n".join(lines) + "\n")

    outcomes = []
    panel.dataset_loaded.connect(outcomes.append)
    panel.dataset_failed.connect(outcomes.append)

    def load(action):
        outcomes.clear()
        action()
        qtbot.waitUntil(lambda: bool(outcomes), timeout=60000)
        assert not isinstance(outcomes[0], str), outcomes[0]
        return outcomes[0]

    data = load(lambda: panel.open_path(tmp_path / "load.csv"))
    box = panel.series_box
    assert box.isVisible() and not box.isChecked() and data.series is None
    if panel.target.currentData() != "load":  # the guess may be it already
        data = load(lambda: panel.target.setCurrentIndex(panel.target.findData("load")))
    assert data.task == "regression" and len(data.input_shape) == 1 and panel.target.currentData() == "load"
    configs = []
    panel.data_config_changed.connect(configs.append)
    data = load(lambda: box.setChecked(True))
    assert configs[-1]["sequence"] == {"target": "load", "window": 24, "horizon": 1, "order_by": None}
    assert data.series is not None and data.input_shape == (24, 2)  # temp and load; the date is no number
    assert panel.preview.currentWidget() is panel.preview.series
    assert panel.target.currentText() == "load"  # chosen, no longer "(guessed)"
    data = load(lambda: box.order_by.setCurrentIndex(box.order_by.findData("date")))
    assert configs[-1]["sequence"]["order_by"] == "date"
    assert data.series.target[0] == pytest.approx(400.0, abs=0.01)  # the oldest row first, whatever the file order
    data = load(lambda: box.window.setValue(12))
    assert data.input_shape == (12, 2) and configs[-1]["sequence"]["window"] == 12
    data = load(lambda: panel.target.setCurrentIndex(panel.target.findData("temp")))
    assert configs[-1]["sequence"]["target"] == "temp" and data.preprocessor.target["column"] == "temp"
    names = [panel.roles.item(r, 0).text() for r in range(panel.roles.rowCount())]
    role = panel.roles.cellWidget(names.index("load"), 1)
    data = load(lambda: role.setCurrentIndex(role.findData("target")))  # the Columns tab sets it too
    assert configs[-1]["sequence"]["target"] == "load" and data.preprocessor.target["column"] == "load"
    role = panel.roles.cellWidget(names.index("temp"), 1)
    data = load(lambda: role.setCurrentIndex(role.findData("exclude")))
    assert data.feature_names == ["load"] and data.input_shape == (12, 1)
    role = panel.roles.cellWidget(names.index("temp"), 1)
    data = load(lambda: role.setCurrentIndex(role.findData("feature")))
    assert data.input_shape == (12, 2)
    data = load(lambda: box.setChecked(False))
    assert "sequence" not in configs[-1] and data.series is None and len(data.input_shape) == 1
