"""Where results go: refused before the work, claimed once, never written over an input, and
nothing left behind by a save that was killed.

The review's cases: ``train --out`` naming a non-empty folder (refused only after every epoch),
two trainings given the same ``--out`` (one run lost), ``export``/``predict --out`` naming the
input CSV or a project file (overwritten silently), and SIGKILL in the middle of a run's save
(a hidden ``.name.XXXX/`` folder that nothing cleaned; the trained weights lost with it).
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.reliability.catalogue import TABLE, project_doc, write_project
from tests.reliability.conftest import (
    assert_nothing_lost,
    netstudio,
    one_error_line,
    snapshot,
    tally,
)

#: The process kills itself (SIGKILL: no handler, no cleanup) when the run's records are being
#: written: after metrics.csv, in the middle of the weights.
KILLED_WRITING_WEIGHTS = """
import os, signal
import safetensors.torch
def _killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
safetensors.torch.save_file = _killed
"""
#: ... or when the model files, which follow the records, are being exported.
KILLED_EXPORTING = """
import os, signal
import netstudio.core.export.formats as formats
def _killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
formats.write_pt2 = _killed
"""


@pytest.fixture(autouse=True)
def count():
    tally("inputs")


def _table_project(folder, data_path: str = "table.csv", **training) -> str:
    (folder / "table.csv").write_text(TABLE, encoding="utf-8")
    return write_project(folder, project_doc({"source": "csv", "path": data_path, "target": "label"},
                                             training=training))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    _table_project(folder)
    result = netstudio("train", "p.nsproj", "--out", "run", "--quiet", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_train_out_not_empty_is_refused_before_the_data_is_read(tmp_path):
    """The data file does not exist: the --out refusal must come first (before: after training)."""
    write_project(tmp_path, project_doc({"source": "csv", "path": "missing.csv"}))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine\n", encoding="utf-8")
    before = snapshot(tmp_path)
    line = one_error_line(netstudio("train", "p.nsproj", "--out", "out", cwd=tmp_path), 2)
    assert "already exists and is not empty" in line and "missing.csv" not in line, line
    assert_nothing_lost(before, tmp_path)


def test_train_out_that_is_a_file_is_refused_before_the_data_is_read(tmp_path):
    write_project(tmp_path, project_doc({"source": "csv", "path": "missing.csv"}))
    (tmp_path / "out").write_text("a file\n", encoding="utf-8")
    before = snapshot(tmp_path)
    line = one_error_line(netstudio("train", "p.nsproj", "--out", "out", cwd=tmp_path), 2)
    assert "is a file, not a folder" in line, line
    assert_nothing_lost(before, tmp_path)


def test_a_second_training_into_the_same_out_is_refused_at_once(tmp_path):
    """While one training holds --out (its claim), another one is refused before it trains."""
    from netstudio.core.runs.folder import claim_run_dir

    _table_project(tmp_path)
    claim = claim_run_dir(tmp_path / "shared")  # what the first `train --out shared` takes at its start
    try:
        line = one_error_line(netstudio("train", "p.nsproj", "--out", "shared", cwd=tmp_path), 2)
        assert "is being written by another NetStudio process" in line, line
    finally:
        claim.release()
    assert not (tmp_path / "shared").exists()
    result = netstudio("train", "p.nsproj", "--out", "shared", "--quiet", cwd=tmp_path)  # free again
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "shared" / "weights.safetensors").is_file()


def test_a_claim_left_by_a_killed_training_is_taken_over(tmp_path):
    from netstudio.core.fileio import CLAIM_MARK

    _table_project(tmp_path)
    (tmp_path / "out").mkdir()
    dead = _dead_pid()
    (tmp_path / "out" / CLAIM_MARK).write_text(f"{os.uname().nodename} {dead}\n", encoding="utf-8")
    result = netstudio("train", "p.nsproj", "--out", "out", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out" / CLAIM_MARK).exists()


def _dead_pid() -> int:
    """A process id that no process holds (a child that has exited and been reaped)."""
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_a_failed_training_gives_its_out_folder_back(tmp_path):
    write_project(tmp_path, project_doc({"source": "csv", "path": "missing.csv"}))
    line = one_error_line(netstudio("train", "p.nsproj", "--out", "fresh", cwd=tmp_path), 2)
    assert "missing.csv" in line
    assert not (tmp_path / "fresh").exists()
    (tmp_path / "empty").mkdir()
    one_error_line(netstudio("train", "p.nsproj", "--out", "empty", cwd=tmp_path), 2)
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())


@pytest.mark.parametrize("target", ["table.csv", "p.nsproj", "run/project.nsproj", "run/weights.safetensors",
                                    "run/metrics.csv"])
def test_export_out_onto_an_input_or_a_project_is_refused(trained, target):
    before = snapshot(trained)
    fmt = "safetensors" if target.endswith(".safetensors") else "pt2"
    line = one_error_line(netstudio("export", "run", "--format", fmt, "--out", target, cwd=trained), 2)
    assert "writing there would replace it" in line, line
    assert_nothing_lost(before, trained)


@pytest.mark.parametrize("target", ["rows.csv", "p.nsproj", "run/model.pt2", "./rows.csv", "link.csv"])
def test_predict_out_onto_its_input_or_a_project_is_refused(trained, target):
    (trained / "rows.csv").write_text(TABLE, encoding="utf-8")
    if not (trained / "link.csv").exists():
        os.symlink("rows.csv", trained / "link.csv")
    before = snapshot(trained)
    line = one_error_line(netstudio("predict", "run/model.pt2", "rows.csv", "--out", target, cwd=trained), 2)
    assert "writing there would replace it" in line, line
    assert_nothing_lost(before, trained)


def test_a_save_killed_while_writing_leaves_nothing_that_the_next_save_does_not_clean(tmp_path):
    """SIGKILL while the records are written: a hidden partial folder remains; the next run's save
    beside it removes it."""
    _table_project(tmp_path)
    tally("faults")
    killed = netstudio("train", "p.nsproj", "--quiet", cwd=tmp_path, prelude=KILLED_WRITING_WEIGHTS)
    assert killed.returncode == -9, killed.stderr
    left = sorted(p.name for p in (tmp_path / "runs").rglob("*"))
    assert any(name.startswith(".") and "partial" not in name for name in left), left  # a hidden partial folder
    assert not any(name == "weights.safetensors" for name in left), left
    result = netstudio("train", "p.nsproj", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    left = sorted(p.name for p in (tmp_path / "runs").iterdir())  # neither the partial nor the empty claim
    assert len(left) == 1 and not left[0].startswith("."), left
    assert (tmp_path / "runs" / left[0] / "weights.safetensors").is_file()


def test_weights_and_metrics_are_saved_before_the_model_files(tmp_path):
    """SIGKILL while model.pt2 is exported (which took minutes for some designs): the run's
    records are already in place, and ``export`` writes the model from them."""
    _table_project(tmp_path)
    tally("faults")
    killed = netstudio("train", "p.nsproj", "--out", "run", "--quiet", cwd=tmp_path, prelude=KILLED_EXPORTING)
    assert killed.returncode == -9, killed.stderr
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"weights.safetensors", "metrics.csv", "summary.json", "project.nsproj", "metadata.json"} <= names, names
    assert json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))["epochs_run"] == 1
    result = netstudio("export", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "model.pt2").is_file()
    shutil.rmtree(tmp_path / "run")
