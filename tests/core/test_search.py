"""Sweeps (core.search): the sweep section, paths into the project, trials, pruning, results."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from netstudio.core.config import SweepConfig, validate_sweep
from netstudio.core.errors import ProjectError
from netstudio.core.project import load_project
from netstudio.core.search.space import (
    get_value,
    parse_path,
    set_parameter,
    suggested_range,
    sweep_config,
    with_values,
)
from netstudio.core.search.sweep import Sweep, SweepListener

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture
def iris(tmp_path):
    """The bundled iris project, copied, trained for a few epochs."""
    shutil.copy(SAMPLES / "iris.csv", tmp_path / "iris.csv")
    shutil.copy(SAMPLES / "iris.nsproj", tmp_path / "iris.nsproj")
    project = load_project(tmp_path / "iris.nsproj")
    project.training["epochs"] = 6
    return project


def sweeping(project, parameters: dict, **section):
    project.extra["sweep"] = {"parameters": parameters, **section}
    return project


def test_paths_reach_training_and_layer_settings(iris):
    assert parse_path("model.layers[0].params.out_features") == ["model", "layers", 0, "params", "out_features"]
    assert parse_path("model.layers[2].branches[1][0].params.p")[3:6] == ["branches", 1, 0]
    assert get_value(iris, "training.learning_rate") == 0.01
    assert get_value(iris, "model.layers[0].params.out_features") == 16
    changed = with_values(iris, {"training.batch_size": 64, "model.layers[0].params.out_features": 8})
    assert changed.training["batch_size"] == 64 and changed.stack[0].params["out_features"] == 8
    assert iris.stack[0].params["out_features"] == 16  # the original is untouched


@pytest.mark.parametrize("path", ["training", "training..x", "model.layers[x]", "model.layers[9].params.p",
                                  "training.learning_rate.x", "[0].a"])
def test_a_path_the_project_lacks_is_a_clear_error(iris, path):
    with pytest.raises(ProjectError, match="sweep.parameters"):
        set_parameter(iris, path, {"type": "int", "low": 1, "high": 2})


def test_a_value_the_project_refuses_names_its_path(iris):
    with pytest.raises(ProjectError, match=r"training\.learning_rate"):
        with_values(iris, {"training.learning_rate": -1.0})


@pytest.mark.parametrize("section, message", [
    ({"trials": 0}, "sweep.trials"),
    ({"metric": "accuracy"}, "sweep.metric: must be one of val_loss"),
    ({"sampler": "cma"}, "sweep.sampler"),
    ({"parameters": []}, "sweep.parameters: must be an object"),
    ({"parameters": {"training.learning_rate": {"type": "float", "low": 0.1, "high": 0.01}}},
     r"sweep.parameters.training.learning_rate.high: must be at least low"),
    ({"parameters": {"training.learning_rate": {"type": "float", "low": 0, "high": 1, "log": True}}},
     r"\.low: must be above 0 on a log scale"),
    ({"parameters": {"training.batch_size": {"type": "int", "low": 1.5, "high": 4}}}, r"\.low: must be an integer"),
    ({"parameters": {"training.batch_size": {"type": "categorical", "choices": []}}}, r"\.choices"),
    ({"parameters": {"training.batch_size": {"type": "categorical", "choices": [8, 8]}}}, "must not repeat"),
    ({"parameters": {"training.batch_size": {"type": "uniform"}}}, r"\.type: must be one of float, int"),
])
def test_the_sweep_section_is_checked_with_paths(section, message):
    with pytest.raises(ProjectError, match=message):
        validate_sweep(section)


def test_a_project_with_a_bad_sweep_section_is_refused_on_load(iris, tmp_path):
    doc = iris.to_json()
    doc["sweep"] = {"trials": -3}
    (tmp_path / "bad.nsproj").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProjectError, match="sweep.trials"):
        load_project(tmp_path / "bad.nsproj")


def test_the_sweep_section_round_trips_as_written(iris, tmp_path):
    sweeping(iris, {"training.learning_rate": {"type": "float", "low": 0.001, "high": 0.1, "log": True}}, trials=7)
    iris.save(tmp_path / "again.nsproj")
    again = load_project(tmp_path / "again.nsproj")
    assert again.extra["sweep"] == iris.extra["sweep"]
    config = sweep_config(again)
    assert isinstance(config, SweepConfig) and config.trials == 7 and config.pruner == "median"


def test_no_parameters_is_a_clear_error(iris):
    with pytest.raises(ProjectError, match="sweeps nothing"):
        sweep_config(sweeping(iris, {}))


def test_suggested_ranges_fit_the_setting(iris):
    assert suggested_range(iris, "training.learning_rate") == {"type": "float", "low": 0.001, "high": 0.1, "log": True}
    assert suggested_range(iris, "training.batch_size") == {"type": "categorical", "choices": [8, 16, 32]}
    assert suggested_range(iris, "training.optimizer")["choices"][:2] == ["sgd", "adam"]
    assert suggested_range(iris, "training.nesterov") == {"type": "categorical", "choices": [True, False]}
    assert suggested_range(iris, "training.weight_decay") == {"type": "float", "low": 0.0, "high": 0.1, "log": False}
    assert suggested_range(iris, "training.momentum")["high"] < 1.0  # momentum < 1
    assert suggested_range(iris, "model.layers[0].params.out_features") == {"type": "int", "low": 8, "high": 32}
    for path in ("training.learning_rate", "training.batch_size", "model.layers[0].params.out_features"):
        set_parameter(iris, path, suggested_range(iris, path))  # each one is a valid range
    with pytest.raises(ProjectError, match="only a number"):
        suggested_range(iris, "training.device")


def test_six_trials_write_the_contract_files(iris, tmp_path):
    sweeping(iris, {"training.learning_rate": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
                    "model.layers[0].params.out_features": {"type": "int", "low": 4, "high": 32}},
             trials=6, pruner="none")
    out = tmp_path / "sweep"
    sweep = Sweep(iris, run_dir=lambda n: out / f"trial-{n:04d}")
    done = sweep.run()
    assert [r.number for r in done] == list(range(6))
    best_path = sweep.write(out)
    with open(out / "trials.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["number", "state", "value", "training.learning_rate",
                             "model.layers[0].params.out_features", "duration_s"]
    assert len(rows) == 6 and {r["state"] for r in rows} == {"COMPLETE"}
    best_row = min(rows, key=lambda r: float(r["value"]))
    best = load_project(best_path)
    assert best.training["learning_rate"] == float(best_row["training.learning_rate"])
    assert best.stack[0].params["out_features"] == int(best_row["model.layers[0].params.out_features"])
    assert best.data_path() == iris.data_path()  # the data is still found from the sweep folder
    assert best.extra["sweep"] == iris.extra["sweep"]
    for r in rows:  # every trial is a normal run, marked with its number
        summary = json.loads((out / f"trial-{int(r['number']):04d}" / "summary.json").read_text())
        assert summary["trial"] == int(r["number"]) and summary["study"] == "iris"
        assert summary["val_loss"] == pytest.approx(float(r["value"]))
    assert set(sweep.importance()) == {"training.learning_rate", "model.layers[0].params.out_features"}


def test_the_same_seed_gives_the_same_trials(iris, tmp_path):
    sweeping(iris, {"training.learning_rate": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
                    "training.batch_size": {"type": "categorical", "choices": [8, 16, 32]}},
             trials=3, pruner="none", seed=5)
    runs = []
    for name in ("a", "b"):
        sweep = Sweep(iris, run_dir=lambda n, name=name: tmp_path / name / str(n))
        runs.append([(r.params, r.value) for r in sweep.run()])
    assert runs[0] == runs[1]


def test_a_bad_trial_is_pruned(iris, tmp_path):
    sweeping(iris, {"training.learning_rate": {"type": "categorical", "choices": [0.05, 1e-7]}},
             trials=6, sampler="random", pruner="median", startup_trials=1, seed=6)
    done = Sweep(iris, run_dir=lambda n: tmp_path / str(n)).run()
    first_good = next(r.number for r in done if r.params["training.learning_rate"] == 0.05)
    later_bad = [r for r in done if r.number > first_good and r.params["training.learning_rate"] == 1e-7]
    assert later_bad, "the seed should draw a bad rate after a good one"
    for r in later_bad:
        assert r.state == "PRUNED" and r.reason.startswith("pruned after epoch")
        metrics = (tmp_path / str(r.number) / "metrics.csv").read_text().splitlines()
        assert len(metrics) - 1 < iris.training["epochs"]  # it stopped early, and its run is saved
    assert all(r.state == "COMPLETE" for r in done if r.params["training.learning_rate"] == 0.05)


def test_an_invalid_trial_fails_with_its_reason(iris, tmp_path):
    sweeping(iris, {"model.layers[2].params.out_features": {"type": "categorical", "choices": [3, 5]},
                    "training.learning_rate": {"type": "categorical", "choices": [0.01, -1.0]}},
             trials=4, sampler="grid", pruner="none")
    sweep = Sweep(iris, run_dir=lambda n: tmp_path / str(n))
    done = sweep.run()
    assert len(done) == 4
    by_values = {(r.params["model.layers[2].params.out_features"], r.params["training.learning_rate"]): r
                 for r in done}
    assert by_values[(3, 0.01)].state == "COMPLETE"
    assert "does not fit the data" in by_values[(5, 0.01)].reason and by_values[(5, 0.01)].state == "FAIL"
    assert "training.learning_rate" in by_values[(3, -1.0)].reason
    assert sweep.results()[0] == by_values[(3, 0.01)]
    assert (tmp_path / "best.nsproj") == sweep.write(tmp_path)


def test_a_grid_needs_a_step_for_floats(iris):
    sweeping(iris, {"training.learning_rate": {"type": "float", "low": 1e-3, "high": 0.1}}, sampler="grid")
    with pytest.raises(ProjectError, match="needs a step"):
        Sweep(iris)


def test_stop_ends_after_the_current_trial(iris, tmp_path):
    sweeping(iris, {"training.learning_rate": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}}, trials=5)

    class StopAfterFirst(SweepListener):
        def on_trial_end(self, result):
            sweep.request_stop()

    sweep = Sweep(iris, run_dir=lambda n: tmp_path / str(n))
    done = sweep.run(listeners=[StopAfterFirst()])
    assert len(done) == 1 and done[0].state == "COMPLETE" and sweep.stopped


def test_stop_now_ends_the_running_trial(iris, tmp_path):
    from netstudio.core.training.states import Callback

    sweeping(iris, {"training.learning_rate": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}}, trials=5)

    class StopInFirstEpoch(SweepListener, Callback):
        def training_callbacks(self):
            return [self]

        def on_batch_end(self, state):
            sweep.request_stop(now=True)

    sweep = Sweep(iris, run_dir=lambda n: tmp_path / str(n))
    done = sweep.run(listeners=[StopInFirstEpoch()])
    assert len(done) == 1 and done[0].state == "FAIL" and "stopped" in done[0].reason
    assert sweep.best() is None and sweep.write(tmp_path) is None and (tmp_path / "trials.csv").is_file()
