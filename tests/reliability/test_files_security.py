"""Files and security: what a project may make NetStudio read and write.

The rules (README, "Project files"):

* A project is data only. Nothing NetStudio reads is unpickled or evaluated: a static check of
  every module below guards the few loaders that could (``torch.load`` only with
  ``weights_only=True``, ``np.load`` only with ``allow_pickle=False``, TorchScript and torch.export
  archives only through ``netstudio.core.export.safe_load``, which checks them first).
* A relative data path resolves against the project file's folder, never the working folder;
  ``..`` and absolute paths are allowed (a shared data folder; NetStudio itself writes an absolute
  path when a project is saved away from its data). Data paths are only ever read.
* Outputs go only where the user asked: a run to ``runs/<slug of the name>-<time>/`` beside the
  project (or ``--out``), an export or a prediction to its ``--out``. A project's name cannot steer
  them elsewhere.
* A saved project is validated, written to a temporary file, read back and compared before it
  replaces the old file.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from netstudio.cli import main
from netstudio.core.design.stack import LayerSpec
from netstudio.core.errors import ProjectError
from netstudio.core.project import Project, load_project
from netstudio.core.runs.folder import default_run_dir
from tests.reliability.catalogue import TABLE, project_doc, write_project
from tests.reliability.conftest import REPO, assert_nothing_lost, snapshot, tally

HOSTILE_NAMES = ["../../../../etc/x\nnewline", "/etc/cron.d/evil", "..", "...", "a/../../b", "C:\\Windows\\x",
                 "~/x", "runs/../../up", " ", "-", "\u202eexe.txt"]


# -- writing: where outputs go ---------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_project_name_cannot_steer_the_run_folder(tmp_path, name):
    tally("inputs")
    run = default_run_dir(Project(name=name, path=tmp_path / "p.nsproj"))
    assert run.parent == tmp_path / "runs" and run.resolve().parent == (tmp_path / "runs").resolve()
    assert not run.name.startswith((".", "-")) and "/" not in run.name and "\\" not in run.name


def test_train_export_and_predict_write_only_where_asked(tmp_path, monkeypatch, capsys):
    """A project with a hostile name trains into runs/ beside it; --out, export and predict write
    their one target each; the working folder and the project's folder get nothing else."""
    project_dir, cwd = tmp_path / "project", tmp_path / "cwd"
    project_dir.mkdir()
    cwd.mkdir()
    (project_dir / "table.csv").write_text(TABLE, encoding="utf-8")
    write_project(project_dir, project_doc({"source": "csv", "path": "table.csv", "target": "label"},
                                           name="../../../../etc/x\nnewline"))
    monkeypatch.chdir(cwd)
    tally("inputs")

    before = snapshot(tmp_path)
    assert main(["train", str(project_dir / "p.nsproj"), "--quiet", "--device", "cpu"]) == 0
    [run] = (project_dir / "runs").iterdir()
    assert run.name.startswith("etc-x-newline-")
    assert_nothing_lost(before, tmp_path, new=("project/runs/etc-x-newline-*/*",))

    before = snapshot(tmp_path)
    assert main(["train", str(project_dir / "p.nsproj"), "--quiet", "--device", "cpu", "--out", "asked/run"]) == 0
    assert_nothing_lost(before, tmp_path, new=("cwd/asked/run/*",))

    before = snapshot(tmp_path)
    assert main(["export", str(run), "--format", "torchscript", "--out", "model.pt"]) == 0
    assert_nothing_lost(before, tmp_path, new=("cwd/model.pt",))

    before = snapshot(tmp_path)
    assert main(["predict", str(run / "model.pt2"), str(project_dir / "table.csv"), "--out", "predictions.csv"]) == 0, \
        capsys.readouterr().err
    assert_nothing_lost(before, tmp_path, new=("cwd/predictions.csv",))
    assert (cwd / "predictions.csv").read_text().startswith("prediction,")
    capsys.readouterr()


# -- reading: where data comes from ----------------------------------------------------------------


def _table(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(TABLE.splitlines(keepends=True)[:rows + 1]), encoding="utf-8")


@pytest.mark.parametrize("where", ["inside", "sibling", "absolute"])
def test_data_paths_resolve_against_the_project_folder_not_the_working_folder(tmp_path, monkeypatch, where):
    """The same relative path from the working folder holds a decoy with fewer rows."""
    from netstudio.core.data.load import load_dataset

    project_dir, cwd = tmp_path / "projects" / "p", tmp_path / "elsewhere" / "deep"
    cwd.mkdir(parents=True)
    real, reference = {
        "inside": (project_dir / "data" / "t.csv", "data/t.csv"),
        "sibling": (tmp_path / "projects" / "shared" / "t.csv", "../shared/t.csv"),
        "absolute": (tmp_path / "anywhere" / "t.csv", str(tmp_path / "anywhere" / "t.csv")),
    }[where]
    _table(real, 40)
    if not Path(reference).is_absolute():
        _table(cwd / reference, 12)  # what the path means from the working folder
    project_dir.mkdir(parents=True, exist_ok=True)
    write_project(project_dir, project_doc({"source": "csv", "path": reference, "target": "label"}))
    monkeypatch.chdir(cwd)
    tally("inputs")

    project = load_project(project_dir / "p.nsproj")
    assert project.data_path().resolve() == real.resolve()
    dataset = load_dataset(project.data, project.base_dir)
    assert dataset.n_train + dataset.n_val == 40


# -- saving: validated, read back, atomic -------------------------------------------------------------


def test_a_save_that_does_not_read_back_the_same_keeps_the_old_file(tmp_path, monkeypatch):
    """A file system that loses the end of what was written (the write and the sync succeed): the
    read-back catches it before the new file replaces the old one."""
    write_project(tmp_path, project_doc())
    project = load_project(tmp_path / "p.nsproj")
    project.stack.append(LayerSpec.create("ReLU"))
    before = snapshot(tmp_path)
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (os.ftruncate(fd, 40), fsync(fd)))
    tally("faults")
    with pytest.raises(ProjectError, match="cannot save .*p.nsproj: what was written did not read back the same"):
        project.save()
    assert_nothing_lost(before, tmp_path)
    monkeypatch.undo()
    project.save()
    assert [s.type for s in load_project(tmp_path / "p.nsproj").stack][-1] == "ReLU"


# -- nothing untrusted is unpickled or evaluated ------------------------------------------------------

#: Modules whose loaders run code from the data they read.
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "yaml",
                     "jsonpickle"}
#: The one module that may call torch's archive loaders: it checks each archive first.
CHECKED_LOADER = "netstudio/core/export/safe_load.py"


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):  # a method of some computed value (``net.to(cpu).eval()``)
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _keyword(call: ast.Call, name: str):
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def unsafe_loads(source: str, where: str) -> list[str]:
    """Every call or import in *source* that could unpickle or evaluate what it reads."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{line} import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"{line} from {node.module} import")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in ("eval", "exec") or name.endswith(("pickle.load", "pickle.loads")):
                found.append(f"{line} {name}()")
            elif name == "torch.load" and _keyword(node, "weights_only") is not True:
                found.append(f"{line} torch.load() without weights_only=True")
            elif name in ("np.load", "numpy.load") and _keyword(node, "allow_pickle") is not False:
                found.append(f"{line} {name}() without allow_pickle=False")
            elif name in ("torch.jit.load", "torch.export.load", "torch.package.PackageImporter") and \
                    where != CHECKED_LOADER:
                found.append(f"{line} {name}() outside {CHECKED_LOADER}")
    return found


def test_the_static_check_finds_what_it_looks_for():
    bad = ("import pickle\nfrom yaml import load\nimport numpy as np\nimport torch\n"
           "torch.load(f)\ntorch.load(f, weights_only=False)\nnp.load(f)\nnp.load(f, allow_pickle=True)\n"
           "eval(text)\ntorch.jit.load(f)\n")
    assert len(unsafe_loads(bad, "x.py")) == 8
    good = "import numpy as np\nimport torch\ntorch.load(f, weights_only=True)\nnp.load(f, allow_pickle=False)\nm.eval()\n"
    assert unsafe_loads(good, "x.py") == []


def test_nothing_in_netstudio_unpickles_or_evaluates_what_it_reads():
    files = sorted((REPO / "netstudio").rglob("*.py"))
    assert len(files) > 40
    found = []
    for path in files:
        where = path.relative_to(REPO).as_posix()
        found += unsafe_loads(path.read_text(encoding="utf-8"), where)
    assert found == []
