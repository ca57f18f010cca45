"""``netstudio export`` (and the model files ``netstudio train`` writes) in a subprocess."""

from __future__ import annotations

import shutil

import pytest

from tests.core.test_export_support import (
    MLP,
    netstudio,
    one_line_error,
    run_without,
    write_project,
)

# The module fixture (a trained run) is built once: every test that uses it runs in the same
# xdist process. The other tests are in no group, so they run on whichever process is free.
shares_the_module_fixture = pytest.mark.xdist_group("test_export_cli")

SUFFIX = {"pt2": ".pt2", "torchscript": ".pt", "onnx": ".onnx", "safetensors": ".safetensors"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder written by ``netstudio train --onnx``."""
    folder = tmp_path_factory.mktemp("export-cli")
    project = write_project(folder, "moons", {"source": "synthetic", "kind": "moons", "samples": 200}, MLP)
    result = netstudio("train", project, "--out", folder / "run", "--quiet", "--onnx")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no note: the onnx extra is installed here
    return folder / "run"


@shares_the_module_fixture
def test_train_onnx_writes_model_pt2_and_model_onnx(run_dir):
    assert (run_dir / "model.pt2").stat().st_size > 0
    assert (run_dir / "model.onnx").stat().st_size > 0
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".run")]


@shares_the_module_fixture
@pytest.mark.parametrize("fmt", ["pt2", "torchscript", "onnx", "safetensors", "python"])
def test_export_writes_each_format(run_dir, tmp_path, fmt):
    out = tmp_path / ("python" if fmt == "python" else "model" + SUFFIX[fmt])
    result = netstudio("export", run_dir, "--format", fmt, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out} ({fmt}, max abs difference to the trained model ")
    if fmt == "python":
        assert sorted(p.name for p in out.iterdir()) == ["README.txt", "data.npz", "metadata.json", "model.py",
                                                         "model_inputs.py", "train.py", "weights.safetensors"]
    else:
        assert out.is_file() and out.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary files left behind


@shares_the_module_fixture
def test_default_out_is_inside_the_run_folder(run_dir, tmp_path):
    run = shutil.copytree(run_dir, tmp_path / "run")
    result = netstudio("export", run, "--format", "torchscript")
    assert result.returncode == 0, result.stderr
    assert (run / "model.pt").is_file()


@shares_the_module_fixture
def test_bad_run_folders_exit_2_with_one_line(run_dir, tmp_path):
    one_line_error(netstudio("export", tmp_path / "nowhere", "--format", "onnx"), "not a run folder")
    (tmp_path / "empty").mkdir()
    one_line_error(netstudio("export", tmp_path / "empty"), "not a complete NetStudio run", "metadata.json")
    one_line_error(netstudio("export", run_dir, "--format", "keras"), "invalid choice")


@shares_the_module_fixture
def test_unwritable_targets_exit_2_and_leave_everything_as_it_was(run_dir, tmp_path):
    one_line_error(netstudio("export", run_dir, "--out", tmp_path / "missing" / "m.pt2"), "does not exist")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("precious")
    one_line_error(netstudio("export", run_dir, "--format", "python", "--out", taken), "not an empty folder")
    one_line_error(netstudio("export", run_dir, "--format", "pt2", "--out", taken), "is a folder")
    assert [p.name for p in taken.iterdir()] == ["keep.txt"] and (taken / "keep.txt").read_text() == "precious"


@shares_the_module_fixture
def test_a_failed_export_keeps_the_existing_file(run_dir, tmp_path):
    run = shutil.copytree(run_dir, tmp_path / "run")
    (run / "weights.safetensors").write_bytes(b"not weights")
    target = tmp_path / "model.pt2"
    target.write_bytes(b"the previous export")
    one_line_error(netstudio("export", run, "--out", target), "cannot read the weights")
    assert target.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt2", "run"]


def test_without_the_onnx_extra(tmp_path):
    project = write_project(tmp_path, "moons", {"source": "synthetic", "kind": "moons", "samples": 120}, MLP,
                            {"epochs": 1})
    result = run_without(["onnx", "onnxscript", "onnxruntime"],
                         ["train", project, "--out", tmp_path / "run", "--quiet", "--onnx"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1 and "model.onnx not written" in notes[0] and "onnx extra" in notes[0]
    assert (tmp_path / "run" / "model.pt2").is_file() and not (tmp_path / "run" / "model.onnx").exists()
    result = run_without(["onnx", "onnxscript"], ["export", tmp_path / "run", "--format", "onnx"])
    one_line_error(result, "onnx extra")
    assert not (tmp_path / "run" / "model.onnx").exists()
