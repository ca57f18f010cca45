"""``netstudio sweep`` in subprocesses, per the command-line contract."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import netstudio

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SWEEP = {"trials": 6, "parameters": {
    "training.learning_rate": {"type": "float", "low": 0.001, "high": 0.1, "log": True},
    "model.layers[0].params.out_features": {"type": "int", "low": 4, "high": 32}}}


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "netstudio", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def iris_project(folder: Path, sweep=SWEEP, epochs=5) -> Path:
    """The bundled iris sample with a sweep section."""
    shutil.copy(SAMPLES / "iris.csv", folder / "iris.csv")
    doc = json.loads((SAMPLES / "iris.nsproj").read_text(encoding="utf-8"))
    doc["training"]["epochs"] = epochs
    if sweep is not None:
        doc["sweep"] = sweep
    path = folder / "iris.nsproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def read_trials(folder: Path) -> list[dict]:
    with open(folder / "trials.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_sweep_writes_trials_best_and_runs(tmp_path):
    project = iris_project(tmp_path)
    result = netstudio("sweep", project, "--out", tmp_path / "s")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("trial ")]
    assert len(lines) == 6 and "training.learning_rate=" in lines[0]
    rows = read_trials(tmp_path / "s")
    assert list(rows[0]) == ["number", "state", "value", "training.learning_rate",
                             "model.layers[0].params.out_features", "duration_s"]
    assert [r["number"] for r in rows] == [str(n) for n in range(6)]
    assert all(r["state"] in ("COMPLETE", "PRUNED", "FAIL") for r in rows)
    best_row = min((r for r in rows if r["state"] == "COMPLETE"), key=lambda r: float(r["value"]))
    best = json.loads((tmp_path / "s" / "best.nsproj").read_text(encoding="utf-8"))
    assert best["training"]["learning_rate"] == float(best_row["training.learning_rate"])
    assert best["model"]["layers"][0]["params"]["out_features"] == int(best_row["model.layers[0].params.out_features"])
    assert f"best trial {best_row['number']}:" in result.stdout
    for r in rows:
        assert (tmp_path / "s" / f"trial-{int(r['number']):04d}" / "summary.json").is_file()
    # best.nsproj is a project that loads and trains as it is (in-process: the command under test
    # is sweep, and train has its own command-line tests)
    from netstudio.core.project import load_project
    from netstudio.core.training.session import prepare_session

    summary = prepare_session(load_project(tmp_path / "s" / "best.nsproj"), device="cpu").fit()
    assert summary.ok and summary.epochs_run == 5, summary.message


def test_the_default_folder_is_beside_the_project(tmp_path):
    project = iris_project(tmp_path, sweep={**SWEEP, "trials": 1}, epochs=1)
    result = netstudio("sweep", project, "--quiet")
    assert result.returncode == 0 and result.stdout == "", result.stderr
    [folder] = (tmp_path / "sweeps").iterdir()
    assert folder.name.startswith("iris-") and len(read_trials(folder)) == 1


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_two_processes_share_one_study(tmp_path, storage):
    project = iris_project(tmp_path, epochs=3)
    url = tmp_path / "study.log" if storage == "journal" else f"sqlite:///{tmp_path / 'study.db'}"
    workers = [start("sweep", project, "--trials", n, "--storage", url, "--study", "shared", "--out",
                     tmp_path / f"w{i}", "--quiet") for i, n in enumerate((2, 3))]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    ours = [sorted(int(p.name.split("-")[1]) for p in (tmp_path / f"w{i}").glob("trial-*")) for i in (0, 1)]
    assert len(ours[0]) == 2 and len(ours[1]) == 3
    assert sorted(ours[0] + ours[1]) == [0, 1, 2, 3, 4]  # none lost, none run twice
    import optuna

    from netstudio.core.search.study import open_storage

    study = optuna.load_study(study_name="shared", storage=open_storage(url))
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3, 4]
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
    # a third process joins the finished study: its trials.csv holds every trial so far
    again = netstudio("sweep", project, "--trials", 1, "--storage", url, "--study", "shared", "--out",
                      tmp_path / "w2", "--quiet")
    assert again.returncode == 0, again.stderr
    assert [r["number"] for r in read_trials(tmp_path / "w2")] == [str(n) for n in range(6)]


def test_ctrl_c_ends_after_the_current_trial(tmp_path):
    project = iris_project(tmp_path, sweep={**SWEEP, "trials": 200, "pruner": "none"}, epochs=20)
    worker = start("sweep", project, "--out", tmp_path / "s")
    for line in worker.stdout:
        if line.startswith("trial "):  # one trial done: interrupt the sweep during the next
            worker.send_signal(signal.SIGINT)
            break
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 130, err
    assert "stopping after this trial" in err and "Traceback" not in err
    rows = read_trials(tmp_path / "s")
    assert 1 <= len(rows) < 200 and all(r["state"] == "COMPLETE" for r in rows)
    assert (tmp_path / "s" / "best.nsproj").is_file()
    assert "sweep saved to" in out


@pytest.mark.parametrize("args, sweep, message", [
    ((), None, "sweeps nothing"),
    ((), {"parameters": {"model.layers[7].params.out_features": {"type": "int", "low": 2, "high": 8}}},
     r"sweep.parameters.model.layers\[7\].params.out_features: the project has no such setting"),
    ((), {"metric": "val_r2", **SWEEP}, "sweep.metric: a multiclass task has no val_r2: use one of val_loss, "),
    (("--storage", "postgresql+nosuchdriver://u@localhost/db"), SWEEP, "--storage"),
    (("--storage", "{tmp}"), SWEEP, "is a folder"),
    (("--timeout", "-5"), SWEEP, "not a positive number of seconds"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, sweep, message):
    project = iris_project(tmp_path, sweep=sweep, epochs=1)
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in args]
    result = netstudio("sweep", project, "--out", tmp_path / "s", *args)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "netstudio: error:" in result.stderr
    assert message in result.stderr or re.search(message, result.stderr)
    assert not (tmp_path / "s").exists()  # nothing written for a sweep that could not start


def test_an_existing_folder_is_never_overwritten(tmp_path):
    project = iris_project(tmp_path)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep.txt").write_text("mine")
    result = netstudio("sweep", project, "--out", tmp_path / "s")
    assert result.returncode == 2 and "not empty" in result.stderr
    assert os.listdir(tmp_path / "s") == ["keep.txt"]
