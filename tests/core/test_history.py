"""Run history: runs persist beside the project, list newest first, compare, delete safely."""

import pytest

from netstudio.core.design.stack import LayerSpec, LayerStack
from netstudio.core.errors import ExportError
from netstudio.core.export.exporter import write_run_models
from netstudio.core.project import Project, load_project
from netstudio.core.runs.folder import RUN_FILES, save_run
from netstudio.core.runs.history import (
    config_diff,
    delete_run,
    layer_text,
    list_runs,
    run_row,
    runs_folder,
)
from netstudio.core.training.session import prepare_session

S = LayerSpec.create


def run_once(project, **training):
    project.training.update(training)
    session = prepare_session(project)
    return save_run(session, session.fit())


@pytest.fixture
def project(tmp_path):
    p = Project(name="hist", data={"source": "synthetic", "kind": "xor", "samples": 200},
                stack=LayerStack([S("Linear", out_features=8), S("ReLU"), S("Linear", out_features="auto")]))
    p.training.update(epochs=2, device="cpu")
    p.save(tmp_path / "hist.nsproj")
    return p


def test_runs_persist_and_reload_with_the_project(project, tmp_path):
    first = run_once(project, learning_rate=0.01)
    second = run_once(project, learning_rate=0.05)
    reopened = load_project(tmp_path / "hist.nsproj")
    runs = list_runs(runs_folder(reopened))
    assert {r.path for r in runs} == {first, second}
    started = [r.summary["started"] for r in runs]
    assert started == sorted(started, reverse=True), "newest first"
    rows = [run_row(r) for r in runs]
    assert {row.learning_rate for row in rows} == {0.01, 0.05}
    row = rows[0]
    assert row.layers == "Linear(8) → ReLU → Linear(auto)" and row.parameters == 8 * 2 + 8 + 9
    assert row.metric_name == "val_accuracy" and 0 <= row.best_metric <= 1 and row.epochs_run == 2
    assert row.duration_seconds is not None and row.duration_seconds >= 0
    assert len(runs[0].metrics) == 2 and runs[0].metrics[0]["epoch"] == 1


def test_config_diff_lists_only_what_changed(project):
    a = run_once(project, learning_rate=0.01)
    project.stack.set_param(0, "out_features", 16)
    b = run_once(project, learning_rate=0.02)
    runs = {r.path: r for r in list_runs(a.parent)}
    diff = config_diff(runs[a], runs[b])
    assert ("training.learning_rate", 0.01, 0.02) in diff
    assert ("model.layers[0].params.out_features", 8, 16) in diff
    assert all(k.startswith(("training.", "model.", "data.")) for k, _, _ in diff) and len(diff) == 2


def test_broken_run_folders_are_skipped(project):
    good = run_once(project)
    (good.parent / "junk").mkdir()
    (good.parent / "notes.txt").write_text("x")
    assert [r.path for r in list_runs(good.parent)] == [good]
    assert list_runs(good.parent / "nowhere") == []


def test_delete_refuses_what_is_not_a_run(project, tmp_path):
    good = run_once(project)
    other = tmp_path / "precious"
    other.mkdir()
    (other / "data.csv").write_text("a,b\n")
    with pytest.raises(ExportError, match="not a NetStudio run folder"):
        delete_run(other)
    assert (other / "data.csv").exists()
    delete_run(good)
    assert not good.exists()


def test_layer_text():
    assert layer_text([{"type": "Conv2d", "params": {"out_channels": 8}}, {"type": "LSTM", "params": {"hidden_size": 4}},
                       {"type": "Flatten", "params": {}}]) == "Conv2d(8) → LSTM(4) → Flatten"


def test_a_saved_run_holds_the_model_files_it_is_given_a_writer_for(project, tmp_path):
    """save_run writes the model files through the writer it is handed (the front ends hand it
    write_run_models); without one the run holds its weights and settings only."""
    session = prepare_session(project)
    summary = session.fit()
    with_models = save_run(session, summary, tmp_path / "with", write_models=write_run_models)
    plain = save_run(session, summary, tmp_path / "plain")
    assert (with_models / "model.pt2").is_file()
    assert sorted(p.name for p in plain.iterdir()) == sorted(RUN_FILES)
